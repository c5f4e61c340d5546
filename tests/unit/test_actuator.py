"""The safety actuator, exhaustively: every phase pair of every signalised sumo-rl network."""

import itertools
import math

import pytest
from tests.conftest import all_signalised_net_files

from signalbench.networks import load_network_model
from signalbench.signals import (
    Actuator,
    InvalidRequest,
    Mode,
    PhaseRequest,
    SignalTiming,
    audit_timeline,
    yellow_state,
)

PHASES = ["GGrrrrGGrrrr", "rrGrrrrrGrrr", "rrrGGrrrrGGr", "rrrrrGrrrrrG"]


def drive(act: Actuator, until_s: float, step_s: float = 1.0, requests=None):
    """Step an actuator like the episode does, recording (time, state) changes."""
    timeline = [(0.0, act.state)]
    t = 0.0
    requests = requests or {}
    while t < until_s:
        t += step_s
        changed = act.advance(t)
        if changed:
            timeline.append((t, changed))
        if t in requests:
            changed = act.request(t, requests[t])
            if changed:
                timeline.append((t, changed))
    return timeline


def test_switch_goes_through_yellow_and_all_red():
    timing = SignalTiming(yellow_s=3, all_red_s=2, min_green_s=5, max_green_s=None)
    act = Actuator(PHASES, timing, now_s=0.0)
    assert act.state == PHASES[0] and act.mode is Mode.GREEN
    assert act.request(10.0, PhaseRequest.switch(2)) == yellow_state(PHASES[0], PHASES[2])
    assert act.mode is Mode.YELLOW and act.phase == 2 and act.in_transition
    assert act.next_event_s() == 13.0
    assert act.advance(12.0) is None
    assert act.advance(13.0) == "r" * 12
    assert act.mode is Mode.ALL_RED and act.next_event_s() == 15.0
    assert act.advance(15.0) == PHASES[2]
    assert act.mode is Mode.GREEN and act.time_in_phase_s(20.0) == 5.0
    assert act.switches == 1 and not act.overrides


def test_min_green_holds_and_counts():
    act = Actuator(PHASES, SignalTiming(min_green_s=10), now_s=0.0)
    assert act.request(4.0, PhaseRequest.switch(1)) is None
    assert act.state == PHASES[0]
    assert act.overrides == {"min_green": 1}
    assert act.request(10.0, PhaseRequest.switch(1)) is not None


def test_request_during_transition_ignored_and_counted():
    act = Actuator(PHASES, SignalTiming(), now_s=0.0)
    act.request(10.0, PhaseRequest.switch(1))
    assert act.request(11.0, PhaseRequest.switch(3)) is None
    assert act.request(11.0, PhaseRequest.switch(1)) is None  # same target: not an override
    assert act.request(11.0, PhaseRequest.hold()) is None
    assert act.overrides == {"in_transition": 1}
    assert act.advance(13.0) == PHASES[1]


def test_max_green_forces_next_phase_in_order():
    act = Actuator(PHASES, SignalTiming(max_green_s=20), now_s=0.0, initial_phase=3)
    assert act.next_event_s() == 20.0
    assert act.advance(20.0) == yellow_state(PHASES[3], PHASES[0])
    assert act.phase == 0
    assert act.overrides == {"max_green": 1}


def test_single_phase_never_switches():
    act = Actuator(["GGG"], SignalTiming(max_green_s=10), now_s=0.0)
    assert math.isinf(act.next_event_s())
    assert act.advance(1000.0) is None


def test_hold_and_same_phase_change_nothing():
    act = Actuator(PHASES, SignalTiming(), now_s=0.0)
    assert act.request(30.0, PhaseRequest.hold()) is None
    assert act.request(31.0, PhaseRequest.switch(0)) is None
    assert act.switches == 0 and not act.overrides


def test_superset_phase_needs_no_yellow():
    act = Actuator(["Grr", "GGr"], SignalTiming(), now_s=0.0)
    assert act.request(10.0, PhaseRequest.switch(1)) == "GGr"
    assert act.mode is Mode.GREEN


def test_yellow_on_every_switch_holds_the_old_green_where_none_is_lost():
    # RESCO and sumo-rl: every switch goes through the yellow phase; where no link loses green
    # that "yellow" is the old green, shown for yellow_s before the new green starts.
    timing = SignalTiming(yellow_s=2, yellow_on_every_switch=True)
    act = Actuator(["Grr", "GGr", "rrG"], timing, now_s=0.0)
    assert act.request(10.0, PhaseRequest.switch(1)) is None  # still "Grr", now a transition
    assert act.mode is Mode.YELLOW and act.in_transition and act.next_event_s() == 12.0
    assert act.request(11.0, PhaseRequest.switch(2)) is None and act.overrides == {"in_transition": 1}
    assert act.advance(12.0) == "GGr" and act.mode is Mode.GREEN and act.time_in_phase_s(12.0) == 0.0
    assert act.request(20.0, PhaseRequest.switch(2)) == "yyr"  # a real yellow is unchanged
    assert act.advance(22.0) == "rrG"
    assert act.request(30.0, PhaseRequest.switch(2)) is None and act.mode is Mode.GREEN  # hold: no transition
    act = Actuator(["Grr", "GGr"], timing, now_s=0.0)
    asks = {10.0: PhaseRequest.switch(1), 20.0: PhaseRequest.switch(0), 30.0: PhaseRequest.switch(1)}
    timeline = drive(act, 40, requests=asks)
    assert timeline == [(0.0, "Grr"), (12.0, "GGr"), (20.0, "Gyr"), (22.0, "Grr"), (32.0, "GGr")]
    assert audit_timeline(timeline, timing, end_s=40.0) == []


