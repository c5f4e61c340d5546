"""Program controllers (webster, green-wave, sumo-*) on hand-made intersections, without SUMO."""

from __future__ import annotations

import dataclasses
import xml.etree.ElementTree as ET

import pytest

from signalbench.controllers import registry
from signalbench.controllers.programs import (
    GreenWave,
    GreenWaveParams,
    SumoActuated,
    SumoActuatedParams,
    SumoDelayBased,
    WebsterParams,
    build_cycle,
    coordinated_links,
    engineer_greens,
    phase_flow_ratios,
    primary_phases,
    split_greens,
    webster_cycle_s,
    webster_plan,
    write_programs_file,
)
from signalbench.errors import ControllerError
from signalbench.networks import (
    Discharge,
    DischargeTable,
    GreenPhase,
    IntersectionSpec,
    LaneSpec,
    Movement,
    NetworkModel,
    count_edge_pairs,
    route_file_pairs,
)
from signalbench.signals import SignalTiming, audit_timeline


def lane(lane_id: str, length_m: float = 100.0, speed_m_s: float = 10.0) -> LaneSpec:
    return LaneSpec(
        id=lane_id, edge_id=lane_id.rsplit("_", 1)[0], length_m=length_m, speed_limit_m_s=speed_m_s
    )


def crossing(
    tls: str, west: str, east: str, south: str, north: str, out_w: str, out_e: str
) -> IntersectionSpec:
    """A cross with 4 links: 0 west->east, 1 south->north, 2 south->west (left), 3 east->west.

    Phases: 0 = E-W through ("GrrG"), 1 = S through with permissive left ("rGgr"),
    2 = protected left ("rrGr").
    """
    movements = (
        Movement(link_index=0, from_lane=f"{west}_0", to_lane=f"{out_e}_0", direction="s"),
        Movement(link_index=1, from_lane=f"{south}_0", to_lane=f"{north}_0", direction="s"),
        Movement(link_index=2, from_lane=f"{south}_0", to_lane=f"{out_w}_0", direction="l"),
        Movement(link_index=3, from_lane=f"{east}_0", to_lane=f"{out_w}_0", direction="s"),
    )
    states = ["GrrG", "rGgr", "rrGr"]
    program = (("GrrG", 30.0), ("yrry", 3.0), ("rGgr", 20.0), ("ryyr", 3.0), ("rrGr", 6.0), ("rryr", 3.0))
    ins = (lane(f"{west}_0"), lane(f"{south}_0"), lane(f"{east}_0"))
    outs = (lane(f"{out_e}_0", length_m=150.0), lane(f"{north}_0"), lane(f"{out_w}_0"))
    greens = tuple(
        GreenPhase(
            program_index=2 * k,
            state=s,
            duration_s=program[2 * k][1],
            movements=tuple(i for i, m in enumerate(movements) if s[m.link_index] in "Gg"),
        )
        for k, s in enumerate(states)
    )
    return IntersectionSpec(
        id=tls,
        program_id="0",
        n_links=4,
        incoming_lanes=ins,
        outgoing_lanes=outs,
        movements=movements,
        green_phases=greens,
        program=program,
    )


SPEC = crossing("A", "w", "e", "s", "n", "wout", "eout")


def test_shared_lane_is_served_in_the_phase_where_all_its_movements_move():
    kept, per_movement = primary_phases(SPEC)
    # s_0 carries the through (G in phase 1) and the left (g in phase 1, G in phase 2): one queue,
    # discharged in phase 1; the protected-left phase is then no movement's phase and leaves
    assert per_movement == [0, 1, 1, 0]
    assert kept == [0, 1]


def test_shared_lane_whose_queue_does_not_move_keeps_the_protected_phase():
    def table(startup_lost_s: float) -> DischargeTable:
        d = Discharge(saturation_flow_veh_h=1500.0, startup_lost_s=startup_lost_s, end_gain_s=0.0)
        return DischargeTable(lanes={("A", "s_0", "permissive"): d}, lights={}, network={})

    flows = {("w", "eout"): 900.0, ("s", "n"): 360.0, ("s", "wout"): 180.0, ("e", "wout"): 450.0}
    moving = webster_plan(SPEC, flows, WebsterParams(), discharge=table(1.0))
    assert moving.phases == (0, 1)
    # measured: the left turners at its head wait 20 s for a gap (beyond a blocked headway)
    blocked = webster_plan(SPEC, flows, WebsterParams(), discharge=table(20.0))
    assert blocked.phases == (0, 1, 2)
    assert primary_phases(SPEC, lambda lane, k: False) == ([0, 1, 2], [0, 1, 2, 0])


