"""Webster against SUMO on an isolated intersection: the optimal cycle and the delay formula.

A generated four-arm intersection (one lane per approach, through traffic only, 400 m
approaches, the network's own two-phase program with 3 s yellows), Poisson arrivals at several
flows per approach. Steps:

1. Measure, in SUMO, the saturation flow s, start-up lost time l1 and end gain e from queue
   discharge (``signalbench.networks.measure_discharge``) under the network's own 90 s program
   at 850 veh/h per approach, where queues often outlast the green (for e).
2. For each flow, Webster's optimal cycle C0 = (1.5 L + 5) / (1 - Y) with L = 2 (l1 + 3 - e)
   and Y = 2 q / s.
3. Sweep the cycle in SUMO: fixed-time plans with equal greens (``webster`` with its cycle
   fixed: ``min_cycle_s = max_cycle_s = C``), every seed a different Poisson demand, and find
   the cycle with the lowest mean delay (timeLoss + departDelay).
4. Compare with Webster's delay formula
   d = C (1 - l)^2 / (2 (1 - l x)) + x^2 / (2 q (1 - x)) - 0.65 (C / q^2)^(1/3) x^(2 + 5 l),
   l = g / C the effective green ratio (g = shown green - l1 + e), x = q / (l s). Webster's
   queue model lets vehicles stop and start instantly; SUMO's timeLoss also holds the time lost
   braking and accelerating, v / 2b + v / 2a for each stopped vehicle (4.2 s with SUMO's
   default 2.6 / 4.5 m/s^2 at 13.89 m/s). The second comparison adds it for Webster's share of
   stopped vehicles p = (1 - l) / (1 - l x).

    python benchmarks/validate_webster.py [--seeds 5] [--out benchmarks/results/webster]

Prints a Markdown table and writes ``docs/webster-validation.png`` (``--plot``).
"""

from __future__ import annotations

import argparse
import math
import statistics
import time
from pathlib import Path

from signalbench.analysis import mean_ci95
from signalbench.experiments import ControllerRef, ExperimentSpec, LaunchOptions, NetworkRef, run_experiment
from signalbench.networks import generated_scenario, load_scenario_model, measure_discharge

RECIPE = {
    "generator": "intersection",
    "lanes": 1,
    "approach_m": 400.0,
    "left": 0.0,
    "straight": 1.0,
    "right": 0.0,
}
FLOWS_VEH_H = (300.0, 450.0, 600.0, 700.0)
CYCLES_S = (*range(20, 101, 5), 120, 150)
MEASURE_FLOW_VEH_H = 850.0
YELLOW_S = 3.0
SPEED_M_S = 13.89
ACCEL_M_S2, DECEL_M_S2 = 2.6, 4.5  # SUMO's default passenger car
STOP_LOSS_S = SPEED_M_S / (2 * DECEL_M_S2) + SPEED_M_S / (2 * ACCEL_M_S2)


