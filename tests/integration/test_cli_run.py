"""The command a user types, end to end, in a child process."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from tests.conftest import write_controller

pytestmark = pytest.mark.integration


def signalbench(*args, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "signalbench.cli", *args], capture_output=True, text=True, cwd=cwd, timeout=300
    )


def test_adhoc_run_prints_table_and_resumes(tmp_path):
    out = tmp_path / "exp"
    args = [
        "run",
        "--network",
        "cologne1",
        "--controller",
        "fixed-time",
        "--controller",
        "max-pressure",
        "--seeds",
        "2",
        "--duration-s",
        "300",
        "--out",
        str(out),
        "--workers",
        "2",
    ]
    first = signalbench(*args)
    assert first.returncode == 0, first.stderr
    words = ("delay s/veh", "median [95 % CI]", "│ fixed-time ", "│ max-pressure ", "4 trials (0 failed)")
    for word in words:
        assert word in first.stdout
    records = sorted((out / "trials").glob("*.json"))
    assert len(records) == 4
    rec = json.loads(records[0].read_text())
    assert rec["state"] == "complete" and rec["sumo_command"][0] == "sumo"
    again = signalbench(*args)
    assert again.returncode == 0 and "4 reused from an earlier run" in again.stdout
    assert sorted((out / "trials").glob("*.json")) == records


def test_failed_trial_sets_exit_status_and_keeps_the_rest(tmp_path):
    bad = write_controller(tmp_path, "return 'green please'")
    out = tmp_path / "exp"
    res = signalbench(
        "run",
        "--network",
        "cologne1",
        "--controller",
        "max-pressure",
        "--controller",
        bad,
        "--seeds",
        "1",
        "--duration-s",
        "120",
        "--out",
        str(out),
    )
    assert res.returncode == 1
    assert "expected a PhaseRequest" in res.stderr
    assert "2 trials (1 failed)" in res.stdout
    states = sorted(json.loads(p.read_text())["state"] for p in (out / "trials").glob("*.json"))
    assert states == ["complete", "failed"]


def test_bundled_spec_from_another_directory(tmp_path):
    res = signalbench(
        "run", "quickstart", "--seeds", "1", "--duration-s", "120", "--out", str(tmp_path / "q"), cwd=tmp_path
    )
    assert res.returncode == 0, res.stderr
    assert "quickstart" in res.stdout and "2 trials (0 failed)" in res.stdout
