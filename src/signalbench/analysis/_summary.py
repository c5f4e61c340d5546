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

from signalbench.analysis._dataset import _is_number, read_index
from signalbench.analysis._results import store_at
from signalbench.analysis._rows import gridlocked
from signalbench.analysis._stats import CellStats, Comparison, cell_stats, paired_changes, with_family
from signalbench.errors import SignalbenchError
from signalbench.experiments import ResultStore, TrialResult
from signalbench.metrics import EMISSION_METRICS, TRIP_METRICS

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


@dataclass(frozen=True, slots=True)
class _Trial:
    """What a summary needs of one trial: its cell, seed, state, gridlock and metric values."""

    key: tuple[str, str, str, str]  # network, demand label, sensing, label
    scale: float
    seed: int
    complete: bool
    gridlocked: bool
    values: dict[str, float]

    @classmethod
    def of(cls, r: TrialResult, metrics: Sequence[str]) -> _Trial:
        spec = r.spec
        return cls(
            key=(spec.network, spec.demand_label, spec.sensing_label, spec.display_label),
            scale=spec.scale,
            seed=spec.seed,
            complete=r.state == "complete",
            gridlocked=gridlocked(r),
            values={m: float(r.metrics.get(m, math.nan)) for m in metrics},
        )


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
    compare = list(metrics[:1] if compare is None else compare)
    wanted = list(dict.fromkeys([*metrics, *compare]))
    return _summarise([_Trial.of(r, wanted) for r in results], metrics, baseline=baseline, compare=compare)


def _summarise(
    trials: Sequence[_Trial], metrics: Sequence[str], *, baseline: str | None, compare: Sequence[str]
) -> list[SummaryRow]:
    groups: dict[tuple[str, str, str, str], list[_Trial]] = {}
    for t in trials:
        groups.setdefault(t.key, []).append(t)
    rows: list[SummaryRow] = []
    for (network, demand_label, sensing, label), group in groups.items():
        ok = [t for t in group if t.complete]
        rows.append(
            SummaryRow(
                network=network,
                demand=group[0].scale,
                demand_label=demand_label,
                sensing=sensing,
                label=label,
                trials=len(group),
                failed=len(group) - len(ok),
                gridlocked=sum(1 for t in ok if t.gridlocked),
                metrics={m: cell_stats([t.values[m] for t in ok]) for m in metrics},
            )
        )
    per_seed = {
        key: {m: {t.seed: t.values[m] for t in g if t.complete} for m in compare} for key, g in groups.items()
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


def summary_trials(store: ResultStore, metrics: Sequence[str]) -> list[_Trial]:
    """Return the trials of ``store`` in trial id order, from the consolidated dataset where it is fresh.

    The same as :meth:`_Trial.of` over every record (which the fallback reads).
    """
    columns = ["network", "_demand_label", "sensing", "label", "_scale", "seed", "state", "_gridlocked"]
    table = read_index(store, [*columns, *metrics])
    if table is None or not all(_is_number(table, c) for c in ("_scale", "seed", *metrics)):
        return [_Trial.of(r, metrics) for r in store]
    values = {name: table.column(name).to_pylist() for name in ("trial_id", *columns)}
    numbers = {m: table.column(m).to_numpy(zero_copy_only=False).astype(float).tolist() for m in metrics}
    return [
        _Trial(
            key=(network, demand, sensing, label),
            scale=scale,
            seed=int(seed),
            complete=state == "complete",
            gridlocked=bool(stuck),
            values={m: numbers[m][i] for m in metrics},
        )
        for i, (network, demand, sensing, label, scale, seed, state, stuck) in enumerate(
            zip(*(values[c] for c in columns), strict=True)
        )
    ]


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
    trials = summary_trials(store_at(directory), metrics)
    labels = list(dict.fromkeys(t.key[3] for t in trials))
    if baseline is not None and baseline not in labels:
        raise SignalbenchError(
            f"--baseline {baseline!r} is not a controller label here; labels: {', '.join(labels)}"
        )
    out: list[dict[str, Any]] = []
    rows = _summarise(trials, metrics, baseline=baseline, compare=metrics)
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