def test_primary_phase_prefers_priority_green_on_an_exclusive_lane():
    spec = crossing("A", "w", "e", "s", "n", "wout", "eout")
    left = dataclasses.replace(spec.movements[2], from_lane="s_1")
    spec = dataclasses.replace(
        spec,
        movements=(*spec.movements[:2], left, spec.movements[3]),
        incoming_lanes=(*spec.incoming_lanes, lane("s_1")),
    )
    kept, per_movement = primary_phases(spec)
    # a left-turn lane of its own: permissive in phase 1, protected (G) in phase 2 -> phase 2
    assert per_movement == [0, 1, 2, 0]
    assert kept == [0, 1, 2]


def test_flow_ratios_are_lane_flows_over_saturation_per_phase():
    flows = {("w", "eout"): 900.0, ("s", "n"): 360.0, ("s", "wout"): 180.0, ("e", "wout"): 450.0}
    ratios = phase_flow_ratios(SPEC, flows, 1800.0)
    # the shared south lane's through and left (540 veh/h) in phase 1, none in phase 2
    assert ratios == pytest.approx({0: 0.5, 1: 0.3})


def test_webster_cycle_formula_and_bounds():
    assert webster_cycle_s(10.0, 0.5, min_cycle_s=10, max_cycle_s=200) == pytest.approx(40.0)
    assert webster_cycle_s(10.0, 0.5, min_cycle_s=60, max_cycle_s=200) == 60
    assert webster_cycle_s(10.0, 0.9, min_cycle_s=10, max_cycle_s=120) == 120  # 200 s capped
    assert webster_cycle_s(10.0, 1.2, min_cycle_s=10, max_cycle_s=90) == 90  # oversaturated


def test_greens_split_by_flow_ratio_with_min_green():
    assert split_greens(70.0, 10.0, [0.4, 0.2], min_green_s=5.0) == [40.0, 20.0]
    greens = split_greens(70.0, 10.0, [0.6, 0.01, 0.2], min_green_s=8.0)
    assert greens[1] == 8.0 and sum(greens) == 60.0 and greens[0] == 3 * greens[2]
    assert split_greens(40.0, 10.0, [0.0, 0.0], min_green_s=5.0) == [15.0, 15.0]


def test_webster_plan_is_safe_and_follows_the_formula():
    flows = {("w", "eout"): 900.0, ("s", "n"): 360.0, ("s", "wout"): 180.0, ("e", "wout"): 450.0}
    plan = webster_plan(SPEC, flows, WebsterParams(min_green_s=5.0))
    assert plan.lost_time_s == 6.0  # two switches, the network's own 3 s yellow
    assert plan.webster_cycle_s == pytest.approx((1.5 * 6 + 5) / (1 - 0.8))
    greens = [p.duration_s for p in plan.program.phases if "y" not in p.state]
    assert greens == [40.0, 24.0]  # 70 s cycle: 64 s of green by 0.5 : 0.3
    timeline = []
    t = 0.0
    for _ in range(3):
        for p in plan.program.phases:
            timeline.append((t, p.state))
            t += p.duration_s
    timing = SignalTiming(yellow_s=3.0, min_green_s=5.0, max_green_s=None)
    assert audit_timeline(timeline, timing, end_s=t, phases=[g.state for g in SPEC.green_phases]) == []


def test_build_cycle_skips_yellow_when_no_link_loses_green():
    phases, lost = build_cycle(["rGgr", "rGGr"], [10.0, 10.0], yellow_s=3.0, all_red_s=2.0)
    # rGGr -> rGgr loses nothing either (G -> g stays green)
    assert [p.state for p in phases] == ["rGgr", "rGGr"] and lost == 0.0
    phases, lost = build_cycle(["GrrG", "rGgr"], [10.0, 10.0], yellow_s=3.0, all_red_s=2.0)
    assert [p.state for p in phases] == ["GrrG", "yrry", "rrrr", "rGgr", "ryyr", "rrrr"] and lost == 10.0


