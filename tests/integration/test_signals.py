"""Signals on real runs: the runner dies by SIGTERM, SIGKILL, SIGINT or timeout(1) mid-batch.

Each test starts ``signalbench run`` as a real process (2 workers, libsumo or traci trials),
signals it while trials run, and checks that no process it started is left (the fork server,
the trial processes, their ``sumo``, the resource tracker), that no scratch folder is left
(outside the experiment folder at all), that every record written is complete, and that a
rerun runs exactly the trials that were not complete.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest
from tests.conftest import write_controller

pytestmark = pytest.mark.integration

SEEDS = 3
# A trial lasts over half a second whatever the machine's speed: 60 decisions of 10 ms each.
SLOW_ACT = "time.sleep(0.01)\nreturn PhaseRequest.hold()"


class Tree:
    """Every process below ``root`` seen while it ran (sampled every 20 ms)."""

    def __init__(self, root: int) -> None:
        self.root = psutil.Process(root)
        self.seen: dict[tuple[int, float], psutil.Process] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._stop.is_set():
            try:
                children = self.root.children(recursive=True)
            except psutil.Error:
                return
            for p in children:
                with contextlib.suppress(psutil.Error):
                    self.seen.setdefault((p.pid, p.create_time()), p)
            time.sleep(0.02)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def left_after(self, seconds: float) -> list[str]:
        """Processes still running after ``seconds`` (a zombie has exited: PID 1 reaps late)."""
        deadline = time.monotonic() + seconds
        while True:
            alive = []
            for p in self.seen.values():
                try:
                    if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                        alive.append(f"{p.pid} {' '.join(p.cmdline())[:120]}")
                except psutil.Error:
                    pass
            if not alive or time.monotonic() > deadline:
                return alive
            time.sleep(0.05)

    def kill_left(self) -> None:
        for p in self.seen.values():
            try:
                if p.is_running():
                    p.kill()
            except psutil.Error:
                pass


def _ctrl_c_as_in_a_terminal() -> None:
    """Give the runner Ctrl-C's default disposition, whatever this process inherited.

    A job started in the background of a non-interactive shell (`cmd &`, nohup) inherits SIGINT
    ignored, and so would the runner: the SIGINT case would then test nothing.
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)


class Run:
    """``signalbench run`` of SEEDS slow trials in a real process, watched."""

    def __init__(self, tmp_path: Path, backend: str, *, wrap: tuple[str, ...] = ()) -> None:
        ctrl = write_controller(tmp_path, SLOW_ACT)
        self.out = tmp_path / "exp"
        self.cmd = [
            sys.executable, "-m", "signalbench.cli", "run", "--network", "cologne1", "--controller", ctrl,
            "--seeds", str(SEEDS), "--duration-s", "300", "--backend", backend, "--workers", "2",
            "--out", str(self.out), "--quiet",
        ]  # fmt: skip
        self.tmp = tmp_path / "tmp"  # the run's TMPDIR: must stay empty
        self.tmp.mkdir()
        self.env = dict(os.environ, TMPDIR=str(self.tmp))
        self.proc = subprocess.Popen(
            [*wrap, *self.cmd],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=self.env,
            preexec_fn=_ctrl_c_as_in_a_terminal,
        )
        self.tree = Tree(self.proc.pid)

    def records(self) -> dict[str, dict]:
        return {p.stem: json.loads(p.read_text()) for p in sorted((self.out / "trials").glob("*.json"))}

    def wait_for_first_record(self, timeout_s: float = 60) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if list((self.out / "trials").glob("*.json")):
                return
            time.sleep(0.02)
        pytest.fail("no trial ended within a minute")

    def finish(self, timeout_s: float = 60) -> str:
        try:
            _, err = self.proc.communicate(timeout=timeout_s)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
            self.tree.stop()
        return err

    def check_aftermath(self, *, scratch_may_remain: bool) -> None:
        left = self.tree.left_after(10)
        self.tree.kill_left()
        assert not left, f"processes left behind: {left}"
        assert len(self.tree.seen) >= 4, "the sampler missed the process tree"
        assert not list(self.tmp.iterdir()), "scratch left in the temporary folder"
        if not scratch_may_remain:  # kill -9: left in the experiment folder, removed by the rerun
            assert not (self.out / ".scratch").exists(), (
                "scratch left",
                list((self.out / ".scratch").rglob("*")),
            )
        kept = self.records()
        assert 1 <= len(kept) < SEEDS, "no record, or no trial was running"
        assert all(r["state"] == "complete" for r in kept.values())
        # The rerun runs exactly the trials that were not complete and leaves the rest untouched.
        rerun = subprocess.run(self.cmd, capture_output=True, text=True, timeout=120, env=self.env)
        assert rerun.returncode == 0, rerun.stderr
        assert f"{len(kept)} reused from an earlier run" in rerun.stdout
        final = self.records()
        assert len(final) == SEEDS and all(r["state"] == "complete" for r in final.values())
        for trial_id, record in kept.items():
            assert final[trial_id]["started_at"] == record["started_at"]
            assert final[trial_id]["wall_time_s"] == record["wall_time_s"]
        assert not (self.out / ".scratch").exists()
        assert not list((self.out / "trials").glob(".*.tmp"))
        assert not list(self.tmp.iterdir())