def test_zero_yellow_zero_all_red_switches_at_once():
    act = Actuator(PHASES, SignalTiming(yellow_s=0, all_red_s=0), now_s=0.0)
    assert act.request(10.0, PhaseRequest.switch(1)) == PHASES[1]


@pytest.mark.parametrize(
    "bad", [PhaseRequest(7), PhaseRequest(-1), PhaseRequest(True), PhaseRequest(1.0), 2, "1", None]
)
def test_invalid_requests_raise(bad):
    act = Actuator(PHASES, SignalTiming(), now_s=0.0)
    with pytest.raises(InvalidRequest):
        act.request(10.0, bad)


def test_constructor_rejects_bad_phases():
    with pytest.raises(ValueError):
        Actuator([], SignalTiming(), now_s=0)
    with pytest.raises(ValueError):
        Actuator(["GG", "G"], SignalTiming(), now_s=0)
    with pytest.raises(ValueError):
        Actuator(["GG"], SignalTiming(), now_s=0, initial_phase=1)


def test_random_requests_never_violate_timing():
    import numpy as np

    rng = np.random.default_rng(7)
    for timing in (
        SignalTiming(),
        SignalTiming(yellow_s=4, all_red_s=2, min_green_s=7, max_green_s=30),
        SignalTiming(yellow_s=2, all_red_s=0, min_green_s=0, max_green_s=None),
        SignalTiming(yellow_s=2, all_red_s=1, min_green_s=0, max_green_s=None, yellow_on_every_switch=True),
    ):
        act = Actuator(PHASES, timing, now_s=0.0)
        requests = {
            float(t): PhaseRequest.switch(int(rng.integers(4))) for t in range(1, 2000) if rng.random() < 0.4
        }
        timeline = drive(act, 2000.0, requests=requests)
        assert audit_timeline(timeline, timing, end_s=2000.0, phases=PHASES) == []
        assert act.switches > 20


NETS = all_signalised_net_files()


@pytest.mark.parametrize("net_file", NETS, ids=[p.parent.name + "/" + p.name for p in NETS])
def test_every_phase_pair_of_real_networks_is_safe(net_file):
    timing = SignalTiming(yellow_s=3, all_red_s=1, min_green_s=5, max_green_s=None)
    model = load_network_model(net_file)
    pairs = 0
    for spec in model.intersections:
        states = [p.state for p in spec.green_phases]
        for i, j in itertools.permutations(range(len(states)), 2):
            act = Actuator(states, timing, now_s=0.0, initial_phase=i)
            timeline = [(0.0, act.state)]
            changed = act.request(10.0, PhaseRequest.switch(j))
            assert changed is not None
            timeline.append((10.0, changed))
            for t in (13.0, 14.0):
                changed = act.advance(t)
                if changed:
                    timeline.append((t, changed))
            assert act.state == states[j] and act.mode is Mode.GREEN
            # Every link that loses green shows yellow, then red, before the new green.
            for link, (a, b) in enumerate(zip(states[i], states[j], strict=True)):
                shown = [s[link] for _, s in timeline]
                if a in "Gg" and b not in "Gg":
                    assert shown[1] == "y", (spec.id, i, j, link, shown)
            assert audit_timeline(timeline, timing, end_s=30.0, phases=states) == [], (spec.id, i, j)
            pairs += 1
    assert pairs > 0 or all(s.n_phases == 1 for s in model.intersections)


def test_control_starting_on_a_non_green_state_clears_first():
    """The program may show yellow (or a mixed state) when control starts: no green cut to red."""
    timing = SignalTiming(yellow_s=3, all_red_s=1)
    current = "GGyyrrrrrrrr"  # links 0,1 green, 2,3 yellow: a program mid-transition
    act = Actuator(PHASES, timing, now_s=0.0, initial_phase=2, current_state=current)
    assert act.mode is Mode.YELLOW and act.state == "yyyyrrrrrrrr"
    timeline = [(0.0, current), (0.0, act.state)]
    for t in (3.0, 4.0):
        changed = act.advance(t)
        if changed:
            timeline.append((t, changed))
    assert act.state == PHASES[2]
    assert audit_timeline(timeline, timing, end_s=20.0, phases=PHASES) == []


def test_control_starting_on_its_own_green_changes_nothing():
    act = Actuator(PHASES, SignalTiming(), now_s=0.0, initial_phase=1, current_state=PHASES[1])
    assert act.mode is Mode.GREEN and act.state == PHASES[1]
