"""Every built-in controller on four catalog networks, several seeds each: delay with its statistics.

Each network runs its full one-hour window (teleports off, the experiment's default timing:
3 s yellow, 5 s minimum and 60 s maximum green; controllers keep their own decision intervals).
Each cell gives the median delay with its distribution-free 95 % interval, the mean, the
gridlocked seeds, and the typical change against ``fixed-time`` paired by seed (same seed, same
demand realisation: Hodges-Lehmann estimate), marked when significant (Wilcoxon signed-rank,
Holm-corrected over every comparison of the table); see docs/metrics.md.

    python benchmarks/bench_controllers.py [--seeds 12] [--workers 2] [--out benchmarks/results/controllers]
    python benchmarks/bench_controllers.py --networks cologne3 --controllers fixed-time greedy

Results are stored as an ordinary experiment folder, so an interrupted run resumes, and the
table is printed (Markdown) and written to ``<out>/table.md``.
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

from signalbench.analysis import SummaryRow, summarise
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


def _cell(row: SummaryRow | None) -> str:
    if row is None or row.metrics["mean_delay_s"].n == 0:
        return "-"
    st = row.metrics["mean_delay_s"]
    text = f"{st.median:.1f} [{st.median_low:.1f}, {st.median_high:.1f}]"
    text += f" (mean {st.mean:.1f}{'' if math.isnan(st.mean_half) else f' ± {st.mean_half:.1f}'})"
    if row.gridlocked:
        text += f", {row.gridlocked} gridlocked"
    comp = row.vs_baseline.get("mean_delay_s")
    if comp is not None and not math.isnan(comp.change_pct):
        text += f"; {comp.change_pct:+.0f} %" + (" *" if comp.significant else "")
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--networks", nargs="+", default=list(NETWORKS))
    parser.add_argument("--controllers", nargs="+", default=None)
    parser.add_argument("--seeds", type=int, default=12)
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

    failed = [
        f"{r.spec.network} {r.spec.display_label} seed {r.spec.seed}: {r.error}"
        for r in results
        if r.state != "complete"
    ]
    rows = {(r.network, r.label): r for r in summarise(results, ["mean_delay_s"], baseline="fixed-time")}
    family = sum(1 for r in rows.values() for c in r.vs_baseline.values() if not math.isnan(c.p_value))
    labels = [c.label for c in spec.controllers]
    lines = [
        f"Delay [s/veh] (timeLoss + departDelay) over {args.seeds} seeds: median [95 % interval] "
        "(mean ± 95 % CI), gridlocked seeds; then the typical change versus fixed-time paired by seed "
        f"(Hodges-Lehmann), * significant (Wilcoxon signed-rank, Holm over the {family} comparisons "
        "of this table).",
        "",
        "| controller | " + " | ".join(n.ref for n in spec.networks) + " |",
        "|---" * (len(spec.networks) + 1) + "|",
    ]
    for label in labels:
        cells = [_cell(rows.get((net.ref, label))) for net in spec.networks]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines += ["", f"{len(results)} trials, {len(failed)} failed; wall time of this run {wall:.0f} s."]
    lines += [f"- failed: {f}" for f in failed]
    text = "\n".join(lines)
    print(text)
    (args.out / "table.md").write_text(text + "\n")


if __name__ == "__main__":
    main()
