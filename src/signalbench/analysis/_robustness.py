"""The robustness table: each controller's delay under each sensing scenario, against perfect sensing.

A sensing axis (``[[sensing]]`` entries, docs/sensing.md) gives every controller one cell per
sensing scenario. The reference is the scenario with perfect lane truths (``perfect_sensing``);
every other cell is compared with the same controller's reference cell, paired by seed: the
typical change (Hodges-Lehmann) with its interval and the change of the mean (bootstrap), with
Wilcoxon p-values Holm-corrected over every comparison of the table (one family of its own,
apart from the comparisons with the baseline controller).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from signalbench.analysis._results import demand_text
from signalbench.analysis._stats import (
    CONFIDENCE,
    CellStats,
    Comparison,
    cell_stats,
    paired_change,
    with_family,
)

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "RobustnessCell",
    "reference_sensing",
    "robustness_cells",
    "robustness_sections",
    "sensing_order",
]


@dataclass(frozen=True, kw_only=True)
class RobustnessCell:
    """One controller under one sensing scenario, on one network x demand.

    Attributes:
        network, demand, demand_text, label, sensing: the cell.
        seeds: completed seeds; ``failed``: failed trials; ``gridlocked``: gridlocked seeds.
        stats: the metric over the completed seeds.
        vs_reference: the paired change against the reference scenario (None for the reference).
        fallback: the controller's detector-failure fallback ("" for none).

    """

    network: str
    demand: float
    demand_text: str
    label: str
    sensing: str
    seeds: int
    failed: int
    gridlocked: int
    stats: CellStats
    vs_reference: Comparison | None
    fallback: str


def sensing_order(df: pd.DataFrame, spec_order: Sequence[str] = ()) -> list[str]:
    """Return the sensing scenarios: the reference first, then in the spec's order, then the others."""
    names = list(dict.fromkeys([*(n for n in spec_order if n in set(df["sensing"])), *df["sensing"]]))
    reference = reference_sensing(df)
    return ([reference] if reference else []) + [n for n in names if n != reference]


def reference_sensing(df: pd.DataFrame) -> str | None:
    """Return the sensing scenario every robustness change is measured against, or None.

    The first scenario whose trials all saw perfect lane truths; None when there is no
    sensing axis (one scenario only) or no such scenario.
    """
    if "sensing" not in df or df["sensing"].nunique() < 2:
        return None
    for name in dict.fromkeys(df["sensing"]):
        if bool(df.loc[df["sensing"] == name, "perfect_sensing"].all()):
            return str(name)
    return None


def robustness_cells(
    df: pd.DataFrame, metric: str, reference: str, order: Sequence[str] = ()
) -> list[RobustnessCell]:
    """Every network x demand x controller x sensing cell, compared with the reference (Holm over all).

    Scenarios come in ``order`` (default: :func:`sensing_order`).
    """
    ok = df[df["state"] == "complete"]
    scenarios = list(order) or sensing_order(df)
    cells: list[RobustnessCell] = []
    for (network, demand), part in df.groupby(["network", "demand"], sort=True):
        done = ok[ok["trial_id"].isin(part["trial_id"])]
        for label in sorted(set(part["label"])):
            mine = done[done["label"] == label]
            fallbacks = sorted({str(f) for f in mine["fallback"] if str(f)}) if "fallback" in mine else []
            base = mine[mine["sensing"] == reference]
            base_seeds = dict(zip(base["seed"].astype(int), base[metric].astype(float), strict=True))
            for sensing in scenarios:
                these = mine[mine["sensing"] == sensing]
                tried = part[(part["label"] == label) & (part["sensing"] == sensing)]
                if not len(tried):
                    continue
                values = these[metric].astype(float)
                comparison = None
                if sensing != reference and len(base):
                    per_seed = dict(zip(these["seed"].astype(int), values, strict=True))
                    comparison = paired_change(per_seed, base_seeds)
                cells.append(
                    RobustnessCell(
                        network=str(network),
                        demand=float(demand),
                        demand_text=demand_text(float(demand), part),
                        label=label,
                        sensing=str(sensing),
                        seeds=len(these),
                        failed=int((tried["state"] != "complete").sum()),
                        gridlocked=_count_flag(these, "gridlocked"),
                        stats=cell_stats(list(values)),
                        vs_reference=comparison,
                        fallback=", ".join(fallbacks),
                    )
                )
    compared = [i for i, c in enumerate(cells) if c.vs_reference is not None]
    corrected = with_family([cells[i].vs_reference for i in compared])  # type: ignore[misc]
    for i, comparison in zip(compared, corrected, strict=True):
        cells[i] = replace(cells[i], vs_reference=comparison)
    return cells


