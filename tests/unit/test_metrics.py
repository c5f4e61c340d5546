import math
from pathlib import Path

import pytest

from signalbench.errors import SimulationError
from signalbench.metrics import (
    APPROACH_COLUMNS,
    EMISSION_METRICS,
    TIMESERIES_COLUMNS,
    TRIP_METRICS,
    TripMetrics,
    read_trip_metrics,
)

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
    assert set(TRIP_METRICS) == set(TripMetrics.__dataclass_fields__) - {"emissions"}
    documented = Path(__file__).parents[2].joinpath("docs", "metrics.md").read_text()
    for name in (*TRIP_METRICS, *EMISSION_METRICS, *TIMESERIES_COLUMNS, *APPROACH_COLUMNS):
        assert f"`{name}`" in documented, name


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


UNDEPARTED = TRIPINFO.replace(
    "</tripinfos>",
    """    <tripinfo id="u1" depart="-1" departDelay="40.00" arrival="-1.00" duration="0.00"
              routeLength="0.00" waitingTime="0.00" waitingCount="0" timeLoss="0.00" vaporized="end"/>
    <tripinfo id="u2" depart="-1" departDelay="20.00" arrival="-1.00" duration="0.00" routeLength="0.00"
              waitingTime="0.00" waitingCount="0" timeLoss="0.00" vaporized="end"/>
    <tripinfo id="later" depart="-1" departDelay="0.00" arrival="-1.00" duration="0.00" routeLength="0.00"
              waitingTime="0.00" waitingCount="0" timeLoss="0.00" vaporized="end"/>
</tripinfos>""",
)


def test_unserved_vehicles_are_charged_separately(tmp_path):
    """Undeparted entries stay out of the means; those due (departDelay > 0) are unserved."""
    (tmp_path / "t.xml").write_text(UNDEPARTED)
    (tmp_path / "s.xml").write_text(STATS)
    m = read_trip_metrics(tmp_path / "t.xml", tmp_path / "s.xml")
    assert m.vehicles_total == 3 and m.mean_delay_s == pytest.approx(100 / 3)
    assert m.vehicles_unserved == 2  # 'later' was not yet due at the end
    assert m.mean_unserved_wait_s == pytest.approx(30)
    assert m.mean_delay_incl_unserved_s == pytest.approx((100 + 60) / 5)


def test_unserved_wait_unknown_without_undeparted_entries(tmp_path):
    # SUMO < 1.9.1: no undeparted entries, and departDelayWaiting (ms there) cannot stand in.
    (tmp_path / "t.xml").write_text(TRIPINFO)
    stats = STATS.replace("</statistics>", '<vehicleTripStatistics departDelayWaiting="50.00"/></statistics>')
    (tmp_path / "s.xml").write_text(stats)
    m = read_trip_metrics(tmp_path / "t.xml", tmp_path / "s.xml")
    assert m.vehicles_unserved == 2
    assert math.isnan(m.mean_unserved_wait_s) and math.isnan(m.mean_delay_incl_unserved_s)
    assert m.mean_delay_s == pytest.approx(100 / 3)


def test_flags_stuck_and_teleports(tmp_path):
    text = TRIPINFO.replace('waitingTime="50.00" waitingCount="1"', 'waitingTime="300.00" waitingCount="1"')
    (tmp_path / "t.xml").write_text(text)
    (tmp_path / "s.xml").write_text(STATS)
    m = read_trip_metrics(tmp_path / "t.xml", tmp_path / "s.xml")
    assert (m.vehicles_stuck, m.gridlocked, m.flagged) == (1, 1, 1)  # STATS has one teleport
    (tmp_path / "t.xml").write_text(TRIPINFO)
    m = read_trip_metrics(tmp_path / "t.xml")
    assert (m.vehicles_stuck, m.gridlocked, m.flagged) == (0, 0, 0)


def test_emissions_only_when_written(tmp_path):
    (tmp_path / "t.xml").write_text(TRIPINFO)
    assert "mean_co2_g" not in read_trip_metrics(tmp_path / "t.xml").as_dict()
    text = TRIPINFO.replace(
        'timeLoss="5.00" vaporized=""/>',
        'timeLoss="5.00" vaporized=""><emissions CO2_abs="300000" NOx_abs="60" fuel_abs="96000"/></tripinfo>',
    )
    (tmp_path / "t.xml").write_text(text)
    d = read_trip_metrics(tmp_path / "t.xml").as_dict()
    assert d["mean_co2_g"] == pytest.approx(100) and d["total_co2_kg"] == pytest.approx(0.3)
    assert d["mean_nox_g"] == pytest.approx(0.02) and d["mean_fuel_g"] == pytest.approx(32)
    # SUMO before 1.14 wrote fuel in ml: recognised by the CO2/fuel ratio and not reported.
    (tmp_path / "t.xml").write_text(text.replace('fuel_abs="96000"', 'fuel_abs="130"'))
    assert math.isnan(read_trip_metrics(tmp_path / "t.xml").as_dict()["mean_fuel_g"])


def test_gridlocked_means_a_share_of_the_vehicles_stuck():
    from signalbench.metrics import GRIDLOCK_SHARE, is_gridlocked

    assert GRIDLOCK_SHARE == 0.05
    assert is_gridlocked(0, 0) == 0 and is_gridlocked(0, 100) == 0
    assert is_gridlocked(4, 100) == 0  # a few vehicles held for minutes at a saturated light
    assert is_gridlocked(5, 100) == 1 and is_gridlocked(1, 10) == 1


def test_records_from_before_the_share_rule_are_read_with_it(tmp_path):
    from signalbench.analysis import read_results
    from signalbench.experiments import ResultStore, TrialResult, TrialSpec

    spec = TrialSpec(network="cologne1-v0", controller="fixed-time-v0", seed=1)
    old = {"mean_delay_s": 40.0, "vehicles_total": 1000, "vehicles_stuck": 3, "gridlocked": 1}
    ResultStore(tmp_path).put(TrialResult(trial_id=spec.trial_id, spec=spec, state="complete", metrics=old))
    row = read_results(tmp_path).iloc[0]
    assert row["vehicles_stuck"] == 3 and row["gridlocked"] == 0
