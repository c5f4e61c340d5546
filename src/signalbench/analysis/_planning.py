"""How many seeds a comparison needs, from pilot runs (``signalbench plan``)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from signalbench.analysis._results import store_at
from signalbench.analysis._stats import CONFIDENCE, paired_change, seeds_for_change
from signalbench.analysis._summary import choose_baseline, summary_trials
from signalbench.errors import SignalbenchError
from signalbench.metrics import EMISSION_METRICS, TRIP_METRICS

__all__ = ["SeedPlan", "plan_seeds"]


@dataclass(frozen=True, kw_only=True)
class SeedPlan:
    """Seeds one comparison needs, estimated from its pilot seeds.

    Attributes:
        network, demand, label, baseline: the comparison; ``sensing``: its sensing scenario
            (comparisons stay within one).
        pilot_seeds: seeds both completed in the pilot.
        observed_pct: the pilot's typical change (Hodges-Lehmann) [%].
        spread_pct: the pilot's seed-to-seed spread of the per-seed change (interquartile
            range of the log ratios, as a percentage).
        needed: for each relative change asked about [%], the seeds needed (None: more than
            the maximum).

    """

    network: str
    demand: str
    label: str
    baseline: str
    pilot_seeds: int
    observed_pct: float
    spread_pct: float
    needed: dict[float, int | None]
    sensing: str = "perfect"


def plan_seeds(
    directory: Path | str,
    changes_pct: Sequence[float],
    *,
    metric: str = "mean_delay_s",
    baseline: str | None = None,
    power: float = 0.8,
    family: int = 1,
    max_seeds: int = 200,
) -> list[SeedPlan]:
    """For every controller of a pilot experiment, the seeds that detect each relative change.

    The pilot's per-seed log ratios against the baseline give the noise (heavy tails
    included); :func:`~signalbench.analysis.seeds_for_change` simulates the Wilcoxon
    signed-rank test on resamples of it, shifted by each change. ``family`` comparisons in
    the final report (Holm) are allowed for by testing at ``0.05 / family``, the level Holm
    applies to the smallest p-value.

    Raises:
        SignalbenchError: no trial records, an unknown metric or baseline, or a bad setting.

    """
    if metric not in TRIP_METRICS and metric not in EMISSION_METRICS:
        raise SignalbenchError(f"unknown metric {metric!r}; e.g. mean_delay_s (see docs/metrics.md)")
    if not 0.0 < power < 1.0:
        raise SignalbenchError(f"--power must be between 0 and 1, got {power:g}")
    if family < 1:
        raise SignalbenchError(f"--family must be >= 1, got {family}")
    bad = [c for c in changes_pct if not math.isfinite(c) or c <= -100.0 or c == 0.0]
    if bad:
        raise SignalbenchError(f"--change {bad[0]:g}: a relative change in % above -100 and not 0 (e.g. -10)")
    # From the consolidated dataset where it is fresh (the records otherwise), in trial id order.
    trials = [t for t in summary_trials(store_at(directory), [metric]) if t.complete]
    cells: dict[tuple[str, str, str, str], dict[int, float]] = {}
    for t in trials:
        value = t.values[metric]
        if not math.isnan(value):
            cells.setdefault(t.key, {})[t.seed] = value
    labels = list(dict.fromkeys(label for (_, _, _, label) in cells))
    if not labels:
        raise SignalbenchError(f"{directory}: no completed trial with {metric}")
    if baseline is not None and baseline not in labels:
        raise SignalbenchError(
            f"--baseline {baseline!r} is not a controller label here; labels: {', '.join(labels)}"
        )
    alpha = (1.0 - CONFIDENCE) / family
    plans: list[SeedPlan] = []
    for (network, demand, sensing), group in _by_scenario(cells).items():
        base = choose_baseline(list(group), baseline)
        if base not in group:
            continue
        for label, values in sorted(group.items()):
            if label == base:
                continue
            seeds = sorted(s for s in values if s in group[base])
            ratios = [
                math.log(values[s] / group[base][s]) for s in seeds if values[s] > 0 and group[base][s] > 0
            ]
            comparison = paired_change(values, group[base])
            q1, q3 = np.percentile(ratios, [25, 75]) if ratios else (math.nan, math.nan)
            plans.append(
                SeedPlan(
                    network=network,
                    demand=demand,
                    sensing=sensing,
                    label=label,
                    baseline=base,
                    pilot_seeds=len(seeds),
                    observed_pct=comparison.change_pct,
                    spread_pct=100.0 * math.expm1(q3 - q1) if ratios else math.nan,
                    needed={
                        c: seeds_for_change(ratios, c, power=power, alpha=alpha, max_seeds=max_seeds)
                        for c in changes_pct
                    },
                )
            )
    return plans


def _by_scenario(
    cells: dict[tuple[str, str, str, str], dict[int, float]],
) -> dict[tuple[str, str, str], dict[str, dict[int, float]]]:
    out: dict[tuple[str, str, str], dict[str, dict[int, float]]] = {}
    for (network, demand, sensing, label), values in cells.items():
        out.setdefault((network, demand, sensing), {})[label] = values
    return out
