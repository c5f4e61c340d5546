"""``signalbench results``: an experiment's trials (or per-cell statistics) as CSV or JSON."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from signalbench._util import strict_json

__all__ = ["add_parser", "run"]


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser], epilog: str) -> None:
    """Add the ``results`` command."""
    p = sub.add_parser(
        "results",
        help="print an experiment's trials (or --summary: per-controller statistics) as CSV or JSON",
        description="One row (csv) or object (json) per trial: trial id, network, demand, controller,\n"
        "label, seed, state, error, every metric under its documented name (docs/metrics.md),\n"
        "controller statistics, SUMO version and the SUMO command line.\n\n"
        "With --summary, one row per network x demand x controller instead: seeds, failed and\n"
        "gridlocked runs, and per metric the mean with its t interval, the median with its\n"
        "distribution-free interval, and versus the baseline (paired by seed) the typical change\n"
        "(Hodges-Lehmann), the change of the mean (bootstrap), the Wilcoxon p-value and its Holm\n"
        "correction over every comparison of the table\n"
        "(docs/metrics.md#which-statistic-answers-which-question).",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("dir", type=Path, metavar="DIR", help="experiment directory, e.g. runs/quickstart")
    p.add_argument("--format", choices=("csv", "json"), default="csv", help="output format (default csv)")
    p.add_argument("--summary", action="store_true", help="per-controller statistics instead of trials")
    p.add_argument(
        "--metric", action="append", metavar="NAME",
        help="with --summary: metric (repeatable; default delay, travel time, waiting time)",
    )  # fmt: skip
    p.add_argument(
        "--baseline", metavar="LABEL", help="with --summary: the label compared with (default fixed-time)"
    )


def run(args: argparse.Namespace) -> int:
    """Print one row (csv) or object (json) per trial, or per cell with --summary, to stdout."""
    from signalbench.analysis import SUMMARY_METRICS, read_results, read_summary
    from signalbench.errors import SpecError

    if not args.summary and (args.metric or args.baseline):
        raise SpecError("--metric and --baseline go with --summary")
    if args.summary:
        df = read_summary(
            args.dir, tuple(args.metric) if args.metric else SUMMARY_METRICS, baseline=args.baseline
        )
    else:
        df = read_results(args.dir)
    if args.format == "csv":
        df.to_csv(sys.stdout, index=False)
        return 0
    records: list[dict[str, Any]] = df.to_dict(orient="records")
    sys.stdout.write(strict_json(records, indent=1, default=str) + "\n")  # NaN as null
    return 0