def webster_delay_s(cycle_s: float, green_s: float, q_veh_s: float, s_veh_s: float) -> float:
    """Webster's (1958) average delay per vehicle on an approach [s]."""
    lam = green_s / cycle_s
    x = q_veh_s / (lam * s_veh_s)
    if x >= 1.0:
        return math.inf
    uniform = cycle_s * (1 - lam) ** 2 / (2 * (1 - lam * x))
    random = x**2 / (2 * q_veh_s * (1 - x))
    correction = 0.65 * (cycle_s / q_veh_s**2) ** (1 / 3) * x ** (2 + 5 * lam)
    return uniform + random - correction


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/webster"))
    parser.add_argument("--plot", type=Path, default=None, help="write the figure here (PNG)")
    args = parser.parse_args()
    started = time.perf_counter()

    # 1. s, l1, e measured in SUMO where queues are often left at the end of the green.
    heavy = generated_scenario(RECIPE, flow_veh_h=MEASURE_FLOW_VEH_H, seed=1)
    table = measure_discharge(heavy, load_scenario_model(heavy))
    # The lanes' left links are permissive ('g') though nobody turns: one class, however named.
    d = max(table.network.values(), key=lambda d: d.headways)
    s_veh_h, l1, e = d.saturation_flow_veh_h, d.startup_lost_s, d.end_gain_s
    lost_s = 2 * (l1 + YELLOW_S - e)
    print(
        f"measured: s = {s_veh_h:.0f} veh/h/lane ({d.headways} headways), l1 = {l1:.2f} s, "
        f"e = {e:.2f} s ({d.source}); L = 2 (l1 + {YELLOW_S:g} - e) = {lost_s:.2f} s"
    )

    # 3. The cycle sweep.
    spec = ExperimentSpec(
        name="webster-validation",
        networks=(NetworkRef(ref="isolated", generator=RECIPE, flows_veh_h=FLOWS_VEH_H),),
        controllers=tuple(
            ControllerRef(
                id="webster-v0",
                label=f"C{c}",
                params={
                    "min_cycle_s": float(c),
                    "max_cycle_s": float(c),
                    # any fixed value: both phases carry the same flow, so the greens are equal
                    "saturation_flow_veh_h_lane": 1800.0,
                    "yellow_s": YELLOW_S,
                },
            )
            for c in CYCLES_S
        ),
        seeds=tuple(range(1, args.seeds + 1)),
    )
    results = run_experiment(spec, args.out, options=LaunchOptions(workers=args.workers))
    delays: dict[tuple[float, int], list[float]] = {}
    for r in results:
        if r.state == "complete":
            cycle = int(r.spec.display_label[1:])
            delays.setdefault((float(r.spec.flow_veh_h or 0.0), cycle), []).append(
                float(r.metrics["mean_delay_s"])
            )

    rows = []
    s_veh_s = s_veh_h / 3600.0
    for q in FLOWS_VEH_H:
        y_total = 2 * q / s_veh_h
        c0 = (1.5 * lost_s + 5) / (1 - y_total)
        means = {c: statistics.fmean(delays[(q, c)]) for c in CYCLES_S if (q, c) in delays}
        best = min(means, key=lambda c: means[c])
        # the minimum of a parabola through the best cycle and its neighbours (finer than 10 s)
        i = CYCLES_S.index(best)
        fine = float(best)
        if 0 < i < len(CYCLES_S) - 1:
            a, b, c_ = (means[CYCLES_S[j]] for j in (i - 1, i, i + 1))
            denom = a - 2 * b + c_
            if denom > 0:
                fine = best + 5.0 * (a - c_) / denom
        for c in CYCLES_S:
            if c not in means:
                continue
            shown = (c - 2 * YELLOW_S) / 2
            g_eff = shown - l1 + e
            lam = g_eff / c
            x = q / (lam * s_veh_h)
            formula = webster_delay_s(c, g_eff, q / 3600.0, s_veh_s)
            stops = (1 - lam) / (1 - lam * x) if x < 1 else 1.0
            mean, half = mean_ci95(delays[(q, c)])
            rows.append((q, y_total, c0, c, mean, half, formula, x, formula + stops * STOP_LOSS_S))
        print(
            f"q = {q:.0f} veh/h: Y = {y_total:.2f}, C0 = {c0:.1f} s; lowest SUMO delay at {best} s "
            f"(parabola: {fine:.1f} s), {100 * (fine - c0) / c0:+.0f} % from C0"
        )
    print()
    print(
        "| q veh/h | Y | C0 s | cycle s | x | SUMO delay s/veh (95 % CI) "
        "| Webster s/veh | vs SUMO | Webster + stops s/veh | vs SUMO |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for q, y_total, c0, c, mean, half, formula, x, with_stops in rows:
        cells = []
        for value in (formula, with_stops):
            if math.isfinite(value):
                cells += [f"{value:.1f}", f"{100 * (value - mean) / mean:+.0f} %"]
            else:
                cells += ["-", "x >= 1"]
        print(
            f"| {q:.0f} | {y_total:.2f} | {c0:.0f} | {c} | {x:.2f} | {mean:.1f} ± {half:.1f} | "
            + " | ".join(cells)
            + " |"
        )
    print(f"\n{len(results)} trials in {time.perf_counter() - started:.0f} s")
    if args.plot is not None:
        _plot(rows, args.plot)


def _plot(rows: list[tuple[float, float, float, int, float, float, float, float, float]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5))
    for k, q in enumerate(sorted({r[0] for r in rows})):
        mine = [r for r in rows if r[0] == q]
        color = f"C{k}"
        cs = [r[3] for r in mine]
        ax.errorbar(cs, [r[4] for r in mine], yerr=[r[5] for r in mine], fmt="o-", color=color, ms=4,
                    label=f"SUMO, q = {q:.0f} veh/h (Y = {mine[0][1]:.2f})")  # fmt: skip
        formula = [(r[3], r[8]) for r in mine if math.isfinite(r[8])]
        ax.plot([c for c, _ in formula], [v for _, v in formula], "--", color=color, lw=1)
        ax.axvline(mine[0][2], color=color, lw=0.8, ls=":")
    ax.set_xlabel("cycle length [s]  (dotted: Webster's C0 from the measured s and L)")
    ax.set_ylabel("mean delay [s/veh]  (dashed: Webster + braking/accelerating)")
    ax.set_ylim(0, 80)
    ax.set_title("Isolated intersection, two phases, Poisson arrivals: SUMO vs Webster")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


if __name__ == "__main__":
    main()
