"""Statistics over seeds that fit heavy-tailed outcomes, all from :mod:`scipy.stats`.

A few gridlocked seeds can multiply a network's mean delay, so every cell has two centres:

- the **mean** with its Student t interval (exact t quantiles for any number of seeds), which
  answers "what is the expected delay" and is dragged by the tail;
- the **median** with a distribution-free interval from order statistics (its confidence is
  a binomial probability: no assumption about the shape of the distribution), which answers
  "what does a typical seed give".

A comparison with a baseline is paired by seed: the per-seed log ratio ``log(x / b)`` gives the
Hodges-Lehmann estimate of the typical relative change with the interval of the exact
Wilcoxon signed-rank test (inverted), and that test's p-value; a paired bootstrap (BCa, fixed
seed) gives the interval of the ratio of the means. A family of comparisons is corrected with
Holm's step-down method, which keeps the chance of any false "significant" in the family
below the level.
"""

from __future__ import annotations

import functools
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

__all__ = [
    "BOOTSTRAP_SEED",
    "CONFIDENCE",
    "CellStats",
    "Comparison",
    "cell_stats",
    "holm",
    "mean_ci95",
    "median_interval",
    "paired_change",
    "paired_changes",
    "seeds_for_change",
    "t_interval",
    "with_family",
]

#: Confidence level of every interval.
CONFIDENCE = 0.95
#: Seed of the bootstrap resampling: the same data always gives the same interval.
BOOTSTRAP_SEED = 20240607
_BOOTSTRAP_RESAMPLES = 4999


def _clean(values: Sequence[float] | np.ndarray) -> np.ndarray:
    arr = np.asarray([float(v) for v in values], dtype=np.float64)
    return arr[~np.isnan(arr)]


def t_interval(
    values: Sequence[float] | np.ndarray, confidence: float = CONFIDENCE
) -> tuple[float, float, float]:
    """Mean and its Student t interval ``(mean, low, high)``; the bounds are nan for n < 2."""
    from scipy import stats

    arr = _clean(values)
    if arr.size == 0:
        return math.nan, math.nan, math.nan
    mean = float(arr.mean())
    if arr.size == 1:
        return mean, math.nan, math.nan
    half = float(stats.t.ppf(0.5 + confidence / 2, arr.size - 1) * arr.std(ddof=1) / math.sqrt(arr.size))
    return mean, mean - half, mean + half


def mean_ci95(values: Sequence[float]) -> tuple[float, float]:
    """Mean and the half-width of its 95 % Student t interval (nan for n < 2)."""
    mean, low, _ = t_interval(values)
    return mean, (mean - low) if not math.isnan(low) else math.nan


def median_interval(
    values: Sequence[float] | np.ndarray, confidence: float = CONFIDENCE
) -> tuple[float, float, float, float]:
    """Median and its distribution-free interval: ``(median, low, high, achieved confidence)``.

    The interval is ``[x(k), x(n+1-k)]`` (order statistics) with the largest ``k`` whose
    coverage ``1 - 2 P(B <= k - 1)``, ``B ~ Binomial(n, 1/2)``, is at least ``confidence``.
    With fewer than 6 seeds no such interval reaches 95 %: the widest one (min, max) is given
    with the confidence it does reach (75 % for 3 seeds, 94 % for 5).
    """
    arr = np.sort(_clean(values))
    n = arr.size
    if n == 0:
        return math.nan, math.nan, math.nan, math.nan
    median = float(np.median(arr))
    if n == 1:
        return median, math.nan, math.nan, 0.0
    i, level = _order_statistic(n, confidence)
    return median, float(arr[i]), float(arr[n - 1 - i]), level