def chain_model() -> NetworkModel:
    # A -> B -> C along "east": A's out lane eout is B's west in lane, and so on.
    a = crossing("A", "w", "x", "sa", "na", "wa", "ab")
    b = crossing("B", "ab", "y", "sb", "nb", "wb", "bc")
    c = crossing("C", "bc", "z", "sc", "nc", "wc", "cend")
    return NetworkModel(net_file=None, intersections=(a, b, c))  # type: ignore[arg-type]


def test_green_wave_offsets_follow_travel_times_along_the_chain():
    model = chain_model()
    flows = {("w", "ab"): 600.0, ("ab", "bc"): 600.0, ("bc", "cend"): 600.0}
    links = coordinated_links(model, flows)
    assert [(x.upstream, x.downstream) for x in links] == [("A", "B"), ("B", "C")]
    assert links[0].travel_time_s == pytest.approx(15.0)  # 150 m at 10 m/s
    plans, _, cycle = GreenWave(GreenWaveParams(cycle_s=60.0)).plans(model, flows)
    assert cycle == 60.0
    assert all(p.program.cycle_s == 60.0 for p in plans.values())
    assert [plans[t].program.offset_s for t in "ABC"] == [0.0, 15.0, 30.0]


def test_green_wave_common_cycle_is_the_longest_webster_cycle():
    model = chain_model()
    flows = {("w", "ab"): 900.0, ("ab", "bc"): 300.0}
    plans, _, cycle = GreenWave().plans(model, flows)
    own = max(webster_plan(s, flows, WebsterParams()).webster_cycle_s for s in model.intersections)
    assert cycle == float(int(own) + (own % 1 > 0)) and {p.program.cycle_s for p in plans.values()} == {cycle}


def test_sumo_actuated_keeps_the_networks_phases_with_min_max_on_greens(tmp_path):
    model = NetworkModel(net_file=None, intersections=(SPEC,))  # type: ignore[arg-type]
    programs = SumoActuated(SumoActuatedParams(min_green_s=7.0, max_green_s=25.0)).programs(model)
    path = tmp_path / "p.add.xml"
    write_programs_file(programs, path)
    logic = ET.parse(path).getroot().find("tlLogic")
    assert logic is not None and logic.get("type") == "actuated" and logic.get("programID") == "signalbench"
    phases = [
        (p.get("state"), p.get("duration"), p.get("minDur"), p.get("maxDur")) for p in logic.iter("phase")
    ]
    assert phases[0] == ("GrrG", "25", "7", "25") and phases[1] == ("yrry", "3", None, None)
    assert phases[4] == ("rrGr", "7", "7", "25")
    assert {p.get("key"): p.get("value") for p in logic.iter("param")}["max-gap"] == "3"
    delay = SumoDelayBased().programs(model)[0]
    assert delay.kind == "delay_based" and delay.params["detectorRange"] == "100"


def test_sumo_actuated_default_greens_are_an_engineers():
    # gap-based: 10 s minimum on through phases (the queue stored below the detector), 5 s on
    # turn-only; maximum 1.5 x the Webster green, at least 15 s through and 10 s turn-only
    greens = engineer_greens(SPEC, {}, None, min_green_s=None, max_green_s=None)
    assert greens["GrrG"][0] == greens["rGgr"][0] == 10.0 and greens["rrGr"][0] == 5.0
    assert greens["GrrG"][1] >= 15.0 and greens["rGgr"][1] >= 15.0
    assert 10.0 <= greens["rrGr"][1] < 15.0
    assert all(high <= 90.0 for _, high in greens.values())
    # delay-based (detectors over the whole queue): 5 s on every phase, the same maximum
    delay = engineer_greens(SPEC, {}, None, min_green_s=None, max_green_s=None, through_min_green_s=5.0)
    assert {low for low, _ in delay.values()} == {5.0}
    assert {s: high for s, (_, high) in delay.items()} == {s: high for s, (_, high) in greens.items()}
    model = NetworkModel(net_file=None, intersections=(SPEC,))  # type: ignore[arg-type]
    installed = SumoDelayBased().programs(model)[0]
    assert {ph.min_dur_s for ph in installed.phases if ph.min_dur_s is not None} == {5.0}
    # a minimum given applies to every phase, and the maximum is at least 5 s above it
    given = engineer_greens(SPEC, {}, None, min_green_s=20.0, max_green_s=None)
    assert all(low == 20.0 and high >= 25.0 for low, high in given.values())


