"""Sensing on the fake backend: configuration, models, faults, attacks, diagnostics, fallbacks."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import numpy as np
import pytest

from signalbench.controllers import BuiltController, IntersectionObs, PhaseRequest, Traits, registry
from signalbench.errors import SpecError
from signalbench.runtime import Episode
from signalbench.sensing import (
    PERFECT,
    SensingConfig,
    field_set,
    parse_sensing,
    sensing_model,
    sensing_problems,
)
from signalbench.sensing._channels import Delay, Diagnoser, LostDecisions
from signalbench.sensing._config import Diagnostics, Fault
from signalbench.sensing._frame import Frame
from signalbench.sensing._sources import InputOutput, equipped
from signalbench.signals import SignalTiming
from signalbench.sim import LaneVehicles, SimConfig
from signalbench.testing import FakeBackend


def cfg(raw: Mapping) -> SensingConfig:
    config, problems = parse_sensing(raw, where="sensing[0]")
    assert config is not None, problems
    return config


def problems(raw: Mapping) -> list[str]:
    config, found = parse_sensing(raw, where="sensing[0]")
    assert config is None
    return found


# -- configuration -------------------------------------------------------------------------
def test_defaults_roundtrip_and_perfect():
    loops = cfg({"model": "loops"})
    assert loops.name == "loops" and loops.params == {"advance_m": 40.0, "stopline_m": 1.0, "quiet_s": 5.0}
    assert loops.diagnostics == Diagnostics()
    assert SensingConfig.from_dict(loops.to_dict()) == loops
    rich = cfg(
        {
            "name": "attacked",
            "model": "connected",
            "params": {"penetration": 0.5},
            "faults": [{"kind": "dropout", "rate": 0.1, "lights": ["A"]}, {"kind": "latency", "delay_s": 20}],
            "attacks": [{"kind": "spoof", "edges": "e1", "from_s": 600}],
            "diagnostics": {"no_activity_s": 120},
        }
    )
    assert SensingConfig.from_dict(rich.to_dict()) == rich
    assert rich.attacks[0].vehicles == 1 and rich.attacks[0].edges == ("e1",)
    assert rich.diagnostics == Diagnostics(no_activity_s=120)
    perfect = cfg({"name": "truth"})
    assert perfect.is_perfect and perfect.diagnostics is None and sensing_model(perfect) is PERFECT
    assert cfg({"model": "cameras", "diagnostics": False}).diagnostics is None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"model": "loop"}, "sensing[0].model: unknown sensing model 'loop'; did you mean 'loops'?"),
        ({"model": "loops", "params": {"zone_m": 50}}, "sensing[0].params: unknown parameter 'zone_m'"),
        (
            {"model": "connected", "params": {"penetration": 1.5}},
            "sensing[0].params.penetration: must be in (0, 1]",
        ),
        (
            {"faults": [{"kind": "dropuot", "rate": 0.1}]},
            "sensing[0].faults[0].kind: unknown fault 'dropuot'",
        ),
        ({"faults": [{"kind": "dropout"}]}, "sensing[0].faults[0].rate: required for a dropout fault"),
        (
            {"faults": [{"kind": "stuck-off", "rate": 0.2}]},
            "sensing[0].faults[0].rate: a stuck-off fault takes",
        ),
        (
            {"faults": [{"kind": "latency", "delay_s": -1}]},
            "sensing[0].faults[0].delay_s: must be a number > 0",
        ),
        ({"faults": [{"kind": "noise"}]}, "sensing[0].faults[0].sd_veh: a noise fault needs sd_veh"),
        ({"faults": [{"kind": "stuck-on", "share": 0}]}, "sensing[0].faults[0].share: must be in (0, 1]"),
        ({"faults": [{"kind": "stuck-on", "from_s": 100, "to_s": 50}]}, "sensing[0].faults[0].to_s: must be"),
        ({"faults": [{"kind": "lost-decisions", "rate": 0.1, "lanes": ["x"]}]}, "act per light"),
        ({"faults": [{"kind": "stuck-on", "lanse": ["x"]}]}, "sensing[0].faults[0].lanse: unknown key"),
        (
            {"attacks": [{"kind": "phantom-queue"}]},
            "sensing[0].attacks[0].lanes: a phantom-queue attack needs targets",
        ),
        (
            {"model": "loops", "attacks": [{"kind": "spoof", "lanes": ["x"]}]},
            "spoof attack fakes connected-vehicle",
        ),
        ({"model": "cameras", "faults": [{"kind": "stuck-on", "detector": "advance"}]}, "loops model only"),
        ({"model": "loops", "faults": [{"kind": "noise", "sd_m": 2}]}, "sd_m (position noise) needs"),
        ({"modle": "loops"}, "sensing[0].modle: unknown key; did you mean 'model'?"),
        ({"diagnostics": {"max_presence_s": 0}}, "diagnostics.max_presence_s: must be a number > 0"),
    ],
)
def test_bad_configuration_is_named(raw, expected):
    found = problems(raw)
    assert any(expected in p for p in found), found


def test_targets_that_do_not_exist_are_named(cologne3_model):
    lane = cologne3_model.intersections[0].incoming_lanes[0]
    config = cfg(
        {
            "name": "bad",
            "faults": [{"kind": "stuck-off", "lanes": [lane.id + "x"], "edges": [lane.edge_id]}],
            "attacks": [{"kind": "phantom-queue", "lights": ["nowhere"]}],
        }
    )
    found = sensing_problems(config, cologne3_model)
    assert len(found) == 2
    assert f"faults[0] (stuck-off): lanes: '{lane.id}x' is no lane of a controlled light" in found[0]
    assert f"did you mean '{lane.id}'?" in found[0]
    assert "attacks[0] (phantom-queue): lights: 'nowhere' is no controlled traffic light" in found[1]


def test_a_controller_needing_what_the_model_cannot_give_is_refused():
    loops = cfg({"model": "loops"})
    built = registry.build("max-pressure", {"detection_m": 100.0})
    with pytest.raises(
        SpecError, match=r"controller 'max-pressure-v0' needs vehicles, which sensing 'loops'"
    ):
        field_set(loops, built.traits, "max-pressure-v0")
    assert field_set(loops, registry.build("actuated").traits, "a") == ("gap_s",)
    assert field_set(loops, registry.build("sotl").traits, "s") == ("vehicle_count",)
    assert field_set(cfg({"model": "cameras"}), registry.build("actuated").traits, "a") == ("vehicles",)
    assert field_set(loops, registry.build("max-pressure").traits, "m") == ("halting_count",)
    assert field_set(loops, registry.build("fixed-time").traits, "f") == ()


# -- episodes on the fake backend ----------------------------------------------------------
class Recorder:
    """Never switches; keeps what it saw (traffic then does not depend on the sensing)."""

    def __init__(self) -> None:
        self.seen: list[dict[str, IntersectionObs]] = []

    def reset(self, network, rng) -> None:
        pass

    def act(self, obs):
        self.seen.append(dict(obs))
        return {}


def recorder(fields=("halting_count", "vehicle_count"), interval=1.0) -> tuple[BuiltController, Recorder]:
    policy = Recorder()
    traits = Traits(scope="network", decision_interval_s=interval, observed_fields=fields)
    return BuiltController(name="recorder", traits=traits, policy=policy), policy


def episode(model, tmp_path, sensing, controller, *, seed=1, end_s=300.0, rate=0.1, timing=None):
    return Episode(
        backend=FakeBackend(model, arrival_rate_veh_s=rate),
        config=SimConfig(net_file=model.net_file, begin_s=0.0, end_s=end_s, seed=seed),
        model=model,
        controller=controller,
        timing=timing or SignalTiming(),
        sensing=sensing,
        sensing_dir=tmp_path,
        record_timelines=True,
    )


def observed(model, tmp_path, raw=None, *, fields=("halting_count", "vehicle_count"), seed=1, end_s=300.0):
    controller, policy = recorder(fields)
    sensing = PERFECT if raw is None else sensing_model(cfg(raw))
    stats = episode(model, tmp_path, sensing, controller, seed=seed, end_s=end_s).run()
    return policy.seen, stats


def table(seen, field="in_halting"):
    return np.array([np.concatenate([getattr(o, field) for o in obs.values()]) for obs in seen])


def test_perfect_through_the_configured_path_equals_perfect(cologne3_model, tmp_path):
    """Lane truths with a fault that never starts read exactly what PERFECT reads."""
    base, _ = observed(cologne3_model, tmp_path)
    later, stats = observed(
        cologne3_model, tmp_path, {"faults": [{"kind": "stuck-off", "from_s": 10_000}], "diagnostics": False}
    )
    np.testing.assert_array_equal(table(later), table(base))
    np.testing.assert_array_equal(table(later, "in_vehicles"), table(base, "in_vehicles"))
    assert stats.sensing == {
        "name": "perfect",
        "fields": ["halting_count", "vehicle_count"],
        "lost_requests": 0,
        "fallback": "",
    }


def test_lane_waiting_time_is_a_perfect_lane_truth(cologne3_model, tmp_path):
    """``waiting_time_s`` is the per-lane sum of the vehicles' waiting; only bare perfect sensing gives it."""
    seen, _ = observed(cologne3_model, tmp_path, fields=("waiting_time_s", "vehicles"))
    assert seen and any(table(seen, "in_waiting_time_s").sum(axis=1) > 0)
    for obs in seen:
        for o in obs.values():
            assert o.in_waiting_time_s is not None and not o.in_waiting_time_s.flags.writeable
            per_vehicle = [lv.waiting_s.sum() for lv in o.in_lane_vehicles]
            np.testing.assert_array_equal(o.in_waiting_time_s, per_vehicle)
            assert np.isnan(o.in_halting).all() and np.isnan(o.out_vehicles).all()  # not asked for
            assert np.isnan(o.down_halting).all() and len(o.down_halting) == len(o.spec.outgoing_lanes)
    plain, _ = observed(cologne3_model, tmp_path)
    assert all(o.in_waiting_time_s is None for obs in plain for o in obs.values())
    traits = Traits(scope="network", decision_interval_s=1.0, observed_fields=("waiting_time_s",))
    assert field_set(PERFECT.config, traits, "rl") == ("waiting_time_s",)
    for raw in ({"model": "cameras"}, {"faults": [{"kind": "noise", "sd_veh": 1.0}]}):
        with pytest.raises(SpecError, match=r"controller 'rl' needs waiting_time_s, which sensing"):
            field_set(cfg(raw), traits, "rl")


