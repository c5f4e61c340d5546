"""One contract, every real SUMO backend: libsumo and traci must behave the same."""

from __future__ import annotations

import contextlib
import os
import zlib

import numpy as np
import pytest

from signalbench.errors import SimulationError
from signalbench.networks import catalog, load_network_model
from signalbench.sim import LANE_FIELDS, LibsumoBackend, SimConfig, make_backend

pytestmark = pytest.mark.contract

KINDS = ["libsumo", "traci"]


@pytest.fixture(scope="module")
def scenario():
    return catalog()["cologne1-v0"].scenario()


def cfg(scenario, tmp_path, *, seed=1, duration_s=300.0, **kw):
    return SimConfig(
        net_file=scenario.net_file,
        route_files=scenario.route_files,
        begin_s=scenario.begin_s,
        end_s=scenario.begin_s + duration_s,
        seed=seed,
        tripinfo_file=tmp_path / "trips.xml",
        statistics_file=tmp_path / "stats.xml",
        **kw,
    )


@pytest.fixture(params=KINDS)
def kind(request):
    return request.param


def lanes(scenario):
    spec = load_network_model(scenario.net_file).intersections[0]
    return spec, [ln.id for ln in (*spec.incoming_lanes, *spec.outgoing_lanes)]


def test_time_and_stepping(kind, scenario, tmp_path):
    with make_backend(kind) as sim:
        sim.start(cfg(scenario, tmp_path))
        assert sim.time_s() == scenario.begin_s
        sim.step_until(scenario.begin_s + 37)
        assert sim.time_s() == scenario.begin_s + 37
        sim.step_until(scenario.begin_s + 300)
        assert sim.time_s() == scenario.begin_s + 300


def test_lane_readings(kind, scenario, tmp_path):
    _, ids = lanes(scenario)
    with make_backend(kind) as sim:
        sim.start(cfg(scenario, tmp_path))
        sim.watch_lanes(ids)
        sim.step_until(scenario.begin_s + 120)
        data = sim.read_lanes()
        assert len(data) == len(ids)
        for name in LANE_FIELDS:
            assert data.field(name).shape == (len(ids),) and data.field(name).dtype == np.float64
        veh, halt, occ, speed = data.vehicle_count, data.halting_count, data.occupancy, data.mean_speed_m_s
        assert veh.sum() > 0
        assert np.all(halt <= veh) and np.all(halt >= 0)
        assert np.all((occ >= 0) & (occ <= 1))
        assert np.all(speed >= 0)


def test_signal_state_is_held_until_changed(kind, scenario, tmp_path):
    spec, _ = lanes(scenario)
    state = spec.green_phases[-1].state
    with make_backend(kind) as sim:
        sim.start(cfg(scenario, tmp_path))
        sim.set_signal_state(spec.id, state)
        sim.step_until(scenario.begin_s + 200)  # far beyond any phase of the program
        assert sim.signal_state(spec.id) == state


def test_outputs_written_on_close_and_close_is_idempotent(kind, scenario, tmp_path):
    sim = make_backend(kind)
    sim.start(cfg(scenario, tmp_path))
    sim.step_until(scenario.begin_s + 60)
    sim.close()
    sim.close()
    assert "<tripinfo " in (tmp_path / "trips.xml").read_text()
    assert (tmp_path / "stats.xml").is_file()


def test_bad_input_fails_with_sumo_message(kind, tmp_path):
    bad = tmp_path / "bad.net.xml"
    bad.write_text("<net>")
    sim = make_backend(kind)
    with pytest.raises(SimulationError, match="SUMO failed to start"):
        sim.start(SimConfig(net_file=bad, end_s=10))
    sim.close()


def test_same_readings_on_both_backends(scenario, tmp_path):
    spec, ids = lanes(scenario)
    series = {}
    for kind in KINDS:
        out = tmp_path / kind
        out.mkdir()
        with make_backend(kind) as sim:
            sim.start(cfg(scenario, out, seed=4))
            sim.watch_lanes(ids)
            rows = []
            for k, t in enumerate(range(10, 300, 10)):
                sim.step_until(scenario.begin_s + t)
                if k == 5:
                    sim.set_signal_state(spec.id, spec.green_phases[1].state)
                read = sim.read_lanes()
                rows.append([read.field(f) for f in LANE_FIELDS])
        series[kind] = np.array(rows)
    np.testing.assert_array_equal(series["libsumo"], series["traci"])
    assert (tmp_path / "libsumo" / "trips.xml").read_text().count("<tripinfo ") == (
        tmp_path / "traci" / "trips.xml"
    ).read_text().count("<tripinfo ")


