"""Speed of signalbench against bare SUMO and sumo-rl, measured side by side in one run.

Per network (one simulated hour of its window, seed 1, teleports off), whole processes with
start-up included, each variant ``--repeats`` times interleaved, minimum wall time kept (these
machines are noisy). Ratios are to the bare ``sumo`` run:

- ``bare sumo``: the real binary, the network's own programs, tripinfo + statistics (the floor);
- ``fixed-time``: ``signalbench run`` with the network's own programs (no TraCI at all);
- ``max-pressure libsumo`` / ``max-pressure traci``: decisions every 5 s;
- ``sumo-rl max-pressure (traci|libsumo)``: the same policy through sumo-rl's environment.

Then a batch of 8 trials with 1 and with 2 workers (throughput ratio), and the peak memory
of a worker process. Targets (issue 6): fixed-time <= 1.15x on ingolstadt21; max-pressure
libsumo <= 1.4x on ingolstadt21 and cologne8; traci <= 3x; 2 workers >= 1.8x.

    python benchmarks/bench_speed.py [--networks cologne8 ingolstadt21 grid4x4] [--repeats 3]
    python benchmarks/bench_speed.py --only-scaling     # the 1 vs 2 workers part alone
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from signalbench.networks import catalog
from signalbench.sim import SimConfig, sumo_binary, sumo_env

HERE = Path(__file__).resolve().parent


def _wall(cmd: list[str], env: dict[str, str] | None = None) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{proc.stderr[-3000:]}")
    return wall


def _variants(network: str, tmp: Path) -> dict[str, tuple[list[str], dict[str, str] | None]]:
    entry = catalog()[network]
    sc = entry.scenario()
    cfg = SimConfig(
        net_file=sc.net_file, route_files=sc.route_files, begin_s=sc.begin_s, end_s=sc.begin_s + 3600,
        seed=1, tripinfo_file=tmp / "t.xml", statistics_file=tmp / "s.xml",
    )  # fmt: skip
    run = [sys.executable, "-m", "signalbench.cli", "run", "--network", entry.id, "--seeds", "1"]
    run += ["--launcher", "serial", "--quiet", "--controller"]
    peer = [sys.executable, str(HERE / "_sumo_rl_peer.py"), str(sc.net_file), str(sc.route_files[0])]
    peer += [str(sc.begin_s), "3600"]
    libsumo_env = {**os.environ, "LIBSUMO_AS_TRACI": "1"}
    return {
        "bare sumo": (cfg.command(sumo_binary()), sumo_env()),
        "fixed-time": ([*run, "fixed-time"], None),
        "max-pressure libsumo": ([*run, "max-pressure"], None),
        "max-pressure traci": ([*run, "max-pressure", "--backend", "traci"], None),
        "sumo-rl max-pressure traci": (peer, None),
        "sumo-rl max-pressure libsumo": (peer, libsumo_env),
    }


def compare(networks: list[str], repeats: int) -> list[tuple[str, str, float, float]]:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in networks:
            network = name if name.endswith("-v0") else f"{name}-v0"
            variants = _variants(network, Path(tmp))
            best: dict[str, float] = {}
            for rep in range(repeats):
                for label, (cmd, env) in variants.items():
                    if "signalbench.cli" in cmd:
                        cmd = [*cmd, "--out", str(Path(tmp) / f"{network}-{label}-{rep}".replace(" ", "_"))]
                    wall = _wall(cmd, env)
                    best[label] = min(wall, best.get(label, wall))
            for label, wall in best.items():
                rows.append((network, label, wall, wall / best["bare sumo"]))
            print(f"{network}: done", file=sys.stderr)
    return rows


def scaling(network: str, trials: int) -> tuple[float, float, float]:
    """Wall time of ``trials`` max-pressure trials with 1 and 2 workers, and peak worker RSS."""
    walls = []
    peak = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        for workers in (1, 2):
            out = Path(tmp) / f"w{workers}"
            cmd = [sys.executable, "-m", "signalbench.cli", "run", "--network", network]
            cmd += ["--controller", "max-pressure", "--seeds", str(trials), "--workers", str(workers)]
            cmd += ["--quiet", "--out", str(out)]
            walls.append(_wall(cmd))
            for record in (out / "trials").glob("*.json"):
                peak = max(peak, float(json.loads(record.read_text()).get("peak_rss_mib", 0.0)))
    return walls[0], walls[1], peak


def bare_scaling(network: str, trials: int) -> tuple[float, float]:
    """The machine's own 2-core scaling: ``trials`` bare sumo runs one at a time, then two."""
    sc = catalog()[network].scenario()
    with tempfile.TemporaryDirectory() as tmp:
        cmds = [
            SimConfig(
                net_file=sc.net_file, route_files=sc.route_files, begin_s=sc.begin_s,
                end_s=sc.begin_s + 3600, seed=seed, tripinfo_file=Path(tmp) / f"t{seed}.xml",
            ).command(sumo_binary())
            for seed in range(1, trials + 1)
        ]  # fmt: skip
        start = time.perf_counter()
        for cmd in cmds:
            subprocess.run(cmd, capture_output=True, env=sumo_env(), check=True)
        one = time.perf_counter() - start
        start = time.perf_counter()
        for pair in zip(cmds[::2], cmds[1::2], strict=False):
            procs = [
                subprocess.Popen(c, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=sumo_env())
                for c in pair
            ]
            for proc in procs:
                proc.wait()
        two = time.perf_counter() - start
    return one, two


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--networks", nargs="+", default=["cologne8", "ingolstadt21", "grid4x4"])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch-network", default="cologne8-v0")
    parser.add_argument("--batch-trials", type=int, default=8)
    parser.add_argument("--only-scaling", action="store_true", help="skip the per-network comparison")
    args = parser.parse_args()
    rows = [] if args.only_scaling else compare(args.networks, args.repeats)
    one, two, peak = scaling(args.batch_network, args.batch_trials)
    bare_one, bare_two = bare_scaling(args.batch_network, args.batch_trials)
    print(f"\n{'network':<16} {'variant':<30} {'wall s':>8} {'x bare':>7}")
    for net, label, wall, ratio in rows:
        print(f"{net:<16} {label:<30} {wall:8.2f} {ratio:7.2f}")
    print(f"\nbatch of {args.batch_trials} max-pressure trials on {args.batch_network}: "
          f"1 worker {one:.2f} s, 2 workers {two:.2f} s -> throughput x{one / two:.2f}")  # fmt: skip
    print(f"the machine itself, {args.batch_trials} bare sumo runs: one at a time {bare_one:.2f} s, "
          f"two at a time {bare_two:.2f} s -> x{bare_one / bare_two:.2f}")  # fmt: skip
    print(f"per trial in a batch with 1 worker (start-up paid once): x{one / bare_one:.2f} of bare sumo")
    print(f"peak memory of one trial process: {peak:.0f} MiB")


if __name__ == "__main__":
    main()
