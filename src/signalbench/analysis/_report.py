"""``signalbench report``: tables with confidence intervals, paired comparisons and plots.

Everything is computed from the result store (:func:`read_results` and the Parquet tables),
so a report can be regenerated at any time without rerunning a trial. The statistics are
those of :mod:`signalbench.analysis._stats`: per cell the mean (t interval) and the median
(distribution-free interval) and the gridlocked runs; per comparison with the baseline, paired
by seed, the typical change (Hodges-Lehmann) and the change of the mean (bootstrap), with
Wilcoxon p-values Holm-corrected over every comparison of the report.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from signalbench._util import atomic_write_text, load_toml
from signalbench.analysis._dataset import QUEUE, Dataset, open_dataset
from signalbench.analysis._html import markdown_page
from signalbench.analysis._plots import (
    plot_by_controller,
    plot_intersection_delay,
    plot_queue_timeseries,
    plot_robustness,
    plot_vs_demand,
)
from signalbench.analysis._results import demand_text, store_at, sumo_version_key
from signalbench.analysis._robustness import reference_sensing, robustness_sections, sensing_order
from signalbench.analysis._stats import (
    CONFIDENCE,
    CellStats,
    Comparison,
    cell_stats,
    paired_changes,
    with_family,
)
from signalbench.analysis._summary import choose_baseline
from signalbench.errors import SignalbenchError
from signalbench.metrics import EMISSION_METRICS, TRIP_METRICS

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["ReportOptions", "write_report"]

_ALL_METRICS = {**TRIP_METRICS, **EMISSION_METRICS}
_NICE = {
    "mean_delay_s": "delay",
    "mean_delay_incl_unserved_s": "delay incl. unserved",
    "mean_travel_time_s": "trip time",
    "mean_waiting_time_s": "waiting time",
    "mean_time_loss_s": "time loss",
    "mean_depart_delay_s": "depart delay",
}


@dataclass(frozen=True, kw_only=True)
class ReportOptions:
    """What a report shows.

    Attributes:
        metrics: trip metrics in the tables; the first one is plotted.
        baseline: label of the controller the others are compared with (paired over seeds);
            None takes the first ``fixed-time`` label, else the first label.
        intersections: traffic lights whose queue time series are plotted; empty picks, per
            network, the three with the longest mean queue.
        flag_metrics: 0/1 metrics counted per group as "runs flagged" columns
            (e.g. ``gridlocked``, ``flagged`` for teleports or collisions).
        title: report title; None uses the directory name.

    """

    metrics: tuple[str, ...] = ("mean_delay_s", "mean_travel_time_s", "mean_waiting_time_s")
    baseline: str | None = None
    intersections: tuple[str, ...] = ()
    flag_metrics: tuple[str, ...] = ("gridlocked", "flagged")
    title: str | None = None

    def __post_init__(self) -> None:
        unknown = [m for m in (*self.metrics, *self.flag_metrics) if m not in _ALL_METRICS]
        if unknown:
            raise SignalbenchError(
                f"unknown metric {unknown[0]!r}; choose from {', '.join(sorted(_ALL_METRICS))}"
            )
        if not self.metrics:
            raise SignalbenchError("a report needs at least one metric")


@dataclass
class _Group:
    network: str
    demand: float
    version: str = ""
    sensing: str = ""
    rows: list[dict[str, Any]] = field(default_factory=list)
    demand_text: str = ""
    pooled: int = 0  # trials sharing a controller and seed with another trial of the group

    @property
    def title(self) -> str:
        text = f"{self.network}, {self.demand_text or f'demand x {self.demand:g}'}"
        text += f", sensing `{self.sensing}`" if self.sensing else ""
        return f"{text}, SUMO {self.version}" if self.version else text


def _fmt(value: float, digits: int = 1) -> str:
    return "-" if value is None or math.isnan(value) else f"{value:.{digits}f}"


def _summary_tables(
    df: pd.DataFrame, options: ReportOptions, baseline: str, by_version: bool, spec_order: Sequence[str] = ()
) -> list[_Group]:
    """One table per network x demand (x sensing scenario, x SUMO version when several are compared).

    Every comparison of the report with the baseline is one family: their p-values are
    Holm-corrected together.
    """
    by_sensing = _has_sensing_axis(df)
    keys = ["network", "demand", *(["sensing"] if by_sensing else [])]
    keys += ["sumo_version"] if by_version else []
    order = {name: i for i, name in enumerate(sensing_order(df, spec_order))} if by_sensing else {}
    groups = []
    pending: list[tuple[dict[str, Any], tuple[dict[int, float], dict[int, float]]]] = []
    for key, part in df.groupby(keys, sort=True):
        network, demand = key[0], key[1]
        group = _Group(
            network=str(network),
            demand=float(demand),
            version=str(key[-1]) if by_version else "",
            sensing=str(key[2]) if by_sensing else "",
            demand_text=demand_text(float(demand), part),
        )
        done = part[part["state"] == "complete"]  # ok's rows of this group (trial ids are unique)
        # The same controller and seed twice: runs with other settings (window, backend,
        # timing, ...) are pooled into one mean; say so rather than average silently.
        group.pooled = int(done.duplicated(["label", "seed"], keep=False).sum())
        base = done[done["label"] == baseline]
        for label in _ordered(part["label"].unique(), baseline):
            mine = done[done["label"] == label]
            row: dict[str, Any] = {
                "label": label,
                "seeds": len(mine),
                "failed": int(((part["label"] == label) & (part["state"] != "complete")).sum()),
            }
            for flag in options.flag_metrics:
                row[flag] = int((mine[flag].fillna(0) > 0).sum()) if flag in mine else 0
            stuck = mine["vehicles_stuck"].astype(float) if "vehicles_stuck" in mine else None
            row["stuck_median"] = float(stuck.median()) if stuck is not None and len(stuck) else math.nan
            for metric in options.metrics:
                vals = mine[metric].astype(float)
                row[metric] = {
                    "stats": cell_stats(list(vals)),
                    "per_seed": dict(zip(mine["seed"].astype(int), vals, strict=True)),
                }
                if label != baseline and len(base):
                    theirs = dict(zip(base["seed"].astype(int), base[metric].astype(float), strict=True))
                    pending.append((row[metric], (row[metric]["per_seed"], theirs)))
            group.rows.append(row)
        groups.append(group)
    for cell, comparison in zip(pending, paired_changes([p for _, p in pending]), strict=True):
        cell[0]["vs_baseline"] = comparison
    groups = sorted(
        groups, key=lambda g: (g.network, g.demand, order.get(g.sensing, 0), sumo_version_key(g.version))
    )
    _correct(groups, options)
    return groups


def _has_sensing_axis(df: pd.DataFrame) -> bool:
    """Tell whether the trials ran under more than one sensing scenario, or under a realistic one."""
    return "sensing" in df and (df["sensing"].nunique() > 1 or not bool(df["perfect_sensing"].all()))


def _correct(groups: list[_Group], options: ReportOptions) -> None:
    """Holm-correct every comparison of the report as one family (in place)."""
    cells = [(r[m], m) for g in groups for r in g.rows for m in options.metrics if "vs_baseline" in r[m]]
    corrected = with_family([cell["vs_baseline"] for cell, _ in cells])
    for (cell, _), comparison in zip(cells, corrected, strict=True):
        cell["vs_baseline"] = comparison


def _family(groups: list[_Group], options: ReportOptions) -> int:
    """How many comparisons with a p-value the report makes."""
    return sum(
        1
        for g in groups
        for r in g.rows
        for m in options.metrics
        if "vs_baseline" in r[m] and not math.isnan(r[m]["vs_baseline"].p_value)
    )


def _mean_text(st: CellStats) -> str:
    """``mean ± half-width`` (no ± for a single seed)."""
    return _fmt(st.mean) + ("" if math.isnan(st.mean_half) else f" ± {_fmt(st.mean_half)}")


def _median_text(st: CellStats) -> str:
    """``median [low, high]``, with the interval's confidence when it is below 95 %."""
    if math.isnan(st.median_low):
        return _fmt(st.median)
    level = "" if st.median_level >= CONFIDENCE - 1e-9 else f" ({100 * st.median_level:.0f} %)"
    return f"{_fmt(st.median)} [{_fmt(st.median_low)}, {_fmt(st.median_high)}]{level}"


