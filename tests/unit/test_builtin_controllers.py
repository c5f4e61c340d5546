"""The built-in Python controllers on hand-made observations, with exact expected requests.

Two intersections are used: cologne3's ``360082`` (shared lanes, three overlapping phases, two
outgoing lanes that lead to the next light ``360086``) and a tiny hand-built crossing whose
phase ``k`` serves exactly incoming lane ``k`` (``in{k}_0`` -> ``out{k}_0``).

360082, lanes served per phase: 0 -> {0, 1, 3, 4}, 1 -> {1, 4}, 2 -> {2, 3};
movements (in lane -> out lane): 0: 0->0, 1: 1->1, 2: 1->2, 3: 1->3, 4: 2->4, 5: 2->1, 6: 2->2,
7: 3->2, 8: 3->4, 9: 4->3, 10: 4->1; phase 0 = {0, 1, 2, 3, 7, 8, 9, 10}, 1 = {2, 3, 10},
2 = {4, 5, 6, 7}; outgoing lanes 0 and 1 have ``downstream_lanes`` (the same two lanes).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from signalbench.controllers import (
    Actuated,
    Greedy,
    IntersectionObs,
    LongestQueueFirst,
    MaxPressure,
    PerIntersection,
    PhaseRequest,
    QueueTracker,
    RandomPhase,
    Sotl,
    registry,
)
from signalbench.controllers.actuated import ActuatedParams
from signalbench.controllers.greedy import GreedyParams
from signalbench.controllers.longest_queue import LongestQueueFirstParams
from signalbench.controllers.max_pressure import MaxPressureParams
from signalbench.controllers.sotl import SotlParams
from signalbench.errors import ControllerError
from signalbench.networks import GreenPhase, IntersectionSpec, LaneSpec, Movement
from signalbench.sim import LaneVehicles

HOLD = PhaseRequest.hold()
SWITCH = PhaseRequest.switch

# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------


def veh(*vehicles: tuple[str, float, float, float]) -> LaneVehicles:
    """Vehicles on one lane as (id, distance to the lane's end [m], speed [m/s], waiting [s])."""
    if not vehicles:
        return LaneVehicles()
    ids, dist, speed, wait = zip(*vehicles, strict=True)
    return LaneVehicles.build(ids, dist, speed, wait)


def stopped(vid: str, dist_m: float, wait_s: float = 5.0) -> tuple[str, float, float, float]:
    return (vid, dist_m, 0.0, wait_s)


def moving(vid: str, dist_m: float, speed_m_s: float = 8.0) -> tuple[str, float, float, float]:
    return (vid, dist_m, speed_m_s, 0.0)


def queue_of(prefix: str, *dists_m: float) -> list[tuple[str, float, float, float]]:
    return [stopped(f"{prefix}{i}", d) for i, d in enumerate(dists_m)]


def make_obs(
    spec: IntersectionSpec,
    *,
    phase: int = 0,
    t: float = 100.0,
    in_phase_s: float = 30.0,
    in_transition: bool = False,
    lanes: dict[int, LaneVehicles] | None = None,
    out: dict[int, LaneVehicles] | None = None,
    down: dict[int, tuple[LaneVehicles, ...]] | None = None,
    in_halting: list[float] | None = None,
    out_halting: list[float] | None = None,
    down_halting: list[float] | None = None,
) -> IntersectionObs:
    """An observation; lane counts default to what the per-vehicle data say."""
    lanes, out, down = lanes or {}, out or {}, down or {}
    in_lv = tuple(lanes.get(i, LaneVehicles()) for i in range(len(spec.incoming_lanes)))
    out_lv = tuple(out.get(j, LaneVehicles()) for j in range(len(spec.outgoing_lanes)))
    down_lv = tuple(
        down.get(j, tuple(LaneVehicles() for _ in ln.downstream_lanes))
        for j, ln in enumerate(spec.outgoing_lanes)
    )

    def halting(lvs: tuple[LaneVehicles, ...]) -> np.ndarray:
        return np.array([float(np.sum(lv.speed_m_s < 0.1)) for lv in lvs])

    in_h = np.array(in_halting, dtype=float) if in_halting is not None else halting(in_lv)
    out_h = np.array(out_halting, dtype=float) if out_halting is not None else halting(out_lv)
    down_h = (
        np.array(down_halting, dtype=float)
        if down_halting is not None
        else np.array([halting(group).sum() for group in down_lv], dtype=float)
    )
    return IntersectionObs(
        spec=spec,
        time_s=t,
        phase=phase,
        in_transition=in_transition,
        time_in_phase_s=0.0 if in_transition else in_phase_s,
        in_vehicles=np.array([len(lv) for lv in in_lv], dtype=float),
        in_halting=in_h,
        in_occupancy=np.zeros(len(in_lv)),
        in_mean_speed_m_s=np.zeros(len(in_lv)),
        out_vehicles=np.array([len(lv) for lv in out_lv], dtype=float),
        out_halting=out_h,
        down_halting=down_h,
        in_lane_vehicles=in_lv,
        out_lane_vehicles=out_lv,
        down_lane_vehicles=down_lv,
    )


def tiny_spec(n_phases: int = 3, out_length_m: float = 100.0) -> IntersectionSpec:
    """A crossing where green phase k serves only incoming lane k, towards outgoing lane k."""

    def lane(lane_id: str, length_m: float) -> LaneSpec:
        return LaneSpec(id=lane_id, edge_id=lane_id[:-2], length_m=length_m, speed_limit_m_s=13.89)

    states = ["".join("G" if j == k else "r" for j in range(n_phases)) for k in range(n_phases)]
    program: list[tuple[str, float]] = []
    for state in states:
        program += [(state, 30.0), (state.replace("G", "y"), 3.0)]
    return IntersectionSpec(
        id="tiny",
        program_id="0",
        n_links=n_phases,
        incoming_lanes=tuple(lane(f"in{k}_0", 200.0) for k in range(n_phases)),
        outgoing_lanes=tuple(lane(f"out{k}_0", out_length_m) for k in range(n_phases)),
        movements=tuple(
            Movement(link_index=k, from_lane=f"in{k}_0", to_lane=f"out{k}_0", direction="s")
            for k in range(n_phases)
        ),
        green_phases=tuple(
            GreenPhase(program_index=2 * k, state=s, duration_s=30.0, movements=(k,))
            for k, s in enumerate(states)
        ),
        program=tuple(program),
    )


def started(ctrl, spec: IntersectionSpec, seed: int = 0):
    ctrl.reset(spec, np.random.default_rng(seed))
    return ctrl


def served(request: PhaseRequest, obs: IntersectionObs) -> int:
    """The green a request leads to (hold and a switch to the current phase are the same)."""
    return obs.phase if request.phase is None else request.phase


@pytest.fixture()
def c3(cologne3_model) -> IntersectionSpec:
    return cologne3_model["360082"]


def test_layout_of_360082_is_what_the_tests_assume(c3):
    lanes = [{int(i) for i in c3.movement_in_lane[list(p.movements)]} for p in c3.green_phases]
    assert lanes == [{0, 1, 3, 4}, {1, 4}, {2, 3}]
    assert [p.movements for p in c3.green_phases] == [(0, 1, 2, 3, 7, 8, 9, 10), (2, 3, 10), (4, 5, 6, 7)]
    assert list(c3.movement_in_lane) == [0, 1, 1, 1, 2, 2, 2, 3, 3, 4, 4]
    assert list(c3.movement_out_lane) == [0, 1, 2, 3, 4, 1, 2, 2, 4, 3, 1]
    assert [len(ln.downstream_lanes) for ln in c3.outgoing_lanes] == [2, 2, 0, 0, 0]


# ---------------------------------------------------------------------------------------------
# QueueTracker
# ---------------------------------------------------------------------------------------------


def test_tracker_halting_rule_counts_within_range_only():
    tr = QueueTracker(50.0, "halting")
    lane = veh(stopped("a", 5), ("b", 20, 0.05, 0.0), moving("c", 30), stopped("d", 50), stopped("e", 50.5))
    (q,) = tr.update([lane, veh()])
    assert list(q) == [3, 0]  # a, b (slower than 0.1 m/s, even without waiting time) and d (at 50 m)
    assert [list(a) for a in tr.approaching] == [[1, 0]]  # c


def test_tracker_returns_one_array_per_group():
    tr = QueueTracker()  # whole lane, halting rule
    q_in, q_out = tr.update([veh(stopped("a", 900)), veh()], [veh(moving("b", 1), stopped("c", 2))])
    assert list(q_in) == [1, 0] and list(q_out) == [1]
    assert [list(a) for a in tr.approaching] == [[0, 0], [1]]


def test_tracker_stopped_rule_remembers_while_detected_and_forgets_after_leaving():
    tr = QueueTracker(100.0, "stopped")
    # t1: a has stopped (waiting time > 0); b only crawls at 0.05 m/s with no waiting time yet.
    (q,) = tr.update([veh(stopped("a", 10, wait_s=2.0), ("b", 40, 0.05, 0.0))])
    assert list(q) == [1] and list(tr.approaching[0]) == [1]
    # t2: a creeps forward (waiting time back to 0): still queued; b moves: approaching.
    (q,) = tr.update([veh(moving("a", 4, 1.5), moving("b", 30))])
    assert list(q) == [1] and list(tr.approaching[0]) == [1]
    # t3: a has left the lane: forgotten.
    (q,) = tr.update([veh(moving("b", 20))])
    assert list(q) == [0]
    # t4: a is back on the lane, moving: a new vehicle to the tracker, so not queued.
    (q,) = tr.update([veh(moving("a", 60), moving("b", 10))])
    assert list(q) == [0] and list(tr.approaching[0]) == [2]


def test_tracker_stopped_vehicle_beyond_range_is_forgotten():
    tr = QueueTracker(50.0, "stopped")
    (q,) = tr.update([veh(stopped("a", 40))])
    assert list(q) == [1]
    (q,) = tr.update([veh(moving("a", 60))])  # out of range: not detected, forgotten
    assert list(q) == [0]
    (q,) = tr.update([veh(moving("a", 45))])
    assert list(q) == [0] and list(tr.approaching[0]) == [1]


def test_joined_lanes_measure_every_vehicle_to_the_first_lane_s_stop_line():
    lane = veh(stopped("a", 1.0), stopped("b", 6.0))  # a 7 m lane before the stop line
    feeder = veh(stopped("c", 2.0), moving("d", 40.0))  # the lane before it, ending 7 m back
    joined = LaneVehicles.joined([(lane, 0.0), (feeder, 7.0)])
    assert joined.ids == ("a", "b", "c", "d") and list(joined.dist_m) == [1.0, 6.0, 9.0, 47.0]
    assert joined.within(10.0) == 3 and list(joined.speed_m_s) == [0.0, 0.0, 0.0, 8.0]
    assert LaneVehicles.joined([(lane, 0.0)]) is lane


def test_detection_along_the_approach_is_an_option():
    assert MaxPressure().observed_upstream_m == 0.0
    assert MaxPressure(MaxPressureParams(detection_m=150.0, upstream=True)).observed_upstream_m == 150.0
    assert Greedy(GreedyParams(upstream=True)).observed_upstream_m == 50.0
    with pytest.raises(ValueError, match="upstream = true needs detection_m"):
        MaxPressureParams(upstream=True)
    with pytest.raises(ValueError, match="upstream must be true or false"):
        GreedyParams(upstream=1)  # type: ignore[arg-type]


def test_tracker_stopped_memory_does_not_follow_a_vehicle_onto_another_lane():
    tr = QueueTracker(200.0, "stopped")
    q_in, q_out = tr.update([veh(stopped("a", 3))], [veh()])
    assert (list(q_in), list(q_out)) == ([1], [0])
    # Next decision: a crossed the junction and drives at 10 m/s on the outgoing lane.
    q_in, q_out = tr.update([veh()], [veh(moving("a", 95, 10.0))])
    assert (list(q_in), list(q_out)) == ([0], [0])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"rule": "waiting"}, "queue rule must be one of halting, stopped"),
        ({"detection_m": 0.0}, "detection distance must be > 0 m"),
        ({"detection_m": -3.0}, "detection distance must be > 0 m"),
        ({"detection_m": math.nan}, "detection distance must be > 0 m"),
    ],
)
def test_tracker_rejects_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        QueueTracker(**kwargs)


