"""Print the compact Markdown tables of experiments/resco/README.md from the result stores.

    python experiments/resco/tables.py runs/resco-baselines-1.9.2 [more stores]

The first table puts every one of RESCO's 22 published baseline cells beside ours: the median
delay under SUMO 1.9.2 (the benchmark's release), the median of RESCO's published per-episode
delays (``published.json``, for grid4x4 and arterial4x4 also its episode 1, whose route file is
the public one) and the deviation.

The full tables (trip time, waiting time, paired changes, every flag) come from
``signalbench report runs/resco runs/resco-sumo1.9.2 --out experiments/resco``; this script
only condenses them: the benchmark's three baselines under each SUMO release, and the median
delay of every controller under each release.
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path

import pandas as pd
from scipy.stats import mannwhitneyu

import signalbench
from signalbench.analysis import cell_stats, mean_ci95, sumo_version_key

PUBLISHED = json.loads((Path(__file__).parent / "published.json").read_text())
RESCO_NAMES = {"fixed-time": "FIXED", "max-pressure": "MAXPRESSURE", "greedy": "MAXWAVE"}

NETWORKS = (
    "cologne1-v0", "cologne3-v0", "cologne8-v0", "ingolstadt1-v0",
    "ingolstadt7-resco-v0", "ingolstadt21-resco-v0", "grid4x4-v0", "arterial4x4-v0",
)  # fmt: skip
BASELINES = ("fixed-time", "max-pressure", "greedy")


def cell(values: pd.Series, gridlocked: pd.Series) -> str:
    """Mean ± 95 % CI, median, n, and the gridlocked seeds (>= 5 % of the vehicles stuck)."""
    if not len(values):
        return "-"
    mean, half = mean_ci95(list(values))
    locked = int(gridlocked.fillna(0).sum())
    extra = f", {locked} gridlocked" if locked else ""
    ci = f" ± {half:.1f}" if half == half else ""
    return f"{mean:.1f}{ci} (median {values.median():.1f}; n={len(values)}{extra})"


TARGET_PCT = {"fixed-time": 5.0, "max-pressure": 15.0, "greedy": 15.0}


def published_cells(df: pd.DataFrame, version: str = "1.9.2") -> None:
    """Ours (median over seeds under ``version``, its interval) beside RESCO's published median.

    For grid4x4 and arterial4x4 the deviation is taken against RESCO's episode 1, the only
    episode whose route file is public (the one every seed here replays); elsewhere against the
    median over RESCO's episodes. A cell is within target when the deviation is within 5 %
    (fixed-time) or 15 % (max-pressure, greedy). The last column tests whether our seeds and
    RESCO's episodes could come from one distribution (two-sided Mann-Whitney U; not for
    grid4x4/arterial4x4, whose episodes ran other route files).
    """
    print(
        f"| network | baseline | ours SUMO {version}: median [interval] (seeds) "
        "| RESCO published: median (episodes) | reference | deviation | within target "
        "| Mann-Whitney p (seeds vs episodes) |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for net in NETWORKS:
        name = net.split("-")[0]
        for label in BASELINES:
            episodes = PUBLISHED.get(f"{RESCO_NAMES[label]} {name}", [])
            if not episodes:
                continue
            mine = df[
                (df["network"] == net) & (df["label"] == label) & df["sumo_version"].str.contains(version)
            ]
            st = cell_stats(list(mine["mean_delay_s"].astype(float)))
            episode1 = name in ("grid4x4", "arterial4x4")
            ref = episodes[0] if episode1 else statistics.median(episodes)
            refname = f"episode 1: {ref:.1f}" if episode1 else "median"
            values = list(mine["mean_delay_s"].astype(float))
            p = (
                float(mannwhitneyu(values, episodes, alternative="two-sided").pvalue)
                if st.n and not episode1
                else float("nan")
            )
            pval = f"{p:.2f}" if p == p else "-"
            if st.n:
                dev = 100 * (st.median - ref) / ref
                ours = f"{st.median:.1f} [{st.median_low:.1f}, {st.median_high:.1f}] ({st.n})"
                ok = "yes" if abs(dev) <= TARGET_PCT[label] else "**no**"
                devs = f"{dev:+.0f} %"
            else:
                ours, devs, ok = "-", "-", "-"
            print(
                f"| {name} | {label} | {ours} | {statistics.median(episodes):.1f} ({len(episodes)}) "
                f"| {refname} | {devs} | {ok} | {pval} |"
            )
    print()


def main(dirs: list[str]) -> None:
    """Print the tables for the result stores ``dirs``."""
    df = pd.concat([signalbench.read_results(d) for d in dirs], ignore_index=True)
    df = df[df["state"] == "complete"].drop_duplicates("trial_id")
    published_cells(df)
    versions = sorted(set(df["sumo_version"]), key=sumo_version_key)
    print("| network | " + " | ".join(f"{b} SUMO {v}" for b in BASELINES for v in versions) + " |")
    print("|---|" + "---|" * (len(BASELINES) * len(versions)))
    for net in NETWORKS:
        cells = []
        for b in BASELINES:
            for v in versions:
                mine = df[(df["network"] == net) & (df["label"] == b) & (df["sumo_version"] == v)]
                cells.append(cell(mine["mean_delay_s"], mine["gridlocked"]))
        print(f"| {net} | " + " | ".join(cells) + " |")
    print()
    labels = sorted(
        set(df["label"]),
        key=lambda lab: (lab not in BASELINES, BASELINES.index(lab) if lab in BASELINES else 0, lab),
    )
    for v in versions:
        print(f"Median delay [s/veh] under SUMO {v} (seeds in brackets):\n")
        mine = df[df["sumo_version"] == v]
        shown = [lab for lab in labels if lab in set(mine["label"])]
        print("| network | " + " | ".join(lab.removesuffix("-v0") for lab in shown) + " |")
        print("|---|" + "---|" * len(shown))
        for net in NETWORKS:
            row = []
            for lab in shown:
                vals = mine[(mine["network"] == net) & (mine["label"] == lab)]["mean_delay_s"]
                row.append(f"{vals.median():.1f} ({len(vals)})" if len(vals) else "-")
            print(f"| {net.removesuffix('-v0')} | " + " | ".join(row) + " |")
        print()


if __name__ == "__main__":
    main(sys.argv[1:] or ["runs/resco-baselines-1.9.2"])