def test_perfect_downstream_queues_are_the_sums_over_the_next_lights_lanes(cologne3_model, tmp_path):
    seen, _ = observed(cologne3_model, tmp_path, fields=("halting_count",))
    index = {
        ln.id: (spec.id, k)
        for spec in cologne3_model.intersections
        for k, ln in enumerate(spec.incoming_lanes)
    }
    checked = 0
    for obs in seen:
        for o in obs.values():
            for k, ln in enumerate(o.spec.outgoing_lanes):
                parts = [obs[index[d][0]].in_halting[index[d][1]] for d in ln.downstream_lanes if d in index]
                assert o.down_halting[k] == sum(parts)
                checked += bool(parts)
    assert checked


def test_stuck_off_and_on_on_one_approach_only(cologne3_model, tmp_path):
    spec = cologne3_model.intersections[0]
    edge = spec.incoming_lanes[0].edge_id
    on_edge = np.concatenate(
        [[ln.edge_id == edge for ln in s.incoming_lanes] for s in cologne3_model.intersections]
    )
    base = table(observed(cologne3_model, tmp_path)[0])
    off = table(
        observed(
            cologne3_model, tmp_path, {"faults": [{"kind": "stuck-off", "edges": [edge], "from_s": 60}]}
        )[0]
    )
    times = np.arange(1, len(base) + 1)
    np.testing.assert_array_equal(off[:, ~on_edge], base[:, ~on_edge])
    np.testing.assert_array_equal(off[times < 60][:, on_edge], base[times < 60][:, on_edge])
    assert np.all(off[times >= 60][:, on_edge] == 0) and base[times >= 60][:, on_edge].sum() > 0
    on = table(observed(cologne3_model, tmp_path, {"faults": [{"kind": "stuck-on", "edges": [edge]}]})[0])
    lengths = np.concatenate([[ln.length_m for ln in s.incoming_lanes] for s in cologne3_model.intersections])
    full = np.maximum(1, np.floor(lengths / 7.5))
    assert np.all(on[:, on_edge] == full[on_edge])  # a zone full of stopped vehicles
    np.testing.assert_array_equal(on[:, ~on_edge], base[:, ~on_edge])


