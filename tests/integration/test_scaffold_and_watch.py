"""new-controller end to end (its test passes, it runs in a real experiment) and watch under Xvfb."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration


def signalbench(*args, cwd=None, env=None):
    return subprocess.run(
        [sys.executable, "-m", "signalbench.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=300,
    )


def test_scaffolded_controller_passes_its_test_and_runs_in_an_experiment(tmp_path):
    made = signalbench("new-controller", "lane-hero", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    assert (tmp_path / "controllers" / "lane_hero.py").is_file()
    test = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_lane_hero.py"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=300,
    )
    assert test.returncode == 0, test.stdout + test.stderr
    assert "2 passed" in test.stdout
    run = signalbench(
        "run",
        "--network",
        "cologne3",
        "--controller",
        "controllers/lane_hero.py:LaneHero",
        "--controller",
        "fixed-time",
        "--seeds",
        "1",
        "--duration-s",
        "300",
        "--workers",
        "1",
        cwd=tmp_path,
    )
    assert run.returncode == 0, run.stderr
    assert "LaneHero" in run.stdout and "fixed-time" in run.stdout and "2 trials (0 failed)" in run.stdout


@pytest.fixture
def xvfb_display():
    """A private virtual X display; skips where Xvfb is not installed (apt-get install xvfb)."""
    if shutil.which("Xvfb") is None:
        pytest.skip("Xvfb not installed")
    read_fd, write_fd = os.pipe()
    proc = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write_fd), "-screen", "0", "1280x1024x24", "-nolisten", "tcp"],
        pass_fds=(write_fd,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write_fd)
    with os.fdopen(read_fd) as pipe:
        number = pipe.readline().strip()  # written once the display accepts clients
    if not number:
        proc.kill()
        pytest.skip("Xvfb did not start")
    try:
        yield f":{number}"
    finally:
        proc.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=10)


def test_watch_runs_sumo_gui_with_decisions_shown(xvfb_display, tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "WAYLAND_DISPLAY"}
    env["DISPLAY"] = xvfb_display
    res = signalbench(
        "watch",
        "--network",
        "cologne3",
        "--controller",
        "max-pressure",
        "--seed",
        "2",
        "--duration-s",
        "60",
        "--delay-ms",
        "0",
        cwd=tmp_path,
        env=env,
    )
    assert res.returncode == 0, res.stderr
    assert "watching max-pressure-v0 on cologne3-v0 (seed 2, 25200-25260 s)" in res.stdout
    assert "done at t=25260 s" in res.stdout
    shown = [ln for ln in res.stdout.splitlines() if "last decision shown: max-pressure-v0: " in ln]
    assert len(shown) == 3, res.stdout  # read back from SUMO: every light carries its decision


def _sumo_gui_children(pid):
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return []
    return [int(c) for c in children if b"sumo-gui" in Path(f"/proc/{c}/cmdline").read_bytes()]


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="needs Linux /proc")
def test_closing_the_window_stops_watch_cleanly(xvfb_display, tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "WAYLAND_DISPLAY"}
    env["DISPLAY"] = xvfb_display
    args = ["watch", "--network", "cologne1", "--controller", "max-pressure", "--delay-ms", "20"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "signalbench.cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        env=env,
    )
    try:
        assert "watching max-pressure-v0" in proc.stdout.readline()
        assert "sumo-gui is running" in proc.stdout.readline()
        gui = _sumo_gui_children(proc.pid)
        assert gui, "no sumo-gui child"
        os.kill(gui[0], signal.SIGTERM)  # what closing the window amounts to for signalbench
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "sumo-gui was closed at t=" in out


def test_traci_backend_shows_decisions_without_gui(cologne3, cologne3_model):
    from signalbench.sim import SimConfig, TraciBackend

    backend = TraciBackend()
    cfg = SimConfig(
        net_file=cologne3.net_file,
        route_files=cologne3.route_files,
        begin_s=cologne3.begin_s,
        end_s=cologne3.begin_s + 20,
    )
    with backend:
        backend.start(cfg)
        assert backend.running
        for spec in cologne3_model.intersections:
            backend.show_decision(spec.id, f"{spec.id}: hold phase 0")
        backend.step_until(cologne3.begin_s + 5)
        tls = cologne3_model.intersections[0].id
        backend.show_decision(tls, "switch 0 -> 1")  # the label is updated, not added again
        backend.show_message("hello from the test")
        assert backend.shown_decision(tls) == "switch 0 -> 1"
        assert backend.shown_decision(cologne3_model.intersections[1].id).endswith(": hold phase 0")
    assert not backend.running
