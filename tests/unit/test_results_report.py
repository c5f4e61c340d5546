"""Parquet tables in the store, read_results, the results/report commands, paired comparisons."""

import json
import math
from pathlib import Path

import pytest

import signalbench
from signalbench.analysis import ReportOptions, write_report
from signalbench.cli import main
from signalbench.errors import SignalbenchError
from signalbench.experiments import ResultStore, TrialResult, TrialSpec


def fake(label, seed, delay, *, state="complete", scale=1.0):
    controller = "fixed-time-v0" if label == "fixed" else "max-pressure-v0"
    spec = TrialSpec(network="cologne1-v0", controller=controller, label=label, seed=seed, scale=scale)
    tables = {}
    if state == "complete":
        ts = {
            "tls": ["J", "J", "J", "J"],
            "approach": ["n", "n", "w", "w"],
            "begin_s": [0.0, 60.0, 0.0, 60.0],
            "end_s": [60.0, 120.0, 60.0, 120.0],
            "queue_mean_veh": [1.0, delay / 10, 0.5, 0.5],
            "time_loss_s": [10.0, 20.0, 5.0, 5.0],
        }
        inter = {"tls": ["J", "K"], "time_loss_per_veh_s": [delay, delay / 2], "queue_mean_veh": [2.0, 1.0]}
        tables = {"timeseries": ts, "intersections": inter, "approaches": {"tls": ["J"], "approach": ["n"]}}
    return TrialResult(
        trial_id=spec.trial_id,
        spec=spec,
        state=state,
        metrics={"mean_delay_s": delay, "mean_travel_time_s": delay + 30, "mean_waiting_time_s": delay / 2,
                 "gridlocked": int(delay > 100), "vehicles_stuck": 12 if delay > 100 else 0,
                 "flagged": 0} if state == "complete" else {},
        error=None if state == "complete" else "SUMO crashed: boom",
        sumo_command=["sumo", "--seed", str(seed)],
        tables=tables,
    )  # fmt: skip


@pytest.fixture
def experiment(tmp_path):
    store = ResultStore(tmp_path / "exp")
    for seed, (base, new) in enumerate([(40.0, 30.0), (50.0, 41.0), (45.0, 34.0)], start=1):
        store.put(fake("fixed", seed, base))
        store.put(fake("adaptive", seed, new))
        store.put(fake("fixed", seed, base * 2, scale=1.5))
        store.put(fake("adaptive", seed, new * 2, scale=1.5))
    store.put(fake("adaptive", 4, math.nan, state="failed"))
    return tmp_path / "exp"


def test_tables_are_parquet_next_to_the_record_not_in_it(experiment):
    store = ResultStore(experiment)
    r = next(iter(store))
    raw = json.loads((experiment / "trials" / f"{r.trial_id}.json").read_text())
    assert "tables" not in raw and r.tables == {}
    assert store.table_path(r.trial_id, "timeseries").is_file()
    assert not list((experiment / "trials").glob(".*.tmp"))


def test_failed_retry_removes_stale_tables(tmp_path):
    store = ResultStore(tmp_path)
    ok = fake("fixed", 1, 10.0)
    store.put(ok)
    store.put(fake("fixed", 1, math.nan, state="failed"))
    assert not store.table_path(ok.trial_id, "intersections").exists()


def test_read_results_one_row_per_trial(experiment):
    df = signalbench.read_results(experiment)
    assert len(df) == 13 and set(df["state"]) == {"complete", "failed"}
    failed = df[df["state"] == "failed"].iloc[0]
    assert failed["error"] == "SUMO crashed: boom" and math.isnan(failed["mean_delay_s"])
    assert {"trial_id", "network", "demand", "controller", "label", "seed", "sumo_command"} <= set(df.columns)
    assert "mean_delay_incl_unserved_s" in df.columns and "controller_ms_per_decision" in df.columns
    inter = signalbench.read_intersections(experiment)
    assert len(inter) == 12 * 2 and {"trial_id", "label", "seed", "tls"} <= set(inter.columns)
    assert len(signalbench.read_timeseries(experiment)) == 12 * 4