# ---------------------------------------------------------------------------------------------
# max-pressure
# ---------------------------------------------------------------------------------------------


def mp(spec: IntersectionSpec, **params) -> MaxPressure:
    return started(MaxPressure(MaxPressureParams(**params)), spec)


def test_max_pressure_observes_only_what_its_options_need():
    assert MaxPressure().observed_lane_fields == ("halting_count",)
    assert MaxPressure(MaxPressureParams(downstream="signalised")).observed_lane_fields == ("halting_count",)
    assert MaxPressure(MaxPressureParams(detection_m=200.0)).observed_lane_fields == ("vehicles",)
    assert MaxPressure(MaxPressureParams(queue="stopped")).observed_lane_fields == ("vehicles",)
    assert MaxPressure().decision_interval_s == 5.0


@pytest.mark.parametrize(
    ("downstream", "pressures"),
    [
        ("out-lane", [1, 0, 0]),  # movement 0: 3 - 2 on its outgoing lane
        # out lanes 0 and 1 each see 5 queued at the next light: movements 0, 1, 5, 10 lose 5;
        # out lane 2 (down_halting 7) leads to no light and is ignored.
        ("signalised", [-12, -5, -5]),
        ("none", [3, 0, 0]),
    ],
)
def test_max_pressure_downstream_options_from_lane_counts(c3, downstream, pressures):
    obs = make_obs(c3, in_halting=[3, 0, 0, 0, 0], out_halting=[2, 0, 0, 0, 0], down_halting=[5, 5, 7, 0, 0])
    assert list(mp(c3, downstream=downstream).pressures(obs)) == pressures


