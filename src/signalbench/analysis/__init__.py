"""Analysis: results read back from the store, summaries, comparisons, reports and plots.

Everything here reads what :mod:`signalbench.experiments` stored, so a table or a report can be
regenerated at any time without rerunning a trial: :func:`read_results` (one row per trial),
the per-intersection tables, :func:`summarise` (per-cell statistics: the terminal table and
``signalbench results --summary``), :func:`write_report` (Markdown, a self-contained HTML page
and PNG plots). The statistics (:func:`cell_stats`, :func:`paired_change`, :func:`holm`,
:func:`seeds_for_change`) come from scipy.stats and fit heavy-tailed outcomes.
"""

from signalbench.analysis._dataset import consolidate, stored_trials
from signalbench.analysis._planning import SeedPlan, plan_seeds
from signalbench.analysis._report import ReportOptions, write_report
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
from signalbench.analysis._stats import (
    CONFIDENCE,
    CellStats,
    Comparison,
    cell_stats,
    holm,
    mean_ci95,
    median_interval,
    paired_change,
    paired_changes,
    seeds_for_change,
    t_interval,
    with_family,
)
from signalbench.analysis._summary import (
    SUMMARY_METRICS,
    SummaryRow,
    choose_baseline,
    read_summary,
    summarise,
)

__all__ = [
    "CONFIDENCE",
    "CONTROL_COLUMNS",
    "SUMMARY_METRICS",
    "TRIAL_COLUMNS",
    "CellStats",
    "Comparison",
    "ReportOptions",
    "SeedPlan",
    "SummaryRow",
    "cell_stats",
    "choose_baseline",
    "consolidate",
    "demand_level",
    "demand_text",
    "holm",
    "mean_ci95",
    "median_interval",
    "paired_change",
    "paired_changes",
    "plan_seeds",
    "read_approaches",
    "read_intersections",
    "read_results",
    "read_summary",
    "read_timeseries",
    "result_rows",
    "seeds_for_change",
    "stored_trials",
    "summarise",
    "sumo_version_key",
    "t_interval",
    "with_family",
    "write_report",
]
