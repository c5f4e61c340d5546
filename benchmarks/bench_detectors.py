"""What the intersection-metrics file costs SUMO, part by part, on a city preset.

Plain ``sumo`` on the preset's first ``--duration`` seconds, with: nothing extra (``bare``),
signalbench's default measurement file (``all``: ``edgeData`` and switch states), the file with
the opt-in longest-queue detectors (``all+e2``, ``[metrics] queue_max = true``), and each part
alone: the lane-area (E2) detectors on every incoming lane, the ``edgeData`` of the
approaches, the ``SaveTLSSwitchStates`` events. Repeats interleaved; printed: the CPU time of the SUMO process
(user + system, far steadier than wall time on a loaded machine; minimum and median), its
ratio to ``bare`` (minima), and the wall time beside it.

    python benchmarks/bench_detectors.py [--preset city-128] [--duration 300] [--repeats 3]
        [--variants bare all all+e2 e2 edgedata tls]

At ``city-1024`` one SUMO run of 300 s takes a minute or more of CPU: choose the variants
(``--variants bare all``) and keep the duration short.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

PARTS = {"e2": "<laneAreaDetector", "edgedata": "<edgeData", "tls": "<timedEvent"}


def _cpu_s(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    """CPU time (user + system) and wall time of one SUMO run [s]."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}")
    return usage.ru_utime + usage.ru_stime, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--preset", default="city-128")
    parser.add_argument("--duration", type=float, default=300.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--variants",
        nargs="+",
        default=["bare", "all", "all+e2", *PARTS],
        choices=["bare", "all", "all+e2", *PARTS],
    )
    args = parser.parse_args()
    if "bare" not in args.variants:
        parser.error("--variants needs bare (the ratios' base)")

    import dataclasses

    from signalbench.metrics import write_measurement_file
    from signalbench.networks import load_network_model, preset_scenario
    from signalbench.runtime import Session
    from signalbench.sim import sumo_binary, sumo_env

    sc = preset_scenario(args.preset, seed=1)
    sc = dataclasses.replace(sc, end_s=sc.begin_s + args.duration)
    model = load_network_model(sc.net_file)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        full = write_measurement_file(model, work / "all+e2", interval_s=300.0, queue_max=True)
        default = write_measurement_file(model, work / "all", interval_s=300.0)
        files: dict[str, tuple[Path, ...]] = {"bare": (), "all": (default,), "all+e2": (full,)}
        lines = full.read_text().splitlines()
        for part, tag in PARTS.items():
            path = work / "all+e2" / f"{part}.add.xml"
            kept = [ln for ln in lines[1:-1] if ln.strip().startswith(tag)]
            path.write_text("\n".join(["<additional>", *kept, "</additional>"]) + "\n")
            files[part] = (path,)
        files = {k: v for k, v in files.items() if k in args.variants}
        cpu: dict[str, list[float]] = {k: [] for k in files}
        wall: dict[str, list[float]] = {k: [] for k in files}
        for rep in range(args.repeats):
            names = list(files)
            k = rep % len(names)
            for name in names[k:] + names[:k]:
                out = work / name
                out.mkdir(exist_ok=True)
                cfg = Session(sc).config(seed=1, outdir=out).with_additional(files[name])
                c, w = _cpu_s(cfg.command(sumo_binary()), sumo_env())
                cpu[name].append(c)
                wall[name].append(w)
                print(f"  {name}: cpu {c:.1f} s, wall {w:.1f} s, load {os.getloadavg()[0]:.1f}", flush=True)
    base = min(cpu["bare"])
    print(f"{args.preset}, first {args.duration:g} s, {len(model.intersections)} signals, "
          f"{args.repeats} repeats; SUMO CPU time (user + system), wall time beside it")  # fmt: skip
    print(f"{'variant':<10} {'cpu min s':>9} {'median s':>9} {'x bare':>7} {'wall min':>8} {'median':>7}")
    for name, values in cpu.items():
        print(f"{name:<10} {min(values):9.2f} {statistics.median(values):9.2f} {min(values) / base:7.2f} "
              f"{min(wall[name]):8.1f} {statistics.median(wall[name]):7.1f}")  # fmt: skip


if __name__ == "__main__":
    main()
