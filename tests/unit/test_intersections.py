"""Intersection tables from small hand-written SUMO outputs (no SUMO run)."""

import math

import numpy as np
import pytest

from signalbench.errors import SimulationError
from signalbench.metrics import read_intersection_tables, write_measurement_file
from signalbench.metrics._intersections import _lane_green_seconds
from signalbench.networks import GreenPhase, IntersectionSpec, LaneSpec, Movement, NetworkModel


def model(tmp_path):
    lanes = (
        LaneSpec(id="n_0", edge_id="n", length_m=100.0, speed_limit_m_s=13.9),
        LaneSpec(id="n_1", edge_id="n", length_m=100.0, speed_limit_m_s=13.9),
        LaneSpec(id="w_0", edge_id="w", length_m=80.0, speed_limit_m_s=13.9),
    )
    movements = (
        Movement(link_index=0, from_lane="n_0", to_lane="s_0", direction="s"),
        Movement(link_index=1, from_lane="n_1", to_lane="s_1", direction="s"),
        Movement(link_index=2, from_lane="w_0", to_lane="e_0", direction="s"),
    )
    spec = IntersectionSpec(
        id="J",
        program_id="0",
        n_links=3,
        incoming_lanes=lanes,
        outgoing_lanes=(),
        movements=movements,
        green_phases=(GreenPhase(program_index=0, state="GGr", duration_s=30, movements=(0, 1)),),
        program=(("GGr", 30.0), ("rrG", 30.0)),
    )
    return NetworkModel(net_file=tmp_path / "x.net.xml", intersections=(spec,))


EDGES = """<meandata>
<interval begin="0.00" end="60.00" id="signalbench">
  <edge id="n" timeLoss="100.0" waitingTime="180.0" entered="8" departed="2" left="9"/>
  <edge id="w" timeLoss="30.0" waitingTime="30.0" entered="3" departed="0" left="3"/>
</interval>
<interval begin="60.00" end="90.00" id="signalbench">
  <edge id="n" timeLoss="50.0" waitingTime="30.0" entered="5" departed="0" left="6"/>
  <edge id="w" sampledSeconds="0.00" entered="0" departed="0" left="0"/>
</interval>
</meandata>"""

E2 = """<detector>
<interval begin="0.00" end="60.00" id="sb_n_0" jamLengthInVehiclesSum="120" maxJamLengthInVehicles="4"/>
<interval begin="0.00" end="60.00" id="sb_n_1" jamLengthInVehiclesSum="60" maxJamLengthInVehicles="2"/>
<interval begin="0.00" end="60.00" id="sb_w_0" jamLengthInVehiclesSum="30" maxJamLengthInVehicles="3"/>
<interval begin="60.00" end="90.00" id="sb_n_0" jamLengthInVehiclesSum="30" maxJamLengthInVehicles="5"/>
<interval begin="60.00" end="90.00" id="sb_n_1" jamLengthInVehiclesSum="0" maxJamLengthInVehicles="0"/>
<interval begin="60.00" end="90.00" id="sb_w_0" jamLengthInVehiclesSum="0" maxJamLengthInVehicles="0"/>
</detector>"""

TLS = """<tlsStates>
<tlsState time="0.00" id="J" programID="0" phase="0" state="GGr"/>
<tlsState time="30.00" id="J" programID="0" phase="1" state="yyr"/>
<tlsState time="33.00" id="J" programID="0" phase="2" state="rrG"/>
<tlsState time="63.00" id="J" programID="0" phase="0" state="GGr"/>
</tlsStates>"""


def write_outputs(tmp_path):
    (tmp_path / "edgedata.xml").write_text(EDGES)
    (tmp_path / "e2.xml").write_text(E2)
    (tmp_path / "tls-states.xml").write_text(TLS)


def test_time_series_by_hand(tmp_path):
    write_outputs(tmp_path)
    t = read_intersection_tables(
        tmp_path, model(tmp_path), begin_s=0, end_s=90, interval_s=60, queue_max=True
    )
    rows = {(r["approach"], r["begin_s"]): r for r in t.timeseries}
    n0 = rows[("n", 0.0)]
    assert (n0["time_loss_s"], n0["vehicles"], n0["throughput_veh"]) == (100.0, 10.0, 9.0)
    assert n0["queue_mean_veh"] == pytest.approx(180 / 60)  # stood veh·s per second
    assert n0["queue_max_veh"] == 4  # the longest single-lane queue
    assert n0["green_s"] == 2 * 30  # two lanes green 0..30
    assert n0["green_utilisation"] == pytest.approx(9 / (60 * 0.5))
    w1 = rows[("w", 60.0)]
    assert w1["green_s"] == 3  # rrG from 33 until 63
    assert w1["throughput_veh"] == 0 and w1["queue_mean_veh"] == 0
    assert rows[("n", 60.0)]["end_s"] == 90  # the last interval is short
    assert rows[("n", 60.0)]["green_s"] == 2 * 27