def test_max_pressure_downstream_decisions(c3):
    def obs(phase):
        return make_obs(
            c3,
            phase=phase,
            in_halting=[3, 0, 0, 0, 0],
            out_halting=[2, 0, 0, 0, 0],
            down_halting=[5, 5, 0, 0, 0],
        )

    assert mp(c3).act(obs(2)) == SWITCH(0)
    assert mp(c3).act(obs(0)) == HOLD
    # signalised: [-12, -5, -5]: phases 1 and 2 tie; the lowest index wins unless current.
    assert mp(c3, downstream="signalised").act(obs(0)) == SWITCH(1)
    assert mp(c3, downstream="signalised").act(obs(2)) == HOLD


def test_max_pressure_per_vehicle_counts_with_detection_range(c3):
    lanes = {0: veh(*queue_of("q", 5, 12, 19, 210))}  # 210 m: beyond 200 m
    down_lanes = (veh(stopped("d0", 20), stopped("d1", 250)), veh(moving("d2", 30, 5.0)))
    kw = {"lanes": lanes, "out": {0: veh(*queue_of("o", 10, 18))}, "down": {0: down_lanes, 1: down_lanes}}
    obs = make_obs(c3, phase=1, **kw)
    assert list(mp(c3, detection_m=200.0, downstream="none").pressures(obs)) == [3, 0, 0]
    assert list(mp(c3, detection_m=200.0, downstream="out-lane").pressures(obs)) == [1, 0, 0]
    # d0 counts for out lanes 0 and 1: movement 0 = 3 - 1, movements 1, 5, 10 = -1.
    signalised = mp(c3, detection_m=200.0, downstream="signalised")
    assert list(signalised.pressures(obs)) == [0, -1, -1]
    assert signalised.act(obs) == SWITCH(0)
    # With 10 m of detection only q0 and o0 count and d0 is out of range.
    assert list(mp(c3, detection_m=10.0, downstream="out-lane").pressures(obs)) == [0, 0, 0]
    assert list(mp(c3, detection_m=10.0, downstream="signalised").pressures(obs)) == [1, 0, 0]


