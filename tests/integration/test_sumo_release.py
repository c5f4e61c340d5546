"""Trials under SUMO 1.9.2 (the RESCO benchmark's SUMO), when it is installed in the cache.

Skipped unless ``signalbench sumo install 1.9.2`` has run (about 6 s and a 52 MB download;
208 MB on disk), except in CI (``CI=true``), where the module installs it first so that the
RESCO path (the benchmark's SUMO over the socket client) is always tested. Each run simulates
at most 300 s; together about 2 s.
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from signalbench.experiments import TrialSpec, run_trial
from signalbench.metrics import read_trip_metrics
from signalbench.networks import catalog, load_network_model
from signalbench.sim import LANE_FIELDS, SimConfig, TraciBackend, find_sumo, install_sumo, run_sumo

RELEASE = "1.9.2"
installed = find_sumo(RELEASE)
if installed is None and os.environ.get("CI", "").lower() == "true":
    install_sumo(RELEASE, quiet=True)
    installed = find_sumo(RELEASE)

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        installed is None or installed.bundled,
        reason=f"SUMO {RELEASE} is not installed: signalbench sumo install {RELEASE}",
    ),
]


@pytest.mark.parametrize(
    ("controller", "client"), [("fixed-time-v0", "none (plain sumo)"), ("max-pressure-v0", "traci ")]
)
def test_trial_under_sumo_1_9_2(tmp_path, controller, client):
    spec = TrialSpec(
        network="cologne3-v0",
        controller=controller,
        seed=1,
        duration_s=120,
        backend="traci",
        sumo_version=RELEASE,
    )
    r = run_trial(spec, tmp_path, keep_outputs=True)
    assert r.state == "complete", r.error
    assert r.versions["sumo"] == RELEASE
    assert r.versions["sumo_client"].startswith(client)
    assert installed is not None and r.versions["sumo_binary"] == str(installed.binary)
    assert r.sumo_command[0] == str(installed.binary)
    assert any("not the bundled eclipse-sumo" in n for n in r.notes)
    assert r.metrics["vehicles_total"] > 50 and r.metrics["mean_delay_s"] > 0
    assert r.sumo_warnings["count"] == 0
    # The tripinfo 1.9.2 wrote is the one the metrics came from.
    tripinfo = tmp_path / r.trial_id / "tripinfo.xml"
    assert "sumo Version 1.9.2" in tripinfo.read_text()[:300]
    assert read_trip_metrics(tripinfo).mean_delay_s == r.metrics["mean_delay_s"]
    if controller == "max-pressure-v0":
        assert r.control["decisions"] > 0


def test_plain_sumo_1_9_2_takes_the_tripinfo_options_without_complaint(tmp_path, capfd):
    """1.9.2 given write-unfinished and write-undeparted prints an error; the gating avoids it."""
    assert installed is not None
    scenario = catalog()["arterial4x4-v0"].scenario()
    config = SimConfig(
        net_file=scenario.net_file,
        route_files=scenario.route_files,
        end_s=300,
        tripinfo_file=tmp_path / "tripinfo.xml",
        sumo_binary=installed.binary,
    )
    command = run_sumo(config)
    assert "--tripinfo-output.write-unfinished" not in command
    assert capfd.readouterr().err == ""
    trips = [e.attrib for e in ET.parse(tmp_path / "tripinfo.xml").getroot().iter("tripinfo")]
    assert any(float(t["depart"]) < 0 for t in trips)  # vehicles never inserted
    # and, implied by write-undeparted, vehicles inserted but unfinished at the end
    assert any(float(t["depart"]) >= 0 and float(t["arrival"]) < 0 for t in trips)


def test_traci_client_drives_a_1_9_2_server(tmp_path):
    """The installed traci client (1.28) against SUMO 1.9.2: stepping, subscriptions, signals."""
    assert installed is not None
    scenario = catalog()["cologne1-v0"].scenario()
    spec = load_network_model(scenario.net_file).intersections[0]
    ids = [ln.id for ln in (*spec.incoming_lanes, *spec.outgoing_lanes)]
    state = spec.green_phases[-1].state
    config = SimConfig(
        net_file=scenario.net_file,
        route_files=scenario.route_files,
        begin_s=scenario.begin_s,
        end_s=scenario.begin_s + 300,
        tripinfo_file=tmp_path / "trips.xml",
        sumo_binary=installed.binary,
    )
    with TraciBackend() as sim:
        sim.start(config)
        assert sim.time_s() == scenario.begin_s
        sim.watch_lanes(ids)
        sim.set_signal_state(spec.id, state)
        sim.step_until(scenario.begin_s + 200)  # far beyond any phase of the program
        assert sim.time_s() == scenario.begin_s + 200
        assert sim.signal_state(spec.id) == state
        data = sim.read_lanes()
        assert len(data) == len(ids)
        veh, halt, occ, speed = (data.field(f) for f in LANE_FIELDS)
        assert veh.sum() > 0 and np.all(halt <= veh) and np.all((occ >= 0) & (occ <= 1))
        assert np.all(speed >= 0)
    assert "sumo Version 1.9.2" in (tmp_path / "trips.xml").read_text()[:300]


def test_program_controller_measures_its_demand_with_the_trial_s_sumo(tmp_path, monkeypatch):
    # cologne1's routes are not all listed in its route files, so webster runs a demand pre-run:
    # on the SUMO the trial names, and the demand cache says which one. A fresh cache root holds
    # the release too (one root for everything): link the installed one into it.
    assert installed is not None
    releases = tmp_path / "cache" / "sumo"
    releases.mkdir(parents=True)
    (releases / RELEASE).symlink_to(installed.binary.parents[2], target_is_directory=True)
    monkeypatch.setenv("SIGNALBENCH_CACHE", str(tmp_path / "cache"))
    spec = TrialSpec(
        network="cologne1-v0", controller="webster-v0", seed=1, duration_s=120, sumo_version=RELEASE
    )
    r = run_trial(spec, tmp_path / "out")
    assert r.state == "complete", r.error
    cached = sorted(p.name for p in (tmp_path / "cache" / "demand").iterdir())
    assert len(cached) == 1 and cached[0].endswith(f"-{RELEASE}.json"), cached
    assert r.control["programs"] and r.versions["sumo"] == RELEASE
