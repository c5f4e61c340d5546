"""Harness overhead against bare SUMO, measured side by side in one run.

For each network (one simulated hour of its window, seed 1, teleports off), times whole
processes, start-up included:

- ``bare``: the real ``sumo`` binary running the network's own programs with tripinfo and
  statistics output (the floor);
- ``fixed-time``: ``signalbench run`` with the fixed-time controller (no TraCI at all);
- ``max-pressure libsumo`` and ``max-pressure traci``: decisions every 5 s.

Each variant runs ``--repeats`` times, interleaved, and the minimum wall time is kept (these
machines are noisy). Ratios are to ``bare``. Usage::

    python benchmarks/bench_overhead.py [--networks cologne8 ingolstadt21 grid4x4] [--repeats 3]
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from signalbench.networks import catalog
from signalbench.sim import SimConfig, sumo_binary, sumo_env


def _timed(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    """Wall time [s] and peak RSS of the child [MiB]."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{proc.stderr[-2000:]}")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return wall, max(peak, before) / 1024.0


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--networks", nargs="+", default=["cologne8", "ingolstadt21", "grid4x4"])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    exe = [sys.executable, "-m", "signalbench.cli"]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.networks:
            entry = catalog()[f"{name}-v0"] if not name.endswith("-v0") else catalog()[name]
            sc = entry.scenario()
            cfg = SimConfig(
                net_file=sc.net_file, route_files=sc.route_files, begin_s=sc.begin_s,
                end_s=sc.begin_s + 3600, seed=1, tripinfo_file=Path(tmp) / "t.xml",
                statistics_file=Path(tmp) / "s.xml",
            )  # fmt: skip
            run = [*exe, "run", "--network", entry.id, "--controller"]
            variants = {
                "bare sumo": (cfg.command(sumo_binary()), sumo_env()),
                "fixed-time": ([*run, "fixed-time"], None),
                "max-pressure libsumo": ([*run, "max-pressure"], None),
                "max-pressure traci": ([*run, "max-pressure", "--backend", "traci"], None),
            }
            best: dict[str, tuple[float, float]] = {}
            for rep in range(args.repeats):
                for label, (cmd, env) in variants.items():
                    if cmd[0] == sys.executable:
                        out = Path(tmp) / f"{name}-{label}-{rep}".replace(" ", "_")
                        cmd = [*cmd, "--seeds", "1", "--launcher", "serial", "--quiet", "--out", str(out)]
                    wall, mem = _timed(cmd, env)
                    old = best.get(label)
                    best[label] = (min(wall, old[0]) if old else wall, mem)
            floor = best["bare sumo"][0]
            for label, (wall, _) in best.items():
                rows.append((entry.id, label, wall, wall / floor))
            print(f"{entry.id}: done", file=sys.stderr)
    print(f"\n{'network':<16} {'variant':<22} {'wall s':>8} {'x bare':>7}")
    for net, label, wall, ratio in rows:
        print(f"{net:<16} {label:<22} {wall:8.2f} {ratio:7.2f}")


if __name__ == "__main__":
    main()
