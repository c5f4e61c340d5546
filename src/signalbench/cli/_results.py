"""``signalbench results``: an experiment's trials as CSV or JSON, one row per trial."""

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
        help="print an experiment's trials as CSV or JSON (one row per trial)",
        description="One row (csv) or object (json) per trial: trial id, network, demand, controller,\n"
        "label, seed, state, error, every metric under its documented name (docs/metrics.md),\n"
        "controller statistics, SUMO version and the SUMO command line.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("dir", type=Path, metavar="DIR", help="experiment directory, e.g. runs/quickstart")
    p.add_argument("--format", choices=("csv", "json"), default="csv", help="output format (default csv)")


def run(args: argparse.Namespace) -> int:
    """Print one row (csv) or object (json) per trial to stdout."""
    from signalbench.analysis import read_results

    df = read_results(args.dir)
    if args.format == "csv":
        df.to_csv(sys.stdout, index=False)
        return 0
    records: list[dict[str, Any]] = df.to_dict(orient="records")
    sys.stdout.write(strict_json(records, indent=1, default=str) + "\n")  # NaN as null
    return 0
