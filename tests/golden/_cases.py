"""What the golden tests pin, computed by today's code: trial ids, run metrics, a report.

``python tests/golden/_cases.py`` rewrites ``tests/golden/*.json`` and ``report.md`` from the
installed signalbench. Regenerate only when a change is *meant* to move these values, and say
in the commit which values moved and why; a restructuring must leave them untouched.
"""

from __future__ import annotations

import hashlib
import json
import math
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent

#: Specs whose trial ids are pinned: catalog networks, per-network timing, generated networks,
#: a learning controller with its training recipe, and a program-writing controller.
SPECS: dict[str, dict[str, Any]] = {
    "catalog": {
        "name": "g-catalog",
        "seeds": [1, 2],
        "networks": [{"id": "cologne3"}, {"id": "ingolstadt7-v0", "timing": {"yellow_s": 2.0}}],
        "controllers": [
            {"id": "fixed-time"},
            {"id": "max-pressure", "params": {"detection_m": 200.0, "queue": "stopped"}},
            {"id": "greedy", "label": "max-wave"},
        ],
        "timing": {"decision_interval_s": 10.0, "max_green_s": "none"},
        "sim": {"duration_s": 600},
    },
    "generated": {
        "name": "g-generated",
        "seeds": [3],
        "demand": [1.0, 1.5],
        "networks": [
            {"generator": "grid", "rows": 2, "cols": 3, "lanes": 2, "flow_veh_h": [300, 600]},
            {"generator": "intersection", "left_turn_lanes": 1, "profile": "peak", "flow_veh_h": 400},
        ],
        "controllers": [{"id": "sotl"}, {"id": "actuated", "params": {"passage_s": 2.5}}],
    },
    "learning": {
        "name": "g-learning",
        "seeds": [1, 2, 3],
        "networks": [{"id": "cologne1"}],
        "controllers": [
            {"id": "q-learning", "train": {"episodes": 4, "seeds": [101, 102]}},
            {"id": "max-pressure"},
        ],
    },
    "programs": {
        "name": "g-programs",
        "seeds": [1],
        "networks": [{"id": "cologne8"}, {"id": "arterial4x4", "timing": {"yellow_s": 2.0}}],
        "controllers": [
            {"id": "webster", "params": {"saturation_flow_veh_h_lane": 1700.0}},
            {"id": "green-wave"},
            {"id": "sumo-actuated"},
            {"id": "sumo-delay-based", "params": {"detector_range_m": 80.0}},
        ],
        "metrics": {"emissions": True, "interval_s": 120},
    },
}

#: A trial given by file paths, with its recorded input digests: the id hashes the digests,
#: never the paths (the same trial under other paths has the same id).
PATH_TRIAL: dict[str, Any] = {
    "network": "/data/scenarios/my.net.xml",
    "route_files": ["/data/scenarios/my.rou.xml"],
    "controller": "/data/controllers/policy.py:Policy",
    "params": {"margin_veh": 2.0},
    "label": "policy",
    "seed": 7,
    "begin_s": 100.0,
    "end_s": 400.0,
    "backend": "traci",
    "sumo_version": "1.9.2",
    "inputs": {
        "controller": "0123456789abcdef",
        "controller module helpers": "fedcba9876543210",
        "network": "1111111111111111",
        "routes": "2222222222222222",
        "sumo": "1.9.2",
        "signalbench": "0.1.0+3333333333333333",
    },
}

#: The digest of signalbench's own source changes with every edit of the package; the pinned
#: ids replace it by this constant (everything else is the real content of today's inputs).
PINNED_HARNESS = "pinned"

#: Every built-in controller for 300 s on cologne3 (seed 1), metrics and control pinned.
RUN_CONTROLLERS: list[dict[str, Any]] = [
    {"id": "fixed-time"},
    {"id": "max-pressure"},
    {"id": "max-pressure", "label": "mp-resco", "params": {"detection_m": 200.0, "queue": "stopped",
                                                           "downstream": "signalised"}},
    {"id": "max-pressure", "label": "mp-approach", "params": {"detection_m": 200.0, "upstream": True}},
    {"id": "greedy"},
    {"id": "greedy", "label": "greedy-approach", "params": {"upstream": True}},
    {"id": "longest-queue-first"},
    {"id": "random"},
    {"id": "sotl"},
    {"id": "actuated"},
    {"id": "webster"},
    {"id": "green-wave"},
    {"id": "sumo-actuated"},
    {"id": "sumo-delay-based"},
]  # fmt: skip

PINNED_METRICS = (
    "mean_delay_s", "mean_travel_time_s", "mean_waiting_time_s", "vehicles_total", "vehicles_arrived",
    "vehicles_unfinished", "vehicles_stuck",
)  # fmt: skip
PINNED_CONTROL = ("decisions", "switches", "overrides_total", "sim_calls", "controlled_intersections")


def spec_ids() -> dict[str, list[str]]:
    """Trial ids of every pinned spec, in expansion order, plus the path-given trial.

    The specs' inputs are read for real (catalog network files, SUMO release, controller
    sources), except signalbench's own digest (:data:`PINNED_HARNESS`).
    """
    import dataclasses

    from signalbench.experiments import TrialSpec, spec_from_dict

    def pinned(t: TrialSpec) -> str:
        return dataclasses.replace(t, inputs={**t.inputs, "signalbench": PINNED_HARNESS}).trial_id

    out = {name: [pinned(t) for t in spec_from_dict(data).trials()] for name, data in SPECS.items()}
    path_trial = TrialSpec.from_dict(PATH_TRIAL)
    moved = TrialSpec.from_dict(
        {**PATH_TRIAL, "network": "/elsewhere/my.net.xml", "route_files": ["/elsewhere/my.rou.xml"],
         "controller": "../policy.py:Policy"}
    )  # fmt: skip
    assert moved.trial_id == path_trial.trial_id, "paths must not enter the trial id"
    out["path"] = [path_trial.trial_id]
    return out


