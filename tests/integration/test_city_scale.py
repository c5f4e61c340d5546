"""City scale on real SUMO: the vectorised decisions equal the per-light ones; the presets by name."""

from __future__ import annotations

import dataclasses

import pytest

from signalbench.controllers import registry
from signalbench.errors import NetworkError
from signalbench.experiments import spec_from_dict
from signalbench.networks import PRESETS, generated_scenario, parse_generator_ref, preset_scenario
from signalbench.runtime import Session
from signalbench.signals import SignalTiming

pytestmark = pytest.mark.integration

# 4 x 5 = 20 lights (above the automatic threshold), busy enough to queue within 240 s.
GRID = {"generator": "grid", "rows": 4, "cols": 5, "lanes": 2, "left_turn_lanes": 1}


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    sc = generated_scenario(GRID, flow_veh_h=700, seed=3, cache=tmp_path_factory.mktemp("cache"))
    return Session(dataclasses.replace(sc, end_s=240.0))


def _run(session, name, params, batch):
    controller = registry.build(name, params)
    stats = session.episode(
        controller,
        config=session.config(seed=3),
        timing=SignalTiming(),
        record_timelines=True,
        batch=batch,
    ).run()
    return controller, stats


@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("max-pressure", {"downstream": "signalised"}),
        ("longest-queue-first", {}),
        ("greedy", {"detection_m": 100.0, "upstream": True}),
    ],
)
def test_vectorised_decisions_equal_per_light_on_real_sumo(session, name, params):
    _, reference = _run(session, name, params, batch=False)
    controller, batched = _run(session, name, params, batch=True)
    assert controller.policy.batch is not None
    assert batched.switches == reference.switches > 0
    assert batched.timelines == reference.timelines
    assert batched.overrides == reference.overrides


def test_city_presets_by_name():
    assert set(PRESETS) == {"city-128", "city-256", "city-1024"}
    with pytest.raises(NetworkError, match="unknown preset 'city-12'"):
        preset_scenario("city-12")
    entry = parse_generator_ref("city-1024")
    assert entry == PRESETS["city-1024"] and entry["rows"] * entry["cols"] == 1024
    assert parse_generator_ref("city-128:flow_veh_h=[300, 600]")["flow_veh_h"] == [300, 600]
    spec = spec_from_dict(
        {"name": "city", "networks": [parse_generator_ref("city-256")], "controllers": [{"id": "fixed-time"}]}
    )
    trials = spec.trials()
    assert trials and {t.network for t in trials} == {"city-256"}
    assert {t.flow_veh_h for t in trials} == {300.0}
    by_id = spec_from_dict(
        {
            "name": "city",
            "networks": [{"id": "city-128", "flow_veh_h": [300, 600]}],
            "controllers": [{"id": "fixed-time"}],
        }
    )
    assert {(t.network, t.flow_veh_h) for t in by_id.trials()} == {("city-128", 300.0), ("city-128", 600.0)}
