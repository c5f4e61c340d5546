"""Statistics over seeds, checked against scipy, hand-computed reference values and a Monte Carlo run."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import stats

from signalbench.analysis import (
    cell_stats,
    holm,
    mean_ci95,
    median_interval,
    paired_change,
    seeds_for_change,
    t_interval,
)


@pytest.mark.parametrize("n", [2, 3, 10, 31, 45])
def test_t_interval_uses_exact_quantiles_for_any_n(n):
    values = np.random.default_rng(n).normal(50.0, 5.0, n)
    mean, low, high = t_interval(values)
    ref = stats.t.interval(0.95, n - 1, loc=values.mean(), scale=stats.sem(values))
    assert (low, high) == (pytest.approx(ref[0]), pytest.approx(ref[1]))
    assert mean_ci95(values) == (pytest.approx(mean), pytest.approx(high - mean))
    # Beyond 30 seeds the old table said 1.96; t(0.975, 44) is 2.015.
    assert n < 31 or (high - mean) / stats.sem(values) > 1.96 + 0.01


def test_median_interval_is_the_order_statistic_interval():
    # Reference: n = 10 needs k = 2: P(2 <= B <= 8), B ~ Binomial(10, 1/2), = 1 - 2 * 11/1024.
    x = [3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0, 5.0, 3.0]
    median, low, high, level = median_interval(x)
    assert (median, low, high) == (3.5, 1.0, 6.0)
    assert level == pytest.approx(1 - 2 * 11 / 1024)
    # scipy's quantile test gives the same interval for every n >= 6.
    rng = np.random.default_rng(7)
    for n in range(6, 41):
        sample = rng.lognormal(3.0, 1.0, n)
        _, low, high, level = median_interval(sample)
        ref = stats.quantile_test(sample, q=np.median(sample), p=0.5).confidence_interval(0.95)
        assert (low, high) == (ref.low, ref.high), n
        assert level >= 0.95
    # Under 6 seeds no interval reaches 95 %: min to max, with the level it reaches.
    assert median_interval([1.0, 2.0, 10.0]) == (2.0, 1.0, 10.0, 0.75)
    assert median_interval([1.0, 2.0, 3.0, 4.0, 5.0])[3] == pytest.approx(1 - 2 / 32)
    assert math.isnan(median_interval([4.0])[1]) and math.isnan(median_interval([])[0])


def test_median_interval_covers_at_its_level_on_a_heavy_tailed_sample():
    """Monte Carlo: 4000 samples of a gridlock-like mixture; coverage within 0.015 of the level.

    The delay of a seed is lognormal around 25 s/veh, and one seed in eight gridlocks (ten
    times the delay). The true median of that mixture is found numerically. With 4000
    repetitions the standard error of a coverage near 0.97 is 0.003: the tolerance is five of
    them. The interval is distribution-free, so this holds for any continuous distribution.
    """
    rng = np.random.default_rng(2024)

    def draw(size):
        base = rng.lognormal(np.log(25.0), 0.15, size)
        return np.where(rng.random(size) < 0.125, base * 10.0, base)

    true_median = float(np.median(draw(2_000_000)))
    for n in (10, 30):
        hits, levels = 0, set()
        for _ in range(4000):
            _, low, high, level = median_interval(draw(n))
            hits += low <= true_median <= high
            levels.add(level)
        (level,) = levels
        assert level >= 0.95
        assert abs(hits / 4000 - level) < 0.015, (n, hits / 4000, level)
    # The mean's t interval does not: on the same samples it misses far more often.
    mean = float(np.mean(draw(2_000_000)))
    misses = sum(not (lo <= mean <= hi) for lo, hi in (t_interval(draw(10))[1:] for _ in range(2000)))
    assert misses / 2000 > 0.10


def _hl_reference(d):
    """Hodges-Lehmann interval by brute force: the exact signed-rank distribution, enumerated."""
    n = d.size
    ranks = np.arange(1, n + 1)
    t_plus = np.array(
        [
            sum(r for r, s in zip(ranks, signs, strict=True) if s)
            for signs in itertools.product((0, 1), repeat=n)
        ]
    )
    m = n * (n + 1) // 2
    # The largest C with P(T+ <= C) <= 0.025 (two-sided 5 %).
    c = max(k for k in range(m) if np.mean(t_plus <= k) <= 0.025)
    walsh = np.sort([(d[i] + d[j]) / 2 for i in range(n) for j in range(i, n)])
    return float(np.median(walsh)), walsh[c], walsh[m - c - 1]


@pytest.mark.parametrize("n", [6, 8, 11])
def test_paired_change_is_hodges_lehmann_with_the_wilcoxon_interval(n):
    rng = np.random.default_rng(n)
    base = rng.lognormal(np.log(40.0), 0.1, n)
    new = base * rng.lognormal(np.log(0.8), 0.15, n)
    c = paired_change(dict(enumerate(new)), dict(enumerate(base)))
    estimate, low, high = _hl_reference(np.log(new / base))
    assert c.n_pairs == n
    assert c.change_pct == pytest.approx(100 * math.expm1(estimate))
    assert (c.ci_low_pct, c.ci_high_pct) == (
        pytest.approx(100 * math.expm1(low)),
        pytest.approx(100 * math.expm1(high)),
    )
    assert c.p_value == pytest.approx(stats.wilcoxon(np.log(new / base)).pvalue)
    assert c.mean_change_pct == pytest.approx(100 * (new.mean() / base.mean() - 1))
    assert c.mean_ci_low_pct < c.mean_change_pct < c.mean_ci_high_pct
    assert c.p_adjusted == c.p_value  # a comparison on its own is a family of one


def test_paired_change_by_hand():
    base = {1: 40.0, 2: 50.0, 3: 45.0}
    new = {1: 30.0, 2: 41.0, 3: 34.0, 9: 1.0}  # seed 9 has no partner
    c = paired_change(new, base)
    assert c.n_pairs == 3
    r = sorted(math.log(new[s] / base[s]) for s in (1, 2, 3))
    walsh = sorted([*r, (r[0] + r[1]) / 2, (r[0] + r[2]) / 2, (r[1] + r[2]) / 2])
    assert c.change_pct == pytest.approx(100 * math.expm1((walsh[2] + walsh[3]) / 2))
    assert math.isnan(c.ci_low_pct)  # 3 pairs: no shift is ever rejected at 5 %
    assert c.p_value == pytest.approx(0.25)  # all three below: 2 * (1/2)^3
    assert not c.significant  # no change over 3 seeds can be
    assert c.mean_change_pct == pytest.approx(100 * (35 / 45 - 1))
    # Bootstrap with a fixed seed: the same data gives the same interval.
    again = paired_change(new, base)
    assert (again.mean_ci_low_pct, again.mean_ci_high_pct) == (c.mean_ci_low_pct, c.mean_ci_high_pct)
    assert paired_change({}, base).n_pairs == 0
    # A value that is not positive: the change is on the differences, relative to the median.
    zero = paired_change({1: 0.0, 2: 1.0, 3: 2.0}, {1: 1.0, 2: 2.0, 3: 3.0})
    assert zero.on_differences and zero.change_pct == pytest.approx(-100 / 2)


def test_holm_reference_values():
    # Holm (1979): sorted p 0.005, 0.01, 0.03, 0.04 times 4, 3, 2, 1, made non-decreasing.
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([0.5, math.nan, 0.01]) == pytest.approx([0.5, math.nan, 0.02], nan_ok=True)
    assert holm([0.9, 0.8]) == [1.0, 1.0]  # 0.8 x 2 capped at 1; 0.9 raised to it
    assert holm([]) == []


def test_cell_stats_flags_a_mean_outside_the_median_interval():
    calm = cell_stats([24.0, 25.0, 25.5, 26.0, 24.5, 25.2, 25.8, 24.8])
    assert not calm.heavy_tail and calm.n == 8
    gridlocked = cell_stats([24.0, 25.0, 25.5, 26.0, 24.5, 25.2, 25.8, 24.8, 26.1, 240.0, 250.0, 25.1])
    assert gridlocked.heavy_tail and gridlocked.mean > gridlocked.median_high


def test_seeds_for_change_from_a_pilot():
    pilot = np.random.default_rng(3).normal(0.0, 0.1, 30)  # log ratios: 10 % seed-to-seed noise
    small = seeds_for_change(pilot, -5.0)
    large = seeds_for_change(pilot, -20.0)
    assert large is not None and small is not None and 5 < large < small
    # Normal theory for a paired t-test: n = ((z_.975 + z_.8) sigma / delta)^2, Wilcoxon about 5 % more.
    sigma, delta = float(np.std(pilot, ddof=1)), abs(math.log(0.95))
    normal = ((stats.norm.ppf(0.975) + stats.norm.ppf(0.8)) * sigma / delta) ** 2
    assert normal * 0.8 < small < normal * 1.5
    assert seeds_for_change(pilot, -0.1, max_seeds=40) is None
    assert seeds_for_change(pilot[:2], -20.0) is None


@pytest.mark.parametrize("n", [12, 60, 140])
def test_hodges_lehmann_bisection_finds_the_interval_the_scan_finds(n, monkeypatch):
    """Above a size the accepted shifts are found by bisection (memory linear, not cubic)."""
    from signalbench.analysis import _stats

    rng = np.random.default_rng(n)
    for d in (rng.normal(0.1, 0.3, n), rng.standard_t(2, n), np.round(rng.normal(0, 1, n), 1)):
        scanned = _stats._hodges_lehmann(d, 0.95)
        monkeypatch.setattr(_stats, "_SCAN_CELLS", 0)
        bisected = _stats._hodges_lehmann(d, 0.95)
        monkeypatch.undo()
        assert bisected == pytest.approx(scanned, nan_ok=True)


def test_a_thousand_seeds_compare_in_bounded_memory():
    rng = np.random.default_rng(0)
    x = dict(enumerate(rng.normal(40, 5, 1500)))
    b = dict(enumerate(rng.normal(38, 5, 1500)))
    comp = paired_change(x, b)  # the scan over every gap needed ~25 GB here
    assert comp.ci_low_pct < comp.change_pct < comp.ci_high_pct


# The bootstrap of the change of the mean, done for many comparisons at once, against scipy's
# own ``stats.bootstrap`` run per comparison (what the report used before): equal to the bit.


def _scipy_bca(x: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    import warnings

    from signalbench.analysis._stats import _BOOTSTRAP_RESAMPLES, BOOTSTRAP_SEED

    def statistic(xs, bs, axis=-1):
        return np.asarray(xs.mean(axis=axis) / bs.mean(axis=axis))

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = stats.bootstrap(
            (x, b), statistic, paired=True, vectorized=True, n_resamples=_BOOTSTRAP_RESAMPLES,
            confidence_level=0.95, method="BCa", rng=np.random.default_rng(BOOTSTRAP_SEED),
        )  # fmt: skip
    return float(res.confidence_interval.low), float(res.confidence_interval.high)


def _reference_change(values: dict[int, float], baseline: dict[int, float]):
    """paired_change as it was: the comparison with scipy's bootstrap of the same pairs."""
    from dataclasses import replace

    seeds = sorted(
        s for s in values if s in baseline and not (math.isnan(values[s]) or math.isnan(baseline[s]))
    )
    got = paired_change(values, baseline)
    if len(seeds) < 3 or math.isnan(got.mean_change_pct):
        return got
    x = np.asarray([values[s] for s in seeds])
    b = np.asarray([baseline[s] for s in seeds])
    low, high = _scipy_bca(x, b)
    return replace(got, mean_ci_low_pct=100.0 * (low - 1.0), mean_ci_high_pct=100.0 * (high - 1.0))


