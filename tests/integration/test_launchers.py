"""Launchers on real SUMO runs: crash isolation, timeouts, retries, Ray, kill -9 and resume."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from tests.conftest import write_controller

from signalbench.experiments import LaunchOptions, launch, run_experiment, spec_from_dict

pytestmark = pytest.mark.integration

DURATION_S = 120


def spec(controllers, *, seeds=(1,), backend="libsumo", network="cologne1-v0", duration_s=DURATION_S):
    return spec_from_dict(
        {
            "name": "t",
            "seeds": list(seeds),
            "backend": backend,
            "sim": {"duration_s": duration_s},
            "networks": [{"id": network}],
            "controllers": [{"id": c} if ":" not in c else {"id": c, "label": "custom"} for c in controllers],
        }
    )


def by_label(results):
    return {(r.spec.display_label, r.spec.seed): r for r in results}


def test_a_crashing_worker_fails_only_its_trial(tmp_path):
    crash = write_controller(tmp_path, "os.kill(os.getpid(), signal.SIGKILL)")
    results = run_experiment(spec(["max-pressure", crash], seeds=(1, 2)), tmp_path / "exp")
    states = {k: (r.state, r.error) for k, r in by_label(results).items()}
    assert states[("max-pressure", 1)][0] == "complete"
    assert states[("max-pressure", 2)][0] == "complete"
    assert states[("custom", 1)] == ("failed", "worker process died (killed by SIGKILL)")


def test_killed_sumo_fails_only_its_trial(tmp_path):
    kill_sumo = write_controller(
        tmp_path,
        "for p in Path('/proc').iterdir():\n"
        "    if p.name.isdigit() and p.name != str(os.getpid()):\n"
        "        try:\n"
        "            stat = (p / 'stat').read_text().split()\n"
        "        except OSError:\n"
        "            continue\n"
        "        if stat[3] == str(os.getpid()):\n"
        "            os.kill(int(p.name), signal.SIGKILL)\n"
        "time.sleep(0.2)\n"
        "return PhaseRequest.hold()",
    )
    results = run_experiment(spec(["max-pressure", kill_sumo], backend="traci"), tmp_path / "exp")
    states = by_label(results)
    assert states[("max-pressure", 1)].state == "complete"
    bad = states[("custom", 1)]
    assert bad.state == "failed" and "SUMO exited with status -9" in bad.error


def test_timeout_fails_the_trial(tmp_path):
    slow = write_controller(tmp_path, "time.sleep(30)")
    started = time.monotonic()
    results = list(launch("process", spec([slow]).trials(), LaunchOptions(timeout_s=3, scratch=tmp_path)))
    assert time.monotonic() - started < 20
    assert [(r.state, r.error) for r in results] == [("failed", "timed out after 3 s")]


def test_retries_rerun_failed_trials(tmp_path):
    flaky = write_controller(
        tmp_path,
        f"marker = Path({str(tmp_path / 'attempted')!r})\n"
        "if not marker.exists():\n"
        "    marker.write_text('x')\n"
        "    raise RuntimeError('first attempt fails')\n"
        "return PhaseRequest.hold()",
    )
    results = run_experiment(spec([flaky]), tmp_path / "exp", retries=2)
    assert [(r.state, r.attempt) for r in results] == [("complete", 2)]


def test_serial_and_process_launchers_agree(tmp_path):
    s = spec(["fixed-time", "max-pressure"], seeds=(3,))
    serial = run_experiment(s, tmp_path / "a", launcher="serial")
    pooled = run_experiment(s, tmp_path / "b", launcher="process", options=LaunchOptions(workers=2))
    assert [r.metrics for r in serial] == [r.metrics for r in pooled]
    assert all(r.provenance["experiment"] == "t" and r.provenance["experiment_spec_sha256"] for r in pooled)
    assert all(r.file_sha256 and r.sim_time_s == DURATION_S for r in pooled)


def test_ray_launcher_matches_local_processes(tmp_path):
    ray = pytest.importorskip("ray")
    s = spec(["fixed-time", "max-pressure"], seeds=(1, 2))
    local = run_experiment(s, tmp_path / "local", options=LaunchOptions(workers=2))
    try:
        remote = run_experiment(s, tmp_path / "ray", launcher="ray", options=LaunchOptions(workers=2))
    finally:
        ray.shutdown()
    assert [r.state for r in remote] == ["complete"] * 4
    assert [r.metrics for r in remote] == [r.metrics for r in local]


def test_ray_worker_with_other_versions_is_refused_in_one_line(tmp_path, monkeypatch):
    ray = pytest.importorskip("ray")
    from signalbench.errors import SpecError
    from signalbench.experiments import _ray as shipping

    real = shipping.local_versions()
    # The driver believes it runs another SUMO; the workers (other processes) report the real one.
    monkeypatch.setattr(shipping, "local_versions", lambda: {**real, "SUMO": "0.0.1"})
    s = spec(["fixed-time"], seeds=(1,))
    try:
        with pytest.raises(SpecError) as err:
            run_experiment(s, tmp_path / "ray", launcher="ray", options=LaunchOptions(workers=1))
    finally:
        ray.shutdown()
    line = str(err.value)
    assert "\n" not in line and f"SUMO {real['SUMO']} (driver: 0.0.1)" in line
    assert not list((tmp_path / "ray" / "trials").glob("*.json"))  # refused, not a failed trial


def test_kill_9_of_the_runner_loses_nothing_and_resumes(tmp_path):
    out = tmp_path / "exp"
    cmd = [
        sys.executable, "-m", "signalbench.cli", "run", "--network", "cologne3",
        "--controller", "fixed-time", "--controller", "max-pressure", "--seeds", "6",
        "--duration-s", "900", "--out", str(out), "--workers", "2", "--quiet",
    ]  # fmt: skip
    runner = subprocess.Popen(
        cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if len(list((out / "trials").glob("*.json"))) >= 3:
                break
            time.sleep(0.02)
        os.killpg(runner.pid, signal.SIGKILL)  # the runner and every worker, at once
        runner.wait(timeout=30)
    finally:
        if runner.poll() is None:
            os.killpg(runner.pid, signal.SIGKILL)
    survivors = sorted((out / "trials").iterdir())
    assert all(p.suffix in (".json", ".parquet") or p.name.endswith(".tmp") for p in survivors)
    records = [json.loads(p.read_text()) for p in survivors if p.suffix == ".json"]
    # Tables are written before the record: a record's presence means its tables are whole.
    assert all((out / "trials" / f"{r['trial_id']}.intersections.parquet").is_file() for r in records)
    assert 3 <= len(records) < 12
    assert all(r["state"] == "complete" for r in records)
    resumed = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert f"{len(records)} reused from an earlier run" in resumed.stdout
    final = sorted((out / "trials").glob("*.json"))
    assert len(final) == 12
    assert not list((out / "trials").glob("*.tmp"))
    again = {p.name: json.loads(p.read_text()) for p in final}
    for r in records:  # completed trials were not run again
        assert again[f"{r['trial_id']}.json"]["started_at"] == r["started_at"]