def test_dropout_rate_and_share_are_seeded(cologne3_model, tmp_path):
    raw = {"faults": [{"kind": "dropout", "rate": 0.3}], "diagnostics": False}
    base = table(observed(cologne3_model, tmp_path, end_s=600)[0])
    got = table(observed(cologne3_model, tmp_path, raw, end_s=600)[0])
    busy = base > 0
    lost = (got == 0) & busy
    assert 0.25 < lost.sum() / busy.sum() < 0.35  # each reading lost with probability 0.3
    assert np.all((got == base) | (got == 0))
    again = table(observed(cologne3_model, tmp_path, raw, end_s=600)[0])
    np.testing.assert_array_equal(again, got)
    other = table(observed(cologne3_model, tmp_path, raw, end_s=600, seed=2)[0])
    assert not np.array_equal(other, got)
    half = {"faults": [{"kind": "stuck-off", "share": 0.5}]}
    dead = table(observed(cologne3_model, tmp_path, half)[0])
    lanes = dead.shape[1]
    assert (np.all(dead == 0, axis=0) & np.any(base > 0, axis=0)).sum() >= lanes // 2 - 3


def test_noise_is_whole_vehicles_and_never_negative(cologne3_model, tmp_path):
    base = table(observed(cologne3_model, tmp_path)[0], "in_vehicles")
    got = table(
        observed(cologne3_model, tmp_path, {"faults": [{"kind": "noise", "sd_veh": 2.0}]})[0], "in_vehicles"
    )
    diff = got - base
    assert np.all(got >= 0) and np.all(diff == np.rint(diff)) and diff.std() > 1.0