_value = st.one_of(
    st.sampled_from([0.0, 1.0, 2.0, 10.0, math.nan]),  # ties, zeros (differences), missing seeds
    st.floats(min_value=0.01, max_value=1e4, allow_nan=False),
)
_cell = st.dictionaries(st.integers(0, 40), _value, min_size=0, max_size=25)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(_cell, _cell), min_size=1, max_size=6))
def test_paired_changes_in_one_batch_equal_the_per_comparison_reference(pairs):
    from signalbench.analysis import paired_changes

    got = paired_changes(pairs)
    want = [_reference_change(v, b) for v, b in pairs]
    assert repr(got) == repr(want)  # every field, nan where nan, to the bit


@pytest.mark.parametrize("n", [3, 4, 9, 60])
def test_bootstrap_interval_is_scipys_to_the_bit(n):
    from signalbench.analysis._stats import _bootstrap_ratio_bca

    rng = np.random.default_rng(n)
    xs = [rng.lognormal(3.0, 1.0, n) for _ in range(3)] + [np.ones(n), np.r_[np.ones(n - 1), 2.0]]
    bs = [rng.lognormal(3.0, 1.0, n) for _ in range(3)] + [np.ones(n), np.ones(n)]
    got = _bootstrap_ratio_bca(xs, bs, 0.95)
    for (low, high), x, b in zip(got, xs, bs, strict=True):
        want = _scipy_bca(x, b)
        assert repr((low, high)) == repr(want)