def _interval(low: float, high: float) -> str:
    return "" if math.isnan(low) else f" [{low:+.1f}, {high:+.1f}]"


def _change_text(comp: Comparison | None, *, with_ci: bool = True) -> str:
    """Return the typical change, its interval and the verdict (Holm-corrected)."""
    if comp is None or comp.n_pairs == 0 or math.isnan(comp.change_pct):
        return "-"
    text = f"{comp.change_pct:+.1f}" + (_interval(comp.ci_low_pct, comp.ci_high_pct) if with_ci else "")
    return text + (" **significant**" if comp.significant else " n.s.")


def _mean_change_text(comp: Comparison | None) -> str:
    if comp is None or comp.n_pairs == 0 or math.isnan(comp.mean_change_pct):
        return "-"
    return f"{comp.mean_change_pct:+.1f}" + _interval(comp.mean_ci_low_pct, comp.mean_ci_high_pct)


def _p_text(comp: Comparison | None) -> str:
    if comp is None or math.isnan(comp.p_value):
        return "-"
    return f"{_p(comp.p_value)} ({_p(comp.p_adjusted)})"


def _p(p: float) -> str:
    return f"{p:.2g}" if p >= 0.001 else f"{p:.0e}"


def _versions_table(groups: list[_Group], options: ReportOptions, baseline: str) -> list[str]:
    """Tabulate the primary metric per scenario and controller, one column block per SUMO version."""
    metric = options.metrics[0]
    name, unit = _NICE.get(metric, metric), _ALL_METRICS[metric][0]
    versions = sorted({g.version for g in groups}, key=sumo_version_key)
    cells: dict[tuple[str, str, str], dict[str, Any]] = {}
    scenarios: dict[str, None] = {}
    for g in groups:
        scenario = f"{g.network}, {g.demand_text or f'demand x {g.demand:g}'}"
        scenarios[scenario] = None
        for r in g.rows:
            cells[(scenario, r["label"], g.version)] = r
    head = ["scenario", "controller"]
    for v in versions:
        head += [
            f"SUMO {v}: seeds",
            f"{name} {unit} median [95 % CI]",
            "mean ± 95 % CI",
            f"typical change vs {baseline} %",
        ]
        head += [*options.flag_metrics[:1], "stuck veh median"]
    lines = [
        "",
        "## SUMO versions side by side",
        "",
        f"The {name} per scenario and controller under each SUMO release (the tables below give the "
        f"other metrics, the intervals of the changes and every flag). Changes versus `{baseline}` are "
        "paired over seeds within one release; `-`: not run on that release.",
        "",
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
    ]
    for scenario in scenarios:
        labels = {lab for (s, lab, _) in cells if s == scenario}
        for label in _ordered(sorted(labels), baseline):
            out = [scenario, f"`{label}`"]
            for v in versions:
                row = cells.get((scenario, label, v))
                if row is None or not row["seeds"]:
                    out += ["-"] * (6 + len(options.flag_metrics[:1]) - 1)
                    continue
                m = row[metric]
                change = (
                    "baseline" if label == baseline else _change_text(m.get("vs_baseline"), with_ci=False)
                )
                out += [str(row["seeds"]), _median_text(m["stats"]), _mean_text(m["stats"]), change]
                out += [f"{row[f]}/{row['seeds']}" for f in options.flag_metrics[:1]]
                out.append(_fmt(row["stuck_median"], 0))
            lines.append("| " + " | ".join(out) + " |")
    return lines


