"""Synthetic networks (netgenerate) and seeded demand: determinism, cache, spec axis, a real run."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

from signalbench.analysis import result_rows, summarise
from signalbench.errors import NetworkError, SpecError
from signalbench.experiments import TrialResult, TrialSpec, load_spec, run_trial, spec_from_dict
from signalbench.networks import lint_model, load_network_model
from signalbench.networks.generate import (
    FlowRecipe,
    NetRecipe,
    generate_demand,
    generate_network,
    generated_scenario,
    parse_generator_ref,
    recipe_from_dict,
)

pytestmark = pytest.mark.integration

GRID = {"generator": "grid", "rows": 2, "cols": 3, "lanes": 2, "left_turn_lanes": 1, "profile": "peak"}


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SIGNALBENCH_CACHE", str(tmp_path / "cache"))


def test_same_recipe_and_seed_give_identical_files(tmp_path):
    a = generated_scenario(GRID, flow_veh_h=600, seed=7, cache=tmp_path / "a")
    b = generated_scenario(GRID, flow_veh_h=600, seed=7, cache=tmp_path / "b")
    assert a.net_file != b.net_file
    assert a.net_file.read_bytes() == b.net_file.read_bytes()
    assert a.route_files[0].read_bytes() == b.route_files[0].read_bytes()
    assert "generated on" not in a.net_file.read_text()[:500]  # netgenerate's dated header is dropped
    other_seed = generated_scenario(GRID, flow_veh_h=600, seed=8, cache=tmp_path / "a")
    assert other_seed.net_file == a.net_file  # the network does not depend on the demand seed
    assert other_seed.route_files[0].read_bytes() != a.route_files[0].read_bytes()
    fixed = {**GRID, "seed": 3}  # a recipe seed fixes the demand whatever the trial's seed
    one = generated_scenario(fixed, flow_veh_h=600, seed=1, cache=tmp_path / "a")
    two = generated_scenario(fixed, flow_veh_h=600, seed=2, cache=tmp_path / "a")
    assert one.route_files == two.route_files


def test_cache_is_reused_and_clean(tmp_path):
    cache = tmp_path / "c"
    net = generate_network(NetRecipe(kind="intersection"), cache=cache)
    mtime = net.stat().st_mtime_ns
    assert generate_network(NetRecipe(kind="intersection"), cache=cache) == net
    assert net.stat().st_mtime_ns == mtime
    assert [p.name for p in cache.iterdir()] == [net.parent.name]  # no temporary build folder left
    assert json.loads((net.parent / "recipe.json").read_text())["kind"] == "intersection"


@pytest.mark.parametrize(
    ("recipe", "signals", "phases"),
    [
        ({"generator": "intersection", "lanes": 2, "left_turn_lanes": 1}, 1, 4),  # protected lefts
        ({"generator": "intersection"}, 1, 2),
        ({"generator": "grid", "rows": 2, "cols": 3}, 6, 2),
        ({"generator": "arterial", "signals": 4}, 4, 2),
    ],
)
def test_generated_networks_are_modelled(recipe, signals, phases):
    net, _, _ = recipe_from_dict(recipe, 300)
    model = load_network_model(generate_network(net))
    assert len(model.intersections) == signals and not model.problems
    assert max(spec.n_phases for spec in model.intersections) == phases
    assert lint_model(model) == []  # docs/networks.md: the lint finds nothing on generated networks


def test_turning_ratios_and_volume(tmp_path):
    net = generate_network(NetRecipe(kind="intersection"))
    out = generate_demand(net, FlowRecipe(flow_veh_h=600, left=0, right=0), 1, out=tmp_path / "d.rou.xml")
    trips = ET.parse(out).getroot().findall("trip")
    # 4 approaches x 600 veh/h x 1 h, Poisson: within 5 standard deviations (sqrt(2400) ~ 49)
    assert abs(len(trips) - 2400) < 250
    straight = {"top0A0": "A0bottom0", "bottom0A0": "A0top0", "left0A0": "A0right0", "right0A0": "A0left0"}
    assert all(straight[t.get("from")] == t.get("to") for t in trips)
    departs = [float(t.get("depart")) for t in trips]
    assert departs == sorted(departs) and departs[0] >= 0 and departs[-1] < 3600

    side = generate_demand(net, FlowRecipe(flow_veh_h=600, side_flow_veh_h=0), 1, out=tmp_path / "s.rou.xml")
    origins = {t.get("from") for t in ET.parse(side).getroot().findall("trip")}
    assert origins == {"left0A0", "right0A0"}  # north/south approaches carry no flow


def test_od_flows(tmp_path):
    net = generate_network(NetRecipe(kind="intersection"))
    out = generate_demand(
        net, FlowRecipe(flow_veh_h=0, od=(("top0A0", "A0left0", 360.0),)), 1, out=tmp_path / "o.rou.xml"
    )
    trips = ET.parse(out).getroot().findall("trip")
    assert trips and all((t.get("from"), t.get("to")) == ("top0A0", "A0left0") for t in trips)
    with pytest.raises(NetworkError, match="od edge 'nope'"):
        generate_demand(
            net, FlowRecipe(flow_veh_h=0, od=(("nope", "A0left0", 1.0),)), 1, out=tmp_path / "x.xml"
        )


@pytest.mark.parametrize(
    ("recipe", "fragment"),
    [
        ({"generator": "ring"}, "unknown generator 'ring'"),
        ({"generator": "grid", "rows": 0}, "rows must be an integer from 1 to 50"),
        ({"generator": "grid", "lanez": 2}, "unknown parameter 'lanez'"),
        ({"generator": "grid", "profile": "rush"}, "unknown profile 'rush'"),
        ({"generator": "grid", "left": -1}, "left must be a number >= 0"),
        (
            {"generator": "intersection", "left_turn_lanes": 1, "left_turn_bay_m": 500},
            "left_turn_bay_m must be shorter",
        ),
    ],
)
def test_bad_recipes(recipe, fragment):
    with pytest.raises(NetworkError, match=fragment):
        recipe_from_dict(recipe, 300)


SPEC = {
    "name": "g",
    "seeds": [1, 2],
    "sim": {"duration_s": 120},
    "networks": [
        {"id": "cologne1-v0"},
        {**GRID, "name": "g23", "flow_veh_h": [300, 600], "timing": {"yellow_s": 4.0}},
    ],
    "controllers": [{"id": "fixed-time"}],
}


def test_spec_axis_and_round_trip(tmp_path):
    spec = spec_from_dict(SPEC)
    trials = spec.trials()
    assert [(t.network, t.flow_veh_h, t.seed) for t in trials] == [
        ("cologne1-v0", None, 1),
        ("cologne1-v0", None, 2),
        ("g23", 300.0, 1),
        ("g23", 300.0, 2),
        ("g23", 600.0, 1),
        ("g23", 600.0, 2),
    ]
    assert trials[0].demand_label == "1" and trials[4].demand_label == "600 veh/h"
    assert trials[0].timing.yellow_s == 3.0 and trials[4].timing.yellow_s == 4.0
    assert trials[0].to_dict()["generator"] is None and trials[0].to_dict()["flow_veh_h"] is None
    assert trials[4].key()["network"] is None and trials[4].key()["generator"]["rows"] == 2  # the recipe
    for t in trials:
        assert TrialSpec.from_dict(json.loads(json.dumps(t.to_dict()))) == t
    path = tmp_path / "s.toml"
    path.write_text(spec.to_toml())
    assert [t.trial_id for t in load_spec(path).trials()] == [t.trial_id for t in trials]


@pytest.mark.parametrize(
    ("entry", "fragment"),
    [
        ({"generator": "grid"}, "flow_veh_h: required"),
        ({"generator": "grid", "flow_veh_h": [300, 300]}, "demand levels repeat"),
        ({"generator": "grid", "flow_veh_h": 300, "rowz": 2}, "unknown key"),
        ({"generator": "grid", "flow_veh_h": 300, "name": "cologne1-v0"}, "not a catalog id"),
    ],
)
def test_spec_errors(entry, fragment):
    with pytest.raises(SpecError, match=fragment):
        spec_from_dict({**SPEC, "networks": [entry]})


def test_generated_trial_runs_and_records_demand(tmp_path):
    spec = spec_from_dict(
        {
            **SPEC,
            "seeds": [1],
            "networks": [{"generator": "intersection", "lanes": 2, "flow_veh_h": [300, 900]}],
        }
    )
    results = [run_trial(t, tmp_path) for t in spec.trials()]
    for r in results:
        assert r.state == "complete", r.error
        assert r.metrics["vehicles_arrived"] > 0
        again = TrialResult.from_dict(json.loads(json.dumps(r.to_dict())))
        assert again.spec.flow_veh_h == r.spec.flow_veh_h
    low, high = results
    assert low.metrics["vehicles_arrived"] < high.metrics["vehicles_arrived"]
    table = result_rows(results)  # read_results / signalbench results / report
    assert [(r["demand"], r["flow_veh_h"]) for r in table] == [(300.0, 300.0), (900.0, 900.0)]
    rows = summarise(results, ["mean_delay_s"])
    assert [(row.network, row.demand_label) for row in rows] == [
        ("intersection", "300 veh/h"),
        ("intersection", "900 veh/h"),
    ]


def test_bundled_demand_sweep_spec():
    trials = load_spec("demand-sweep").trials()
    assert len(trials) == 36
    assert sorted({(t.network, t.demand_label) for t in trials}) == [
        ("grid3x3", "200 veh/h"),
        ("grid3x3", "300 veh/h"),
        ("grid3x3", "400 veh/h"),
        ("intersection", "300 veh/h"),
        ("intersection", "600 veh/h"),
        ("intersection", "900 veh/h"),
    ]


def test_integer_and_float_parameters_are_one_recipe(tmp_path):
    a = generated_scenario(
        {"generator": "intersection", "block_m": 200}, flow_veh_h=300, seed=1, cache=tmp_path
    )
    b = generated_scenario(
        {"generator": "intersection", "block_m": 200.0}, flow_veh_h=300.0, seed=1, cache=tmp_path
    )
    assert (a.net_file, a.route_files) == (b.net_file, b.route_files)


def test_report_names_flow_levels():
    import pandas as pd

    from signalbench.analysis import demand_text

    assert demand_text(600.0, pd.DataFrame({"flow_veh_h": [600.0]})) == "600 veh/h"
    assert demand_text(1.5, pd.DataFrame({"flow_veh_h": [float("nan")]})) == "demand x 1.5"
    assert demand_text(1.5) == "demand x 1.5"


@pytest.mark.parametrize(
    ("text", "entry"),
    [
        ("grid:rows=2,cols=3,flow_veh_h=600", {"generator": "grid", "rows": 2, "cols": 3, "flow_veh_h": 600}),
        (
            "arterial:signals=3, flow_veh_h=[300, 600], profile=peak",
            {"generator": "arterial", "signals": 3, "flow_veh_h": [300, 600], "profile": "peak"},
        ),
        ("intersection", {"generator": "intersection"}),
        ("grid4x4-v0", None),
        ("nets/grid.net.xml", None),
    ],
)
def test_generator_written_on_one_line(text, entry):
    assert parse_generator_ref(text) == entry


def test_generated_network_on_the_command_line(tmp_path, capsys, monkeypatch):
    from signalbench.cli import main

    monkeypatch.setenv("SIGNALBENCH_CACHE", str(tmp_path / "cache"))
    argv = ["run", "--network", "intersection:flow_veh_h=[200,400]", "--controller", "max-pressure",
            "--seeds", "1", "--duration-s", "120", "--out", str(tmp_path / "o")]  # fmt: skip
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "intersection" in out and "200 veh/h" in out and "400 veh/h" in out
    assert main(["run", "--network", "grid:rows=2,cols", "--controller", "fixed-time"]) == 2
    assert "expected grid:key=value" in capsys.readouterr().err
    assert main(["run", "--network", "grid:flow_veh_h=300", "--route-files", "x.rou.xml",
                 "--controller", "fixed-time"]) == 2  # fmt: skip
    assert "brings its own demand" in capsys.readouterr().err


def test_rl_environment_on_a_generated_network(tmp_path):
    from signalbench.rl import SignalEnv

    scenario = generated_scenario(
        {"generator": "intersection"}, flow_veh_h=500, seed=1, cache=tmp_path / "cache"
    )
    env = SignalEnv(scenario, duration_s=120, decision_interval_s=10)
    try:
        obs, _ = env.reset(seed=1)
        assert env.observation_space.contains(obs)
        for _ in range(5):
            env.step(0)
    finally:
        env.close()
    with pytest.raises(SpecError, match="brings its own demand"):
        SignalEnv(scenario, route_files=["x.rou.xml"])
