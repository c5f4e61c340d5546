"""``signalbench report``: tables with confidence intervals, paired comparisons and plots.

Everything is computed from the result store (:func:`read_results` and the Parquet tables),
so a report can be regenerated at any time without rerunning a trial.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from signalbench._util import atomic_write_text
from signalbench.analysis._html import markdown_page
from signalbench.analysis._plots import (
    plot_by_controller,
    plot_intersection_delay,
    plot_queue_timeseries,
    plot_vs_demand,
)
from signalbench.analysis._results import (
    demand_text,
    read_intersections,
    read_results,
    read_timeseries,
    sumo_version_key,
)
from signalbench.analysis._summary import mean_ci95
from signalbench.errors import SignalbenchError
from signalbench.metrics import EMISSION_METRICS, TRIP_METRICS

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Comparison", "ReportOptions", "paired_change", "write_report"]

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


@dataclass(frozen=True, kw_only=True)
class Comparison:
    """Change of one controller against the baseline over the seeds both completed.

    ``change_pct`` = 100 x mean(x - b) / mean(b); its interval is the paired 95 % interval of
    the differences (Student t over n - 1 degrees of freedom) divided by mean(b), the
    baseline mean being taken as fixed. Significant when the interval excludes 0.
    """

    n_pairs: int
    change_pct: float
    ci_low_pct: float
    ci_high_pct: float

    @property
    def significant(self) -> bool:
        """True when the paired interval excludes zero."""
        return self.n_pairs >= 2 and (self.ci_low_pct > 0 or self.ci_high_pct < 0)


def paired_change(values: dict[int, float], baseline: dict[int, float]) -> Comparison:
    """Compare per-seed values with the baseline's values for the same seeds."""
    seeds = sorted(
        s for s in values if s in baseline and not (math.isnan(values[s]) or math.isnan(baseline[s]))
    )
    if not seeds:
        return Comparison(n_pairs=0, change_pct=math.nan, ci_low_pct=math.nan, ci_high_pct=math.nan)
    diffs = [values[s] - baseline[s] for s in seeds]
    base = float(np.mean([baseline[s] for s in seeds]))
    mean_d, half = mean_ci95(diffs)
    if base == 0:
        return Comparison(n_pairs=len(seeds), change_pct=math.nan, ci_low_pct=math.nan, ci_high_pct=math.nan)
    scale = 100.0 / base
    return Comparison(
        n_pairs=len(seeds),
        change_pct=mean_d * scale,
        ci_low_pct=(mean_d - half) * scale if not math.isnan(half) else math.nan,
        ci_high_pct=(mean_d + half) * scale if not math.isnan(half) else math.nan,
    )


@dataclass
class _Group:
    network: str
    demand: float
    version: str = ""
    rows: list[dict[str, Any]] = field(default_factory=list)
    demand_text: str = ""
    pooled: int = 0  # trials sharing a controller and seed with another trial of the group

    @property
    def title(self) -> str:
        text = f"{self.network}, {self.demand_text or f'demand x {self.demand:g}'}"
        return f"{text}, SUMO {self.version}" if self.version else text


def _fmt(value: float, digits: int = 1) -> str:
    return "-" if value is None or math.isnan(value) else f"{value:.{digits}f}"


def _summary_tables(
    df: pd.DataFrame, options: ReportOptions, baseline: str, by_version: bool
) -> list[_Group]:
    """One table per network x demand (x SUMO version when several versions are compared)."""
    keys = ["network", "demand", "sumo_version"] if by_version else ["network", "demand"]
    ok = df[df["state"] == "complete"]
    groups = []
    for key, part in df.groupby(keys, sort=True):
        network, demand = key[0], key[1]
        group = _Group(
            network=str(network),
            demand=float(demand),
            version=str(key[2]) if by_version else "",
            demand_text=demand_text(float(demand), part),
        )
        done = ok[ok["trial_id"].isin(part["trial_id"])]
        # The same controller and seed twice: runs with other settings (window, backend,
        # timing, ...) are pooled into one mean; say so rather than average silently.
        group.pooled = int(done.duplicated(["label", "seed"], keep=False).sum())
        base = done[done["label"] == baseline]
        for label in _ordered(part["label"], baseline):
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
                mean, half = mean_ci95(list(vals))
                row[metric] = {
                    "mean": mean,
                    "ci95": half,
                    "median": float(vals.median()) if len(vals) else math.nan,
                    "per_seed": dict(zip(mine["seed"].astype(int), vals, strict=True)),
                }
                if label != baseline and len(base):
                    row[metric]["vs_baseline"] = paired_change(
                        row[metric]["per_seed"],
                        dict(zip(base["seed"].astype(int), base[metric].astype(float), strict=True)),
                    )
            group.rows.append(row)
        groups.append(group)
    return sorted(groups, key=lambda g: (g.network, g.demand, sumo_version_key(g.version)))


