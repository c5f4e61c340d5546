"""Real short runs (<= 300 simulated s): trip summaries against SUMO's statistics, intersection
tables against SUMO's own vehicle routes, and a report from a small real experiment."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import Counter

import pytest

import signalbench
from signalbench.analysis import ReportOptions, write_report
from signalbench.experiments import TrialSpec, run_experiment, run_trial, spec_from_dict
from signalbench.metrics import (
    read_intersection_tables,
    read_statistics,
    read_trip_metrics,
    write_measurement_file,
)
from signalbench.networks import catalog, load_network_model
from signalbench.sim import SimConfig, run_sumo

pytestmark = pytest.mark.integration

DURATION_S = 300.0


def test_throughput_equals_edge_exits_and_summary_matches_statistics(tmp_path):
    """Plain sumo, demand x 2 so some vehicles stay outside: every number checked against SUMO."""
    sc = catalog()["cologne3-v0"].scenario()
    model = load_network_model(sc.net_file)
    measures = write_measurement_file(model, tmp_path, interval_s=60, queue_max=True)
    end = sc.begin_s + DURATION_S
    cfg = SimConfig(
        net_file=sc.net_file,
        route_files=sc.route_files,
        additional_files=(measures,),
        begin_s=sc.begin_s,
        end_s=end,
        seed=3,
        scale=2.0,
        tripinfo_file=tmp_path / "tripinfo.xml",
        statistics_file=tmp_path / "statistics.xml",
        extra_args=(
            "--vehroute-output", str(tmp_path / "routes.xml"),
            "--vehroute-output.exit-times", "true",
            "--vehroute-output.write-unfinished", "true",
        ),
    )  # fmt: skip
    run_sumo(cfg)
    ours = read_trip_metrics(cfg.tripinfo_file, cfg.statistics_file)
    stats = read_statistics(cfg.statistics_file)
    assert ours.vehicles_total == stats["vehicleTripStatistics.count"]
    for name, key in (
        ("mean_travel_time_s", "duration"),
        ("mean_waiting_time_s", "waitingTime"),
        ("mean_time_loss_s", "timeLoss"),
        ("mean_depart_delay_s", "departDelay"),
    ):
        assert getattr(ours, name) == pytest.approx(stats[f"vehicleTripStatistics.{key}"], abs=0.006), name
    assert ours.vehicles_unserved == stats["vehicles.waiting"] > 0  # fmt: skip
    assert ours.mean_delay_incl_unserved_s > ours.mean_delay_s

    tables = read_intersection_tables(
        tmp_path, model, begin_s=sc.begin_s, end_s=end, interval_s=60, queue_max=True
    )
    # Independent count: a vehicle leaves an approach when its route continues past it.
    approach_of = {lane.edge_id: spec.id for spec in model.intersections for lane in spec.incoming_lanes}
    exits: Counter[str] = Counter()
    for vehicle in ET.parse(tmp_path / "routes.xml").getroot().iter("vehicle"):
        route = vehicle.find("route")
        assert route is not None
        edges = route.attrib["edges"].split()
        times = route.attrib.get("exitTimes", "").split()
        for edge, t in zip(edges[:-1], times, strict=False):
            if edge in approach_of and sc.begin_s <= float(t) <= end:  # -1: not left yet
                exits[approach_of[edge]] += 1
    by_tls = {r["tls"]: r["throughput_veh"] for r in tables.intersections}
    assert by_tls == {tls: float(exits[tls]) for tls in by_tls}
    assert sum(by_tls.values()) > 100
    for row in tables.timeseries:
        assert 0 <= row["green_s"] <= 2 * 60 * 4  # never more than the lanes' time
        assert row["queue_max_veh"] >= 0 and row["queue_mean_veh"] <= row["queue_max_veh"] * 4 + 1e-9
    assert any(r["queue_mean_veh"] > 0 for r in tables.intersections)
    assert_queue_mean_matches_e2(tmp_path, model, tables.timeseries)


def assert_queue_mean_matches_e2(outdir, model, timeseries):
    """``queue_mean_veh`` (edgeData waiting time per second) against the E2 detectors' halting
    vehicles per step, summed over the approach's lanes: the same number up to vehicles that
    straddle the stop line (e.g. a left turner waiting inside the junction: E2 counts it while
    its back is on the lane, edgeData only where its front is)."""
    edge_of = {lane.id: lane.edge_id for spec in model.intersections for lane in spec.incoming_lanes}
    e2: Counter[tuple[str, float]] = Counter()
    for interval in ET.parse(outdir / "e2.xml").getroot().iter("interval"):
        a = interval.attrib
        steps = round(float(a["end"]) - float(a["begin"]))
        e2[(edge_of[a["id"].removeprefix("sb_")], float(a["begin"]))] += (
            float(a["jamLengthInVehiclesSum"]) / steps
        )
    ours = {(r["approach"], r["begin_s"]): r["queue_mean_veh"] for r in timeseries}
    assert set(ours) == set(e2)
    assert sum(e2.values()) > 10
    for key, value in e2.items():
        assert ours[key] == pytest.approx(value, abs=0.05), key
    assert sum(ours.values()) == pytest.approx(sum(e2.values()), rel=0.01)


@pytest.mark.parametrize("backend", ["libsumo", "traci"])
def test_queue_mean_equals_the_e2_detectors_under_python_control(tmp_path, backend):
    """A controlled trial with ``queue_max``: the tables' queue means against the E2 outputs."""
    spec = TrialSpec(
        network="cologne3-v0",
        controller="max-pressure-v0",
        seed=2,
        duration_s=240,
        backend=backend,
        queue_max=True,
    )
    result = run_trial(spec, tmp_path, keep_outputs=True)
    assert result.state == "complete", result.error
    model = load_network_model(catalog()["cologne3-v0"].scenario().net_file)
    series = result.tables["timeseries"]
    rows = [dict(zip(series, values, strict=True)) for values in zip(*series.values(), strict=True)]
    assert_queue_mean_matches_e2(tmp_path / spec.trial_id, model, rows)
    assert max(r["queue_max_veh"] for r in rows) >= 1