@pytest.mark.parametrize(
    ("signum", "backend", "status"),
    [
        (signal.SIGTERM, "traci", 143),
        (signal.SIGTERM, "libsumo", 143),
        (signal.SIGKILL, "traci", -signal.SIGKILL),
        (signal.SIGKILL, "libsumo", -signal.SIGKILL),
        (signal.SIGINT, "libsumo", 130),
    ],
    ids=["sigterm-traci", "sigterm-libsumo", "sigkill-traci", "sigkill-libsumo", "sigint-libsumo"],
)
def test_signal_to_the_runner_leaves_nothing_and_loses_nothing(tmp_path, signum, backend, status):
    run = Run(tmp_path, backend)
    try:
        run.wait_for_first_record()
        os.kill(run.proc.pid, signum)  # the runner only, not its process group
    finally:
        err = run.finish()
    assert run.proc.returncode == status, err
    if signum != signal.SIGKILL:
        lines = [ln for ln in err.splitlines() if ln.strip()]
        how = "" if signum == signal.SIGINT else f" by {signal.Signals(signum).name}"
        assert lines == [f"signalbench: interrupted{how}; completed trials are saved, run again to resume"]
    run.check_aftermath(scratch_may_remain=signum == signal.SIGKILL)


@pytest.mark.skipif(shutil.which("timeout") is None, reason="needs timeout(1)")
def test_timeout_1_stops_the_run_cleanly(tmp_path):
    # timeout(1) sends SIGTERM to the runner and to its whole process group, workers included;
    # its limit is set once the first trial has ended, so the batch is half-way.
    run = Run(tmp_path, "traci", wrap=("timeout", "--preserve-status", "600"))
    try:
        run.wait_for_first_record()
        os.kill(run.proc.pid, signal.SIGALRM)  # what timeout(1) does when its time is up
    finally:
        err = run.finish()
    assert run.proc.returncode == 143, err
    assert [ln for ln in err.splitlines() if ln.strip()] == [
        "signalbench: interrupted by SIGTERM; completed trials are saved, run again to resume"
    ]
    run.check_aftermath(scratch_may_remain=False)


def test_a_closed_output_pipe_stops_the_run_with_one_line(tmp_path):
    # signalbench run ... | head: the reader is gone before the header is written.
    read, write = os.pipe()
    os.close(read)
    try:
        done = subprocess.run(
            [sys.executable, "-m", "signalbench.cli", "run", "--network", "cologne1", "--controller",
             "fixed-time", "--seeds", "1", "--duration-s", "30", "--out", str(tmp_path / "exp"), "--quiet"],
            stdout=write, stderr=subprocess.PIPE, text=True, timeout=120,
        )  # fmt: skip
    finally:
        os.close(write)
    assert done.returncode == 141, done.stderr
    assert [ln for ln in done.stderr.splitlines() if ln.strip()] == [
        "signalbench: the output was closed (broken pipe); stopped, completed trials are saved, "
        "run again to resume"
    ]
    assert not (tmp_path / "exp" / ".scratch").exists()