def _mean_ci(m: dict[str, Any]) -> str:
    """``mean ± half-width`` of a metric cell (no ± for a single seed)."""
    ci = "" if math.isnan(m["ci95"]) else f" ± {_fmt(m['ci95'])}"
    return f"{_fmt(m['mean'])}{ci}"


def _change_text(comp: Comparison | None, *, with_ci: bool = True) -> str:
    if comp is None or comp.n_pairs == 0:
        return "-"
    text = f"{comp.change_pct:+.1f}"
    if with_ci and not math.isnan(comp.ci_low_pct):
        text += f" [{comp.ci_low_pct:+.1f}, {comp.ci_high_pct:+.1f}]"
    return text + (" **significant**" if comp.significant else " n.s.")


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
            f"{name} {unit} mean ± 95 % CI",
            "median",
            f"vs {baseline} %",
        ]
        head += [*options.flag_metrics[:1], "stuck veh median"]
    lines = [
        "",
        "## SUMO versions side by side",
        "",
        f"Mean {name} per scenario and controller under each SUMO release (the tables below give "
        f"the other metrics, the confidence intervals of the changes and every flag). Changes versus "
        f"`{baseline}` are paired over seeds within one release; `-`: not run on that release.",
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
                    out += ["-"] * (5 + len(options.flag_metrics[:1]))
                    continue
                m = row[metric]
                change = (
                    "baseline" if label == baseline else _change_text(m.get("vs_baseline"), with_ci=False)
                )
                out += [str(row["seeds"]), _mean_ci(m), _fmt(m["median"]), change]
                out += [f"{row[f]}/{row['seeds']}" for f in options.flag_metrics[:1]]
                out.append(_fmt(row["stuck_median"], 0))
            lines.append("| " + " | ".join(out) + " |")
    return lines


def _ordered(labels: Any, baseline: str) -> list[str]:
    """Baseline first, then the other labels alphabetically."""
    rest = sorted({str(x) for x in labels} - {baseline})
    return ([baseline] if baseline in set(labels) else []) + rest


def _markdown_table(group: _Group, options: ReportOptions, baseline: str) -> str:
    head = ["controller", "seeds"]
    for metric in options.metrics:
        unit = _ALL_METRICS[metric][0]
        name = _NICE.get(metric, metric)
        head += [f"{name} {unit} mean ± 95 % CI", "median", f"vs {baseline} % [95 % CI]"]
    head += ["failed", *options.flag_metrics, "stuck veh median"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in group.rows:
        cells = [f"`{row['label']}`", str(row["seeds"])]
        for metric in options.metrics:
            m = row[metric]
            cells += [_mean_ci(m), _fmt(m["median"])]
            cells.append("baseline" if row["label"] == baseline else _change_text(m.get("vs_baseline")))
        cells += [
            str(row["failed"]),
            *(str(row[f]) for f in options.flag_metrics),
            _fmt(row["stuck_median"], 0),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _choose_baseline(labels: Sequence[str], wanted: str | None) -> str:
    if wanted is not None:
        if wanted not in labels:
            raise SignalbenchError(
                f"--baseline {wanted!r} is not a controller label here; labels: {', '.join(labels)}"
            )
        return wanted
    return next((lab for lab in labels if lab.startswith("fixed-time")), labels[0])


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
        "| network | controller | trials | decisions | switches | overrides | compute ms/decision |",
        "|---|---|---|---|---|---|---|",
    ]
    for (network, label), mine in ok.groupby(["network", "label"], sort=True):
        means = [mine[c].mean() for c in ("decisions", "switches", "overrides_total")]
        ms = mine["controller_ms_per_decision"].mean()
        cells = [str(network), f"`{label}`", str(len(mine)), *(f"{m:.0f}" for m in means), f"{ms:.3f}"]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    import pandas as pd

    frames = [f for f in frames if len(f)]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _load(roots: list[Path]) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """One row per trial, the queue time series and the per-signal table, over every root."""
    df = _concat([read_results(r) for r in roots]).drop_duplicates("trial_id")
    df = df.sort_values(["network", "demand", "label", "seed"], kind="stable").reset_index(drop=True)
    ts = _concat([read_timeseries(r) for r in roots])
    inter = _concat([read_intersections(r) for r in roots])
    if len(roots) > 1 and len(ts):
        ts = ts.drop_duplicates(["trial_id", "tls", "approach", "begin_s"])
        inter = inter.drop_duplicates(["trial_id", "tls"])
    # Trials that finished while the report was reading (an experiment still running): their
    # tables may be read without their record; leave them to the next report.
    if len(ts):
        ts = ts[ts["trial_id"].isin(df["trial_id"])]
    if len(inter):
        inter = inter[inter["trial_id"].isin(df["trial_id"])]
    return df, ts, inter


def _intro(df: pd.DataFrame, title: str, baseline: str, options: ReportOptions) -> list[str]:
    """Title, counts, how to read the tables, SUMO versions, the flag columns."""
    ok = df[df["state"] == "complete"]
    md: list[str] = [f"# {title}", ""]
    md.append(
        f"{len(df)} trials: {len(ok)} complete, {len(df) - len(ok)} failed. Baseline: `{baseline}`. "
        "Means over seeds with the half-width of their 95 % confidence interval (Student t); "
        "changes versus the baseline are paired over the seeds both completed, with the 95 % "
        "interval of the paired differences (significant: the interval excludes 0). "
        "Metric definitions: docs/metrics.md."
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
    return md


def _version_labels(
    df: pd.DataFrame, ts: pd.DataFrame, inter: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Relabel every row ``label (SUMO x.y.z)``: one label per controller and SUMO version."""
    new = {
        tid: f"{lab} (SUMO {ver})"
        for tid, lab, ver in zip(df["trial_id"], df["label"], df["sumo_version"], strict=True)
    }
    df = df.assign(label=df["trial_id"].map(new))
    if len(ts):
        ts = ts.assign(label=ts["trial_id"].map(new))
    if len(inter):
        inter = inter.assign(label=inter["trial_id"].map(new))
    return df, ts, inter


def _plots(
    df: pd.DataFrame,
    plain: pd.DataFrame,
    ts: pd.DataFrame,
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
    if len(ok):
        name = "by_controller.png"
        plot_by_controller(plain, primary, nice, unit, out / name, by_version=by_version)
        images.append((name, f"Mean {nice} by controller"))
        if ok.groupby("network")["demand"].nunique().max() > 1:
            name = "vs_demand.png"
            plot_vs_demand(df, primary, nice, unit, out / name)
            images.append((name, f"Mean {nice} vs demand"))
        for (network, demand), _ in ok.groupby(["network", "demand"], sort=False):
            if len(inter) == 0:
                break
            mine = inter[(inter["network"] == network) & (inter["demand"] == demand)]
            if len(mine) == 0:
                continue
            slug = _slug(f"{network}_{demand:g}")
            name = f"intersections_{slug}.png"
            plot_intersection_delay(inter, str(network), float(demand), out / name)
            images.append((name, f"Delay per signal, {network}, {demand_text(demand, mine)}"))
            in_series = (
                set(ts[(ts["network"] == network) & (ts["demand"] == demand)]["tls"]) if len(ts) else set()
            )
            chosen = [t for t in options.intersections if t in in_series]
            if not chosen:
                by_queue = mine.groupby("tls")["queue_mean_veh"].mean().sort_values(ascending=False)
                chosen = [str(t) for t in by_queue.index if t in in_series][:3]
            if chosen:
                name = f"queue_{slug}.png"
                plot_queue_timeseries(ts, str(network), float(demand), chosen, out / name)
                images.append((name, f"Queue over time, {network}, {demand_text(demand, mine)}"))
    if not images:
        return []
    return ["", "## Plots", "", *(f"![{alt}]({name})\n" for name, alt in images)]


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
            f"| `{r['trial_id']}` | {r['network']} | {r['demand']:g} | `{r['label']}` "
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
    df, ts, inter = _load(roots)
    out = Path(out_dir) if out_dir is not None else roots[0] / "report"
    out.mkdir(parents=True, exist_ok=True)
    baseline = _choose_baseline(list(dict.fromkeys(df["label"])), options.baseline)
    by_version = df.loc[df["state"] == "complete", "sumo_version"].nunique() > 1
    groups = _summary_tables(df, options, baseline, by_version)
    title = options.title or "signalbench report: " + ", ".join(r.resolve().name for r in roots)

    md = _intro(df, title, baseline, options)
    if by_version:
        md += _versions_table(groups, options, baseline)
    md += _group_sections(groups, options, baseline)
    plain = df  # labels without the SUMO version, for the by-controller plot
    if by_version:
        df, ts, inter = _version_labels(df, ts, inter)
    md += _control_table(df)
    md += _plots(df, plain, ts, inter, out, options, by_version)
    md += _failed_section(df)
    text = "\n".join(md) + "\n"
    atomic_write_text(out / "report.md", text)
    html_path = out / "report.html"
    atomic_write_text(html_path, markdown_page(title, text, out))
    return html_path
