"""A real two-node Ray cluster on this machine: files travel, results match, a lost node loses nothing.

The head and a second node are started with ``ray start``, each with its own temporary
folder, HOME and signalbench cache; the driver runs ``signalbench run`` in a third folder
holding a controller file and a path network that exist nowhere else. Each node has one CPU
and a small object store. Every process started here is ended by its id (never ``ray stop``,
which would stop other people's Ray on a shared machine).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ray = pytest.importorskip("ray", reason="the Ray cluster test needs Ray (pip install 'signalbench[ray]')")

RAY = Path(sys.executable).with_name("ray")
WINDOW = ["--begin-s", "25200", "--end-s", "25500"]  # 300 simulated seconds


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env(home: Path, cache: Path | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RAY_", "SIGNALBENCH_"))}
    env.update(HOME=str(home), SIGNALBENCH_CACHE=str(cache or home / "cache"), RAY_USAGE_STATS_ENABLED="0")
    return env


def _ours(marker: str) -> list[int]:
    """Ids of the processes whose command line names ``marker`` (a folder made by this test)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            cwd = os.readlink(entry / "cwd")  # Ray's agents rename themselves (ray::DashboardAgent)
        except OSError:
            continue
        if marker in cmdline or cwd.startswith(marker):
            pids.append(int(entry.name))
    return pids


def _kill(marker: str) -> None:
    for pid in _ours(marker):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


class Cluster:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = _free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.head, self.node, self.driver = root / "head", root / "node", root / "driver"
        for d in (self.head, self.node, self.driver):
            d.mkdir()

    def start(self, folder: Path, *args: str) -> None:
        cmd = [
            str(RAY), "start", "--num-cpus", "1", "--object-store-memory", str(80 * 1024 * 1024),
            "--temp-dir", str(folder / "tmp"), "--disable-usage-stats", *args,
        ]  # fmt: skip
        done = subprocess.run(cmd, cwd=folder, env=_env(folder), capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]

    def signalbench(self, *args: str, cache: Path | None = None, **kwargs: object) -> subprocess.Popen[str]:
        cmd = [sys.executable, "-m", "signalbench.cli", *args]
        return subprocess.Popen(
            cmd, cwd=self.driver, env=_env(self.driver, cache), stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True, **kwargs,  # type: ignore[call-overload]
        )  # fmt: skip


@pytest.fixture(scope="module")
def cluster():
    if not RAY.is_file():
        pytest.skip(f"no ray command next to {sys.executable}")
    root = Path(tempfile.mkdtemp(prefix="sb-ray-", dir="/tmp"))  # Ray's socket paths must stay short
    c = Cluster(root)
    try:
        c.start(c.head, "--head", "--port", str(c.port), "--include-dashboard", "false")
        c.start(c.node, "--address", c.address)
        # The driver's own files: a controller and a network nowhere else on any node's path.
        made = subprocess.run(
            [sys.executable, "-m", "signalbench.cli", "new-controller", "queue-hog"],
            cwd=c.driver, env=_env(c.driver), capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert made.returncode == 0, made.stderr
        shutil.rmtree(c.driver / "tests", ignore_errors=True)
        (c.driver / "net").mkdir()
        from signalbench.networks import resolve_network

        scenario = resolve_network("cologne1")
        shutil.copy(scenario.net_file, c.driver / "net" / "cologne1.net.xml")
        shutil.copy(scenario.route_files[0], c.driver / "net" / "cologne1.rou.xml")
        yield c
    finally:
        _kill(str(root))
        shutil.rmtree(root, ignore_errors=True)


def _batch(seeds: int) -> list[str]:
    return [
        "run", "--network", "net/cologne1.net.xml", "--route-files", "net/cologne1.rou.xml",
        "--controller", "controllers/queue_hog.py:QueueHog", "--controller", "max-pressure",
        "--seeds", str(seeds), *WINDOW, "--quiet",
    ]  # fmt: skip


def _records(folder: Path) -> dict[str, dict]:
    return {p.stem: json.loads(p.read_text()) for p in sorted((folder / "trials").glob("*.json"))}


def test_files_travel_and_results_match_the_local_launcher(cluster):
    on_ray = ["--launcher", "ray", "--address", cluster.address]
    ray_run = cluster.signalbench(*_batch(2), *on_ray, "--out", "runs/ray", "--keep-sumo-output")
    out, _ = ray_run.communicate(timeout=600)
    assert ray_run.returncode == 0, out[-3000:]
    local = cluster.signalbench(*_batch(2), "--out", "runs/local")
    out, _ = local.communicate(timeout=600)
    assert local.returncode == 0, out[-3000:]
    remote, here = _records(cluster.driver / "runs/ray"), _records(cluster.driver / "runs/local")
    assert set(remote) == set(here) and len(remote) == 4
    for tid, rec in remote.items():
        assert rec["state"] == "complete"
        assert rec["metrics"] == here[tid]["metrics"]
        assert rec["spec"] == here[tid]["spec"]  # the driver's paths, not a node's copies
        assert rec["sumo_command"][:3] == here[tid]["sumo_command"][:3]
    # signalbench run left the consolidated dataset up to date (results and report read it)
    assert list((cluster.driver / "runs" / "ray" / "dataset").glob("part-*.rows.parquet"))
    # the SUMO outputs asked for came back to the driver, one folder per trial
    for tid in remote:
        kept = cluster.driver / "runs" / "ray" / "sumo-output" / tid
        assert any(kept.glob("*tripinfo*")), f"no SUMO output came back for {tid}"
    # Both nodes ran trials on their own copies of the network; the controller file went
    # (by content) to the nodes that ran it.
    shipped = [p for n in (cluster.head, cluster.node) for p in (n / "cache" / "ray-shipped").rglob("*.py")]
    assert shipped and all(
        p.read_bytes() == (cluster.driver / "controllers" / "queue_hog.py").read_bytes() for p in shipped
    )
    for node in (cluster.head, cluster.node):
        nets = list((node / "cache" / "ray-shipped").rglob("cologne1.net.xml"))
        assert nets, f"no trial ran on {node.name}"
        assert nets[0].read_bytes() == (cluster.driver / "net" / "cologne1.net.xml").read_bytes()


LEARN = """
name = "learn"
seeds = [1]

[[networks]]
path = "net/cologne1.net.xml"
route_files = ["net/cologne1.rou.xml"]
begin_s = 25200
end_s = 25380

[[controllers]]
id = "q-learning"
label = "q-a"
train = { episodes = 2, seeds = [11, 12] }

[[controllers]]
id = "q-learning"
label = "q-b"
train = { episodes = 2, seeds = [13, 14] }
"""


def _digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.glob("*.json"))}


