"""Small summaries of results for the terminal: mean and 95 % confidence interval over seeds."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from signalbench.experiments import TrialResult

__all__ = ["SummaryRow", "mean_ci95", "summarise"]

# Two-sided 95 % Student t quantiles for 1..30 degrees of freedom.
_T95 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179,
        2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064,
        2.060, 2.056, 2.052, 2.048, 2.045, 2.042)  # fmt: skip


def mean_ci95(values: Sequence[float]) -> tuple[float, float]:
    """Mean and half-width of its 95 % confidence interval (Student t; nan for n < 2)."""
    arr = np.asarray([v for v in values if not math.isnan(v)], dtype=np.float64)
    if arr.size == 0:
        return math.nan, math.nan
    if arr.size == 1:
        return float(arr[0]), math.nan
    t = _T95[arr.size - 2] if arr.size - 1 <= len(_T95) else 1.96
    return float(arr.mean()), float(t * arr.std(ddof=1) / math.sqrt(arr.size))


@dataclass(frozen=True, kw_only=True)
class SummaryRow:
    """One network x demand x controller line of the terminal table."""

    network: str
    demand: float
    label: str
    trials: int
    failed: int
    metrics: dict[str, tuple[float, float]]
    demand_label: str = ""


def summarise(results: Sequence[TrialResult], metrics: Sequence[str]) -> list[SummaryRow]:
    """Group results by (network, demand, label), in first-seen order, with mean and CI per metric.

    The demand of a generated network is its flow level and scale (``600 veh/h``), else the scale.
    """
    groups: dict[tuple[str, str, str], list[TrialResult]] = {}
    for r in results:
        groups.setdefault((r.spec.network, r.spec.demand_label, r.spec.display_label), []).append(r)
    rows = []
    for (network, demand_label, label), group in groups.items():
        ok = [r for r in group if r.state == "complete"]
        rows.append(
            SummaryRow(
                network=network,
                demand=group[0].spec.scale,
                demand_label=demand_label,
                label=label,
                trials=len(group),
                failed=len(group) - len(ok),
                metrics={m: mean_ci95([float(r.metrics.get(m, math.nan)) for r in ok]) for m in metrics},
            )
        )
    return rows
