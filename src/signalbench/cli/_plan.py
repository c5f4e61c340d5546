"""``signalbench plan``: from pilot runs, the seeds a comparison needs to detect a given change."""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from rich.table import Table

from signalbench.cli._console import make_console

__all__ = ["add_parser", "run"]


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser], epilog: str) -> None:
    """Add the ``plan`` command."""
    p = sub.add_parser(
        "plan",
        help="from pilot runs: how many seeds a comparison needs to detect a given change",
        description=(
            "Read a pilot experiment (a few seeds per controller, e.g. signalbench run SPEC --seeds 5)\n"
            "and estimate, for each controller against the baseline, how many paired seeds the\n"
            "Wilcoxon signed-rank test of the report needs to detect each relative change with the\n"
            "given power: the pilot's per-seed log ratios (heavy tails included) are resampled and\n"
            "shifted by the change. The pilot needs 3 paired seeds at least; more give a better\n"
            "picture of the tail."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("dir", type=Path, metavar="PILOT_DIR", help="pilot experiment directory")
    p.add_argument(
        "--change", type=float, action="append", metavar="PCT",
        help="relative change to detect, in %% (repeatable; default -5, -10, -20: delay reductions)",
    )  # fmt: skip
    p.add_argument(
        "--baseline", metavar="LABEL", help="controller label to compare with (default fixed-time)"
    )
    p.add_argument("--metric", default="mean_delay_s", metavar="NAME", help="metric (default mean_delay_s)")
    p.add_argument("--power", type=float, default=0.8, help="chance to detect the change (default 0.8)")
    p.add_argument(
        "--family", type=int, default=1, metavar="N",
        help="comparisons in the final report: tests at 0.05/N, Holm's level for the smallest p (default 1)",
    )  # fmt: skip
    p.add_argument(
        "--max-seeds", type=int, default=200, metavar="N", help="give up above N seeds (default 200)"
    )


def run(args: argparse.Namespace) -> int:
    """Print one row per comparison: pilot seeds, observed change, seeds needed per change."""
    from signalbench.analysis import plan_seeds

    changes = args.change or [-5.0, -10.0, -20.0]
    plans = plan_seeds(
        args.dir,
        changes,
        metric=args.metric,
        baseline=args.baseline,
        power=args.power,
        family=args.family,
        max_seeds=args.max_seeds,
    )
    console = make_console()
    alpha = 0.05 / args.family
    table = Table(
        title=f"seeds needed: Wilcoxon signed-rank at {alpha:.3g}, power {args.power:g}, {args.metric}",
        title_justify="left",
    )
    sensed = any(p.sensing != "perfect" for p in plans)
    for col in ("network", "demand", *(("sensing",) if sensed else ()), "controller", "vs"):
        table.add_column(col)
    table.add_column("pilot\nseeds", justify="right")
    table.add_column("pilot\nchange", justify="right")
    table.add_column("seed-to-seed\nspread (IQR)", justify="right")
    for c in changes:
        table.add_column(f"to detect\n{c:+g} %", justify="right")
    for p in plans:
        needed = [
            "-" if p.pilot_seeds < 3 else (f"> {args.max_seeds}" if n is None else str(n))
            for n in p.needed.values()
        ]
        table.add_row(
            p.network,
            p.demand,
            *((p.sensing,) if sensed else ()),
            p.label,
            p.baseline,
            str(p.pilot_seeds),
            "-" if math.isnan(p.observed_pct) else f"{p.observed_pct:+.0f} %",
            "-" if math.isnan(p.spread_pct) else f"{p.spread_pct:.0f} %",
            *needed,
        )
    console.print(table)
    console.print(
        "Estimates from the pilot's noise: a pilot that saw no gridlock underestimates the tail, so plan "
        "again with more pilot seeds where a network gridlocks now and then. '-': under 3 paired seeds.",
        style="dim",
        highlight=False,
        soft_wrap=True,
    )
    return 0