def test_training_runs_on_the_cluster_and_its_checkpoint_comes_back_by_content(cluster):
    (cluster.driver / "learn.toml").write_text(LEARN)
    on_ray = ["--launcher", "ray", "--address", cluster.address]
    ray_run = cluster.signalbench("run", "learn.toml", *on_ray, "--out", "runs/learn-ray")
    out, _ = ray_run.communicate(timeout=600)
    assert ray_run.returncode == 0, out[-3000:]
    for label in ("q-a", "q-b"):  # the episodes came back with the checkpoint
        assert re.search(f"training {label} on .*cologne1.net.xml: episode 2/2", out), out[-3000:]
    # Both checkpoints were trained on the nodes (the driver has no CPU in this cluster's
    # view: it is not a node) and came back into the driver's cache, by content.
    driver_cache = _digests(cluster.driver / "cache" / "checkpoints")
    trained = {}
    for node in (cluster.head, cluster.node):
        trained.update(_digests(node / "cache" / "checkpoints"))
    assert len(driver_cache) == 2 and trained == driver_cache
    # The local launcher, training on the driver with an empty cache: same checkpoints,
    # byte for byte, same trial ids, same results.
    local_cache = cluster.driver / "cache-local"
    local = cluster.signalbench(
        "run", "learn.toml", "--out", "runs/learn-local", "--quiet", cache=local_cache
    )
    out, _ = local.communicate(timeout=600)
    assert local.returncode == 0, out[-3000:]
    assert _digests(local_cache / "checkpoints") == driver_cache
    remote, here = _records(cluster.driver / "runs/learn-ray"), _records(cluster.driver / "runs/learn-local")
    assert set(remote) == set(here) and len(remote) == 2
    for tid, rec in remote.items():
        assert rec["state"] == "complete" and rec["metrics"] == here[tid]["metrics"]
        assert rec["spec"] == here[tid]["spec"]
    kept = _digests(cluster.driver / "runs/learn-ray/checkpoints")
    assert kept == _digests(cluster.driver / "runs/learn-local/checkpoints") and len(kept) == 2
    # Nodes without the checkpoint never train it again when the driver has it: nothing
    # trains, and the driver's checkpoint travels to the nodes with the trials.
    for node in (cluster.head, cluster.node):
        shutil.rmtree(node / "cache" / "checkpoints")
    again = cluster.signalbench("run", "learn.toml", *on_ray, "--out", "runs/learn-ray", "--rerun")
    out, _ = again.communicate(timeout=600)
    assert again.returncode == 0, out[-3000:]
    assert "training" not in out, out[-3000:]
    assert {k: v["metrics"] for k, v in _records(cluster.driver / "runs/learn-ray").items()} == {
        k: v["metrics"] for k, v in remote.items()
    }
    shipped = {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for n in (cluster.head, cluster.node)
        for p in (n / "cache" / "ray-shipped").rglob("q-learning-*.json")
    }
    assert shipped and set(shipped.items()) <= set(driver_cache.items())
    placed = {}
    for node in (cluster.head, cluster.node):
        placed.update(_digests(node / "cache" / "checkpoints"))
    assert placed and set(placed.items()) <= set(driver_cache.items())


def test_killing_a_node_mid_batch_loses_no_completed_trial(cluster):
    out_dir = cluster.driver / "runs" / "kill"
    run = cluster.signalbench(
        *_batch(4), "--launcher", "ray", "--address", cluster.address, "--out", "runs/kill", "--retries", "2"
    )
    deadline = time.monotonic() + 300
    while not _records(out_dir) and time.monotonic() < deadline and run.poll() is None:
        time.sleep(0.5)
    before = _records(out_dir)
    assert before, "no trial finished before the kill"
    _kill(str(cluster.node))  # the second node: its raylet and its workers, kill -9
    out, _ = run.communicate(timeout=900)
    after = _records(out_dir)
    for tid, rec in before.items():  # what had finished is still there, untouched
        assert after[tid] == rec
    assert len(after) == 8, out[-3000:]
    assert all(r["state"] == "complete" for r in after.values()), out[-3000:]
    assert run.returncode == 0, out[-3000:]
