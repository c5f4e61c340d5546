"""Report plots are drawn from per-column aggregates: bounded dots at any number of seeds."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from signalbench.analysis import _plots as plots


def frame(n_seeds: int, labels=("fixed-time", "max-pressure"), networks=("a", "b")) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    rows = []
    for network in networks:
        for label in labels:
            for seed in range(n_seeds):
                delay = float(rng.lognormal(3, 0.4)) if seed % 50 else 500.0  # a gridlocked tail
                rows.append({"network": network, "demand": 1.0, "label": label, "seed": seed,
                             "state": "complete" if seed % 97 else "failed", "mean_delay_s": delay,
                             "sumo_version": "1.9.2", "flow_veh_h": np.nan})  # fmt: skip
    return pd.DataFrame(rows)


@settings(max_examples=40, deadline=None)
@given(
    values=st.lists(
        st.tuples(
            st.sampled_from("xy"),
            st.sampled_from([1.0, 1.5]),
            st.sampled_from("pq"),
            st.one_of(st.floats(0, 1e3), st.just(float("nan"))),
        ),
        min_size=1,
        max_size=40,
    )
)
def test_values_by_group_equal_the_masks_they_replace(values):
    df = pd.DataFrame(values, columns=["network", "demand", "label", "m"])
    cells = plots._values_by(df, ["network", "demand", "label"], "m")
    for (network, demand, label), got in cells.items():
        mine = df[(df["network"] == network) & (df["demand"] == demand) & (df["label"] == label)]
        expected = mine["m"].astype(float).dropna().to_numpy()
        assert np.array_equal(got, expected)
    assert sum(len(v) for v in cells.values()) == int(df["m"].notna().sum())


def test_dots_are_every_seed_or_evenly_spaced_quantiles():
    few = np.arange(10.0)
    assert plots._dots(few) is few
    many = np.random.default_rng(0).normal(size=5000)
    dots = plots._dots(many)
    assert len(dots) == plots.MAX_DOTS
    assert dots[0] == many.min() and dots[-1] == many.max()
    assert np.all(np.diff(dots) >= 0)
    assert abs(float(np.median(dots)) - float(np.median(many))) < 0.05


def test_by_controller_plot_draws_bounded_dots_at_many_seeds(tmp_path, monkeypatch):
    from matplotlib.axes import Axes

    drawn: list[int] = []
    scatter = Axes.scatter

    def counting(self, x, y, *args, **kwargs):
        drawn.append(len(np.atleast_1d(y)))
        return scatter(self, x, y, *args, **kwargs)

    monkeypatch.setattr(Axes, "scatter", counting)
    titles: list[str] = []
    monkeypatch.setattr(
        "matplotlib.figure.Figure.suptitle", lambda self, t, **k: titles.append(t), raising=True
    )
    plots.plot_by_controller(frame(3000), "mean_delay_s", "delay", "s/veh", tmp_path / "big.png")
    seed_dots = [n for n in drawn if n > 1]
    assert len(seed_dots) == 4 and max(seed_dots) == plots.MAX_DOTS  # 2 networks x 2 labels
    assert "quantiles" in titles[-1]
    drawn.clear()
    plots.plot_by_controller(frame(40), "mean_delay_s", "delay", "s/veh", tmp_path / "small.png")
    assert sorted(n for n in drawn if n > 1) == [40 - 1] * 4  # every completed seed (one failed)
    assert "every seed" in titles[-1]
    assert (tmp_path / "big.png").stat().st_size > 0 and (tmp_path / "small.png").stat().st_size > 0
