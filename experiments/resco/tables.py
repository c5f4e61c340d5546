"""Print the compact Markdown tables of experiments/resco/README.md from the result stores.

    python experiments/resco/tables.py runs/resco runs/resco-sumo1.9.2

The full tables (trip time, waiting time, paired changes, every flag) come from
``signalbench report runs/resco runs/resco-sumo1.9.2 --out experiments/resco``; this script
only condenses them: the benchmark's three baselines under each SUMO release, and the median
delay of every controller under each release.
"""

from __future__ import annotations

import sys

import pandas as pd

import signalbench
from signalbench.analysis import mean_ci95, sumo_version_key

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


def main(dirs: list[str]) -> None:
    """Print both tables for the result stores ``dirs``."""
    df = pd.concat([signalbench.read_results(d) for d in dirs], ignore_index=True)
    df = df[df["state"] == "complete"].drop_duplicates("trial_id")
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
    main(sys.argv[1:] or ["runs/resco", "runs/resco-sumo1.9.2"])