def test_latency_shows_data_from_delay_seconds_ago(cologne3_model, tmp_path):
    base = table(observed(cologne3_model, tmp_path)[0])
    late = table(observed(cologne3_model, tmp_path, {"faults": [{"kind": "latency", "delay_s": 20}]})[0])
    np.testing.assert_array_equal(late[20:], base[:-20])
    np.testing.assert_array_equal(late[:20], np.repeat(base[:1], 20, axis=0))


def test_phantom_and_hidden_queue_within_their_window(cologne3_model, tmp_path):
    edge = cologne3_model.intersections[0].incoming_lanes[0].edge_id
    on_edge = np.concatenate(
        [[ln.edge_id == edge for ln in s.incoming_lanes] for s in cologne3_model.intersections]
    )
    base = table(observed(cologne3_model, tmp_path)[0])
    times = np.arange(1, len(base) + 1)
    window = (times >= 100) & (times < 200)
    raw = {"attacks": [{"kind": "phantom-queue", "edges": [edge], "vehicles": 7, "from_s": 100, "to_s": 200}]}
    got = table(observed(cologne3_model, tmp_path, raw)[0])
    np.testing.assert_array_equal(got[np.ix_(window, on_edge)], base[np.ix_(window, on_edge)] + 7)
    np.testing.assert_array_equal(got[~window], base[~window])
    raw = {"attacks": [{"kind": "hidden-queue", "edges": [edge], "from_s": 100}]}
    got = table(observed(cologne3_model, tmp_path, raw)[0])
    assert np.all(got[np.ix_(times >= 100, on_edge)] == 0)
    np.testing.assert_array_equal(got[:, ~on_edge], base[:, ~on_edge])


def test_phantom_vehicles_queue_behind_the_real_ones(cologne3_model, tmp_path):
    lane = cologne3_model.intersections[0].incoming_lanes[0]
    raw = {"model": "cameras", "attacks": [{"kind": "phantom-queue", "lanes": [lane.id], "vehicles": 3}]}
    seen, _ = observed(cologne3_model, tmp_path, raw, fields=("vehicles",))
    first = seen[-1][cologne3_model.intersections[0].id].in_lane_vehicles[0]
    phantoms = [i for i, v in enumerate(first.ids) if v.startswith("phantom:")]
    assert len(phantoms) == 3 and phantoms == list(range(len(first) - 3, len(first)))
    assert np.all(first.speed_m_s[phantoms] == 0)


