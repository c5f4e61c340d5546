import math

import pytest

from signalbench.errors import SimulationError
from signalbench.metrics import TRIP_METRICS, TripMetrics, read_trip_metrics

TRIPINFO = """<?xml version="1.0"?>
<tripinfos>
    <tripinfo id="a" depart="10.00" departDelay="2.00" arrival="70.00" duration="60.00" routeLength="500.00"
              waitingTime="20.00" waitingCount="2" timeLoss="25.00" vaporized=""/>
    <tripinfo id="b" depart="20.00" departDelay="0.00" arrival="60.00" duration="40.00" routeLength="400.00"
              waitingTime="0.00" waitingCount="0" timeLoss="5.00" vaporized=""/>
    <tripinfo id="c" depart="30.00" departDelay="8.00" arrival="-1.00" duration="70.00" routeLength="100.00"
              waitingTime="50.00" waitingCount="1" timeLoss="60.00" vaporized="end"/>
</tripinfos>
"""

STATS = """<statistics>
    <vehicles loaded="5" inserted="3" running="1" waiting="2"/>
    <teleports total="1" jam="1" yield="0" wrongLane="0"/>
    <safety collisions="0" emergencyStops="0" emergencyBraking="0"/>
</statistics>
"""


def test_trip_metrics_by_hand(tmp_path):
    (tmp_path / "t.xml").write_text(TRIPINFO)
    (tmp_path / "s.xml").write_text(STATS)
    m = read_trip_metrics(tmp_path / "t.xml", tmp_path / "s.xml")
    assert m.mean_delay_s == pytest.approx((27 + 5 + 68) / 3)
    assert m.mean_time_loss_s == pytest.approx(30)
    assert m.mean_depart_delay_s == pytest.approx(10 / 3)
    assert m.mean_travel_time_s == pytest.approx(170 / 3)
    assert m.mean_waiting_time_s == pytest.approx(70 / 3)
    assert m.mean_stops == pytest.approx(1)
    assert m.mean_route_length_m == pytest.approx(1000 / 3)
    assert (m.vehicles_total, m.vehicles_arrived, m.vehicles_unfinished) == (3, 2, 1)
    assert (m.vehicles_not_inserted, m.teleports, m.collisions) == (2, 1, 0)


def test_every_metric_is_documented():
    assert set(TRIP_METRICS) == set(TripMetrics.__dataclass_fields__)


def test_empty_run_gives_nan_not_crash(tmp_path):
    (tmp_path / "t.xml").write_text("<tripinfos/>")
    m = read_trip_metrics(tmp_path / "t.xml")
    assert math.isnan(m.mean_delay_s) and m.vehicles_total == 0


def test_missing_or_truncated_output(tmp_path):
    with pytest.raises(SimulationError, match="no tripinfo output"):
        read_trip_metrics(tmp_path / "none.xml")
    (tmp_path / "t.xml").write_text(TRIPINFO[:300])
    with pytest.raises(SimulationError, match="truncated or invalid"):
        read_trip_metrics(tmp_path / "t.xml")


def test_sumo_version_is_read_from_the_binary():
    import re

    from signalbench.sim import sumo_version

    assert re.fullmatch(r"1\.\d+\.\d+.*", sumo_version())


def test_warmup_excludes_vehicles_inserted_before_it(tmp_path):
    (tmp_path / "t.xml").write_text(TRIPINFO)
    m = read_trip_metrics(tmp_path / "t.xml", min_depart_s=20.0)
    assert m.vehicles_total == 2  # 'a' (depart 10) is left out
    assert m.mean_delay_s == pytest.approx((5 + 68) / 2)


def test_sumo_version_of_another_binary(tmp_path):
    """An older SUMO prints 'Version 1.9.2'; a user-chosen binary is asked, not the wheel."""
    from signalbench.sim import sumo_version

    fake = tmp_path / "sumo"
    fake.write_text('#!/bin/sh\necho "Eclipse SUMO sumo Version 1.9.2"\n')
    fake.chmod(0o755)
    assert sumo_version(fake) == "1.9.2"