def test_max_pressure_counts_only_the_detection_range_of_a_lane(c3):
    obs = make_obs(c3, lanes={2: veh(*queue_of("q", 10, 40, 60))})  # lane 2: three movements
    assert list(mp(c3, detection_m=50.0).pressures(obs)) == [0, 0, 6]
    assert list(mp(c3, detection_m=100.0).pressures(obs)) == [0, 0, 9]
    assert list(mp(c3).pressures(obs)) == [0, 0, 9]  # default: the whole lane's halting count


def test_max_pressure_stopped_queue_memory(c3):
    ctrl = mp(c3, detection_m=200.0, queue="stopped", downstream="signalised")
    halting = mp(c3, detection_m=200.0, queue="halting", downstream="signalised")

    def at(t, *vehicles):
        return make_obs(c3, t=t, phase=0, lanes={2: veh(*vehicles)})

    first = at(100, stopped("a", 8), stopped("b", 15))
    assert mp(c3, detection_m=200.0, queue="stopped").act(first) == SWITCH(2)
    assert list(ctrl.pressures(first)) == [0, 0, 6]
    creeping = at(105, moving("a", 4, 1.0), moving("b", 10, 1.0))  # still queued
    assert list(ctrl.pressures(creeping)) == [0, 0, 6]
    assert list(halting.pressures(creeping)) == [0, 0, 0]
    gone = at(110, moving("b", 2, 3.0))  # a left: forgotten; b still queued
    assert list(ctrl.pressures(gone)) == [0, 0, 3]
    back = at(115, moving("a", 30, 1.0), moving("b", 1, 3.0))  # a is new again
    assert list(ctrl.pressures(back)) == [0, 0, 3]
    ctrl.reset(c3, np.random.default_rng(0))  # a new episode forgets everything
    assert list(ctrl.pressures(back)) == [0, 0, 0]


def test_max_pressure_ties_keep_the_current_phase(c3):
    ctrl = mp(c3)
    assert ctrl.act(make_obs(c3, phase=2, in_halting=[0] * 5)) == HOLD
    # lane 3 feeds movements 7 (phases 0 and 2) and 8 (phase 0 only): [2, 0, 1].
    obs = make_obs(c3, phase=2, in_halting=[0, 0, 0, 1, 0])
    assert list(ctrl.pressures(obs)) == [2, 0, 1] and ctrl.act(obs) == SWITCH(0)
    # lane 2 = 1 gives phase 2 three movements: [2, 0, 4].
    obs = make_obs(c3, phase=0, in_halting=[0, 0, 1, 1, 0])
    assert list(ctrl.pressures(obs)) == [2, 0, 4] and ctrl.act(obs) == SWITCH(2)
    # two phases tied above the current one: the lower index.
    tiny = tiny_spec(3)
    assert mp(tiny).act(make_obs(tiny, phase=0, in_halting=[0, 2, 2], out_halting=[0, 0, 0])) == SWITCH(1)


# ---------------------------------------------------------------------------------------------
# greedy
# ---------------------------------------------------------------------------------------------


def test_greedy_counts_queued_and_moving_within_detection_range(c3):
    ctrl = started(Greedy(), c3)
    assert ctrl.observed_lane_fields == ("vehicles",) and ctrl.decision_interval_s == 5.0
    assert ctrl.params.detection_m == 50.0
    lanes = {
        0: veh(stopped("a", 3), stopped("b", 10), moving("g", 20)),
        2: veh(moving("c", 10), stopped("d", 49), moving("e", 50), moving("f", 51)),
    }
    obs = make_obs(c3, phase=0, lanes=lanes)
    assert served(ctrl.act(obs), obs) == 0  # 3 (c, d, e at 50 m) against 3 (a, b, g): a tie holds
    wide = started(Greedy(GreedyParams(detection_m=51.0)), c3)
    assert served(wide.act(obs), obs) == 2  # 4 against 3
    near = started(Greedy(GreedyParams(detection_m=5.0)), c3)
    on_2 = make_obs(c3, phase=2, lanes=lanes)
    assert served(near.act(on_2), on_2) == 0  # only a is within 5 m


def test_greedy_counts_a_lane_once_per_phase_however_many_movements(c3):
    ctrl = started(Greedy(), c3)
    # lane 2 has 3 movements in phase 2, lane 0 one in phase 0: 2 vehicles each is a tie.
    lanes = {0: veh(moving("a", 10), moving("b", 20)), 2: veh(moving("c", 10), moving("d", 20))}
    for phase, expected in [(0, 0), (2, 2), (1, 0)]:  # ties keep the current phase, else the lowest
        obs = make_obs(c3, phase=phase, lanes=lanes)
        assert served(ctrl.act(obs), obs) == expected, phase


def test_greedy_holds_with_no_vehicles(c3):
    ctrl = started(Greedy(), c3)
    for phase in range(3):
        obs = make_obs(c3, phase=phase, lanes={2: veh(moving("far", 300))})
        assert served(ctrl.act(obs), obs) == phase


# ---------------------------------------------------------------------------------------------
# longest-queue-first
# ---------------------------------------------------------------------------------------------