def test_models_on_the_fake_detectors(cologne3_model, tmp_path):
    base = table(observed(cologne3_model, tmp_path)[0], "in_vehicles")
    cams, _ = observed(cologne3_model, tmp_path, {"model": "cameras", "params": {"zone_m": 30}})
    cams_v = table(cams, "in_vehicles")
    assert np.all(cams_v <= np.minimum(base, 5)) and cams_v.sum() > 0  # 30 m hold 4 queued fake vehicles
    assert (tmp_path / "signalbench-cameras.add.xml").is_file()
    loops, _ = observed(
        cologne3_model, tmp_path, {"model": "loops"}, fields=("vehicle_count", "halting_count", "gap_s")
    )
    assert table(loops, "in_vehicles").sum() > 0 and np.all(table(loops, "in_gap_s") >= 0)
    assert np.all(np.isnan(table(loops, "in_occupancy")))  # loops give no occupancy here
    probes, _ = observed(
        cologne3_model,
        tmp_path,
        {"model": "connected", "params": {"penetration": 0.5, "estimate": "sample"}},
        fields=("vehicle_count", "vehicles"),
    )
    sampled = table(probes, "in_vehicles")
    assert np.all(sampled <= base) and 0.3 < sampled.sum() / base.sum() < 0.7


def test_spoofed_vehicle_inflates_the_probe_queue(cologne3_model, tmp_path):
    spec = cologne3_model.intersections[0]
    lane = max(spec.incoming_lanes, key=lambda ln: ln.length_m)
    raw = {
        "model": "connected",
        "params": {"penetration": 0.2},
        "attacks": [{"kind": "spoof", "lanes": [lane.id], "from_s": 50}],
    }
    seen, _ = observed(cologne3_model, tmp_path, raw, fields=("halting_count", "vehicles"))
    row = [ln.id for ln in spec.incoming_lanes].index(lane.id)
    after = [obs[spec.id] for obs in seen if obs[spec.id].time_s >= 50]
    expected = np.floor(min(300.0, lane.length_m) / 7.5) + 1  # the queue reaches back to the spoofed probe
    assert all(o.in_halting[row] >= expected for o in after)
    assert all("spoof:0:0" in o.in_lane_vehicles[row].ids for o in after)
    assert all("spoof:0:0" not in o.in_lane_vehicles[row].ids for o in (obs[spec.id] for obs in seen[:45]))


def test_equipped_is_a_seeded_share():
    ids = [f"veh{i}" for i in range(20_000)]
    keep = equipped(7, 0.2)
    share = sum(keep(v) for v in ids) / len(ids)
    assert 0.19 < share < 0.21
    assert [keep(v) for v in ids[:100]] == [equipped(7, 0.2)(v) for v in ids[:100]]
    assert [keep(v) for v in ids[:200]] != [equipped(8, 0.2)(v) for v in ids[:200]]


def test_lost_decisions_hold_the_fake_signals(cologne3_model, tmp_path):
    class Flipper:
        def reset(self, network, rng):
            self.k = 0

        def act(self, obs):
            self.k += 1
            return {tls: PhaseRequest.switch(self.k % o.n_phases) for tls, o in obs.items()}

    traits = Traits(scope="network", decision_interval_s=10.0, observed_fields=("halting_count",))
    flipper = BuiltController(name="flipper", traits=traits, policy=Flipper())
    free = episode(cologne3_model, tmp_path, PERFECT, flipper).run()
    flipper = BuiltController(name="flipper", traits=traits, policy=Flipper())
    sensing = sensing_model(cfg({"faults": [{"kind": "lost-decisions", "rate": 1.0}]}))
    lost = episode(cologne3_model, tmp_path, sensing, flipper, timing=SignalTiming(max_green_s=None)).run()
    assert lost.switches == 0 and free.switches > 0
    assert lost.sensing["lost_requests"] == lost.decisions * len(cologne3_model.intersections)


def test_lost_decisions_are_drawn_per_light():
    fault = Fault(kind="lost-decisions", rate=0.5, lights=("A",))
    draws = LostDecisions([fault], ["A", "B"], np.random.default_rng(1))
    lost = [draws.lost(t) for t in range(1000)]
    assert all("B" not in x for x in lost) and 400 < sum("A" in x for x in lost) < 600