def _ordered(labels: Any, baseline: str) -> list[str]:
    """Baseline first, then the other labels alphabetically."""
    rest = sorted({str(x) for x in labels} - {baseline})
    return ([baseline] if baseline in set(labels) else []) + rest


def _markdown_table(group: _Group, options: ReportOptions, baseline: str) -> str:
    """Tabulate the primary metric in full, then the others (median, mean, typical change)."""
    primary, others = options.metrics[0], options.metrics[1:]
    unit = _ALL_METRICS[primary][0]
    name = _NICE.get(primary, primary)
    head = [
        "controller", "seeds", "failed", *options.flag_metrics, "stuck veh median",
        f"{name} {unit} median [95 % CI]", "mean ± 95 % CI", f"typical change vs {baseline} % [95 % CI]",
        "change of the mean % [95 % CI]", "Wilcoxon p (Holm)",
    ]  # fmt: skip
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in group.rows:
        m = row[primary]
        comp = m.get("vs_baseline")
        is_base = row["label"] == baseline
        cells = [
            f"`{row['label']}`", str(row["seeds"]), str(row["failed"]),
            *(str(row[f]) for f in options.flag_metrics), _fmt(row["stuck_median"], 0),
            _median_text(m["stats"]), _mean_text(m["stats"]),
            "baseline" if is_base else _change_text(comp),
            "" if is_base else _mean_change_text(comp),
            "" if is_base else _p_text(comp),
        ]  # fmt: skip
        lines.append("| " + " | ".join(cells) + " |")
    if others:
        head = ["controller"]
        for metric in others:
            nice, unit = _NICE.get(metric, metric), _ALL_METRICS[metric][0]
            head += [f"{nice} {unit} median [95 % CI]", "mean ± 95 % CI", "typical change %"]
        lines += ["", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for row in group.rows:
            cells = [f"`{row['label']}`"]
            for metric in others:
                m = row[metric]
                change = "baseline" if row["label"] == baseline else _change_text(m.get("vs_baseline"))
                cells += [_median_text(m["stats"]), _mean_text(m["stats"]), change]
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _heavy_tail_notes(group: _Group, options: ReportOptions) -> list[str]:
    """Plain words for each row whose mean lies outside its median's interval."""
    metric = options.metrics[0]
    name, unit = _NICE.get(metric, metric), _ALL_METRICS[metric][0]
    notes = []
    for row in group.rows:
        st: CellStats = row[metric]["stats"]
        if not st.heavy_tail:
            continue
        stuck = row.get("gridlocked", 0)
        way = "up" if st.mean > st.median else "down"
        pull = "pulls" if stuck == 1 else "pull"
        why = (
            f"{stuck} of {st.n} seeds gridlocked and {pull} the mean {way}"
            if stuck
            else f"a few seeds far from the rest pull the mean {way}"
        )
        notes.append(
            f"- `{row['label']}`: mean {_fmt(st.mean)} but median {_fmt(st.median)} {unit} {name}: {why}. "
            "Quote the median with its interval (and the gridlocked count); the mean describes the tail."
        )
    if not notes:
        return []
    return [
        "",
        "**Mean and median disagree** (the mean lies outside the median's 95 % interval):",
        "",
        *notes,
    ]


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in text)