def test_libsumo_refuses_a_second_simulation_in_one_process(scenario, tmp_path):
    first = LibsumoBackend()
    first.start(cfg(scenario, tmp_path))
    try:
        with pytest.raises(SimulationError, match="already runs a simulation"):
            LibsumoBackend().start(cfg(scenario, tmp_path / "x"))
    finally:
        first.close()
    second = LibsumoBackend()  # sequential start/close works
    second.start(cfg(scenario, tmp_path))
    second.close()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is dead for our purposes
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split()[2] != "Z"
    except OSError:
        return False


@pytest.mark.parametrize("exc", [RuntimeError, KeyboardInterrupt])
def test_traci_child_never_orphaned(scenario, tmp_path, exc):
    from signalbench.sim import TraciBackend

    sim = TraciBackend()
    with pytest.raises(exc), sim:
        sim.start(cfg(scenario, tmp_path))
        pid = sim.pid
        assert pid is not None and _alive(pid)
        raise exc()
    assert not _alive(pid)


def test_traci_ports_are_never_fixed(scenario, tmp_path):
    from signalbench.sim import TraciBackend

    ports = set()
    for i in range(2):
        sim = TraciBackend()
        sim.start(cfg(scenario, tmp_path / str(i)))
        with open(f"/proc/{sim.pid}/cmdline") as fh:
            args = fh.read().split("\0")
        ports.add(args[args.index("--remote-port") + 1])
        sim.close()
    assert len(ports) == 2