def test_episode_refuses_before_sumo_starts(cologne3_model, tmp_path):
    backend = FakeBackend(cologne3_model)
    ep = Episode(
        backend=backend,
        config=SimConfig(net_file=cologne3_model.net_file, end_s=100.0),
        model=cologne3_model,
        controller=registry.build("max-pressure", {"detection_m": 50.0}),
        timing=SignalTiming(),
        sensing=sensing_model(cfg({"model": "loops"})),
    )
    with pytest.raises(SpecError, match="controller 'max-pressure-v0' needs vehicles"):
        ep.run()
    assert not backend._started


# -- diagnostics and fallbacks -------------------------------------------------------------
@pytest.mark.parametrize(
    "raw",
    [
        {"model": "cameras", "diagnostics": False},
        {"model": "loops"},
        {"model": "loops", "diagnostics": {"no_activity_s": 120}},
        {"model": "connected", "params": {"penetration": 0.2}, "diagnostics": False},
    ],
)
def test_a_configuration_survives_its_record(raw):
    # The trial runner rebuilds the configuration from the record's form: diagnostics = false
    # used to come back on (its absence read as the default).
    config = cfg({"name": "x", **raw})
    assert SensingConfig.from_dict(config.to_dict()) == config


def test_diagnostics_default_tolerates_quiet_low_volume_lanes():
    # 10 minutes flagged healthy lanes of grid4x4 (224 vehicles in 15 minutes over 16 lights).
    assert Diagnostics().no_activity_s == 1800.0
    d = Diagnoser(Diagnostics(), 1)
    flags = [d.update(float(t), np.array([False])) for t in range(0, 1800, 5)]
    assert not np.any(flags) and d.summary() == {
        "units_reported_failed": 0.0,
        "failed_unit_s": 0.0,
        "first_failure_s": None,
    }


def test_diagnoser_flags_max_presence_and_no_activity():
    d = Diagnoser(Diagnostics(max_presence_s=10, no_activity_s=20), 3)
    flags = []
    for t in range(40):
        presence = np.array([True, False, t % 2 == 0])
        flags.append(d.update(float(t), presence, np.array([True, True, True])))
    flags = np.array(flags)
    assert not flags[:10, 0].any() and flags[10:, 0].all()  # stuck on after 10 s of unchanged presence
    assert not flags[:20, 1].any() and flags[20:, 1].all()  # nothing for 20 s
    assert not flags[:, 2].any()


def test_actuated_falls_back_to_max_recall(cologne3_model, tmp_path):
    """A stuck-off approach is reported failed after no_activity_s, and its phases are still served."""
    spec = cologne3_model.intersections[0]
    edge = spec.incoming_lanes[0].edge_id
    raw = {
        "model": "loops",
        "faults": [{"kind": "stuck-off", "edges": [edge]}],
        "diagnostics": {"no_activity_s": 60},
    }
    runs = {}
    for fallback in ("max-recall", "none"):
        ctrl = registry.build("actuated", {"fallback": fallback})
        assert ctrl.traits.detector_fallback == ("max recall" if fallback == "max-recall" else "")
        ep = episode(cologne3_model, tmp_path, sensing_model(cfg(raw)), ctrl, end_s=900.0)
        seen: list[IntersectionObs] = []
        ep.on_decision = lambda t, obs, req, seen=seen: seen.append(obs[spec.id])
        stats = ep.run()
        runs[fallback] = (stats, seen)
    seen = runs["max-recall"][1]
    # The record says what the diagnostics reported: the dead lanes, from 60 s after the start.
    report = runs["max-recall"][0].sensing["diagnostics"]
    assert report["units_reported_failed"] >= 1 and report["failed_unit_s"] > 0
    assert 60.0 <= report["first_failure_s"] <= 70.0
    row = [ln.edge_id == edge for ln in spec.incoming_lanes].index(True)
    assert not seen[30].in_failed[row] and seen[-1].in_failed[row]
    # The phases serving the dead approach: starved without the fallback, served on recall with it.
    dead = {
        k
        for k, phase in enumerate(spec.green_phases)
        if any(spec.movements[m].from_lane == spec.incoming_lanes[row].id for m in phase.movements)
    }
    green_s = {
        fallback: sum(1 for o in obs if o.time_s > 120 and not o.in_transition and o.phase in dead)
        for fallback, (_, obs) in runs.items()
    }
    assert green_s["max-recall"] > 1.3 * green_s["none"]