def _control_table(df: pd.DataFrame) -> list[str]:
    """Controller-side means per label over completed trials (Python controllers only)."""
    ok = df[(df["state"] == "complete") & (df["decisions"].fillna(0) > 0)]
    if not len(ok):
        return []
    lines = [
        "",
        "## Controller side",
        "",
        "Means over completed trials; fixed-time runs plain SUMO and takes no decisions "
        "(docs/metrics.md, controller-side numbers).",
        "",
    ]
    # Under a sensing axis each scenario has its own row: what a controller does depends on it.
    by_sensing = "sensing" in ok.columns and ok["sensing"].nunique() > 1
    keys = ["network", "sensing", "label"] if by_sensing else ["network", "label"]
    head = ["network", *(["sensing"] if by_sensing else []), "controller", "trials", "decisions", "switches"]
    head += ["overrides", "compute ms/decision"]
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for key, mine in ok.groupby(keys, sort=True):
        means = [mine[c].mean() for c in ("decisions", "switches", "overrides_total")]
        ms = mine["controller_ms_per_decision"].mean()
        names = [str(k) for k in key[:-1]]
        cells = [*names, f"`{key[-1]}`", str(len(mine)), *(f"{m:.0f}" for m in means), f"{ms:.3f}"]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    import pandas as pd

    frames = [f for f in frames if len(f)]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


#: Columns of the per-signal table a report uses.
_INTER_COLUMNS = ["trial_id", "network", "demand", "flow_veh_h", "sensing", "label", "seed", "tls",
                  "time_loss_per_veh_s", "queue_mean_veh"]  # fmt: skip


def _load(roots: list[Path]) -> tuple[pd.DataFrame, pd.DataFrame, list[Dataset]]:
    """One row per trial and the per-signal table over every root, and each root's dataset.

    The queue time series are not loaded here: :class:`_Queues` reads the few signals the
    plots show, aggregated as they are read.
    """
    import pyarrow as pa

    datasets = [open_dataset(store_at(r)) for r in roots]
    df = _concat([d.rows().assign(_root=k) for k, d in enumerate(datasets)])
    df = df.drop_duplicates("trial_id")
    df = df.sort_values(["network", "demand", "label", "seed"], kind="stable").reset_index(drop=True)
    frames = []
    for d in datasets:
        parts = [t for t in d.batches("intersections", columns=_INTER_COLUMNS) if t.num_rows]
        if parts:
            frames.append(pa.concat_tables(parts, promote_options="permissive").to_pandas())
    inter = _concat(frames)
    if len(inter):
        inter = inter.sort_values("trial_id", kind="stable")  # the records' order, as before
        if len(roots) > 1:
            inter = inter.drop_duplicates(["trial_id", "tls"])
        # Trials that finished while the report was reading (an experiment still running): their
        # tables may be read without their record; leave them to the next report.
        inter = inter[inter["trial_id"].isin(df["trial_id"])].reset_index(drop=True)
    return df, inter, datasets