def lqf(spec: IntersectionSpec, margin: float = 0.0) -> LongestQueueFirst:
    return started(LongestQueueFirst(LongestQueueFirstParams(switch_margin_veh=margin)), spec)


def test_lqf_serves_the_longest_single_queue(c3):
    ctrl = lqf(c3)
    assert ctrl.observed_lane_fields == ("halting_count",)
    # phase 0 has the larger total (2+2+2 = 6) but phase 2 the longest lane (4).
    assert ctrl.act(make_obs(c3, phase=0, in_halting=[2, 2, 4, 0, 2])) == SWITCH(2)
    assert ctrl.act(make_obs(c3, phase=2, in_halting=[2, 2, 4, 0, 2])) == HOLD


def test_lqf_breaks_ties_on_totals_then_current_then_lowest(c3):
    ctrl = lqf(c3)
    # lane 1 (5) is served by phases 0 and 1; phase 0's total is larger (6 against 5).
    assert ctrl.act(make_obs(c3, phase=2, in_halting=[1, 5, 0, 0, 0])) == SWITCH(0)
    assert ctrl.act(make_obs(c3, phase=1, in_halting=[1, 5, 0, 0, 0])) == SWITCH(0)
    # equal longest and totals for phases 0 and 1: the current one holds, else the lowest index.
    assert ctrl.act(make_obs(c3, phase=1, in_halting=[0, 5, 0, 0, 0])) == HOLD
    assert ctrl.act(make_obs(c3, phase=2, in_halting=[0, 5, 0, 0, 0])) == SWITCH(0)
    assert ctrl.act(make_obs(c3, phase=1, in_halting=[0, 0, 0, 0, 0])) == HOLD


def test_lqf_switch_margin(c3):
    queues = {4: [3, 0, 4, 0, 0], 5: [3, 0, 5, 0, 0]}
    assert lqf(c3, 0.0).act(make_obs(c3, phase=0, in_halting=queues[4])) == SWITCH(2)
    assert lqf(c3, 2.0).act(make_obs(c3, phase=0, in_halting=queues[4])) == HOLD  # 4 < 3 + 2
    assert lqf(c3, 2.0).act(make_obs(c3, phase=0, in_halting=queues[5])) == SWITCH(2)  # 5 >= 3 + 2


# ---------------------------------------------------------------------------------------------
# random
# ---------------------------------------------------------------------------------------------


def test_random_is_the_generators_draws_and_covers_all_phases(c3):
    ctrl = started(RandomPhase(), c3, seed=7)
    assert ctrl.observed_lane_fields == ()
    obs = make_obs(c3)
    got = [ctrl.act(obs).phase for _ in range(60)]
    reference = np.random.default_rng(7)
    assert got == [int(reference.integers(3)) for _ in range(60)]
    assert set(got) == {0, 1, 2}
    again = started(RandomPhase(), c3, seed=7)
    assert [again.act(obs).phase for _ in range(60)] == got
    other = started(RandomPhase(), c3, seed=8)
    assert [other.act(obs).phase for _ in range(60)] != got


def test_random_per_intersection_is_seeded(cologne3_model):
    def draws(seed):
        ctrl = registry.build("random").policy
        ctrl.reset(cologne3_model, np.random.default_rng(seed))
        obs = {s.id: make_obs(s) for s in cologne3_model.intersections}
        return [ctrl.act(obs) for _ in range(20)]

    assert draws(3) == draws(3)
    assert draws(3) != draws(4)


# ---------------------------------------------------------------------------------------------
# sotl
# ---------------------------------------------------------------------------------------------

GREEN_FAR = veh(moving("g0", 30), moving("g1", 40))  # on the green, beyond the 25 m platoon range


def sotl(spec: IntersectionSpec, **params) -> Sotl:
    return started(Sotl(SotlParams(**params)), spec)


def sotl_obs(spec, t, *, phase=0, in_phase_s=30.0, green=GREEN_FAR, red=None, out=None, in_transition=False):
    red_lane = (phase + 1) % spec.n_phases
    lanes = {phase: green, red_lane: red if red is not None else veh()}
    return make_obs(
        spec, t=t, phase=phase, in_phase_s=in_phase_s, lanes=lanes, out=out, in_transition=in_transition
    )


def test_sotl_defaults():
    ctrl = Sotl()
    assert ctrl.decision_interval_s == 1.0 and ctrl.observed_lane_fields == ("vehicles",)
    assert ctrl.params == SotlParams(
        threshold_veh_s=40.0,
        detection_m=50.0,
        platoon_veh=3,
        platoon_m=25.0,
        min_green_s=10.0,
        blocked_m=10.0,
    )


def test_sotl_counter_accumulates_vehicle_seconds_on_red():
    spec = tiny_spec(2)
    ctrl = sotl(spec)
    red = veh(*queue_of("r", 5, 12, 20, 45), stopped("far", 60))  # 4 within 50 m
    requests = {t: ctrl.act(sotl_obs(spec, t, red=red)) for t in range(100, 111)}
    # 4 veh x 1 s per second from t = 100 (the first call only starts the count): 40 at t = 110.
    assert [t for t, r in requests.items() if r != HOLD] == [110]
    assert requests[110] == SWITCH(1)