def test_sotl_falls_back_to_a_fixed_cycle(cologne3_model, tmp_path):
    raw = {"faults": [{"kind": "stuck-on"}], "diagnostics": {"max_presence_s": 30}}
    ctrl = registry.build("sotl", {"fallback_green_s": 20.0})
    assert ctrl.traits.detector_fallback == "fixed cycle"
    stats = episode(cologne3_model, tmp_path, sensing_model(cfg(raw)), ctrl, end_s=600.0).run()
    for timeline in stats.timelines.values():
        greens = [t for t, s in timeline if "y" not in s and t > 60]
        gaps = np.diff(greens)
        assert len(greens) > 5 and np.all(gaps[::2] >= 20.0 - 1e-6)


# -- building blocks -----------------------------------------------------------------------
def test_input_output_counts_and_queue():
    io = InputOutput(np.array([4.0]), quiet_s=5.0, begin_s=0.0)
    far = np.array([100.0])
    n, q = io.update(5.0, np.array([3.0]), np.array([0.0]), np.array([0.0]), np.array([1.0]))
    assert n[0] == 3 and q[0] == pytest.approx(3 * (5 - 4) / 5)  # arrivals older than the travel time
    n, q = io.update(10.0, np.array([0.0]), np.array([1.0]), np.array([0.0]), far)
    assert n[0] == 2 and q[0] == 2
    n, q = io.update(15.0, np.array([0.0]), np.array([5.0]), np.array([0.0]), far)  # more out than in
    assert n[0] == 0 and q[0] == 0
    io.update(20.0, np.array([4.0]), np.array([0.0]), np.array([0.0]), np.array([0.0]))
    n, q = io.update(25.0, np.array([0.0]), np.array([0.0]), np.array([6.0]), np.array([10.0]))  # quiet
    assert n[0] == 0 and q[0] == 0


def test_delay_mixes_old_rows_lane_by_lane():
    frames = [
        Frame(
            time_s=float(t),
            values={"gap_s": np.array([t, t], dtype=float)},
            vehicles=(),
            failed=np.zeros(2, bool),
        )
        for t in range(10)
    ]
    delay = Delay(3.0)
    out = [delay.apply(f, np.array([3.0, 0.0])) for f in frames]
    assert [o.values["gap_s"][0] for o in out] == [0, 0, 0, 0, 1, 2, 3, 4, 5, 6]
    assert [o.values["gap_s"][1] for o in out] == list(range(10))


def test_fake_backend_loops_count_what_leaves(cologne3_model, tmp_path):
    seen, stats = observed(
        cologne3_model, tmp_path, {"model": "loops", "diagnostics": False}, fields=("gap_s",)
    )
    gaps = table(seen, "in_gap_s")
    assert np.all(gaps >= 0) and (gaps == 0).any()
    assert stats.sensing["fields"] == ["gap_s"]
    vehicles = LaneVehicles()
    assert len(vehicles) == 0


def test_sensing_dir_defaults_to_a_scratch_folder_removed_on_close(cologne3_model):
    controller, _ = recorder(("gap_s",))
    ep = Episode(
        backend=FakeBackend(cologne3_model),
        config=SimConfig(net_file=cologne3_model.net_file, end_s=30.0),
        model=cologne3_model,
        controller=controller,
        timing=SignalTiming(),
        sensing=sensing_model(cfg({"model": "loops"})),
    )
    ep.start()
    scratch = ep._scratch
    assert scratch is not None and (scratch / "signalbench-loops.add.xml").is_file()
    ep.close()
    assert not scratch.exists()


def test_perfect_through_perfect_sensing_unchanged(cologne3_model, tmp_path):
    seen, stats = observed(cologne3_model, tmp_path)
    assert stats.sensing == {}
    o = next(iter(seen[0].values()))
    assert o.in_failed is None and o.in_gap_s is None and o.observes("halting_count")
    assert dataclasses.replace(o).fields == frozenset({"halting_count", "vehicle_count"})
