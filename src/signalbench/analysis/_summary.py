"""Per-cell summaries of results: mean and median with intervals, gridlocked runs, comparisons.

One row per network x demand x sensing x controller label (a *cell*). The statistics are
those of :mod:`signalbench.analysis._stats`; the comparisons with the baseline of each network x
demand x sensing form one family, corrected with Holm's method.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from signalbench.analysis._results import store_at
from signalbench.analysis._stats import CellStats, Comparison, cell_stats, paired_changes, with_family
from signalbench.errors import SignalbenchError
from signalbench.experiments import TrialResult
from signalbench.metrics import EMISSION_METRICS, TRIP_METRICS, is_gridlocked

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["SUMMARY_METRICS", "SummaryRow", "choose_baseline", "read_summary", "summarise"]

#: Metrics of ``signalbench results --summary`` by default.
SUMMARY_METRICS = ("mean_delay_s", "mean_travel_time_s", "mean_waiting_time_s")


@dataclass(frozen=True, kw_only=True)
class SummaryRow:
    """One network x demand x sensing x controller line.

    Attributes:
        network, demand, demand_label, sensing, label: the cell (``sensing``: the sensing
            scenario's name, ``perfect`` without one).
        trials, failed: trials of the cell, and how many failed.
        gridlocked: completed seeds that gridlocked (5 % or more of the vehicles stuck).
        metrics: each metric's :class:`CellStats` over the completed seeds.
        baseline: the label this row is compared with (None for the baseline itself).
        vs_baseline: each metric's paired comparison with the baseline (Holm-corrected over the
            family of :func:`summarise`).

    """

    network: str
    demand: float
    label: str
    trials: int
    failed: int
    metrics: dict[str, CellStats]
    demand_label: str = ""
    sensing: str = "perfect"
    gridlocked: int = 0
    baseline: str | None = None
    vs_baseline: dict[str, Comparison] = field(default_factory=dict)


def choose_baseline(labels: Sequence[str], wanted: str | None = None) -> str:
    """Return ``wanted``, else the first label that starts with ``fixed-time``, else the first."""
    if wanted is not None and wanted in labels:
        return wanted
    return next((lab for lab in labels if lab.startswith("fixed-time")), labels[0])


def _gridlocked(r: TrialResult) -> bool:
    stuck, total = r.metrics.get("vehicles_stuck"), r.metrics.get("vehicles_total")
    if stuck is None or total is None or math.isnan(float(stuck)) or math.isnan(float(total)):
        return bool(r.metrics.get("gridlocked", 0))
    return bool(is_gridlocked(stuck, total))


def summarise(
    results: Sequence[TrialResult],
    metrics: Sequence[str],
    *,
    baseline: str | None = None,
    compare: Sequence[str] | None = None,
) -> list[SummaryRow]:
    """Group results by (network, demand, sensing, label), in first-seen order, with statistics.

    The demand of a generated network is its flow level and scale (``600 veh/h``), else the
    scale. Within each network x demand x sensing, every label is compared with ``baseline`` (default:
    the first ``fixed-time`` label, else the first label) on the metrics ``compare`` (default:
    the first metric), paired by seed; the comparisons of all rows form one family (Holm).
    """
    groups: dict[tuple[str, str, str, str], list[TrialResult]] = {}
    for r in results:
        key = (r.spec.network, r.spec.demand_label, r.spec.sensing_label, r.spec.display_label)
        groups.setdefault(key, []).append(r)
    compare = list(metrics[:1] if compare is None else compare)
    rows: list[SummaryRow] = []
    for (network, demand_label, sensing, label), group in groups.items():
        ok = [r for r in group if r.state == "complete"]
        rows.append(
            SummaryRow(
                network=network,
                demand=group[0].spec.scale,
                demand_label=demand_label,
                sensing=sensing,
                label=label,
                trials=len(group),
                failed=len(group) - len(ok),
                gridlocked=sum(1 for r in ok if _gridlocked(r)),
                metrics={m: cell_stats([float(r.metrics.get(m, math.nan)) for r in ok]) for m in metrics},
            )
        )
    per_seed = {
        key: {
            m: {r.spec.seed: float(r.metrics.get(m, math.nan)) for r in g if r.state == "complete"}
            for m in compare
        }
        for key, g in groups.items()
    }
    pending: list[tuple[int, str, tuple[dict[int, float], dict[int, float]]]] = []
    for i, row in enumerate(rows):
        cell = (row.network, row.demand_label, row.sensing)
        cell_labels = [lab for (n, d, x, lab) in groups if (n, d, x) == cell]
        base = choose_baseline(cell_labels, baseline)
        if base == row.label:
            continue
        rows[i] = replace(row, baseline=base)
        network, demand_label, sensing = cell
        mine = per_seed[(network, demand_label, sensing, row.label)]
        theirs = per_seed[(network, demand_label, sensing, base)]
        pending += [(i, m, (mine[m], theirs[m])) for m in compare]
    corrected = with_family(paired_changes([p for _, _, p in pending]))
    for (i, metric, _), comparison in zip(pending, corrected, strict=True):
        rows[i].vs_baseline[metric] = comparison
    return rows


def read_summary(
    directory: Path | str, metrics: Sequence[str] = SUMMARY_METRICS, *, baseline: str | None = None
) -> pd.DataFrame:
    """One row per network x demand x sensing x controller of an experiment directory, with statistics.

    Columns: ``network``, ``demand``, ``sensing``, ``label``, ``seeds`` (completed), ``failed``,
    ``gridlocked``, ``baseline``; then per metric ``M``: ``M_mean``, ``M_mean_low``,
    ``M_mean_high`` (t interval), ``M_median``, ``M_median_low``, ``M_median_high``,
    ``M_median_level`` (the confidence of that interval), and versus the baseline
    ``M_change_pct`` with ``M_change_low_pct``/``M_change_high_pct`` (typical change,
    Hodges-Lehmann), ``M_mean_change_pct`` with its bootstrap bounds, ``M_p`` (Wilcoxon),
    ``M_p_holm`` (Holm over every comparison of the table) and ``M_significant``.

    Raises:
        SignalbenchError: the directory holds no trial records, or a metric is unknown.

    """
    import pandas as pd

    unknown = [m for m in metrics if m not in TRIP_METRICS and m not in EMISSION_METRICS]
    if unknown:
        known = ", ".join(sorted({*TRIP_METRICS, *EMISSION_METRICS}))
        raise SignalbenchError(f"unknown metric {unknown[0]!r}; choose from {known}")
    results = store_at(directory).results()
    labels = list(dict.fromkeys(r.spec.display_label for r in results))
    if baseline is not None and baseline not in labels:
        raise SignalbenchError(
            f"--baseline {baseline!r} is not a controller label here; labels: {', '.join(labels)}"
        )
    out: list[dict[str, Any]] = []
    rows = summarise(results, metrics, baseline=baseline, compare=metrics)
    order = {name: i for i, name in enumerate(dict.fromkeys(r.sensing for r in rows))}
    rows.sort(
        key=lambda r: (r.network, r.demand, r.demand_label, order[r.sensing], r.baseline is not None, r.label)
    )
    for row in rows:
        record: dict[str, Any] = {
            "network": row.network,
            "demand": row.demand_label or f"{row.demand:g}",
            "sensing": row.sensing,
            "label": row.label,
            "seeds": row.trials - row.failed,
            "failed": row.failed,
            "gridlocked": row.gridlocked,
            "baseline": row.baseline or "",
        }
        for m in metrics:
            st, comp = row.metrics[m], row.vs_baseline.get(m)
            record |= {
                f"{m}_mean": st.mean,
                f"{m}_mean_low": st.mean_low,
                f"{m}_mean_high": st.mean_high,
                f"{m}_median": st.median,
                f"{m}_median_low": st.median_low,
                f"{m}_median_high": st.median_high,
                f"{m}_median_level": st.median_level,
            }
            nan = math.nan
            record |= {
                f"{m}_change_pct": comp.change_pct if comp else nan,
                f"{m}_change_low_pct": comp.ci_low_pct if comp else nan,
                f"{m}_change_high_pct": comp.ci_high_pct if comp else nan,
                f"{m}_mean_change_pct": comp.mean_change_pct if comp else nan,
                f"{m}_mean_change_low_pct": comp.mean_ci_low_pct if comp else nan,
                f"{m}_mean_change_high_pct": comp.mean_ci_high_pct if comp else nan,
                f"{m}_p": comp.p_value if comp else nan,
                f"{m}_p_holm": comp.p_adjusted if comp else nan,
                f"{m}_significant": bool(comp.significant) if comp else False,
            }
        out.append(record)
    return pd.DataFrame(out)