def test_sotl_counter_uses_elapsed_time_between_calls():
    spec = tiny_spec(2)
    ctrl = sotl(spec)
    red = veh(*queue_of("r", 5, 12, 20, 45))
    assert [ctrl.act(sotl_obs(spec, t, red=red)) for t in (100, 105, 109)] == [HOLD] * 3  # 0, 20, 36
    assert ctrl.act(sotl_obs(spec, 110, red=red)) == SWITCH(1)  # 40


def test_sotl_counter_restarts_with_each_phase():
    spec = tiny_spec(2)
    ctrl = sotl(spec)
    red = veh(*queue_of("r", 5, 12, 20, 45))
    for t in range(100, 109):
        ctrl.act(sotl_obs(spec, t, red=red))  # 32 veh·s
    ctrl.act(sotl_obs(spec, 109, red=red, in_transition=True, phase=1))  # harness switched: reset
    on_1 = [ctrl.act(sotl_obs(spec, t, phase=1, red=red)) for t in range(110, 119)]
    assert on_1 == [HOLD] * 9  # 36 veh·s counted from the transition's last decision (t = 109)
    assert ctrl.act(sotl_obs(spec, 119, phase=1, red=red)) == SWITCH(0)


def test_sotl_min_green_and_switch_at_once_when_green_is_empty():
    spec = tiny_spec(2)
    ctrl = sotl(spec)
    red = veh(stopped("r", 5))
    ctrl.act(sotl_obs(spec, 100, green=veh(), red=red, in_phase_s=8.0))
    assert ctrl.act(sotl_obs(spec, 101, green=veh(), red=red, in_phase_s=9.0)) == HOLD  # min green 10 s
    assert ctrl.act(sotl_obs(spec, 102, green=veh(), red=red, in_phase_s=10.0)) == SWITCH(1)  # 2 veh·s only
    lax = sotl(spec, min_green_s=0.0)
    lax.act(sotl_obs(spec, 100, green=veh(), red=red, in_phase_s=0.0))
    assert lax.act(sotl_obs(spec, 101, green=veh(), red=red, in_phase_s=1.0)) == SWITCH(1)


def test_sotl_holds_without_red_demand():
    spec = tiny_spec(2)
    ctrl = sotl(spec)
    for t in range(100, 160):
        assert ctrl.act(sotl_obs(spec, t, green=veh(), red=veh(moving("far", 80)))) == HOLD


@pytest.mark.parametrize(("near", "expected"), [(0, SWITCH(1)), (1, HOLD), (2, HOLD), (3, SWITCH(1))])
def test_sotl_platoon_rule(near, expected):
    spec = tiny_spec(2)
    ctrl = sotl(spec, threshold_veh_s=4.0)
    green = veh(*[moving(f"p{i}", 5 + 5 * i) for i in range(near)], moving("g", 40))
    red = veh(*queue_of("r", 5, 10, 15, 20))
    ctrl.act(sotl_obs(spec, 100, green=green, red=red))
    # 4 veh·s reached; fewer than platoon_veh = 3 vehicles within 25 m of the green's stop line block it.
    assert ctrl.act(sotl_obs(spec, 101, green=green, red=red)) == expected


@pytest.mark.parametrize(
    ("out", "expected"),
    [
        ({0: veh(stopped("x", 95))}, SWITCH(1)),  # stopped 5 m into the exit the green feeds
        ({0: veh(stopped("x", 90))}, SWITCH(1)),  # exactly blocked_m = 10 m
        ({0: veh(stopped("x", 85))}, HOLD),  # 15 m in: not blocked
        ({0: veh(moving("x", 95, 2.0))}, HOLD),  # moving
        ({1: veh(stopped("x", 95))}, HOLD),  # the exit of the red phase
    ],
)
def test_sotl_blocked_exit_rule(out, expected):
    spec = tiny_spec(2)
    ctrl = sotl(spec, threshold_veh_s=1000.0)
    red = veh(stopped("r", 5))
    ctrl.act(sotl_obs(spec, 100, red=red, out=out))
    assert ctrl.act(sotl_obs(spec, 101, red=red, out=out)) == expected


def test_sotl_holds_during_transitions():
    spec = tiny_spec(2)
    ctrl = sotl(spec, threshold_veh_s=1.0)
    red = veh(*queue_of("r", 5, 10))
    for t in range(100, 110):
        assert ctrl.act(sotl_obs(spec, t, red=red, in_transition=True)) == HOLD


def test_sotl_picks_the_red_phase_with_most_vehicles_then_program_order():
    spec = tiny_spec(3)

    def decide(phase, counts):
        ctrl = sotl(spec, threshold_veh_s=1.0)
        lanes = {k: veh(*queue_of(f"l{k}_", *[5.0 + 5 * i for i in range(n)])) for k, n in enumerate(counts)}
        lanes[phase] = GREEN_FAR
        ctrl.act(make_obs(spec, t=100, phase=phase, lanes=lanes))
        return ctrl.act(make_obs(spec, t=101, phase=phase, lanes=lanes))

    assert decide(0, [0, 2, 3]) == SWITCH(2)
    assert decide(0, [0, 3, 2]) == SWITCH(1)
    assert decide(0, [0, 2, 2]) == SWITCH(1)  # tie: the next in program order
    assert decide(1, [2, 0, 2]) == SWITCH(2)
    assert decide(2, [2, 2, 0]) == SWITCH(0)