def test_window_sums_and_intersection_totals(tmp_path):
    write_outputs(tmp_path)
    t = read_intersection_tables(
        tmp_path, model(tmp_path), begin_s=0, end_s=90, interval_s=60, queue_max=True
    )
    n = next(r for r in t.approaches if r["approach"] == "n")
    assert n["time_loss_s"] == 150 and n["throughput_veh"] == 15 and n["lanes"] == 2
    assert n["queue_mean_veh"] == pytest.approx((3.0 * 60 + 1.0 * 30) / 90)  # time-weighted
    assert n["queue_max_veh"] == 5
    assert n["time_loss_per_veh_s"] == pytest.approx(150 / 15)
    (j,) = t.intersections
    assert j["throughput_veh"] == 18 and j["time_loss_s"] == 180
    w = next(r for r in t.approaches if r["approach"] == "w")
    assert j["queue_mean_veh"] == pytest.approx(n["queue_mean_veh"] + w["queue_mean_veh"])


def test_warmup_drops_early_intervals_from_the_window_only(tmp_path):
    write_outputs(tmp_path)
    t = read_intersection_tables(
        tmp_path, model(tmp_path), begin_s=0, end_s=90, interval_s=60, measure_from_s=60
    )
    assert len(t.timeseries) == 4
    (j,) = t.intersections
    assert j["throughput_veh"] == 6


def test_no_green_gives_nan_utilisation(tmp_path):
    write_outputs(tmp_path)
    (tmp_path / "tls-states.xml").write_text('<tlsStates><tlsState time="0" id="J" state="rrr"/></tlsStates>')
    t = read_intersection_tables(tmp_path, model(tmp_path), begin_s=0, end_s=90, interval_s=60)
    assert all(math.isnan(r["green_utilisation"]) for r in t.timeseries)


def test_measurement_file_names_every_lane(tmp_path):
    path = write_measurement_file(model(tmp_path), tmp_path / "out", interval_s=30, queue_max=True)
    text = path.read_text()
    assert text.count("<laneAreaDetector") == 3 and 'freq="30"' in text
    assert 'edges="n w"' in text and 'source="J"' in text


def test_without_queue_max_no_e2_detectors_and_nan_max(tmp_path):
    path = write_measurement_file(model(tmp_path), tmp_path / "out", interval_s=30)
    assert "<laneAreaDetector" not in path.read_text() and "<edgeData" in path.read_text()
    write_outputs(tmp_path)
    (tmp_path / "e2.xml").unlink()  # not written, not read
    t = read_intersection_tables(tmp_path, model(tmp_path), begin_s=0, end_s=90, interval_s=60)
    assert all(math.isnan(r["queue_max_veh"]) for r in t.timeseries + t.approaches + t.intersections)
    (j,) = t.intersections
    assert j["queue_mean_veh"] == pytest.approx((180 + 30) / 60 * 60 / 90 + 30 / 30 * 30 / 90)


def test_queue_max_asked_but_not_written_is_an_error(tmp_path):
    write_outputs(tmp_path)
    (tmp_path / "e2.xml").unlink()
    with pytest.raises(SimulationError, match=r"e2\.xml"):
        read_intersection_tables(
            tmp_path, model(tmp_path), begin_s=0, end_s=90, interval_s=60, queue_max=True
        )


@pytest.mark.parametrize("seed", range(5))
def test_green_seconds_against_a_count_second_by_second(seed):
    """Switches at whole seconds: the green of every lane and interval counted second by second."""
    rng = np.random.default_rng(seed)
    times = np.sort(rng.choice(np.arange(3, 200), size=12, replace=False)).astype(float)
    states = ["".join(rng.choice(list("GgyrR"), size=4)) for _ in times]
    links = [[0], [1, 2], [3], [5]]  # link 5 does not exist: never green
    bounds = np.array([0.0, 50.0, 110.0, 170.0, 230.0])
    got = _lane_green_seconds(list(zip(times, states, strict=True)), links, bounds, 230.0)
    for j, lane in enumerate(links):
        for i in range(len(bounds) - 1):
            count = 0
            for second in range(int(bounds[i]), int(bounds[i + 1])):
                k = np.searchsorted(times, second, side="right") - 1
                count += k >= 0 and any(n < 4 and states[k][n] in "Gg" for n in lane)
            assert got[j, i] == count