class _Queues:
    """Queue curves of chosen signals: per label and interval, the mean over seeds.

    A seed's value is the queue summed over the signal's approaches (and over the trials
    sharing its label and seed, as the per-seed curves always were).

    Read from the datasets' queue tables filtered to the wanted signals, and aggregated batch
    by batch, so memory follows the size of the curves, not of the store.
    """

    def __init__(self, df: pd.DataFrame, datasets: list[Dataset], labels: dict[str, str]) -> None:
        self.df = df
        self.datasets = datasets
        self.labels = labels  # trial id -> the label the plots show
        self.curves: dict[tuple[str, float], pd.DataFrame] = {}

    def read(self, wanted: dict[tuple[str, float], list[str]]) -> dict[tuple[str, float], set[str]]:
        """Aggregate the curves of ``wanted`` signals per (network, demand); return the signals found."""
        import numpy as np
        import pandas as pd
        import pyarrow as pa
        import pyarrow.compute as pc

        df = self.df
        group_of = {key: k for k, key in enumerate(wanted)}
        gcode = np.array(
            [group_of.get((n, float(d)), -1) for n, d in zip(df["network"], df["demand"], strict=True)]
        )
        shown = pd.Series(
            [self.labels.get(t, str(lab)) for t, lab in zip(df["trial_id"], df["label"], strict=True)]
        )
        label_names = sorted(set(shown))
        lcode = shown.map({name: k for k, name in enumerate(label_names)}).to_numpy()
        # A trial sharing its label and seed with another of its group is summed with it per
        # seed first (as the per-seed curves are); the others are one seed each.
        pooled = pd.DataFrame({"g": gcode, "l": lcode, "s": df["seed"].astype(int)}).duplicated(keep=False)
        skey = np.where(pooled.to_numpy(), df["seed"].astype(int).to_numpy(), -1)
        tls_union = sorted({t for tls in wanted.values() for t in tls})
        partials = []
        for root, dataset in enumerate(self.datasets):
            # A trial in several roots: its first root's record is the one in ``df``.
            mine = df["_root"].to_numpy() == root
            ids = pa.array(df["trial_id"][mine].astype(str).tolist(), pa.string())
            rows = np.flatnonzero(mine)
            for batch in dataset.batches(
                QUEUE, columns=["trial_id", "tls", "begin_s", "end_s", "queue_veh"], tls=tls_union
            ):
                pos = pc.index_in(batch.column("trial_id"), value_set=ids)
                valid = pc.is_valid(pos)
                batch, pos = batch.filter(valid), pos.filter(valid)
                if not batch.num_rows:
                    continue
                at = rows[pos.to_numpy()]
                inside = gcode[at] >= 0
                if not inside.any():
                    continue
                mask = pa.array(inside)
                at = at[inside]
                keyed = pa.table(
                    {
                        "g": gcode[at], "l": lcode[at], "s": skey[at],
                        "tls": batch.column("tls").filter(mask),
                        "begin_s": batch.column("begin_s").filter(mask),
                        "end_s": batch.column("end_s").filter(mask),
                        "q": batch.column("queue_veh").filter(mask),
                    }
                )  # fmt: skip
                partials.append(
                    keyed.group_by(["g", "l", "s", "tls", "begin_s", "end_s"], use_threads=False).aggregate(
                        [("q", "sum"), ("q", "count")]
                    )
                )
        found: dict[tuple[str, float], set[str]] = {key: set() for key in wanted}
        if not partials:
            return found
        keys = ["g", "l", "s", "tls", "begin_s", "end_s"]
        sums = (
            pa.concat_tables(partials)
            .group_by(keys, use_threads=False)
            .aggregate([("q_sum", "sum"), ("q_count", "sum")])
            .to_pandas()
        )
        # A pooled seed counts once; the others count their trials (one seed each).
        sums["n"] = np.where(sums["s"].to_numpy() >= 0, 1, sums["q_count_sum"].to_numpy())
        curves = sums.groupby(["g", "l", "tls", "begin_s", "end_s"], sort=True)[["q_sum_sum", "n"]].sum()
        curves = curves.reset_index()
        curves["queue_veh"] = curves["q_sum_sum"] / curves["n"]
        curves["label"] = [label_names[k] for k in curves["l"]]
        for key, k in group_of.items():
            part = curves[curves["g"] == k]
            self.curves[key] = part[["tls", "label", "begin_s", "end_s", "queue_veh"]].reset_index(drop=True)
            found[key] = {t for t in set(part["tls"]) if t in set(wanted[key])}
        return found