def test_edge_pairs_counted_from_vehroutes_in_the_window(tmp_path):
    path = tmp_path / "vehroutes.xml"
    path.write_text(
        "<routes>"
        '<vehicle id="a" depart="5.00"><route edges="w ab bc"/></vehicle>'
        '<vehicle id="b" depart="7.00"><routeDistribution><route edges="x y" replacedOnEdge="x"/>'
        '<route edges="x z"/></routeDistribution></vehicle>'
        '<vehicle id="c" depart="99.00"><route edges="w ab"/></vehicle>'
        "</routes>"
    )
    counts = count_edge_pairs(path, begin_s=0.0, end_s=50.0)
    assert counts == {("w", "ab"): 1, ("ab", "bc"): 1, ("x", "z"): 1}


@pytest.mark.parametrize(
    ("controller", "params", "message"),
    [
        (
            "webster",
            {"min_green_s": -1},
            "controller 'webster-v0': min_green_s must be a finite number > 0, got -1",
        ),
        ("webster", {"yellow_s": 0}, "controller 'webster-v0': yellow_s must be a finite number > 0, got 0"),
        ("webster", {"min_cycle_s": 90, "max_cycle_s": 60}, "min_cycle_s (90) exceeds max_cycle_s (60)"),
        ("green-wave", {"cycle_s": 0}, "controller 'green-wave-v0': cycle_s must be a finite number > 0"),
        (
            "sumo-actuated",
            {"min_green_s": 30, "max_green_s": 20},
            "min_green_s (30) exceeds max_green_s (20)",
        ),
        ("sumo-delay-based", {"detector_range_m": "far"}, "detector_range_m must be a finite number"),
        ("sumo-actuated", {"max_gap": 3}, "unknown parameter 'max_gap'; did you mean 'max_gap_s'?"),
    ],
)
def test_bad_parameters_are_rejected_naming_controller_and_parameter(controller, params, message):
    with pytest.raises(ControllerError, match=r"^controller '") as err:
        registry.check_params(controller, params)
    assert message in str(err.value)


def test_program_controllers_are_network_level_and_leave_signals_to_sumo():
    for name in ("webster-v0", "green-wave-v0", "sumo-actuated-v0", "sumo-delay-based-v0"):
        entry = registry.resolve(name)
        assert entry.scope == "network"
        ctrl = registry.build(name)
        assert ctrl.controls_signals is False and ctrl.traits.writes_programs
        assert hasattr(ctrl.programs, "write_programs")


def test_route_files_with_routes_are_read_directly(tmp_path):
    path = tmp_path / "demand.rou.xml"
    path.write_text(
        "<routes>"
        '<vType id="car"/>'
        '<route id="r1" edges="w ab bc"/>'
        '<routeDistribution id="d"><route refId="r1" probability="3"/><route edges="w x" probability="1"/>'
        "</routeDistribution>"
        '<vehicle id="a" depart="5" route="r1"/>'
        '<vehicle id="b" depart="6"><route edges="x y"/></vehicle>'
        '<vehicle id="late" depart="100" route="r1"/>'
        '<vehicle id="c" depart="7" route="d"/>'
        '<flow id="f" begin="0" end="100" vehsPerHour="360" route="r1"/>'
        '<flow id="g" begin="40" end="60" number="4"><route edges="y z"/></flow>'
        "</routes>"
    )
    counts = route_file_pairs([path], begin_s=0.0, end_s=50.0)
    assert counts == pytest.approx(
        {
            ("w", "ab"): 1 + 0.75 + 5,
            ("ab", "bc"): 1 + 0.75 + 5,
            ("x", "y"): 1,
            ("w", "x"): 0.25,
            ("y", "z"): 2,
        }
    )


def test_trips_need_the_sumo_pre_run(tmp_path):
    path = tmp_path / "trips.rou.xml"
    path.write_text('<routes><trip id="t" depart="1" from="a" to="b"/></routes>')
    assert route_file_pairs([path], begin_s=0.0, end_s=50.0) is None
    path.write_text('<routes><flow id="f" begin="0" end="9" period="1" from="a" to="b"/></routes>')
    assert route_file_pairs([path], begin_s=0.0, end_s=50.0) is None


def test_green_wave_rejects_a_common_cycle_too_short_for_a_signal():
    with pytest.raises(ControllerError, match=r"cycle_s 12 is shorter than intersection 'A' needs \(16 s"):
        GreenWave(GreenWaveParams(cycle_s=12.0)).plans(chain_model(), {})