def _count_flag(rows: pd.DataFrame, flag: str) -> int:
    return int((rows[flag].fillna(0) > 0).sum()) if flag in rows else 0


def _num(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.1f}"


def _pct(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:+.0f} %"


def _interval(low: float, high: float) -> str:
    return "" if math.isnan(low) else f" [{low:+.0f}, {high:+.0f}]"


def _p(p: float) -> str:
    return "-" if math.isnan(p) else (f"{p:.2g}" if p >= 0.001 else f"{p:.0e}")


def _compact_cell(cell: RobustnessCell | None) -> str:
    if cell is None or not cell.seeds:
        return "-" if cell is None else "failed"
    text = _num(cell.stats.median)
    comp = cell.vs_reference
    if comp is not None and comp.n_pairs:
        text += f" ({_pct(comp.change_pct)}{' *' if comp.significant else ''})"
    if cell.gridlocked:
        text += f" g{cell.gridlocked}"
    return text


def robustness_sections(
    df: pd.DataFrame, metric: str, name: str, unit: str, spec_order: Sequence[str] = ()
) -> list[str]:
    """Markdown: the robustness table per network x demand, then every comparison in full.

    Empty when the results have no sensing axis with a perfect-sensing reference. Scenarios
    come as in :func:`sensing_order` (``spec_order``: the spec's order of its entries).
    """
    reference = reference_sensing(df)
    if reference is None:
        return []
    cells = robustness_cells(df, metric, reference, sensing_order(df, spec_order))
    scenarios = list(dict.fromkeys(c.sensing for c in cells))
    family = sum(1 for c in cells if c.vs_reference is not None and not math.isnan(c.vs_reference.p_value))
    few = min((c.vs_reference.n_pairs for c in cells if c.vs_reference is not None), default=0) < 6
    md = [
        "",
        "## Robustness: delay under each sensing scenario",
        "",
        f"Median {name} over seeds [{unit}] of each controller under each sensing scenario, and in "
        f"brackets its typical change against `{reference}` (the same controller with perfect lane "
        "truths), paired by seed (Hodges-Lehmann estimate of the per-seed log ratios). `*`: "
        f"significant (Wilcoxon signed-rank, Holm over the {family} comparisons with `{reference}`, "
        "a family of its own); `gN`: N seeds gridlocked. `fallback`: what the controller does when "
        "detector diagnostics report a failed detector (docs/sensing.md); `-`: none, it acts on "
        "whatever the detectors say."
        + (
            " With fewer than 6 seeds no change can be significant, and its interval is not shown."
            if few
            else ""
        ),
    ]
    for (network, demand_label), _ in _by_cell(cells).items():
        mine = [c for c in cells if (c.network, c.demand_text) == (network, demand_label)]
        md += ["", f"### {network}, {demand_label}", ""]
        head = ["controller", "fallback", *(f"`{s}`" for s in scenarios)]
        md += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for label in dict.fromkeys(c.label for c in mine):
            row = {c.sensing: c for c in mine if c.label == label}
            fallback = next((c.fallback for c in row.values() if c.fallback), "-")
            md.append(
                "| "
                + " | ".join([f"`{label}`", fallback, *(_compact_cell(row.get(s)) for s in scenarios)])
                + " |"
            )
    md += [
        "",
        "### Every comparison with perfect sensing",
        "",
        f"| network | controller | sensing | seeds | {name} {unit} median [95 % CI] | typical change % "
        "[95 % CI] | change of the mean % [95 % CI] | Wilcoxon p (Holm) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for c in cells:
        if c.vs_reference is None:
            continue
        st, comp = c.stats, c.vs_reference
        median = _num(st.median)
        if not math.isnan(st.median_low):
            median += f" [{_num(st.median_low)}, {_num(st.median_high)}]"
            if st.median_level < CONFIDENCE - 1e-9:  # few seeds: min to max, at the level it reaches
                median += f" ({100 * st.median_level:.0f} %)"
        md.append(
            f"| {c.network}, {c.demand_text} | `{c.label}` | `{c.sensing}` | {c.seeds} | {median} | "
            f"{_pct(comp.change_pct)}{_interval(comp.ci_low_pct, comp.ci_high_pct)} | "
            f"{_pct(comp.mean_change_pct)}{_interval(comp.mean_ci_low_pct, comp.mean_ci_high_pct)} | "
            f"{_p(comp.p_value)} ({_p(comp.p_adjusted)}) |"
        )
    return md


def _by_cell(cells: list[RobustnessCell]) -> dict[tuple[str, str], None]:
    return dict.fromkeys((c.network, c.demand_text) for c in cells)
