"""Sensing on real SUMO: readings equal SUMO's own detector files; faults act as specified.

Short cologne3 runs (300 simulated seconds) on both backends.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pytest

from signalbench.controllers import BuiltController, IntersectionObs, PhaseRequest, Traits, registry
from signalbench.networks import catalog
from signalbench.runtime import Session, SimOptions
from signalbench.sensing import PERFECT, SensingConfig, parse_sensing, sensing_model
from signalbench.signals import SignalTiming

pytestmark = pytest.mark.integration

DURATION_S = 300.0
CAMERA_FIELDS = ("vehicle_count", "halting_count", "occupancy", "mean_speed_m_s", "jam_length_m")


class Recorder:
    """Asks for given fields, records every observation, never switches (traffic then does not
    depend on what is sensed, so two sensings of one seed see the same street)."""

    decision_interval_s = 1.0

    def __init__(self, fields: tuple[str, ...] = ("halting_count",)) -> None:
        self.observed_lane_fields = fields
        self.seen: list[dict[str, IntersectionObs]] = []

    def reset(self, spec, rng) -> None:
        pass

    def act(self, obs: Mapping[str, IntersectionObs]) -> dict[str, PhaseRequest]:
        self.seen.append(dict(obs))
        return {}


def _config(raw: dict) -> SensingConfig:
    config, problems = parse_sensing(raw, where="sensing")
    assert config is not None, problems
    return config


@pytest.fixture(scope="module")
def scenario():
    return catalog()["cologne3-v0"].scenario().shortened(DURATION_S)


def _run(
    scenario, tmp_path: Path, sensing, *, fields=("halting_count",), backend="libsumo", seed=1, outputs=False
):
    """Run the recorder; with ``outputs`` the detectors also write SUMO's files into tmp_path."""
    session = Session(scenario, SimOptions(backend=backend))
    policy = Recorder(fields)
    traits = Traits(scope="network", decision_interval_s=1.0, observed_fields=fields)
    controller = BuiltController(name="recorder", traits=traits, policy=policy)
    config = session.config(seed=seed, outdir=tmp_path)
    if outputs:  # the detectors write their own files: the test's reference
        config = config.with_additional(
            sensing.additional_files(session.model, tmp_path, interval_s=1.0, outputs=True)
        )
        sensing = _NoFiles(sensing)
    episode = session.episode(controller, config=config, timing=SignalTiming(), sensing=sensing)
    stats = episode.run()
    return policy.seen, stats, session.model


class _NoFiles:
    """The same sensing, its detector files already in the configuration."""

    writes_files = False

    def __init__(self, model) -> None:
        self.model = model

    def __getattr__(self, name):
        return getattr(self.model, name)


def _intervals(path: Path, key: str = "end") -> dict[tuple[str, float], dict[str, str]]:
    return {(e.get("id"), float(e.get(key))): e.attrib for e in ET.parse(path).getroot().iter("interval")}


@pytest.mark.parametrize("backend", ["libsumo", "traci"])
def test_camera_readings_equal_sumo_e2_output(scenario, tmp_path, backend):
    """A camera's reading at t is the detector's one-step interval ending at t in SUMO's E2 file.

    Occupancy, jam length and mean speed are equal. The vehicle count equals the vehicles the
    file has registered (nVehSeen - nVehLeft) but for vehicles new in the zone at this step,
    which SUMO's interval statistics register one step later (a vehicle inserted on the lane,
    or arriving from the junction upstream of a zone that starts at the lane's start).
    """
    seen, _, _ = _run(
        scenario,
        tmp_path,
        sensing_model(_config({"model": "cameras"})),
        fields=(*CAMERA_FIELDS, "vehicles"),
        backend=backend,
        outputs=True,
    )
    file = _intervals(tmp_path / "sensing-e2.xml")
    checked = late = 0
    before: dict[str, set[str]] = {}
    for obs in seen:
        for o in obs.values():
            for i, lane in enumerate(o.spec.incoming_lanes):
                row = file[(f"sb.zone.{lane.id}", o.time_s)]
                assert o.in_occupancy[i] == pytest.approx(float(row["meanOccupancy"]) / 100, abs=5e-5)
                assert o.in_jam_length_m[i] == pytest.approx(float(row["maxJamLengthInMeters"]), abs=5e-3)
                if float(row["meanSpeed"]) >= 0:
                    assert o.in_mean_speed_m_s[i] == pytest.approx(float(row["meanSpeed"]), abs=5e-3)
                else:  # an empty zone reports the lane's speed limit (SUMO's lane convention)
                    assert o.in_mean_speed_m_s[i] == lane.speed_limit_m_s
                ids = set(o.in_lane_vehicles[i].ids)
                assert len(ids) == o.in_vehicles[i]
                registered = float(row["nVehSeen"]) - float(row["nVehLeft"])
                new = len(ids - before.get(lane.id, set()))
                assert 0 <= o.in_vehicles[i] - registered <= new
                late += o.in_vehicles[i] != registered
                before[lane.id] = ids
                checked += 1
    assert checked > 5000 and late < 0.02 * checked
    assert sum(o.in_vehicles.sum() for obs in seen for o in obs.values()) > 100