@functools.lru_cache(maxsize=256)
def _order_statistic(n: int, confidence: float) -> tuple[int, float]:
    """Index (from 0) of the lower bound of the median's interval for n values, and its coverage."""
    from scipy import stats

    k = np.arange(1, n // 2 + 1)
    coverage = 1.0 - 2.0 * stats.binom.cdf(k - 1, n, 0.5)
    ok = np.nonzero(coverage >= confidence - 1e-12)[0]
    i = int(ok[-1]) if ok.size else 0
    return i, float(coverage[i])


@dataclass(frozen=True, kw_only=True)
class CellStats:
    """One metric over the completed seeds of a cell (network x demand x controller).

    Attributes:
        n: seeds with a value.
        mean, mean_low, mean_high: mean and its Student t interval.
        median, median_low, median_high: median and its order-statistic interval.
        median_level: the confidence that interval reaches (below 0.95 with under 6 seeds).

    """

    n: int
    mean: float
    mean_low: float
    mean_high: float
    median: float
    median_low: float
    median_high: float
    median_level: float

    @property
    def mean_half(self) -> float:
        """Half-width of the mean's interval (nan without one)."""
        return self.mean - self.mean_low if not math.isnan(self.mean_low) else math.nan

    @property
    def heavy_tail(self) -> bool:
        """True when the mean lies outside the median's interval: a few seeds dominate the mean."""
        if self.n < 3 or math.isnan(self.median_low):
            return False
        return not self.median_low <= self.mean <= self.median_high


def cell_stats(values: Sequence[float], confidence: float = CONFIDENCE) -> CellStats:
    """Mean and median of a cell, each with its interval."""
    arr = _clean(values)
    mean, mean_low, mean_high = t_interval(arr, confidence)
    median, low, high, level = median_interval(arr, confidence)
    return CellStats(
        n=int(arr.size),
        mean=mean,
        mean_low=mean_low,
        mean_high=mean_high,
        median=median,
        median_low=low,
        median_high=high,
        median_level=level,
    )


@dataclass(frozen=True, kw_only=True)
class Comparison:
    """Change of a controller against the baseline, paired over the seeds both completed.

    Attributes:
        n_pairs: seeds in both.
        change_pct: typical change [%]: ``100 (exp(HL) - 1)``, HL the Hodges-Lehmann estimate
            of the per-seed log ratios ``log(x / b)`` (the median of their pairwise means).
        ci_low_pct, ci_high_pct: its interval, from the exact Wilcoxon signed-rank test
            inverted (nan with fewer than 6 pairs: no interval reaches 95 %).
        mean_change_pct: change of the mean [%]: ``100 (mean(x) / mean(b) - 1)``.
        mean_ci_low_pct, mean_ci_high_pct: its paired bootstrap interval (BCa, fixed seed).
        p_value: Wilcoxon signed-rank test of the log ratios (two-sided; exact when possible).
        p_adjusted: the p-value corrected for the family of comparisons it belongs to (Holm);
            the p-value itself for a comparison on its own.
        on_differences: True when some value was not positive, so the typical change is the
            Hodges-Lehmann estimate of the differences ``x - b`` relative to the baseline's
            median, and the test is on the differences.

    """

    n_pairs: int
    change_pct: float
    ci_low_pct: float
    ci_high_pct: float
    mean_change_pct: float = math.nan
    mean_ci_low_pct: float = math.nan
    mean_ci_high_pct: float = math.nan
    p_value: float = math.nan
    p_adjusted: float = math.nan
    on_differences: bool = False

    @property
    def significant(self) -> bool:
        """True when the corrected p-value is at most 1 - :data:`CONFIDENCE` (0.05)."""
        return not math.isnan(self.p_adjusted) and self.p_adjusted <= 1.0 - CONFIDENCE + 1e-12


@functools.lru_cache(maxsize=4)
def _pairs(n: int) -> tuple[np.ndarray, np.ndarray]:
    """``np.triu_indices(n)`` (every pair i <= j), kept for the next comparison of the same size."""
    i, j = np.triu_indices(n)
    i.setflags(write=False)
    j.setflags(write=False)
    return i, j


def _hodges_lehmann(d: np.ndarray, confidence: float) -> tuple[float, float, float]:
    """Hodges-Lehmann estimate of the centre of ``d`` and the shifts Wilcoxon's test accepts."""
    from scipy import stats

    i, j = _pairs(d.size)
    walsh = np.sort((d[i] + d[j]) / 2.0)
    estimate = float(np.median(walsh))
    # The test's verdict changes only at Walsh averages: try one shift inside every gap.
    points = walsh[np.concatenate(([True], walsh[1:] != walsh[:-1]))]  # np.unique of a sorted array
    shifts = np.concatenate([[points[0] - 1.0], (points[:-1] + points[1:]) / 2.0, [points[-1] + 1.0]])
    # Inside a gap no two |d - shift| tie and none is zero, so the exact null distribution
    # applies (scipy would otherwise take float round-off for ties and permute exhaustively).
    method = "exact" if d.size <= 50 else "asymptotic"

    def p_at(index: np.ndarray) -> np.ndarray:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return np.asarray(stats.wilcoxon(d[None, :] - shifts[index, None], axis=1, method=method).pvalue)

    alpha = 1.0 - confidence
    if shifts.size * d.size <= _SCAN_CELLS:
        accepted = np.nonzero(p_at(np.arange(shifts.size)) > alpha)[0]
        first, last = (int(accepted[0]), int(accepted[-1])) if accepted.size else (-1, -1)
    else:
        first, last = _accepted_by_bisection(p_at, shifts, estimate, alpha)
    if first < 0 or first == 0 or last == shifts.size - 1:
        return estimate, math.nan, math.nan  # too few pairs: every shift is accepted
    return estimate, float(points[first - 1]), float(points[last])


#: Above this many (shift x pair) cells, the accepted shifts are found by bisection.
_SCAN_CELLS = 4_000_000


def _accepted_by_bisection(p_at: Any, shifts: np.ndarray, estimate: float, alpha: float) -> tuple[int, int]:
    """First and last shift index the test accepts, found in O(log) tests instead of one per gap.

    The signed-rank statistic falls step by step as the shift grows, so the two-sided p-value
    rises to its peak (at the Hodges-Lehmann estimate) and falls after it: the accepted shifts
    are one run around the peak, and each end is found by bisection. This gives the run the
    scan over every gap gives (a test checks both on the same data), in memory linear in the
    number of pairs instead of cubic.
    """
    centre = int(np.clip(np.searchsorted(shifts, estimate), 0, shifts.size - 1))
    window = np.arange(max(0, centre - 2), min(shifts.size, centre + 3))
    values = p_at(window)
    if not np.any(values > alpha):
        return -1, -1
    peak = int(window[int(np.argmax(values))])
    lo, hi = 0, peak  # first accepted index in [0, peak]: p rises up to the peak
    while lo < hi:
        mid = (lo + hi) // 2
        if p_at(np.array([mid]))[0] > alpha:
            hi = mid
        else:
            lo = mid + 1
    first = lo
    lo, hi = peak, shifts.size - 1  # last accepted index in [peak, end]: p falls after it
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if p_at(np.array([mid]))[0] > alpha:
            lo = mid
        else:
            hi = mid - 1
    return first, lo


def _wilcoxon_p(d: np.ndarray) -> float:
    from scipy import stats

    if d.size == 0 or np.all(d == 0):
        return 1.0 if d.size else math.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(stats.wilcoxon(d).pvalue)


#: Elements (resamples x pairs) gathered at a time: bounds the memory of a bootstrap.
_GATHER_CELLS = 4_000_000


def _bootstrap_ratio_bca(
    xs: Sequence[np.ndarray], bs: Sequence[np.ndarray], confidence: float
) -> list[tuple[float, float]]:
    """BCa intervals of ``mean(x) / mean(b)`` (paired) for many comparisons: scipy's numbers, fewer steps.

    Each interval is the one of ``stats.bootstrap((x, b), ..., paired=True, vectorized=True,
    method="BCa", n_resamples=4999, rng=default_rng(BOOTSTRAP_SEED))`` (tested equal to the
    bit): the same resample indices (one draw from a generator seeded the same), the same
    means of the same gathered values, scipy's BCa formulas and its quantile. The indices
    depend only on the number of pairs, so they are drawn once for every comparison of that
    size (a report's metrics and controllers share their seeds), and the leave-one-out index
    rows are built once for them too. scipy's general machinery for a paired
    statistic gathers an index array through the indices and the data through those, and
    builds the leave-one-out matrix whole; here the data are gathered once, in bounded chunks.
    """
    from scipy import special

    out: list[tuple[float, float]] = [(math.nan, math.nan)] * len(xs)
    by_size: dict[int, list[int]] = {}
    for k, x in enumerate(xs):
        by_size.setdefault(int(x.size), []).append(k)
    alpha = (1 - confidence) / 2
    z_alpha = float(special.ndtri(alpha))
    resamples = _BOOTSTRAP_RESAMPLES
    for n, members in by_size.items():
        x_all = np.stack([xs[k] for k in members])
        b_all = np.stack([bs[k] for k in members])
        chunk = max(1, _GATHER_CELLS // n)
        index = np.random.default_rng(BOOTSTRAP_SEED).integers(0, n, (resamples, n), dtype=np.int64)
        theta_b = np.empty((len(members), resamples))
        for first in range(0, resamples, chunk):
            rows = index[first : first + chunk]
            for row in range(len(members)):  # one 2-D gather each: the reduction order of scipy's
                theta_b[row, first : first + rows.shape[0]] = _ratio(x_all[row], b_all[row], rows)
        del index
        # Jackknife: row k leaves out observation k (the indices 0..n-1 without k, in order).
        theta_i = np.empty((len(members), n))
        cols = np.arange(n - 1)
        for first in range(0, n, chunk):
            ks = np.arange(first, min(n, first + chunk))
            rows = cols[None, :] + (cols[None, :] >= ks[:, None])
            for row in range(len(members)):
                theta_i[row, first : first + ks.size] = _ratio(x_all[row], b_all[row], rows)
        for row, k in enumerate(members):
            out[k] = _bca(xs[k], bs[k], theta_b[row], theta_i[row], z_alpha)
    return out


def _bca(
    x: np.ndarray, b: np.ndarray, dist: np.ndarray, theta_i: np.ndarray, z_alpha: float
) -> tuple[float, float]:
    """Return scipy's BCa interval from the bootstrap distribution and the jackknife values."""
    from scipy import special, stats

    n, resamples = x.size, dist.size
    with warnings.catch_warnings(), np.errstate(all="ignore"):  # degenerate data: nan, as scipy's
        warnings.simplefilter("ignore")
        theta_hat = np.expand_dims(x.mean(axis=-1) / b.mean(axis=-1), axis=-1)
        below = np.count_nonzero(dist < theta_hat, axis=-1) + np.count_nonzero(dist <= theta_hat, axis=-1)
        z0_hat = special.ndtri(np.asarray(below.astype(theta_hat.dtype) / (2 * resamples)))
        n_j = float(n)
        u = (n_j - 1) * (np.mean(theta_i, axis=-1, keepdims=True) - theta_i)
        num = np.sum(u**3, axis=-1) / n_j**3
        den = np.sum(u**2, axis=-1) / n_j**2
        a_hat = 1 / 6 * (0 + num) / (0 + den) ** (3 / 2)
        num1 = z0_hat + z_alpha
        alpha_1 = special.ndtr(z0_hat + num1 / (1 - a_hat * num1))
        num2 = z0_hat - z_alpha
        alpha_2 = special.ndtr(z0_hat + num2 / (1 - a_hat * num2))
        ci = stats.quantile(dist, np.stack((alpha_1, alpha_2), axis=-1), axis=-1)
    return float(ci[..., 0].item()), float(ci[..., 1].item())


def _ratio(x: np.ndarray, b: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Per row of indices, ``mean(x[row]) / mean(b[row])``, reduced as scipy reduces it."""
    return np.asarray(x[rows].mean(axis=-1) / b[rows].mean(axis=-1))


def paired_change(
    values: dict[int, float], baseline: dict[int, float], confidence: float = CONFIDENCE
) -> Comparison:
    """Compare per-seed values with the baseline's values for the same seeds."""
    return paired_changes([(values, baseline)], confidence)[0]


def paired_changes(
    pairs: Sequence[tuple[dict[int, float], dict[int, float]]], confidence: float = CONFIDENCE
) -> list[Comparison]:
    """:func:`paired_change` of each ``(values, baseline)`` pair, the bootstraps done together.

    The same numbers as one call per pair; the comparisons with the same number of seeds share
    one draw of resample indices (see :func:`_bootstrap_ratio_bca`).
    """
    partial: list[dict[str, Any]] = []
    boot: list[int] = []
    xs: list[np.ndarray] = []
    bs: list[np.ndarray] = []
    for values, baseline in pairs:
        seeds = sorted(
            s for s in values if s in baseline and not (math.isnan(values[s]) or math.isnan(baseline[s]))
        )
        if not seeds:
            partial.append({})
            continue
        x = np.asarray([values[s] for s in seeds], dtype=np.float64)
        b = np.asarray([baseline[s] for s in seeds], dtype=np.float64)
        positive = bool(np.all(x > 0) and np.all(b > 0))
        if positive:
            d = np.log(x / b)
            estimate, low, high = _hodges_lehmann(d, confidence)
            change, ci = 100.0 * math.expm1(estimate), [100.0 * math.expm1(v) for v in (low, high)]
        else:
            d = x - b
            estimate, low, high = _hodges_lehmann(d, confidence)
            base = float(np.median(b))
            scale = 100.0 / base if base else math.nan
            change, ci = estimate * scale, [v * scale for v in (low, high)]
        ratio = float(x.mean() / b.mean()) if b.mean() != 0 else math.nan
        if x.size >= 3 and not math.isnan(ratio):
            boot.append(len(partial))
            xs.append(x)
            bs.append(b)
        p = _wilcoxon_p(d)
        partial.append(
            {
                "n_pairs": len(seeds),
                "change_pct": change,
                "ci_low_pct": ci[0],
                "ci_high_pct": ci[1],
                "mean_change_pct": 100.0 * (ratio - 1.0),
                "p_value": p,
                "p_adjusted": p,
                "on_differences": not positive,
            }
        )
    intervals = dict(zip(boot, _bootstrap_ratio_bca(xs, bs, confidence), strict=True))
    out = []
    for k, fields in enumerate(partial):
        if not fields:
            out.append(Comparison(n_pairs=0, change_pct=math.nan, ci_low_pct=math.nan, ci_high_pct=math.nan))
            continue
        r_low, r_high = intervals.get(k, (math.nan, math.nan))
        out.append(
            Comparison(
                **fields, mean_ci_low_pct=100.0 * (r_low - 1.0), mean_ci_high_pct=100.0 * (r_high - 1.0)
            )
        )
    return out


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjustment of a family of p-values (nan ones are left out and kept nan).

    Sorted ascending, the i-th smallest (from 0) of m is multiplied by m - i, then made
    non-decreasing and capped at 1. Rejecting where the adjusted value is <= 0.05 keeps the
    probability of any false rejection in the family at most 0.05 (Holm 1979).
    """
    p = np.asarray(p_values, dtype=np.float64)
    out = np.full(p.shape, math.nan)
    valid = np.nonzero(~np.isnan(p))[0]
    m = valid.size
    if m:
        order = valid[np.argsort(p[valid], kind="stable")]
        adjusted = np.maximum.accumulate(np.minimum(1.0, p[order] * (m - np.arange(m))))
        out[order] = adjusted
    return [float(v) for v in out]


def with_family(comparisons: Sequence[Comparison]) -> list[Comparison]:
    """Return the comparisons with ``p_adjusted`` corrected over all of them (Holm)."""
    adjusted = holm([c.p_value for c in comparisons])
    return [replace(c, p_adjusted=a) for c, a in zip(comparisons, adjusted, strict=True)]


def seeds_for_change(
    log_ratios: Sequence[float],
    change_pct: float,
    *,
    power: float = 0.8,
    alpha: float = 1.0 - CONFIDENCE,
    max_seeds: int = 200,
    simulations: int = 2000,
    seed: int = BOOTSTRAP_SEED,
) -> int | None:
    """Seeds a paired comparison needs to detect a relative change, from pilot log ratios.

    The pilot's per-seed log ratios ``log(x / b)``, centred on their Hodges-Lehmann estimate
    (the centre of the signed-rank test), give the spread
    (heavy tails included) of the seed-to-seed noise; a true change of ``change_pct`` shifts
    them by ``log(1 + change_pct / 100)``. For growing ``n``, ``simulations`` samples of ``n``
    are drawn from them with replacement and tested with the Wilcoxon signed-rank test; the
    answer is the smallest ``n`` whose share of rejections at ``alpha`` reaches ``power``
    (None if ``max_seeds`` do not). Fixed seed: the same pilot gives the same answer.
    """
    from scipy import stats

    pilot = _clean(log_ratios)
    if pilot.size < 3 or not change_pct > -100.0:
        return None
    i, j = np.triu_indices(pilot.size)
    noise = pilot - np.median((pilot[i] + pilot[j]) / 2.0)  # centred where the signed-rank test is
    shift = math.log1p(change_pct / 100.0)
    rng = np.random.default_rng(seed)

    def reaches(n: int) -> bool:
        draws = rng.choice(noise, size=(simulations, n), replace=True) + shift
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            p = np.asarray(stats.wilcoxon(draws, axis=1, method="asymptotic").pvalue)
        return float(np.mean(np.nan_to_num(p, nan=1.0) <= alpha)) >= power

    low, high = 5, 6
    while not reaches(high):
        if high >= max_seeds:
            return None
        low, high = high, min(2 * high, max_seeds)
    while high - low > 1:  # bisect: reaches(high), not reaches(low)
        mid = (low + high) // 2
        low, high = (low, mid) if reaches(mid) else (mid, high)
    return high
