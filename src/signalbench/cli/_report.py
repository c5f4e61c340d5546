"""``signalbench report``: tables with confidence intervals, paired comparisons and plots."""

from __future__ import annotations

import argparse
from pathlib import Path

from signalbench._util import output_dir
from signalbench.errors import SignalbenchError

__all__ = ["add_parser", "run"]


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser], epilog: str) -> None:
    """Add the ``report`` command."""
    p = sub.add_parser(
        "report",
        help="write a report (tables with 95 %% CIs, paired comparisons, plots) for an experiment",
        description="Tables per network x demand (mean, 95 % CI over seeds, median, change versus a\n"
        "baseline paired over seeds) and PNG plots, as report.md and a self-contained report.html.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "dir", type=Path, nargs="+", metavar="EXPERIMENT_DIR",
        help="experiment directory; several are reported together (e.g. one per SUMO version)",
    )  # fmt: skip
    p.add_argument(
        "--baseline", metavar="LABEL", help="controller label to compare with (default fixed-time)"
    )
    p.add_argument(
        "--out", type=Path, metavar="DIR", help="output folder (default: the first EXPERIMENT_DIR/report)"
    )
    p.add_argument(
        "--metric", action="append", metavar="NAME",
        help="metric in the tables (repeatable; the first is plotted; default: delay, trip time, waiting)",
    )  # fmt: skip
    p.add_argument(
        "--intersection", action="append", metavar="TLS",
        help="traffic light whose queue is plotted over time (repeatable; default the 3 longest queues)",
    )  # fmt: skip
    p.add_argument("--title", help="report title")


def run(args: argparse.Namespace) -> int:
    """Write the report and say where it is."""
    from signalbench.analysis import ReportOptions, write_report

    options = ReportOptions(
        metrics=tuple(args.metric) if args.metric else ReportOptions().metrics,
        baseline=args.baseline,
        intersections=tuple(args.intersection or ()),
        title=args.title,
    )
    for folder in args.dir:
        if not folder.is_dir():
            what = "is a file, not" if folder.exists() else "is not"
            raise SignalbenchError(
                f"{folder} {what} an experiment folder (give the folder `signalbench run` wrote)"
            )
    out = output_dir(args.out or args.dir[0] / "report")  # checked before any work
    path = write_report(args.dir, out, options)
    print(f"report: {path} (and {path.with_suffix('.md').name} with the PNGs in {path.parent})")
    return 0