def test_traci_child_dies_with_a_killed_parent(scenario, tmp_path):
    """kill -9 of the Python process must not leave SUMO running (Linux PDEATHSIG).

    The worst case: the parent dies before it connects, while SUMO waits for a client
    forever. The child script stalls in the connect step to create exactly that moment.
    """
    import signal
    import subprocess
    import sys
    import time

    if not sys.platform.startswith("linux"):
        pytest.skip("parent-death signal is Linux only")
    script = (
        "import time\n"
        "from pathlib import Path\n"
        "import traci.connection\n"
        "from signalbench.sim import SimConfig, TraciBackend\n"
        "def stall(host, port, process, *args):\n"
        "    print(process.pid, flush=True)\n"
        "    time.sleep(60)\n"
        "traci.connection.Connection = stall\n"
        f"cfg = SimConfig(net_file=Path({str(scenario.net_file)!r}), "
        f"route_files=(Path({str(scenario.route_files[0])!r}),), begin_s={scenario.begin_s}, "
        f"end_s={scenario.begin_s + 300})\n"
        "TraciBackend().start(cfg)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        sumo_pid = int(parent.stdout.readline())
        time.sleep(0.3)
        assert _alive(sumo_pid)
        parent.send_signal(signal.SIGKILL)
        parent.wait(timeout=10)
        deadline = time.monotonic() + 10
        while _alive(sumo_pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _alive(sumo_pid)
    finally:
        parent.kill()
        with contextlib.suppress(ProcessLookupError, NameError):
            os.kill(sumo_pid, signal.SIGKILL)


def test_watching_fewer_fields_reads_the_same_values(kind, scenario, tmp_path):
    _, ids = lanes(scenario)
    reads = []
    for fields in (LANE_FIELDS, ("halting_count",)):
        out = tmp_path / str(len(fields))
        with make_backend(kind) as sim:
            sim.start(cfg(scenario, out, seed=2))
            sim.watch_lanes(ids, fields)
            sim.step_until(scenario.begin_s + 150)
            reads.append(sim.read_lanes())
    full, halting_only = reads
    np.testing.assert_array_equal(full.halting_count, halting_only.halting_count)
    for name in ("vehicle_count", "occupancy", "mean_speed_m_s"):
        assert np.isnan(halting_only.field(name)).all()
        assert not np.isnan(full.field(name)).any()
    with make_backend(kind) as sim:
        sim.start(cfg(scenario, tmp_path / "bad"))
        with pytest.raises(ValueError, match="unknown lane field 'queue'"):
            sim.watch_lanes(ids, ("queue",))


def test_lane_waiting_time_is_the_sum_over_the_lane_vehicles(kind, scenario, tmp_path):
    """``waiting_time_s`` (one lane getter) is exactly the per-vehicle sum the reward used to read."""
    spec, ids = lanes(scenario)
    with make_backend(kind) as sim:
        sim.start(cfg(scenario, tmp_path, seed=3))
        sim.watch_lanes(ids, ("waiting_time_s", "vehicles"))
        waited = 0.0
        for k, t in enumerate(range(10, 300, 10)):
            sim.step_until(scenario.begin_s + t)
            if k % 6 == 5:  # switch phases to build and release queues
                sim.set_signal_state(spec.id, spec.green_phases[(k // 6) % spec.n_phases].state)
            read, vehicles = sim.read_lanes(), sim.read_vehicles()
            per_vehicle = np.array([lv.waiting_s.sum() for lv in vehicles])
            np.testing.assert_array_equal(read.waiting_time_s, per_vehicle)
            assert np.isnan(read.vehicle_count).all()
            waited += per_vehicle.sum()
        assert waited > 0


def _detectors(scenario, tmp_path):
    """Two loops and one zone on the first light's first incoming lane."""
    spec, _ = lanes(scenario)
    lane = spec.incoming_lanes[0]
    path = tmp_path / "det.add.xml"
    path.write_text(
        "<additional>\n"
        f'<inductionLoop id="stop" lane="{lane.id}" pos="{lane.length_m - 1:.2f}" freq="10" file="NUL"/>\n'
        f'<inductionLoop id="advance" lane="{lane.id}" pos="{max(0.0, lane.length_m - 40):.2f}" '
        'freq="10" file="NUL"/>\n'
        f'<laneAreaDetector id="zone" lane="{lane.id}" pos="{max(0.0, lane.length_m - 80):.2f}" '
        f'endPos="{lane.length_m:.2f}" freq="10" speedThreshold="0.1" file="NUL"/>\n'
        "</additional>\n"
    )
    return path


def test_detector_readings(kind, scenario, tmp_path):
    from signalbench.sim import LOOP_FIELDS, ZONE_FIELDS

    with make_backend(kind) as sim:
        sim.start(cfg(scenario, tmp_path).with_additional((_detectors(scenario, tmp_path),)))
        with pytest.raises(SimulationError, match="no induction loop 'nope'"):
            sim.watch_detectors(loops=["nope"])
        sim.watch_detectors(loops=["stop", "advance"], zones=["zone"], zone_vehicles=True)
        counts = 0.0
        for t in range(10, 300, 10):
            sim.step_until(scenario.begin_s + t)
            read = sim.read_detectors()
            assert set(read.loops) == set(LOOP_FIELDS) and set(read.zones) == set(ZONE_FIELDS)
            assert read.loops["count"].shape == (2,) and np.all(read.loops["gap_s"] >= 0)
            counts += read.loops["count"].sum()
            (zone,) = read.zone_vehicles
            assert read.zones["vehicle_count"][0] == len(zone)
            assert read.zones["halting_count"][0] == int(np.sum(zone.speed_m_s < 0.1))
            assert 0 <= read.zones["occupancy"][0] <= 1
            assert np.isnan(read.zones["mean_speed_m_s"][0]) == (len(zone) == 0)
        assert counts > 0


def _half(vehicle_id: str) -> bool:
    return zlib.crc32(vehicle_id.encode()) % 2 == 0


def test_vehicle_filter_reads_only_chosen_vehicles(kind, scenario, tmp_path):
    _, ids = lanes(scenario)
    with make_backend(kind) as sim:
        sim.start(cfg(scenario, tmp_path))
        sim.watch_lanes(ids, ("vehicle_count", "vehicles"), vehicle_filter=_half)
        sim.step_until(scenario.begin_s + 200)
        listed = sum(len(lane) for lane in sim.read_vehicles())
        counted = sim.read_lanes().vehicle_count.sum()
        assert all(_half(v) for lane in sim.read_vehicles() for v in lane.ids)
        assert 0 < listed < counted  # lane fields still count every vehicle


def test_same_detector_readings_on_both_backends(scenario, tmp_path):
    series = {}
    for kind in KINDS:
        out = tmp_path / kind
        out.mkdir()
        with make_backend(kind) as sim:
            sim.start(cfg(scenario, out, seed=4).with_additional((_detectors(scenario, out),)))
            sim.watch_detectors(loops=["stop", "advance"], zones=["zone"], zone_vehicles=True)
            rows = []
            for t in range(10, 300, 10):
                sim.step_until(scenario.begin_s + t)
                read = sim.read_detectors()
                rows.append(
                    (
                        *read.loops["count"],
                        *read.loops["gap_s"],
                        *(read.zones[f][0] for f in read.zones),
                        read.zone_vehicles[0].ids,
                        tuple(read.zone_vehicles[0].dist_m),
                    )
                )
        series[kind] = rows
    assert repr(series["libsumo"]) == repr(series["traci"])