# ---------------------------------------------------------------------------------------------
# actuated
# ---------------------------------------------------------------------------------------------


def actuated(spec: IntersectionSpec, **params) -> Actuated:
    return started(Actuated(ActuatedParams(**params)), spec)


def act_obs(spec, t, *, phase=0, in_phase_s=20.0, lanes=None, in_transition=False):
    return make_obs(spec, t=t, phase=phase, in_phase_s=in_phase_s, lanes=lanes, in_transition=in_transition)


def test_actuated_defaults():
    ctrl = Actuated()
    assert ctrl.decision_interval_s == 1.0 and ctrl.observed_lane_fields == ("vehicles",)
    assert ctrl.params == ActuatedParams(
        min_green_s=5.0, max_green_s=45.0, passage_s=3.0, detector_m=30.0, call_m=100.0
    )


def test_actuated_extends_while_detecting_then_gaps_out():
    spec = tiny_spec(3)
    ctrl = actuated(spec)
    call = {1: veh(stopped("c", 50))}
    for t in range(100, 110):  # a vehicle in the green's 30 m zone at every decision
        lanes = {**call, 0: veh(moving(f"v{t}", 20))}
        assert ctrl.act(act_obs(spec, t, in_phase_s=t - 80, lanes=lanes)) == HOLD
    assert ctrl.act(act_obs(spec, 111, in_phase_s=31, lanes=call)) == HOLD  # gap 2 s
    assert ctrl.act(act_obs(spec, 112, in_phase_s=32, lanes=call)) == SWITCH(1)  # gap 3 s = passage_s


def test_actuated_detection_zone_is_detector_m():
    spec = tiny_spec(3)
    ctrl = actuated(spec)
    call = {1: veh(stopped("c", 50))}
    assert ctrl.act(act_obs(spec, 100, lanes={**call, 0: veh(moving("v", 30))})) == HOLD  # at 30 m: detected
    lanes = {**call, 0: veh(moving("w", 31))}  # 31 m: not detected
    assert [ctrl.act(act_obs(spec, t, lanes=lanes)) for t in (101, 102, 103)] == [HOLD, HOLD, SWITCH(1)]


def test_actuated_max_out():
    spec = tiny_spec(3)
    ctrl = actuated(spec, max_green_s=20.0)
    lanes = {0: veh(moving("v", 5)), 2: veh(stopped("c", 90))}
    assert ctrl.act(act_obs(spec, 100, in_phase_s=19.0, lanes=lanes)) == HOLD
    assert ctrl.act(act_obs(spec, 101, in_phase_s=20.0, lanes=lanes)) == SWITCH(2)  # phase 1: no call


def test_actuated_min_green():
    spec = tiny_spec(3)
    ctrl = actuated(spec, min_green_s=8.0)
    lanes = {1: veh(stopped("c", 5))}
    assert ctrl.act(act_obs(spec, 100, in_phase_s=7.0, lanes=lanes)) == HOLD
    assert ctrl.act(act_obs(spec, 101, in_phase_s=8.0, lanes=lanes)) == SWITCH(1)


def test_actuated_skips_phases_without_calls_and_ignores_far_vehicles():
    spec = tiny_spec(3)
    ctrl = actuated(spec)
    far = veh(stopped("far", 101))  # beyond call_m = 100 m
    assert ctrl.act(act_obs(spec, 100, phase=0, lanes={1: far, 2: veh(stopped("c", 100))})) == SWITCH(2)
    assert ctrl.act(act_obs(spec, 100, phase=1, lanes={2: far, 0: veh(stopped("c", 3))})) == SWITCH(0)
    assert ctrl.act(
        act_obs(spec, 100, phase=2, lanes={0: veh(stopped("a", 3)), 1: veh(stopped("b", 3))})
    ) == (
        SWITCH(0)  # the next in program order
    )


def test_actuated_rests_without_calls():
    spec = tiny_spec(3)
    ctrl = actuated(spec)
    for t in range(100, 200, 7):
        lanes = {1: veh(stopped("far", 150)), 2: veh(moving("far2", 400))}
        assert ctrl.act(act_obs(spec, t, in_phase_s=t - 50.0, lanes=lanes)) == HOLD


def test_actuated_gap_timer_starts_after_a_transition():
    spec = tiny_spec(3)
    ctrl = actuated(spec)
    call = {2: veh(stopped("c", 5))}
    assert ctrl.act(act_obs(spec, 100, phase=1, lanes=call, in_transition=True)) == HOLD
    assert ctrl.act(act_obs(spec, 101, phase=1, in_phase_s=10.0, lanes=call)) == HOLD
    assert ctrl.act(act_obs(spec, 102, phase=1, in_phase_s=11.0, lanes=call)) == HOLD
    assert ctrl.act(act_obs(spec, 103, phase=1, in_phase_s=12.0, lanes=call)) == SWITCH(2)


def test_actuated_a_lane_on_green_places_no_call_for_another_phase(c3):
    ctrl = actuated(c3)
    # lanes 1 and 4 are served by phases 0 and 1: on phase 0 they call nobody; lane 2 calls phase 2.
    lanes = {1: veh(stopped("a", 40)), 4: veh(stopped("b", 40))}
    assert ctrl.act(make_obs(c3, phase=0, lanes=lanes)) == HOLD
    assert ctrl.act(make_obs(c3, phase=0, lanes={**lanes, 2: veh(stopped("c", 60))})) == SWITCH(2)
    assert ctrl.act(make_obs(c3, phase=2, lanes=lanes)) == SWITCH(0)