def _intro(
    df: pd.DataFrame, title: str, baseline: str, options: ReportOptions, groups: list[_Group]
) -> list[str]:
    """Title, counts, how to read the tables, the family of comparisons, SUMO versions, flags."""
    ok = df[df["state"] == "complete"]
    md: list[str] = [f"# {title}", ""]
    family = _family(groups, options)
    tables = len(groups)
    metrics = ", ".join(f"`{m}`" for m in options.metrics)
    md.append(
        f"{len(df)} trials: {len(ok)} complete, {len(df) - len(ok)} failed. Baseline: `{baseline}`. "
        "Per controller: the **median** over seeds with its distribution-free 95 % interval (order "
        "statistics; with fewer than 6 seeds the widest one, min to max, with the confidence it "
        "reaches), the **mean** with its 95 % Student t interval, and the runs that gridlocked. "
        "Versus the baseline, paired by seed: the **typical change** (Hodges-Lehmann estimate of the "
        "per-seed log ratios, with the 95 % interval of the Wilcoxon signed-rank test; it needs 6 "
        "seeds), the **change of the mean** (ratio of the means, paired bootstrap BCa 95 % interval), "
        "and the Wilcoxon signed-rank p-value. Metric definitions and which number answers which "
        "question: docs/metrics.md."
    )
    md.append(
        f"\n**Significance:** {family} comparisons with the baseline in this report (every controller "
        f"in every one of the {tables} tables, for {metrics}) are one family; their p-values are "
        "corrected with Holm's method (shown in brackets), and a change is **significant** when the "
        "corrected p-value is at most 0.05: the chance that any of the marks in this report is a "
        "false alarm is at most 5 %."
    )
    md.append(
        "\n**Which number to quote:** where the mean and the median agree, either. Where the mean lies "
        "outside the median's interval (listed under each table), a few seeds (usually gridlocked "
        "ones) dominate the mean: quote the median and its interval, and say how many runs "
        "gridlocked."
    )
    versions = sorted(set(ok["sumo_version"]), key=sumo_version_key) if len(ok) else []
    if versions:
        md.append(f"\nSUMO version(s): {', '.join(versions)}.")
    if options.flag_metrics:
        md.append(
            "\nColumns " + ", ".join(f"`{f}`" for f in options.flag_metrics) + ": runs with that flag "
            "(" + "; ".join(f"`{f}`: {_ALL_METRICS[f][1]}" for f in options.flag_metrics) + "). "
            "`stuck veh median`: the median over seeds of `vehicles_stuck` "
            f"({_ALL_METRICS['vehicles_stuck'][1]}), "
            "which tells a few vehicles held for minutes from a network that locked up."
        )
    return md


def _group_sections(groups: list[_Group], options: ReportOptions, baseline: str) -> list[str]:
    """One table per network x demand (x SUMO version)."""
    md: list[str] = []
    for group in groups:
        md += ["", f"## {group.title}", ""]
        if group.pooled:
            md += [
                f"**Warning:** {group.pooled} trials share a controller and seed with another trial "
                "here: runs with different settings (window, backend, timing, ...) are pooled. Report "
                "their experiment directories separately.",
                "",
            ]
        md.append(_markdown_table(group, options, baseline))
        md += _heavy_tail_notes(group, options)
    return md