def test_controlled_trial_stores_tables_and_report_from_a_real_experiment(tmp_path):
    spec = spec_from_dict(
        {
            "name": "tiny",
            "seeds": 2,
            "networks": ["cologne3-v0"],
            "controllers": ["fixed-time", "max-pressure"],
            "sim": {"duration_s": 240},
            "metrics": {"interval_s": 30, "emissions": True},
            "run": {"launcher": "serial"},
        }
    )
    results = run_experiment(spec, tmp_path / "exp", launcher="serial")
    assert [r.state for r in results] == ["complete"] * 4
    df = signalbench.read_results(tmp_path / "exp")
    assert (df["mean_co2_g"] > 0).all() and (df["vehicles_unserved"] >= 0).all()
    mp = df[df["controller"] == "max-pressure-v0"]
    assert (mp["decisions"] > 0).all() and (mp["controller_ms_per_decision"] > 0).all()
    ts = signalbench.read_timeseries(tmp_path / "exp")
    assert set(ts["begin_s"] - ts.groupby("trial_id")["begin_s"].transform("min")) == {
        0,
        30,
        60,
        90,
        120,
        150,
        180,
        210,
    }
    # Signals driven through TraCI are recorded too: green time moves with the controller.
    green = ts.groupby("label")["green_s"].sum()
    assert green["fixed-time"] > 0 and green["max-pressure"] > 0
    assert green["fixed-time"] != green["max-pressure"]
    html = write_report(tmp_path / "exp", tmp_path / "report", ReportOptions())
    out = tmp_path / "report"
    assert {p.name for p in out.glob("*.png")} >= {
        "by_controller.png",
        "intersections_cologne3-v0_1.png",
        "queue_cologne3-v0_1.png",
    }
    assert html.read_text().count("data:image/png;base64,") == 3
    md = (out / "report.md").read_text()
    assert "vs fixed-time" in md
    assert "## Controller side" in md and "| cologne3-v0 | `max-pressure` | 2 |" in md
    # A record rebuilt from the store carries no tables; one straight from run_trial does.
    fresh = run_trial(
        TrialSpec(network="cologne1-v0", controller="fixed-time-v0", seed=1, duration_s=60), tmp_path
    )
    assert fresh.tables["intersections"]["tls"]
