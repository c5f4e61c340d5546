"""Analysis: results read back from the store, summaries, comparisons, reports and plots.

Everything here reads what :mod:`signalbench.experiments` stored, so a table or a report can be
regenerated at any time without rerunning a trial: :func:`read_results` (one row per trial),
the per-intersection tables, :func:`summarise` (the terminal table), :func:`write_report`
(Markdown, a self-contained HTML page and PNG plots).
"""

from signalbench.analysis._report import Comparison, ReportOptions, paired_change, write_report
from signalbench.analysis._results import (
    CONTROL_COLUMNS,
    TRIAL_COLUMNS,
    demand_level,
    demand_text,
    read_approaches,
    read_intersections,
    read_results,
    read_timeseries,
    result_rows,
    sumo_version_key,
)
from signalbench.analysis._summary import SummaryRow, mean_ci95, summarise

__all__ = [
    "CONTROL_COLUMNS",
    "TRIAL_COLUMNS",
    "Comparison",
    "ReportOptions",
    "SummaryRow",
    "demand_level",
    "demand_text",
    "mean_ci95",
    "paired_change",
    "read_approaches",
    "read_intersections",
    "read_results",
    "read_timeseries",
    "result_rows",
    "summarise",
    "sumo_version_key",
    "write_report",
]