def test_empty_or_foreign_directory_is_one_clear_error(tmp_path, capsys):
    with pytest.raises(SignalbenchError, match="not a signalbench experiment directory"):
        signalbench.read_results(tmp_path)
    assert main(["report", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not a signalbench experiment directory" in err[0]
    assert main(["results", str(tmp_path / "nope")]) == 2


def test_results_command_csv_and_json(experiment, capsys):
    assert main(["results", str(experiment), "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 13 and rows[0]["sumo_command"].startswith("sumo --seed")
    assert any(r["state"] == "failed" and r["mean_delay_s"] is None for r in rows)
    assert main(["results", str(experiment)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 14 and lines[0].startswith(
        "trial_id,network,demand,sensing,controller,label,seed,state"
    )


def test_report_tables_plots_and_failed_trials(experiment, tmp_path):
    html = write_report(experiment, tmp_path / "rep", ReportOptions(baseline="fixed"))
    md = (tmp_path / "rep" / "report.md").read_text()
    assert "## cologne1-v0, demand x 1" in md and "## cologne1-v0, demand x 1.5" in md
    assert "| `fixed` | 3 | 0 |" in md and "| 45.0 [40.0, 50.0] (75 %) | 45.0 ± 12.4 | baseline |" in md
    # Adaptive vs fixed at demand 1 over 3 seeds: the change of the mean with its bootstrap
    # interval; no typical change can be significant with 3 seeds.
    assert "| -22.2 [" in md and "n.s." in md and "** |" not in md
    assert "comparisons with the baseline in this report" in md and "Holm" in md
    assert "## Failed trials" in md and "SUMO crashed: boom" in md
    for png in (
        "by_controller.png",
        "vs_demand.png",
        "queue_cologne1-v0_1.png",
        "intersections_cologne1-v0_1.png",
    ):
        assert (tmp_path / "rep" / png).read_bytes()[:4] == b"\x89PNG"
    text = html.read_text()
    assert text.count("data:image/png;base64,") == 6 and "<table>" in text
    with pytest.raises(SignalbenchError, match="not a controller label"):
        write_report(experiment, tmp_path / "rep", ReportOptions(baseline="nope"))
    with pytest.raises(SignalbenchError, match="unknown metric"):
        ReportOptions(metrics=("delay",))


def test_metrics_table_in_specs_and_stable_trial_ids():
    from signalbench.experiments import spec_from_dict

    base = {"name": "m", "networks": ["cologne1-v0"], "controllers": ["fixed-time"], "seeds": 1}
    plain = spec_from_dict(base).trials()[0]
    measured = spec_from_dict({**base, "metrics": {"emissions": True, "interval_s": 30}}).trials()[0]
    assert (measured.emissions, measured.interval_s) == (True, 30.0)
    assert measured.trial_id != plain.trial_id
    # One policy: the key (every field but the label, paths by content) and the inputs.
    import hashlib

    data = {"trial": plain.key(), "inputs": dict(plain.inputs)}
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"))
    assert plain.trial_id == hashlib.sha256(canonical.encode()).hexdigest()[:16]
    assert {"emissions", "interval_s", "sumo_version"} <= set(plain.key())
    with pytest.raises(SignalbenchError, match=r"metrics.emissions: expected true or false"):
        spec_from_dict({**base, "metrics": {"emissions": "yes"}})
    # The opt-in longest-queue detectors: a new id only when asked for (old ids stay valid).
    assert "queue_max" not in plain.key() and not plain.queue_max
    queued = spec_from_dict({**base, "metrics": {"queue_max": True}})
    assert queued.trials()[0].queue_max and queued.trials()[0].key()["queue_max"] is True
    assert queued.trials()[0].trial_id != plain.trial_id
    assert spec_from_dict(queued.to_dict()).trials()[0].trial_id == queued.trials()[0].trial_id
    assert spec_from_dict(spec_from_dict(base).to_dict()).to_dict()["metrics"] == {
        "emissions": False,
        "interval_s": 60.0,
    }
    with pytest.raises(SignalbenchError, match=r"metrics.queue_max: expected true or false, got 1"):
        spec_from_dict({**base, "metrics": {"queue_max": 1}})


def two_releases(tmp_path):
    """The same small matrix stored once per SUMO release, plus a controller run on one only."""
    import dataclasses

    for version, root in (("1.9.2", tmp_path / "old"), ("1.28.0", tmp_path / "new")):
        store = ResultStore(root)
        for seed in (1, 2):
            runs = [("fixed", 40.0 + seed), ("adaptive", 30.0 + 2 * seed)]
            if version == "1.28.0":
                runs.append(("newer", 20.0))  # run on one release only
            for label, delay in runs:
                r = fake(label, seed, delay)
                spec = dataclasses.replace(
                    r.spec, sumo_binary=f"/sumo-{version}", backend="traci", inputs={"sumo": version}
                )
                if label == "newer":
                    spec = dataclasses.replace(spec, controller="greedy-v0")
                store.put(
                    dataclasses.replace(r, spec=spec, trial_id=spec.trial_id, versions={"sumo": version})
                )
    return [tmp_path / "old", tmp_path / "new"]


def test_report_over_two_sumo_versions_splits_tables(tmp_path):
    write_report(two_releases(tmp_path), tmp_path / "rep", ReportOptions(baseline="fixed"))
    md = (tmp_path / "rep" / "report.md").read_text()
    old, new = (
        md.index("## cologne1-v0, demand x 1, SUMO 1.9.2"),
        md.index("## cologne1-v0, demand x 1, SUMO 1.28.0"),
    )
    assert old < new and "SUMO version(s): 1.9.2, 1.28.0" in md
    assert md.count("\n| `fixed` | 2 | 0 |") == 2  # each version compared within itself
    # One table with both releases side by side, before the per-release tables.
    side = md.index("## SUMO versions side by side")
    assert side < old
    assert "| scenario | controller | SUMO 1.9.2: seeds |" in md and "| SUMO 1.28.0: seeds |" in md
    assert (
        "| cologne1-v0, demand x 1 | `fixed` | 2 | 41.5 [41.0, 42.0] (50 %) | 41.5 ± 6.4 | baseline "
        "| 0/2 | 0 | 2 | 41.5" in md
    )
    assert (
        "| cologne1-v0, demand x 1 | `adaptive` | 2 | 33.0 [32.0, 34.0] (50 %) | 33.0 ± 12.7 | -20.5 n.s. |"
        in md
    )
    assert (
        "| cologne1-v0, demand x 1 | `newer` | - | - | - | - | - | - | 2 | 20.0 [20.0, 20.0] (50 %) |" in md
    )


def test_report_while_the_experiment_still_runs(tmp_path):
    # A trial finishing while the report reads: its tables are written, its record not yet
    # (store.put writes the record last). The report leaves it out rather than crash.
    import pyarrow as pa
    import pyarrow.parquet as pq

    roots = two_releases(tmp_path)
    store = ResultStore(roots[0])
    late = fake("fixed", 99, 40.0)
    for name, columns in late.tables.items():
        pq.write_table(pa.table(columns), store.table_path(late.trial_id, name))
    write_report(roots, tmp_path / "rep", ReportOptions(baseline="fixed"))
    assert (tmp_path / "rep" / "intersections_cologne1-v0_1.png").read_bytes()[:4] == b"\x89PNG"
    assert late.trial_id not in set(signalbench.read_intersections(roots[0])["trial_id"])


def test_results_summary_has_the_cell_statistics(experiment, capsys):
    assert main(["results", str(experiment), "--summary", "--baseline", "fixed"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    head = lines[0].split(",")
    assert head[:8] == ["network", "demand", "sensing", "label", "seeds", "failed", "gridlocked", "baseline"]
    for column in ("median", "median_low", "median_level", "mean_low", "change_pct", "p_holm", "significant"):
        assert f"mean_delay_s_{column}" in head
    assert len(lines) == 1 + 4 and lines[1].startswith("cologne1-v0,1,perfect,fixed,")
    args = ["--summary", "--metric", "mean_delay_s", "--format", "json", "--baseline", "fixed"]
    assert main(["results", str(experiment), *args]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows[1]["label"] == "adaptive" and rows[1]["baseline"] == "fixed"
    assert rows[1]["mean_delay_s_mean_change_pct"] == pytest.approx(100 * (35 / 45 - 1))
    assert main(["results", str(experiment), "--summary", "--metric", "delay"]) == 2
    assert "unknown metric 'delay'" in capsys.readouterr().err
    assert main(["results", str(experiment), "--baseline", "fixed"]) == 2


def test_terminal_table_fits_a_terminal_and_explains_itself():
    import io

    from rich.console import Console

    from signalbench.cli._run import print_summary

    results = []
    for seed in range(1, 13):
        for label, delay in (("fixed-time", 40.0 + seed % 3), ("max-pressure-resco", 25.0 + seed % 4)):
            r = fake(label, seed, delay if (label, seed) != ("max-pressure-resco", 3) else 300.0)
            results.append(r)
    console = Console(file=io.StringIO(), width=160)
    print_summary(console, "demo", results, Path("runs/demo"), 1.0, 0)
    text = console.file.getvalue()
    table = [ln for ln in text.splitlines() if ln[:1] in "┏┃┡│└"]
    assert table and max(len(ln) for ln in table) <= 100
    assert "demo: delay over seeds, demand 1" in text
    row = next(ln for ln in table if "max-pressure-resco" in ln)
    assert " % *" in row and row.rstrip("│ ").endswith("1")  # significant; one seed gridlocked
    assert "Holm over 1 comparison" in text
    assert (
        "note: cologne1-v0 max-pressure-resco: mean 49.2 but median 26.5 s/veh: 1 gridlocked seed pulls"
        in text
    )


def test_plan_tells_the_seeds_a_change_needs(tmp_path, capsys):
    import numpy as np

    store = ResultStore(tmp_path / "pilot")
    noise = np.random.default_rng(5).normal(0.0, 0.08, 10)  # 8 % seed-to-seed spread of the ratio
    for seed in range(1, 11):
        base = 40.0 + seed
        store.put(fake("fixed", seed, base))
        store.put(fake("calm", seed, base * 0.9 * math.exp(noise[seed - 1])))
    assert (
        main(["plan", str(tmp_path / "pilot"), "--baseline", "fixed", "--change", "-5", "--change", "-20"])
        == 0
    )
    out = capsys.readouterr().out
    row = next(ln for ln in out.splitlines() if "calm" in ln)
    cells = [c.strip() for c in row.strip("│ ").split("│")]
    assert cells[2:5] == ["calm", "fixed", "10"] and cells[5] == "-10 %"
    few, many = int(cells[-1]), int(cells[-2])
    assert 5 < few < many  # a large change needs fewer seeds than a small one
    assert (
        main(["plan", str(tmp_path / "pilot"), "--baseline", "fixed", "--family", "20", "--change", "-20"])
        == 0
    )
    stricter = int(
        next(ln for ln in capsys.readouterr().out.splitlines() if "calm" in ln).strip("│ ").split("│")[-1]
    )
    assert stricter > few  # a family of 20 comparisons tests at 0.05 / 20
    assert main(["plan", str(tmp_path / "pilot"), "--change", "-100"]) == 2
    assert main(["plan", str(tmp_path / "pilot"), "--baseline", "nope"]) == 2
