"""Every built-in controller on four catalog networks, five seeds each: mean delay with 95 % CIs.

Each network runs its full one-hour window (teleports off, the experiment's default timing:
3 s yellow, 5 s minimum and 60 s maximum green; controllers keep their own decision intervals).
The change against ``fixed-time`` is paired by seed (same seed, same demand realisation), so
its confidence interval is that of the per-seed differences.

    python benchmarks/bench_controllers.py [--seeds 5] [--workers 2] [--out benchmarks/results/controllers]
    python benchmarks/bench_controllers.py --networks cologne3 --controllers fixed-time greedy

Results are stored as an ordinary experiment folder, so an interrupted run resumes, and the
table is printed (Markdown) and written to ``<out>/table.md``.
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

from signalbench.analysis import mean_ci95
from signalbench.controllers import registry
from signalbench.experiments import ControllerRef, ExperimentSpec, LaunchOptions, NetworkRef, run_experiment

NETWORKS = ("cologne3-v0", "cologne8-v0", "ingolstadt7-v0", "grid4x4-v0")
RESCO_MP = {"detection_m": 200.0, "queue": "stopped", "downstream": "signalised"}


def _controllers(names: list[str] | None) -> list[ControllerRef]:
    # q-learning needs training first: its own evidence is experiments/q-learning.toml.
    ids = names or [e.id for e in registry.entries() if e.id != "q-learning-v0"]
    refs = [
        ControllerRef(id=registry.canonical_id(i), label=registry.canonical_id(i).rsplit("-v", 1)[0])
        for i in ids
    ]
    if names is None:
        refs.append(ControllerRef(id="max-pressure-v0", label="max-pressure-resco", params=RESCO_MP))
    return refs


def _fmt(mean: float, half: float) -> str:
    if math.isnan(mean):
        return "-"
    return f"{mean:.1f} ± {half:.1f}" if not math.isnan(half) else f"{mean:.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--networks", nargs="+", default=list(NETWORKS))
    parser.add_argument("--controllers", nargs="+", default=None)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/controllers"))
    args = parser.parse_args()

    spec = ExperimentSpec(
        name="bench-controllers",
        networks=tuple(
            NetworkRef(ref=n if n.rpartition("-v")[2].isdigit() else f"{n}-v0") for n in args.networks
        ),
        controllers=tuple(_controllers(args.controllers)),
        seeds=tuple(range(1, args.seeds + 1)),
    )
    started = time.perf_counter()
    results = run_experiment(spec, args.out, options=LaunchOptions(workers=args.workers))
    wall = time.perf_counter() - started

    by: dict[tuple[str, str], dict[int, float]] = {}
    failed = []
    for r in results:
        if r.state != "complete":
            failed.append(f"{r.spec.network} {r.spec.display_label} seed {r.spec.seed}: {r.error}")
            continue
        by.setdefault((r.spec.network, r.spec.display_label), {})[r.spec.seed] = float(
            r.metrics["mean_delay_s"]
        )
    labels = [c.label for c in spec.controllers]
    lines = [
        f"Mean delay [s/veh] (timeLoss + departDelay), mean ± 95 % CI over {args.seeds} seeds; "
        "in brackets the change vs fixed-time with its 95 % CI, paired by seed (n.s.: not significant).",
        "",
        "| controller | " + " | ".join(n.ref for n in spec.networks) + " |",
        "|---" * (len(spec.networks) + 1) + "|",
    ]
    for label in labels:
        cells = []
        for net in spec.networks:
            values = by.get((net.ref, label), {})
            base = by.get((net.ref, "fixed-time"), {})
            cell = _fmt(*mean_ci95(list(values.values())))
            seeds = sorted(set(values) & set(base))
            if label != "fixed-time" and seeds:
                change = [100.0 * (values[s] - base[s]) / base[s] for s in seeds]
                m, h = mean_ci95(change)
                significant = not math.isnan(h) and abs(m) > h
                cell += f" ({m:+.0f} ± {h:.0f} %{'' if significant else ', n.s.'})"
            cells.append(cell)
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines += ["", f"{len(results)} trials, {len(failed)} failed; wall time of this run {wall:.0f} s."]
    lines += [f"- failed: {f}" for f in failed]
    text = "\n".join(lines)
    print(text)
    (args.out / "table.md").write_text(text + "\n")


if __name__ == "__main__":
    main()
