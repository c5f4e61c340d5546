"""Short real SUMO runs (<= 300 simulated seconds each) through the whole trial path."""

from __future__ import annotations

import dataclasses

import pytest
from tests.conftest import write_controller

from signalbench.controllers import registry
from signalbench.experiments import TrialSpec, run_trial
from signalbench.metrics import read_statistics, read_trip_metrics
from signalbench.networks import catalog, load_network_model
from signalbench.runtime import Episode
from signalbench.signals import SignalTiming, audit_timeline
from signalbench.sim import SimConfig, make_backend, run_sumo

pytestmark = pytest.mark.integration

DURATION_S = 300.0


def trial(controller="max-pressure", seed=1, network="cologne3-v0", **kw):
    return TrialSpec(
        network=network,
        controller=registry.canonical_id(controller) if ":" not in controller else controller,
        seed=seed,
        duration_s=DURATION_S,
        **kw,
    )


def test_trial_record_is_complete(tmp_path):
    r = run_trial(trial(), tmp_path)
    assert r.state == "complete", r.error
    assert r.metrics["vehicles_arrived"] > 50
    assert r.metrics["mean_delay_s"] > 0
    assert r.control["decisions"] == 59 and r.control["controlled_intersections"] == 3
    assert r.versions["sumo"].startswith("1.") and r.versions["signalbench"]
    assert r.sumo_command[0] == "sumo" and "--seed" in r.sumo_command
    assert r.sumo_command[r.sumo_command.index("--end") + 1] == "25500"
    assert len(r.scenario_hash) == 16 and r.wall_time_s > 0
    assert not (tmp_path / r.trial_id).exists()  # SUMO outputs cleaned up


@pytest.mark.parametrize("backend", ["libsumo", "traci"])
def test_same_trial_twice_gives_identical_metrics(tmp_path, backend):
    a = run_trial(trial(backend=backend), tmp_path)
    b = run_trial(trial(backend=backend), tmp_path)
    c = run_trial(trial(backend=backend, seed=2), tmp_path)
    assert a.metrics == b.metrics and a.control["switches"] == b.control["switches"]
    assert a.metrics != c.metrics


def test_backends_agree_exactly(tmp_path):
    lib = run_trial(trial(backend="libsumo"), tmp_path)
    soc = run_trial(trial(backend="traci"), tmp_path)
    assert lib.metrics == soc.metrics


def test_fixed_time_without_traci_matches_uncontrolled_libsumo(tmp_path):
    sc = catalog()["cologne3-v0"].scenario()

    def config(sub):
        return SimConfig(
            net_file=sc.net_file,
            route_files=sc.route_files,
            begin_s=sc.begin_s,
            end_s=sc.begin_s + DURATION_S,
            seed=3,
            tripinfo_file=tmp_path / sub / "t.xml",
            statistics_file=tmp_path / sub / "s.xml",
        )

    run_sumo(config("plain"))
    Episode(
        backend=make_backend("libsumo"),
        config=config("lib"),
        model=load_network_model(sc.net_file),
        controller=registry.build("fixed-time"),
        timing=SignalTiming(),
    ).run()
    plain = read_trip_metrics(tmp_path / "plain" / "t.xml", tmp_path / "plain" / "s.xml")
    lib = read_trip_metrics(tmp_path / "lib" / "t.xml", tmp_path / "lib" / "s.xml")
    assert plain == lib