# ---------------------------------------------------------------------------------------------
# Registry ids and parameter validation
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "cls"),
    [
        ("greedy", Greedy),
        ("longest-queue-first", LongestQueueFirst),
        ("random", RandomPhase),
        ("sotl", Sotl),
        ("actuated", Actuated),
        ("max-pressure", MaxPressure),
    ],
)
def test_registered_ids(name, cls):
    entry = registry.resolve(name)
    assert entry.id == f"{name}-v0" and entry.cls is cls and entry.scope == "intersection"
    assert isinstance(registry.build(name).policy, PerIntersection)


@pytest.mark.parametrize(
    ("name", "params", "field"),
    [
        ("greedy-v0", {"detection_m": 0.0}, "detection_m"),
        ("greedy-v0", {"detection_m": -5.0}, "detection_m"),
        ("greedy-v0", {"detection_m": math.inf}, "detection_m"),
        ("greedy-v0", {"detection_m": math.nan}, "detection_m"),
        ("greedy-v0", {"detection_m": "50"}, "detection_m"),
        ("max-pressure-v0", {"detection_m": 0.0}, "detection_m"),
        ("max-pressure-v0", {"detection_m": -200.0}, "detection_m"),
        ("max-pressure-v0", {"detection_m": math.inf}, "detection_m"),
        ("max-pressure-v0", {"detection_m": "200"}, "detection_m"),
        ("max-pressure-v0", {"queue": "waiting"}, "queue"),
        ("max-pressure-v0", {"downstream": "next-light"}, "downstream"),
        ("longest-queue-first-v0", {"switch_margin_veh": -1.0}, "switch_margin_veh"),
        ("longest-queue-first-v0", {"switch_margin_veh": math.nan}, "switch_margin_veh"),
        ("longest-queue-first-v0", {"switch_margin_veh": "2"}, "switch_margin_veh"),
        ("sotl-v0", {"threshold_veh_s": 0.0}, "threshold_veh_s"),
        ("sotl-v0", {"threshold_veh_s": math.nan}, "threshold_veh_s"),
        ("sotl-v0", {"detection_m": -1.0}, "detection_m"),
        ("sotl-v0", {"platoon_m": 0.0}, "platoon_m"),
        ("sotl-v0", {"blocked_m": -2.0}, "blocked_m"),
        ("sotl-v0", {"min_green_s": -1.0}, "min_green_s"),
        ("sotl-v0", {"min_green_s": math.inf}, "min_green_s"),
        ("sotl-v0", {"platoon_veh": -1}, "platoon_veh"),
        ("sotl-v0", {"platoon_veh": 2.5}, "platoon_veh"),
        ("sotl-v0", {"platoon_veh": True}, "platoon_veh"),
        ("actuated-v0", {"min_green_s": -1.0}, "min_green_s"),
        ("actuated-v0", {"max_green_s": 0.0}, "max_green_s"),
        ("actuated-v0", {"passage_s": 0.0}, "passage_s"),
        ("actuated-v0", {"passage_s": True}, "passage_s"),
        ("actuated-v0", {"detector_m": -30.0}, "detector_m"),
        ("actuated-v0", {"call_m": math.nan}, "call_m"),
    ],
)
def test_bad_parameter_values_name_controller_and_parameter(name, params, field):
    with pytest.raises(ControllerError) as info:
        registry.build(name, params)
    message = str(info.value)
    assert message.startswith(f"controller {name!r}: "), message
    assert f"{field} must be" in message, message
    assert f"got {params[field]!r}" in message, message


def test_min_green_above_max_green_names_both():
    with pytest.raises(
        ControllerError, match=r"'actuated-v0': min_green_s \(30\) exceeds max_green_s \(20\)"
    ):
        registry.build("actuated", {"min_green_s": 30, "max_green_s": 20})
    with pytest.raises(ControllerError, match=r"min_green_s \(50.0\) exceeds max_green_s \(45.0\)"):
        registry.build("actuated", {"min_green_s": 50.0})  # against the default max_green_s


@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("greedy", {"detection_m": 75}),
        ("max-pressure", {"detection_m": 200.0, "queue": "stopped", "downstream": "signalised"}),
        ("max-pressure", {"downstream": "none"}),
        ("longest-queue-first", {"switch_margin_veh": 0}),
        ("sotl", {"threshold_veh_s": 10, "platoon_veh": 0, "min_green_s": 0}),
        ("actuated", {"min_green_s": 0, "max_green_s": 60, "passage_s": 2.5}),
    ],
)
def test_good_parameter_values_are_accepted(cologne3_model, name, params):
    ctrl = registry.build(name, params).policy
    ctrl.reset(cologne3_model, np.random.default_rng(0))
    for child in ctrl.controllers.values():
        assert {key: getattr(child.params, key) for key in params} == params


@pytest.mark.parametrize("name", ["greedy", "sotl", "actuated", "max-pressure", "longest-queue-first"])
def test_unknown_parameter_is_named(name):
    with pytest.raises(ControllerError, match=rf"'{name}-v0': unknown parameter 'detection_range'"):
        registry.build(name, {"detection_range": 3})