def run_spec(backend: str = "libsumo") -> dict[str, Any]:
    """The spec of the pinned runs."""
    return {
        "name": f"g-runs-{backend}",
        "seeds": [1],
        "backend": backend,
        "networks": [{"id": "cologne3"}],
        "controllers": RUN_CONTROLLERS,
        "sim": {"duration_s": 300},
    }


def run_metrics(out_dir: Path, backend: str = "libsumo") -> dict[str, dict[str, Any]]:
    """Run :func:`run_spec` and return, per label, the pinned metrics and control numbers."""
    from signalbench.experiments import LaunchOptions, run_experiment, spec_from_dict

    spec = spec_from_dict(run_spec(backend))
    results = run_experiment(spec, out_dir, launcher="process", options=LaunchOptions(workers=2))
    pinned: dict[str, dict[str, Any]] = {}
    for r in results:
        assert r.state == "complete", (r.spec.display_label, r.error)
        entry: dict[str, Any] = {k: _clean(r.metrics[k]) for k in PINNED_METRICS}
        entry.update({k: r.control.get(k) for k in PINNED_CONTROL})
        if "programs" in r.control:
            entry["programs"] = r.control["programs"]
        pinned[r.spec.display_label] = entry
    return pinned


def learning_case(out_dir: Path) -> dict[str, Any]:
    """Train q-learning briefly on cologne1 and evaluate it: checkpoint digest and metrics."""
    from signalbench.experiments import run_experiment, spec_from_dict

    spec = spec_from_dict(
        {
            "name": "g-learn",
            "seeds": [1],
            "networks": [{"id": "cologne1"}],
            "controllers": [{"id": "q-learning", "train": {"episodes": 3, "seeds": [101, 102]}}],
            "sim": {"duration_s": 300},
        }
    )
    results = run_experiment(spec, out_dir, launcher="serial")
    (result,) = results
    assert result.state == "complete", result.error
    (checkpoint,) = sorted((out_dir / "checkpoints").glob("*.json"))
    data = json.loads(checkpoint.read_text())
    lights = data["lights"]
    return {
        "checkpoint_name": checkpoint.name.rsplit("-", 1)[0],  # then the key (with signalbench's digest)
        "q_tables_sha256": hashlib.sha256(json.dumps(lights, sort_keys=True).encode()).hexdigest(),
        "history": data["history"],
        "metrics": {k: _clean(result.metrics[k]) for k in PINNED_METRICS},
    }


def report_store(root: Path) -> Path:
    """Write a store of synthetic records (three scenarios, three controllers, ten seeds)."""
    from signalbench.experiments import ResultStore, TrialResult, TrialSpec

    store = ResultStore(root)
    delays = {"fixed-time-v0": 40.0, "max-pressure-v0": 31.0, "greedy-v0": 36.0}
    for network, scale in (("cologne1-v0", 1.0), ("cologne1-v0", 1.5), ("grid4x4-v0", 1.0)):
        for controller, base in delays.items():
            for seed in range(1, 11):
                spec = TrialSpec(
                    network=network, controller=controller, seed=seed, scale=scale, label=controller[:-3]
                )
                wobble = ((seed * 7919 + len(controller) * 31) % 17) / 4.0
                delay = base * scale + wobble + (150.0 if (controller, seed) == ("greedy-v0", 5) else 0.0)
                failed = (network, controller, seed) == ("grid4x4-v0", "max-pressure-v0", 4)
                store.put(
                    TrialResult(
                        trial_id=spec.trial_id,
                        spec=spec,
                        state="failed" if failed else "complete",
                        error="SUMO crashed: boom" if failed else None,
                        metrics={} if failed else {
                            "mean_delay_s": delay,
                            "mean_travel_time_s": delay + 30.0,
                            "mean_waiting_time_s": delay / 2.0,
                            "vehicles_total": 1000,
                            "vehicles_stuck": 80 if delay > 150 else 2,
                            "gridlocked": int(delay > 150),
                            "flagged": 0,
                        },
                        control={"decisions": 720, "switches": 90 + seed, "overrides_total": seed,
                                 "controller_ms_per_decision": 0.25},
                        versions={"sumo": "1.28.0"},
                    )
                )  # fmt: skip
    return root


def report_markdown(root: Path) -> str:
    """The report.md written for :func:`report_store`."""
    from signalbench.analysis import ReportOptions, write_report

    html = write_report(root, root / "report", ReportOptions(title="golden report"))
    return html.with_suffix(".md").read_text(encoding="utf-8")


def _clean(value: Any) -> Any:
    return None if isinstance(value, float) and math.isnan(value) else value


def regenerate() -> None:
    """Rewrite every golden file from the installed signalbench."""
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (HERE / "trial_ids.json").write_text(json.dumps(spec_ids(), indent=1) + "\n")
        runs = run_metrics(work / "runs")
        (HERE / "runs.json").write_text(json.dumps(runs, indent=1, sort_keys=True) + "\n")
        (HERE / "learning.json").write_text(
            json.dumps(learning_case(work / "learn"), indent=1, sort_keys=True) + "\n"
        )
        (HERE / "report.md").write_text(report_markdown(report_store(work / "report-store")))


if __name__ == "__main__":
    sys.exit(regenerate())