def test_metrics_agree_with_sumo_statistics_output(tmp_path):
    sc = catalog()["cologne3-v0"].scenario()
    cfg = SimConfig(
        net_file=sc.net_file,
        route_files=sc.route_files,
        begin_s=sc.begin_s,
        end_s=sc.begin_s + DURATION_S,
        seed=5,
        tripinfo_file=tmp_path / "t.xml",
        statistics_file=tmp_path / "s.xml",
    )
    Episode(
        backend=make_backend("libsumo"),
        config=cfg,
        model=load_network_model(sc.net_file),
        controller=registry.build("max-pressure"),
        timing=SignalTiming(),
    ).run()
    ours = read_trip_metrics(cfg.tripinfo_file, cfg.statistics_file)
    stats = read_statistics(cfg.statistics_file)
    assert ours.vehicles_total == stats["vehicleTripStatistics.count"]
    # SUMO prints its averages with two decimals.
    assert ours.mean_time_loss_s == pytest.approx(stats["vehicleTripStatistics.timeLoss"], abs=0.006)
    assert ours.mean_travel_time_s == pytest.approx(stats["vehicleTripStatistics.duration"], abs=0.006)
    assert ours.mean_waiting_time_s == pytest.approx(stats["vehicleTripStatistics.waitingTime"], abs=0.006)
    assert ours.mean_depart_delay_s == pytest.approx(stats["vehicleTripStatistics.departDelay"], abs=0.006)
    assert ours.vehicles_unfinished == stats["vehicles.running"]


@pytest.mark.parametrize("network", ["cologne3-v0", "grid4x4-v0", "ingolstadt7-v0"])
def test_real_signals_follow_the_timing_rules(tmp_path, network):
    """Record what SUMO actually shows after every change, and audit it."""
    sc = catalog()[network].scenario()
    model = load_network_model(sc.net_file)
    timing = SignalTiming(yellow_s=3, all_red_s=1, min_green_s=5, max_green_s=30)
    backend = make_backend("libsumo")
    shown: dict[str, list[tuple[float, str]]] = {s.id: [] for s in model.intersections}
    original_set = backend.set_signal_state

    def spy(tls, state):
        original_set(tls, state)
        shown[tls].append((backend.time_s(), backend.signal_state(tls)))  # read back from SUMO

    backend.set_signal_state = spy  # type: ignore[method-assign]
    cfg = SimConfig(
        net_file=sc.net_file,
        route_files=sc.route_files,
        begin_s=sc.begin_s,
        end_s=sc.begin_s + DURATION_S,
        seed=1,
    )
    stats = Episode(
        backend=backend,
        config=cfg,
        model=model,
        controller=registry.build("max-pressure"),
        timing=timing,
        decision_interval_s=2.0,
    ).run()
    assert stats.switches > 0
    for spec in model.intersections:
        phases = [p.state for p in spec.green_phases]
        assert audit_timeline(shown[spec.id], timing, end_s=cfg.end_s, phases=phases) == [], spec.id


def test_controller_failure_is_a_failed_trial_not_a_crash(tmp_path):
    ref = write_controller(tmp_path, "raise KeyError('lane')")
    r = run_trial(trial(controller=ref), tmp_path)
    assert r.state == "failed"
    assert ref in r.error and "failed at intersection" in r.error and "KeyError" in r.error
    assert "Traceback" in r.traceback


def test_invalid_request_is_a_failed_trial_naming_value(tmp_path):
    r = run_trial(trial(controller=write_controller(tmp_path, "return PhaseRequest.switch(42)")), tmp_path)
    assert r.state == "failed" and "phase 42 does not exist" in r.error and "intersection" in r.error


def test_uncontrollable_lights_stay_on_their_program(tmp_path):
    r = run_trial(trial(network="ingolstadt21-v0", seed=1), tmp_path)
    assert r.state == "complete", r.error
    assert r.control["controlled_intersections"] == 21
    assert r.control["uncontrolled"] == []


def test_scale_changes_demand(tmp_path):
    base = run_trial(trial(controller="fixed-time"), tmp_path)
    more = run_trial(dataclasses.replace(trial(controller="fixed-time"), scale=1.5), tmp_path)
    assert more.metrics["vehicles_total"] > base.metrics["vehicles_total"]


def test_recorded_command_reruns_with_plain_sumo(tmp_path):
    """The record's command line reproduces the trial's metrics exactly (fixed-time)."""
    import subprocess

    from signalbench.sim import sumo_binary, sumo_env

    r = run_trial(trial(controller="fixed-time", seed=7), tmp_path)
    cmd = [str(sumo_binary()), *r.sumo_command[1:]]
    subprocess.run(cmd, cwd=tmp_path, check=True, capture_output=True, env=sumo_env())
    again = read_trip_metrics(tmp_path / "tripinfo.xml", tmp_path / "statistics.xml")
    assert again.as_dict() == r.metrics