@pytest.mark.parametrize("backend", ["libsumo", "traci"])
def test_loop_counts_equal_sumo_e1_output(scenario, tmp_path, backend):
    """Every loop's count at every decision is SUMO's nVehContrib of the interval that just ended."""
    from signalbench.sim import make_backend

    config = _config({"model": "loops"})
    session = Session(scenario, SimOptions(backend=backend))
    files = sensing_model(config).additional_files(session.model, tmp_path, interval_s=5.0, outputs=True)
    loops = [line.split('"')[1] for line in files[0].read_text().splitlines() if "<inductionLoop" in line]
    counts: dict[tuple[str, float], float] = {}
    with make_backend(backend) as sim:
        sim.start(session.config(seed=2, outdir=tmp_path).with_additional(files))
        sim.watch_detectors(loops=loops)
        t = scenario.begin_s
        while t < scenario.end_s - 5:
            t += 5.0
            sim.step_until(t)
            read = sim.read_detectors()
            counts.update({(loop, t): c for loop, c in zip(loops, read.loops["count"], strict=True)})
            assert np.all(read.loops["gap_s"] >= 0)
    file = _intervals(tmp_path / "sensing-e1.xml")
    assert set(counts) <= set(file)
    assert all(counts[k] == float(file[k]["nVehContrib"]) for k in counts)
    assert sum(counts.values()) > 100


def test_both_backends_sense_the_same(scenario, tmp_path):
    raw = {"model": "connected", "params": {"penetration": 0.5}, "faults": [{"kind": "dropout", "rate": 0.2}]}
    runs = {}
    for backend in ("libsumo", "traci"):
        (tmp_path / backend).mkdir()
        seen, _, _ = _run(
            scenario,
            tmp_path / backend,
            sensing_model(_config(raw)),
            fields=("halting_count", "vehicles"),
            backend=backend,
        )
        runs[backend] = [
            (o.time_s, tuple(o.in_halting), tuple(v for lane in o.in_lane_vehicles for v in lane.ids))
            for obs in seen
            for o in obs.values()
        ]
    assert runs["libsumo"] == runs["traci"]


def _halting(seen):
    return np.array([np.concatenate([o.in_halting for o in obs.values()]) for obs in seen])


def test_faults_change_what_the_controller_sees_as_specified(scenario, tmp_path):
    (tmp_path / "truth").mkdir()
    truth, _, model = _run(scenario, tmp_path / "truth", PERFECT)
    edge = model.intersections[0].incoming_lanes[0].edge_id
    lanes = [ln.id for s in model.intersections for ln in s.incoming_lanes]
    on_edge = np.array([ln.split("_")[0] == edge for ln in lanes]) & np.array(
        [ln.rsplit("_", 1)[0] == edge for ln in lanes]
    )
    base = _halting(truth)
    times = np.array([next(iter(obs.values())).time_s for obs in truth]) - scenario.begin_s
    cases = {
        "off": {"kind": "stuck-off", "edges": [edge], "from_s": 100},
        "latency": {"kind": "latency", "delay_s": 20},
        "noise": {"kind": "noise", "sd_veh": 1.0},
    }
    for name, fault in cases.items():
        (tmp_path / name).mkdir()
        seen, _, _ = _run(
            scenario,
            tmp_path / name,
            sensing_model(_config({"name": name, "faults": [fault], "diagnostics": False})),
        )
        got = _halting(seen)
        assert got.shape == base.shape
        if name == "off":
            after = times >= 100
            assert np.all(got[np.ix_(after, on_edge)] == 0)
            np.testing.assert_array_equal(got[np.ix_(~after, on_edge)], base[np.ix_(~after, on_edge)])
            np.testing.assert_array_equal(got[:, ~on_edge], base[:, ~on_edge])
            assert base[np.ix_(after, on_edge)].sum() > 0
        elif name == "latency":  # one-second decisions: 20 decisions old (the first one before that)
            np.testing.assert_array_equal(got[20:], base[:-20])
            assert np.all(got[:20] == base[0])
        else:
            diff = got - base
            assert np.all(diff == np.rint(diff)) and np.any(diff != 0) and np.all(got >= 0)


def test_same_seed_same_sensing(scenario, tmp_path):
    raw = {
        "model": "loops",
        "faults": [{"kind": "dropout", "rate": 0.3}, {"kind": "noise", "sd_veh": 1.0}],
        "attacks": [{"kind": "phantom-queue", "lights": ["360082"], "from_s": 50, "to_s": 150}],
    }
    runs = []
    for k in range(2):
        (tmp_path / str(k)).mkdir()
        seen, _, _ = _run(
            scenario, tmp_path / str(k), sensing_model(_config(raw)), fields=("halting_count", "gap_s")
        )
        runs.append([(tuple(o.in_halting), tuple(o.in_gap_s)) for obs in seen for o in obs.values()])
    assert runs[0] == runs[1]
    (tmp_path / "other").mkdir()
    seen, _, _ = _run(
        scenario, tmp_path / "other", sensing_model(_config(raw)), fields=("halting_count", "gap_s"), seed=2
    )
    assert [(tuple(o.in_halting), tuple(o.in_gap_s)) for obs in seen for o in obs.values()] != runs[0]


def test_lost_decisions_hold_the_signal(scenario, tmp_path):
    session = Session(scenario, SimOptions())
    sensing = sensing_model(_config({"faults": [{"kind": "lost-decisions", "rate": 1.0, "from_s": 60}]}))
    episode = session.episode(
        registry.build("max-pressure"),
        config=session.config(seed=1, outdir=tmp_path),
        timing=SignalTiming(max_green_s=None),  # no green forced to end by the actuator itself
        sensing=sensing,
        record_timelines=True,
    )
    stats = episode.run()
    assert stats.sensing["lost_requests"] > 0
    for timeline in stats.timelines.values():  # after 60 s nothing a controller asks for reaches a signal
        assert len(timeline) > 1  # (it did switch before)
        assert not [t for t, _ in timeline if t > scenario.begin_s + 60 + 10]  # a transition under way ends
