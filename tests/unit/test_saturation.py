"""Queue discharge measurement: headways, saturation flow, start-up lost time and end gain."""

from __future__ import annotations

import math

import pytest

from signalbench.networks import DischargeTable, IntersectionSpec, LaneSpec, Movement
from signalbench.networks._model import GreenPhase
from signalbench.networks._saturation import (
    DEFAULT_SATURATION_FLOW_VEH_H,
    _observe,
    _table,
    lane_class,
)
from signalbench.sim import LaneVehicles

SPEC = IntersectionSpec(
    id="J",
    program_id="0",
    n_links=2,
    incoming_lanes=(LaneSpec(id="a_0", edge_id="a", length_m=200.0, speed_limit_m_s=13.9),),
    outgoing_lanes=(
        LaneSpec(id="b_0", edge_id="b", length_m=200.0, speed_limit_m_s=13.9),
        LaneSpec(id="c_0", edge_id="c", length_m=200.0, speed_limit_m_s=13.9),
    ),
    movements=(
        Movement(link_index=0, from_lane="a_0", to_lane="b_0", direction="s"),
        Movement(link_index=1, from_lane="a_0", to_lane="c_0", direction="l"),
    ),
    green_phases=(GreenPhase(program_index=0, state="GG", duration_s=30.0, movements=(0, 1)),),
    program=(("GG", 30.0), ("yy", 3.0), ("rr", 30.0)),
)


def test_lane_class_follows_the_links_green():
    assert lane_class(SPEC, "a_0", "GG") == "protected"
    assert lane_class(SPEC, "a_0", "Gg") == "permissive"
    assert lane_class(SPEC, "a_0", "rr") is None
    assert lane_class(SPEC, "a_0", "yy") is None


def _discharge_cycles(
    n_cycles: int,
    queue: int,
    first_s: float,
    headway_s: float,
    green_s: float,
    *,
    green: str = "GG",
    wait: tuple[int, float] = (0, 0.0),
    waiting_cycles: int | None = None,
):
    """Feed _observe a lane whose queue of ``queue`` halting cars crosses at known times.

    Each cycle: 5 s of red with the queue standing, ``green_s`` of ``green`` from ``g0`` during
    which car k crosses the stop line at ``g0 + first_s + k * headway_s``, 3 s of yellow, 10 s
    of red. ``wait = (k, w)``: car k and those behind it cross ``w`` later (waiting for a gap),
    in the first ``waiting_cycles`` cycles (all by default).
    """
    active, samples, last_seen = {}, {}, {}
    step, t, before = 1.0, 0.0, "rr"
    for cycle in range(n_cycles):
        ids = [f"c{cycle}_{k}" for k in range(queue)]
        g0 = t + 5.0
        waits = waiting_cycles is None or cycle < waiting_cycles
        crossings = [
            g0 + first_s + k * headway_s + (wait[1] if waits and k >= wait[0] > 0 else 0.0)
            for k in range(queue)
        ]
        end = g0 + green_s + 3.0 + 10.0
        while t < end:
            t += step
            if t <= g0:
                state = "rr"
            elif t <= g0 + green_s:
                state = green
            elif t <= g0 + green_s + 3.0:
                state = "yy"
            else:
                state = "rr"
            on_lane = [(vid, c) for vid, c in zip(ids, crossings, strict=True) if c > t]
            moving = t > g0
            lv = LaneVehicles.build(
                [vid for vid, _ in on_lane],
                [(c - t) * 5.0 if moving else 2.0 + 7.5 * k for k, (_, c) in enumerate(on_lane)],
                [5.0 if moving else 0.0 for _ in on_lane],
                [0.0 if moving else 10.0 for _ in on_lane],
            )
            _observe(SPEC, "a_0", state, before, lv, t, step, active, samples, last_seen)
            before = state
    return samples


def test_headways_give_the_saturation_flow_and_lost_time():
    samples = _discharge_cycles(n_cycles=6, queue=10, first_s=3.0, headway_s=2.0, green_s=40.0)
    table = _table(samples, sumo="test")
    lane = table.lanes[("J", "a_0", "protected")]
    assert lane.saturation_flow_veh_h == pytest.approx(1800.0, rel=0.02)
    # a queue of n clears at first_s + (n - 1) h = l1 + n h  =>  l1 = first_s - h = 1 s
    assert lane.startup_lost_s == pytest.approx(1.0, abs=0.2)
    assert lane.source == "lane" and lane.startups == 6


def test_permissive_saturation_flow_leaves_out_the_waits_for_a_gap():
    # a shared lane with a yielding left: the 4th car waits 12 s for a gap, the rest at 2 s
    samples = _discharge_cycles(6, 10, 1.0, 2.0, 40.0, green="Gg", wait=(3, 12.0))
    lane = _table(samples, sumo="test").lanes[("J", "a_0", "permissive")]
    # measured while the queue discharges (2 s headways), not 10 cars over their 31 s
    assert lane.saturation_flow_veh_h == pytest.approx(1800.0, rel=0.02)
    # the wait is lost time of the discharge: t_10 - 10 h = 31 - 20 = 11 s beyond a blocked headway
    assert lane.startup_lost_s == pytest.approx(11.0, abs=0.5)


def test_permissive_queue_still_waiting_at_the_end_of_green():
    # in 5 of 8 cycles the 3rd car finds no gap before the green ends (20 s): two cars cross
    samples = _discharge_cycles(8, 10, 1.0, 2.0, 20.0, green="Gg", wait=(2, 40.0), waiting_cycles=5)
    table = _table(samples, sumo="test")
    lane = table.lanes[("J", "a_0", "permissive")]
    # whole greens with a blocked head: the start-up loss exceeds a blocked headway (the
    # shared-lane veto of the plans reads it)
    assert lane.startup_lost_s > 6.0
    # its saturation flow is what the queue showed while it moved (the 3 free cycles)
    assert lane.saturation_flow_veh_h == pytest.approx(1800.0, rel=0.02)


def test_end_gain_counts_what_crosses_after_the_green():
    # 25 queued, 2 s headways, 30 s green: the queue is still there when yellow starts
    samples = _discharge_cycles(n_cycles=6, queue=25, first_s=3.0, headway_s=2.0, green_s=30.0)
    lane = _table(samples, sumo="test").lanes[("J", "a_0", "protected")]
    # crossings at 3, 5, ... up to the end of the 3 s yellow: one or two in the yellow
    assert 1.5 <= lane.end_gain_s <= 4.5


def test_too_few_samples_fall_back_to_light_network_and_defaults():
    samples = _discharge_cycles(n_cycles=1, queue=6, first_s=3.0, headway_s=2.0, green_s=40.0)
    table = _table(samples, sumo="test")
    assert table.lanes == {} and table.network == {}
    found = table.lookup("J", "a_0", "protected")
    assert found.source == "default" and found.saturation_flow_veh_h == DEFAULT_SATURATION_FLOW_VEH_H


def test_table_round_trips_through_json():
    table = _table(_discharge_cycles(6, 10, 3.0, 2.0, 40.0), sumo="SUMO 1.28.0")
    again = DischargeTable.from_json(table.to_json())
    assert again == table
    assert not math.isnan(again.network["protected"].saturation_flow_veh_h)
