"""PNG plots of a report (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from signalbench.analysis._results import demand_text, sumo_version_key
from signalbench.analysis._stats import cell_stats

if TYPE_CHECKING:
    import pandas as pd

# Labels are sorted in every plot so that a controller keeps its colour across plots.
__all__ = [
    "plot_by_controller",
    "plot_intersection_delay",
    "plot_queue_timeseries",
    "plot_robustness",
    "plot_vs_demand",
]


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


_LINESTYLES = ("-", "--", "-.", ":")


def _palette(labels: Any) -> dict[str, tuple[Any, str]]:
    """Return a distinct (colour, line style) per label, fixed by the sorted set of all labels.

    20 colours (tab20, dark shades first) before a line style repeats, so a dozen controllers
    never share a colour, and a controller keeps its colour in every plot of a report.
    """
    plt = _plt()
    cmap = plt.get_cmap("tab20")
    order = [*range(0, 20, 2), *range(1, 20, 2)]
    names = sorted({str(x) for x in labels})
    return {
        name: (cmap(order[i % 20]), _LINESTYLES[(i // 20) % len(_LINESTYLES)]) for i, name in enumerate(names)
    }


def _legend_outside(ax: Any, n: int) -> None:
    """Legends of many entries go to the right of the axes, where they hide no data."""
    if n > 5:
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0)
    else:
        ax.legend(fontsize=8, loc="upper left")


def _short(name: str, width: int = 24) -> str:
    return name if len(name) <= width else name[: width - 1] + "…"


#: A column of the by-controller plot draws every seed as a dot up to this many seeds, else
#: this many evenly spaced quantiles of them: the same picture of the distribution at any
#: number of seeds, for the cost of a few hundred dots.
MAX_DOTS = 400


def _values_by(ok: pd.DataFrame, keys: list[str], metric: str) -> dict[tuple[Any, ...], np.ndarray]:
    """Return the metric's values (NaN left out) of each group of ``ok`` by ``keys``, in one pass.

    Each group's values keep their order in ``ok``.
    """
    values = ok[metric].astype(float).to_numpy()
    out: dict[tuple[Any, ...], np.ndarray] = {}
    for key, index in ok.groupby(keys, sort=False, dropna=False).indices.items():
        vals = values[index]
        out[key if isinstance(key, tuple) else (key,)] = vals[~np.isnan(vals)]
    return out


def _dots(vals: np.ndarray) -> np.ndarray:
    """Return ``vals``, or :data:`MAX_DOTS` evenly spaced quantiles of them if more."""
    return vals if len(vals) <= MAX_DOTS else np.quantile(vals, np.linspace(0.0, 1.0, MAX_DOTS))


def plot_by_controller(
    df: pd.DataFrame, metric: str, label: str, unit: str, path: Path, *, by_version: bool = False
) -> None:
    """One panel per network x demand: every seed's value, and the median with its 95 % interval.

    The median and its distribution-free interval are the primary mark (a thick bar and a
    black tick), every seed is a dot (beyond :data:`MAX_DOTS` seeds, that many evenly spaced
    quantiles of them), and the mean a small open diamond, so that the heavy tail
    of gridlocked seeds shows without taking over the picture. With ``by_version`` (trials of
    several SUMO releases), each controller gets one column per release side by side: the same
    colour, older releases lighter.
    """
    plt = _plt()
    from matplotlib.lines import Line2D

    ok = df[df["state"] == "complete"]
    panels = ok.groupby(["network", "demand"], sort=False).indices
    labels = sorted(set(ok["label"]))
    palette = _palette(labels)
    versions: list[str | None] = (
        [*sorted({str(v) for v in ok["sumo_version"]}, key=sumo_version_key)] if by_version else [None]
    )
    # The plot is drawn from these aggregates: each column's values once (a group-by), at most
    # MAX_DOTS dots of them, its median, interval and mean.
    keys = ["network", "demand", "sumo_version", "label"] if by_version else ["network", "demand", "label"]
    cells = _values_by(ok, keys, metric)
    quantiles = any(len(v) > MAX_DOTS for v in cells.values())
    per_label = len(versions)
    panel_w = max(4.2, (0.45 * per_label + 0.35) * len(labels) + 1.2)
    cols = min(len(panels), 3 if panel_w <= 9 else 2)
    rows = math.ceil(len(panels) / cols)
    longest = max((len(_short(lab, 32)) for lab in labels), default=10)
    fig, axes = plt.subplots(
        rows, cols, figsize=(max(panel_w * cols, 6.5), (3.0 + 0.07 * longest) * rows), squeeze=False
    )
    width = 0.8 / per_label
    rng = np.random.default_rng(0)  # jitter of the seed dots, the same in every report
    flows = ok.get("flow_veh_h")
    for ax, ((network, demand), index) in zip(axes.flat, panels.items(), strict=False):
        x = np.arange(len(labels))
        tops: list[float] = [1.0]
        panel: list[np.ndarray] = []
        for j, version in enumerate(versions):
            alpha = 1.0 if j == per_label - 1 else 0.5
            pos = x + (j - (per_label - 1) / 2) * width
            for k, lab in enumerate(labels):
                key = (network, demand, lab) if version is None else (network, demand, version, lab)
                vals = cells.get(key)
                if vals is None or not len(vals):
                    continue
                st = cell_stats(list(vals))
                colour = palette[lab][0]
                dots = _dots(vals)
                jitter = rng.uniform(-0.32, 0.32, len(dots)) * width
                ax.scatter(
                    pos[k] + jitter, dots, s=7, color=colour, alpha=0.55 * alpha, linewidths=0, zorder=2
                )
                low = st.median if math.isnan(st.median_low) else st.median_low
                high = st.median if math.isnan(st.median_high) else st.median_high
                ax.vlines(pos[k], low, high, colors=[colour], linewidth=6, alpha=0.85 * alpha, zorder=3)
                ax.hlines(st.median, pos[k] - 0.3 * width, pos[k] + 0.3 * width,
                          colors="black", linewidth=1.8, zorder=4)  # fmt: skip
                ax.scatter([pos[k]], [st.mean], marker="D", s=16, facecolors="white", edgecolors="black",
                           linewidths=0.8, zorder=5)  # fmt: skip
                tops.append(high)
                panel.append(vals)
        values = np.concatenate(panel) if panel else np.empty(0)
        part = None if flows is None else flows.iloc[index].to_frame()
        ax.set_xticks(x, [_short(lab, 32) for lab in labels], rotation=30, ha="right", fontsize=8)
        ax.set_title(f"{network}, {demand_text(demand, part)}", fontsize=10)
        ax.set_ylabel(f"{label} [{unit}]")
        # Gridlocked seeds can be ten times the rest: keep the medians readable and say how
        # many seeds lie above the axis.
        top = 1.12 * max(max(tops), float(np.percentile(values, 95)) if len(values) else 0.0)
        ax.set_ylim(0, top)
        above = int(np.count_nonzero(values > top))
        if above:
            ax.text(0.99, 0.98, f"{above} seed values above the axis", transform=ax.transAxes,
                    ha="right", va="top", fontsize=7, color="dimgrey")  # fmt: skip
        ax.grid(axis="y", alpha=0.3)
    for ax in list(axes.flat)[len(panels) :]:
        ax.set_visible(False)
    dots_text = f"{MAX_DOTS} evenly spaced quantiles of the seeds" if quantiles else "every seed"
    fig.suptitle(
        f"{label[:1].upper()}{label[1:]} by controller\n"
        f"bar and black tick: median and its 95 % interval; dots: {dots_text}; diamond: mean",
        fontsize=10,
    )
    fig.tight_layout(rect=(0, 0, 1, 0.95) if by_version else (0, 0, 1, 1))
    if by_version:
        handles = [
            Line2D(
                [0],
                [0],
                color="grey",
                linewidth=6,
                alpha=1.0 if j == per_label - 1 else 0.5,
                label=f"SUMO {v}",
            )
            for j, v in enumerate(versions)
        ]
        fig.legend(handles=handles, loc="upper right", ncols=per_label, fontsize=9, frameon=False)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_vs_demand(df: pd.DataFrame, metric: str, label: str, unit: str, path: Path) -> None:
    """One panel per network: median and its 95 % interval against the demand level, per controller."""
    plt = _plt()
    ok = df[df["state"] == "complete"]
    networks = sorted(set(ok["network"]))
    cols = min(len(networks), 3)
    rows = math.ceil(len(networks) / cols)
    palette = _palette(ok["label"])
    fig, axes = plt.subplots(rows, cols, figsize=(6.4 * cols, 3.6 * rows), squeeze=False)
    cells = _values_by(ok, ["network", "label", "demand"], metric)  # one pass; NaN left out
    for ax, network in zip(axes.flat, networks, strict=False):
        part = ok[ok["network"] == network]
        for lab in sorted(set(part["label"])):
            levels = sorted(d for n, la, d in cells if n == network and la == lab)
            stats = [cell_stats(list(cells[(network, lab, d)])) for d in levels]
            ax.errorbar(
                levels,
                [s.median for s in stats],
                yerr=[
                    [0.0 if math.isnan(s.median_low) else s.median - s.median_low for s in stats],
                    [0.0 if math.isnan(s.median_high) else s.median_high - s.median for s in stats],
                ],
                marker="o",
                capsize=3,
                color=palette[str(lab)][0],
                linestyle=palette[str(lab)][1],
                label=_short(str(lab), 32),
            )
        ax.set_title(str(network), fontsize=10)
        ax.set_xlabel("demand (x the network's own)")
        ax.set_ylabel(f"{label} [{unit}]")
        ax.grid(alpha=0.3)
        _legend_outside(ax, len(set(part["label"])))
    for ax in list(axes.flat)[len(networks) :]:
        ax.set_visible(False)
    fig.suptitle(f"Median {label} vs demand (error bars: its 95 % interval over seeds)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_queue_timeseries(curves: pd.DataFrame, title: str, tls_ids: list[str], path: Path) -> None:
    """Queue (halting vehicles, all approaches) over time at chosen signals, mean over seeds.

    ``curves``: one row per signal (``tls``), ``label`` and interval (``begin_s``, ``end_s``)
    with ``queue_veh``, the queue summed over the signal's approaches, mean over seeds.
    """
    plt = _plt()
    palette = _palette(curves["label"])
    wide = len(palette) > 5
    fig, axes = plt.subplots(
        len(tls_ids), 1, figsize=(10.5 if wide else 8, 2.8 * len(tls_ids)), squeeze=False, sharex=True
    )
    begin = float(curves["begin_s"].min())
    for ax, tls in zip(axes[:, 0], tls_ids, strict=True):
        mine = curves[curves["tls"] == tls]
        for lab in sorted(set(mine["label"])):
            curve = mine[mine["label"] == lab].sort_values("begin_s")
            x = [*curve["begin_s"].astype(float), float(curve["end_s"].iloc[-1])]
            y = [*curve["queue_veh"], curve["queue_veh"].iloc[-1]]  # the last interval drawn to its end
            color, style = palette[str(lab)]
            ax.step(
                [(t - begin) / 60.0 for t in x],
                y,
                where="post",
                color=color,
                linestyle=style,
                label=_short(str(lab), 32),
            )
        ax.set_title(f"{_short(tls, 50)}", fontsize=10)
        ax.set_ylabel("queue [veh]")
        ax.grid(alpha=0.3)
        _legend_outside(ax, len(palette))
    axes[-1, 0].set_xlabel("time since begin of run [min]")
    fig.suptitle(f"{title}: mean queue per interval (halting vehicles, mean over seeds)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_intersection_delay(inter: pd.DataFrame, network: str, demand: float, path: Path) -> None:
    """Time loss per vehicle at each signal (incoming approaches), by controller, mean over seeds."""
    plt = _plt()
    part = inter[(inter["network"] == network) & (inter["demand"] == demand)]
    means = part.groupby(["tls", "label"], sort=False)["time_loss_per_veh_s"].mean().unstack("label")
    labels = sorted(set(part["label"]))
    means = means[labels]
    n = len(means.index)
    palette = _palette(labels)
    fig, ax = plt.subplots(
        figsize=(10.5 if len(labels) > 5 else 8, max(2.5, 0.35 * n * max(len(labels), 1) / 1.5 + 1.2))
    )
    height = 0.8 / max(len(labels), 1)
    y = np.arange(n)
    for i, lab in enumerate(labels):
        ax.barh(
            y + i * height,
            means[lab].values,
            height=height,
            color=palette[str(lab)][0],
            label=_short(str(lab), 32),
        )
    ax.set_yticks(y + height * (len(labels) - 1) / 2, [_short(str(t), 30) for t in means.index], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("time loss on the incoming approaches [s/veh]")
    ax.set_title(f"{network}, {demand_text(demand, part)}: delay per signal (mean over seeds)", fontsize=10)
    ax.grid(axis="x", alpha=0.3)
    _legend_outside(ax, len(labels))
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_robustness(
    df: pd.DataFrame, metric: str, label: str, unit: str, path: Path, order: Sequence[str] = ()
) -> None:
    """One panel per network x demand: each controller's median over seeds per sensing scenario.

    Scenarios in the order of the spec along x, one line per controller (its colour as in the
    other plots), the median's interval as a bar, so a controller that degrades stands out as
    a line that climbs.
    """
    plt = _plt()
    ok = df[df["state"] == "complete"]
    groups = list(ok.groupby(["network", "demand"], sort=True))
    scenarios = list(order) or list(dict.fromkeys(df["sensing"]))
    labels = sorted(set(ok["label"]))
    palette = _palette(labels)
    cols = min(len(groups), 2)
    rows = math.ceil(len(groups) / cols)
    width = max(6.0, 0.7 * len(scenarios) + 2.5)
    fig, axes = plt.subplots(rows, cols, figsize=(width * cols, 4.2 * rows), squeeze=False)
    x = np.arange(len(scenarios))
    offsets = (np.arange(len(labels)) - (len(labels) - 1) / 2) * min(0.08, 0.6 / max(1, len(labels)))
    for ax, ((network, demand), part) in zip(axes.flat, groups, strict=False):
        for k, lab in enumerate(labels):
            medians, lows, highs = [], [], []
            for scenario in scenarios:
                vals = part[(part["label"] == lab) & (part["sensing"] == scenario)][metric].astype(float)
                st = cell_stats(list(vals.dropna()))
                medians.append(st.median)
                lows.append(st.median if math.isnan(st.median_low) else st.median_low)
                highs.append(st.median if math.isnan(st.median_high) else st.median_high)
            colour, style = palette[lab]
            m = np.asarray(medians, dtype=float)
            ax.plot(x + offsets[k], m, color=colour, linestyle=style, marker="o", markersize=4, label=lab)
            ax.vlines(x + offsets[k], lows, highs, colors=[colour], linewidth=2, alpha=0.5)
        ax.set_xticks(x, [_short(s, 20) for s in scenarios], rotation=30, ha="right", fontsize=8)
        ax.set_title(f"{network}, {demand_text(demand, part)}", fontsize=10)
        ax.set_ylabel(f"median {label} [{unit}]")
        ax.set_ylim(bottom=0)
        ax.grid(axis="y", alpha=0.3)
        _legend_outside(ax, len(labels))
    for ax in list(axes.flat)[len(groups) :]:
        ax.set_visible(False)
    title = f"{label[:1].upper()}{label[1:]} under each sensing scenario (median over seeds, its interval)"
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