def test_sumo_warnings_are_kept_out_of_the_terminal_and_in_the_record(tmp_path, capfd):
    r = run_trial(trial(network="ingolstadt21-v0", controller="max-pressure"), tmp_path)
    assert r.state == "complete"
    assert r.sumo_warnings["count"] >= 1
    assert any("gneJ210" in w for w in r.sumo_warnings["first"])  # the network's unsafe phase
    out, err = capfd.readouterr()
    assert "Warning" not in out + err


@pytest.mark.parametrize("backend_name", ["libsumo", "traci"])
def test_detection_along_the_approach_sees_past_short_lanes(backend_name):
    # 1863241632 on ingolstadt21 is fed through a 7.1 m lane; with observed_upstream_m the
    # vehicles on the lanes before it (up to 200 m) join that lane's list, distances measured
    # to its stop line.
    from signalbench.controllers import BaseController, PhaseRequest

    sc = catalog()["ingolstadt21-v0"].scenario()
    model = load_network_model(sc.net_file)
    lane = next(ln for ln in model["1863241632"].incoming_lanes if ln.id == "-170018165#1_1")
    assert lane.length_m < 8 and dict(lane.upstream_lanes)["-170018165#3_1"] == pytest.approx(102.8, abs=0.1)
    seen: dict[float, list[float]] = {}

    def probe(upstream_m):
        class Probe(BaseController):
            observed_lane_fields = ("vehicles",)
            observed_upstream_m = upstream_m

            def act(self, obs):
                if obs.spec.id == "1863241632":
                    k = [ln.id for ln in obs.spec.incoming_lanes].index(lane.id)
                    seen.setdefault(upstream_m, []).extend(obs.in_lane_vehicles[k].dist_m)
                return PhaseRequest.hold()

        return registry.build(Probe)

    for upstream_m in (0.0, 200.0):
        cfg = SimConfig(
            net_file=sc.net_file,
            route_files=sc.route_files,
            begin_s=sc.begin_s,
            end_s=sc.begin_s + 300,
            seed=1,
        )
        Episode(
            backend=make_backend(backend_name), config=cfg, model=model, controller=probe(upstream_m),
            timing=SignalTiming(), decision_interval_s=5.0,
        ).run()  # fmt: skip
    assert max(seen[0.0], default=0.0) <= lane.length_m + 0.5  # the lane alone
    beyond = [d for d in seen[200.0] if d > lane.length_m + 0.5]
    assert beyond and max(beyond) < 300.0  # the approach, measured to the same stop line


def test_a_sensing_axis_runs_through_the_trial_path(tmp_path):
    """Perfect sensing under a name gives the plain trial's id and numbers; loops record their fallback."""
    from signalbench.experiments import spec_from_dict

    spec = spec_from_dict(
        {
            "name": "s",
            "seeds": [1],
            "sim": {"duration_s": 120},
            "networks": [{"id": "cologne3-v0"}],
            "controllers": [{"id": "actuated"}],
            "sensing": [
                {"name": "truth"},
                {"name": "loops", "model": "loops", "faults": [{"kind": "stuck-on", "share": 0.5}]},
            ],
        }
    )
    named, loops = spec.trials()
    plain = dataclasses.replace(named, sensing=None)
    assert plain.trial_id == named.trial_id
    a, b = run_trial(named, tmp_path), run_trial(plain, tmp_path)
    assert a.state == b.state == "complete", (a.error, b.error)
    assert a.metrics == b.metrics and a.control["switches"] == b.control["switches"]
    assert "sensing" not in a.control  # perfect lane truths: the episode as without the axis
    r = run_trial(loops, tmp_path)
    assert r.state == "complete", r.error
    assert r.control["sensing"]["name"] == "loops"
    assert r.control["sensing"]["fields"] and r.control["sensing"]["fallback"] == "max recall"
    assert r.spec.sensing_label == "loops" and r.trial_id != a.trial_id
