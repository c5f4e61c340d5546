"""``signalbench results`` and ``signalbench report``: read an experiment directory back."""

from __future__ import annotations

import argparse
import json
import math
import sys
from typing import Any

__all__ = ["cmd_report", "cmd_results"]


def cmd_results(args: argparse.Namespace) -> int:
    """Print one row (csv) or object (json) per trial to stdout."""
    from signalbench.experiments import read_results

    df = read_results(args.dir)
    if args.format == "csv":
        df.to_csv(sys.stdout, index=False)
        return 0
    records: list[dict[str, Any]] = df.to_dict(orient="records")
    clean = [
        {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in r.items()} for r in records
    ]
    json.dump(clean, sys.stdout, indent=1, default=str)
    sys.stdout.write("\n")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    """Write the report and say where it is."""
    from signalbench.experiments import ReportOptions, write_report

    options = ReportOptions(
        metrics=tuple(args.metric) if args.metric else ReportOptions().metrics,
        baseline=args.baseline,
        intersections=tuple(args.intersection or ()),
        title=args.title,
    )
    path = write_report(args.dir, args.out, options)
    print(f"report: {path} (and {path.with_suffix('.md').name} with the PNGs in {path.parent})")
    return 0