def _version_labels(df: pd.DataFrame, inter: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Relabel every row ``label (SUMO x.y.z)``: one label per controller and SUMO version."""
    new = {
        tid: f"{lab} (SUMO {ver})"
        for tid, lab, ver in zip(df["trial_id"], df["label"], df["sumo_version"], strict=True)
    }
    df = df.assign(label=df["trial_id"].map(new))
    if len(inter):
        inter = inter.assign(label=inter["trial_id"].map(new))
    return df, inter


def _queue_signals(
    inter: pd.DataFrame, groups: list[tuple[str, float]], queues: _Queues, options: ReportOptions
) -> dict[tuple[str, float], list[str]]:
    """Return the signals whose queue is plotted per (network, demand), having read their curves.

    The ``intersections`` option's signals that have a time series; else the three with the
    longest mean queue that have one. The curves of the top three are read first, and of the
    rest only for a group where some of those three have no time series.
    """
    ranking: dict[tuple[str, float], list[str]] = {}
    for key in groups:
        mine = inter[(inter["network"] == key[0]) & (inter["demand"] == key[1])]
        by_queue = mine.groupby("tls")["queue_mean_veh"].mean().sort_values(ascending=False)
        ranking[key] = [str(t) for t in by_queue.index]
    user = [str(t) for t in options.intersections]
    chosen: dict[tuple[str, float], list[str]] = {}
    todo = {key: [*user, *ranking[key][:3]] for key in groups}
    for last in (False, True):
        if not todo:
            break
        found = queues.read(todo)
        again = {}
        for key, wanted in todo.items():
            mine_user = [t for t in user if t in found[key]]
            top = [t for t in ranking[key] if t in found[key]][:3]
            complete = len(top) >= 3 or len(wanted) >= len(user) + len(ranking[key])
            if mine_user or complete or last:
                chosen[key] = mine_user or top
            else:
                again[key] = [*user, *ranking[key]]
        todo = again
    return chosen


def _plots(
    df: pd.DataFrame,
    plain: pd.DataFrame,
    queues: _Queues,
    inter: pd.DataFrame,
    out: Path,
    options: ReportOptions,
    by_version: bool,
) -> list[str]:
    """Draw the PNGs into ``out``; return the report's plot section."""
    primary = options.metrics[0]
    unit = _ALL_METRICS[primary][0]
    nice = _NICE.get(primary, primary)
    ok = df[df["state"] == "complete"]
    images: list[tuple[str, str]] = []
    if not len(ok):
        return []
    name = "by_controller.png"
    plot_by_controller(plain, primary, nice, unit, out / name, by_version=by_version)
    images.append((name, f"{nice[:1].upper()}{nice[1:]} by controller: every seed, median and its interval"))
    if ok.groupby("network")["demand"].nunique().max() > 1:
        name = "vs_demand.png"
        plot_vs_demand(df, primary, nice, unit, out / name)
        images.append((name, f"Median {nice} vs demand"))
    groups = []
    if len(inter):
        for (network, demand), _ in ok.groupby(["network", "demand"], sort=False):
            if ((inter["network"] == network) & (inter["demand"] == demand)).any():
                groups.append((str(network), float(demand)))
    signals = _queue_signals(inter, groups, queues, options) if groups else {}
    for network, demand in groups:
        mine = inter[(inter["network"] == network) & (inter["demand"] == demand)]
        slug = _slug(f"{network}_{demand:g}")
        name = f"intersections_{slug}.png"
        plot_intersection_delay(inter, network, demand, out / name)
        images.append((name, f"Delay per signal, {network}, {demand_text(demand, mine)}"))
        chosen = signals.get((network, demand), [])
        if chosen:
            name = f"queue_{slug}.png"
            curves = queues.curves[(network, demand)]
            title = f"{network}, {demand_text(demand, mine)}"
            plot_queue_timeseries(curves, title, chosen, out / name)
            images.append((name, f"Queue over time, {network}, {demand_text(demand, mine)}"))
    return ["", "## Plots", "", *(f"![{alt}]({name})\n" for name, alt in images)]


def _spec_sensing(roots: list[Path]) -> list[str]:
    """Return the names of the ``[[sensing]]`` entries, in the order of the experiments' specs."""
    names: list[str] = []
    for root in roots:
        try:
            data = load_toml(root / "experiment.toml")
        except (OSError, SignalbenchError):
            continue
        entries = data.get("sensing", [])
        names += [str(e.get("name", e.get("model", "perfect"))) for e in entries if isinstance(e, dict)]
    return list(dict.fromkeys(names))


def _robustness_plot(
    df: pd.DataFrame, out: Path, options: ReportOptions, reference: str, order: list[str]
) -> list[str]:
    """Draw ``robustness.png`` (median delay per sensing scenario, one line per controller)."""
    primary = options.metrics[0]
    nice, unit = _NICE.get(primary, primary), _ALL_METRICS[primary][0]
    if not (df["state"] == "complete").any():
        return []
    plot_robustness(df, primary, nice, unit, out / "robustness.png", order)
    return [
        "",
        f"The plots above show the `{reference}` trials; this one every sensing scenario:",
        "",
        f"![Median {nice} of each controller under each sensing scenario](robustness.png)\n",
    ]


def _sensing_note(row: Any) -> str:
    sensing = str(row.get("sensing", "perfect"))
    return "" if sensing == "perfect" else f" (sensing `{sensing}`)"


def _failed_section(df: pd.DataFrame) -> list[str]:
    """Return the section listing the failed trials with their reasons."""
    failed = df[df["state"] != "complete"]
    if not len(failed):
        return []
    md = [
        "",
        "## Failed trials",
        "",
        "| trial | network | demand | controller | seed | reason |",
        "|---|---|---|---|---|---|",
    ]
    for _, r in failed.iterrows():
        reason = str(r["error"]).replace("|", "\\|")
        md.append(
            f"| `{r['trial_id']}` | {r['network']} | {r['demand']:g} | `{r['label']}`{_sensing_note(r)} "
            f"| {r['seed']} | {reason} |"
        )
    return md


def write_report(
    directory: Path | str | Sequence[Path | str],
    out_dir: Path | str | None = None,
    options: ReportOptions | None = None,
) -> Path:
    """Write ``report.md``, ``report.html`` (PNGs embedded) and the PNGs; return the HTML path.

    ``directory`` may be several experiment directories (e.g. the same matrix run with two SUMO
    versions). When the completed trials ran on more than one SUMO version, every table is
    split by version (comparisons stay within a version) and plot labels name the version.

    Raises:
        SignalbenchError: the directory holds no trial records, or an option names nothing here.

    """
    options = options or ReportOptions()
    roots = [Path(directory)] if isinstance(directory, (str, Path)) else [Path(d) for d in directory]
    if not roots:
        raise SignalbenchError("a report needs at least one experiment directory")
    df, inter, datasets = _load(roots)
    out = Path(out_dir) if out_dir is not None else roots[0] / "report"
    out.mkdir(parents=True, exist_ok=True)
    labels = list(dict.fromkeys(df["label"]))
    if options.baseline is not None and options.baseline not in labels:
        raise SignalbenchError(
            f"--baseline {options.baseline!r} is not a controller label here; labels: {', '.join(labels)}"
        )
    baseline = choose_baseline(labels, options.baseline)
    by_version = df.loc[df["state"] == "complete", "sumo_version"].nunique() > 1
    spec_order = _spec_sensing(roots)
    groups = _summary_tables(df, options, baseline, by_version, spec_order)
    title = options.title or "signalbench report: " + ", ".join(r.resolve().name for r in roots)

    md = _intro(df, title, baseline, options, groups)
    metric = options.metrics[0]
    md += robustness_sections(df, metric, _NICE.get(metric, metric), _ALL_METRICS[metric][0], spec_order)
    if by_version:
        md += _versions_table(groups, options, baseline)
    md += _group_sections(groups, options, baseline)
    plain = df  # labels without the SUMO version, for the by-controller plot
    if by_version:
        df, inter = _version_labels(df, inter)
    relabel = dict(zip(df["trial_id"], df["label"], strict=True))
    md += _control_table(df)
    reference = reference_sensing(df)
    if reference is not None:  # the plots of one scenario; the robustness plot shows them all
        robust = _robustness_plot(df, out, options, reference, sensing_order(df, spec_order))
        df, plain = (f[f["sensing"] == reference] for f in (df, plain))
        inter = inter[inter["sensing"] == reference] if len(inter) else inter
    md += _plots(df, plain, _Queues(df, datasets, relabel), inter, out, options, by_version)
    if reference is not None:
        md += robust
    md += _failed_section(df)
    text = "\n".join(md) + "\n"
    atomic_write_text(out / "report.md", text)
    html_path = out / "report.html"
    atomic_write_text(html_path, markdown_page(title, text, out))
    return html_path
