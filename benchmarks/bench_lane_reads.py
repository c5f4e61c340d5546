"""How to read every watched lane at a decision: getters, variable or context subscriptions.

For generated grids of 2k to 20k lanes (the ``city-256`` and ``city-1024`` presets and a 50 x 50
grid), each way of reading runs in its own process (libsumo holds one simulation per process):
SUMO warms up for ``--warmup`` simulated seconds, then ``--decisions`` decisions 5 s apart each
advance SUMO in one call and read the watched fields of every lane of every light (incoming and
outgoing, in the episode's order) into numpy arrays. Printed per method: milliseconds of the
read and of the 5 s advance (subscriptions are computed inside SUMO's step), and their sum,
minimum over the decisions (median in brackets).

- ``getters``: one call per lane and field (``lane.getLastStepHaltingNumber(id)``);
- ``subscribe``: a variable subscription per lane, read with ``lane.getAllSubscriptionResults()``;
- ``context``: one context subscription on a junction covering the whole network (domain lane),
  read with ``junction.getContextSubscriptionResults(id)``; internal lanes come along.

    python benchmarks/bench_lane_reads.py [--sizes 256 1024 2500] [--backends libsumo traci]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from signalbench.networks import PRESETS, generated_scenario, load_network_model
from signalbench.sim import SimConfig, sumo_binary, sumo_env

METHODS = ("getters", "subscribe", "context")
FIELDS = {
    "halting": ("halting_count",),
    "4 fields": ("vehicle_count", "halting_count", "occupancy", "mean_speed_m_s"),
}


def _scenario(signals: int) -> Any:
    name = f"city-{signals}"
    if name in PRESETS:
        entry = dict(PRESETS[name])
    else:
        side = round(signals**0.5)
        entry = {"generator": "grid", "rows": side, "cols": side, "lanes": 2, "flow_veh_h": 300.0}
    flow = float(entry.pop("flow_veh_h"))
    entry.pop("name", None)
    return generated_scenario(entry, flow_veh_h=flow, seed=1)


def _lanes(net_file: Path) -> list[str]:
    model = load_network_model(net_file)
    index: dict[str, None] = {}
    for spec in model.intersections:
        for lane in (*spec.incoming_lanes, *spec.outgoing_lanes):
            index.setdefault(lane.id, None)
    return list(index)


def child(signals: int, backend: str, method: str, fields: str, warmup: float, decisions: int) -> None:
    """Measure one method in this process; print a JSON line."""
    sc = _scenario(signals)
    lanes = _lanes(sc.net_file)
    cfg = SimConfig.for_scenario(sc, seed=1, time_to_teleport_s=-1)
    cmd = cfg.command(sumo_binary())
    if backend == "libsumo":
        import libsumo as api
    else:
        import traci as api
    api.start(cmd) if backend == "libsumo" else api.start(cmd, port=None)
    tc = __import__("traci").constants
    var_of = {
        "vehicle_count": tc.LAST_STEP_VEHICLE_NUMBER,
        "halting_count": tc.LAST_STEP_VEHICLE_HALTING_NUMBER,
        "occupancy": tc.LAST_STEP_OCCUPANCY,
        "mean_speed_m_s": tc.LAST_STEP_MEAN_SPEED,
    }
    names = FIELDS[fields]
    variables = [var_of[f] for f in names]
    getter = {
        "vehicle_count": api.lane.getLastStepVehicleNumber,
        "halting_count": api.lane.getLastStepHaltingNumber,
        "occupancy": api.lane.getLastStepOccupancy,
        "mean_speed_m_s": api.lane.getLastStepMeanSpeed,
    }
    row = {lane: i for i, lane in enumerate(lanes)}
    junction = api.junction.getIDList()[0]
    if method == "subscribe":
        for lane in lanes:
            api.lane.subscribe(lane, variables)
    elif method == "context":
        api.junction.subscribeContext(junction, tc.CMD_GET_LANE_VARIABLE, 1e7, variables)

    def read() -> list[np.ndarray]:
        if method == "getters":
            return [np.array([getter[f](lane) for lane in lanes], dtype=np.float64) for f in names]
        if method == "subscribe":
            got = api.lane.getAllSubscriptionResults()
            return [np.array([got[lane][v] for lane in lanes], dtype=np.float64) for v in variables]
        got = api.junction.getContextSubscriptionResults(junction)
        out = [np.full(len(lanes), np.nan) for _ in variables]
        for lane, values in got.items():
            i = row.get(lane)
            if i is not None:
                for arr, v in zip(out, variables, strict=True):
                    arr[i] = values[v]
        return out

    api.simulationStep(warmup)
    t = warmup
    step_ms, read_ms = [], []
    reference = None
    for _ in range(decisions):
        t += 5.0
        a = time.perf_counter()
        api.simulationStep(t)
        b = time.perf_counter()
        values = read()
        c = time.perf_counter()
        step_ms.append(1000 * (b - a))
        read_ms.append(1000 * (c - b))
        reference = float(sum(np.nansum(v) for v in values))
    api.close()
    print(json.dumps({"lanes": len(lanes), "step": step_ms, "read": read_ms, "checksum": reference}))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", nargs="+", type=int, default=[256, 1024, 2500])
    parser.add_argument("--backends", nargs="+", default=["libsumo", "traci"])
    parser.add_argument("--fields", nargs="+", default=list(FIELDS), choices=list(FIELDS))
    parser.add_argument("--warmup", type=float, default=60.0)
    parser.add_argument("--decisions", type=int, default=10)
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        signals, backend, method, fields = args.child
        child(int(signals), backend, method, fields, args.warmup, args.decisions)
        return
    print(f"{'signals':>7} {'lanes':>6} {'backend':<8} {'fields':<8} {'method':<10} "
          f"{'read ms':>16} {'advance ms':>16} {'total ms':>9}")  # fmt: skip
    for signals in args.sizes:
        _scenario(signals)  # build once, outside the timings
        for backend in args.backends:
            for fields in args.fields:
                checks = set()
                for method in METHODS:
                    cmd = [sys.executable, __file__, "--child", str(signals), backend, method, fields]
                    cmd += ["--warmup", str(args.warmup), "--decisions", str(args.decisions)]
                    proc = subprocess.run(cmd, capture_output=True, text=True, env=sumo_env(), check=False)
                    if proc.returncode != 0:
                        raise SystemExit(f"failed: {' '.join(cmd)}\n{proc.stderr[-3000:]}")
                    res = json.loads(proc.stdout.strip().splitlines()[-1])
                    checks.add(res["checksum"])
                    r, s = res["read"], res["step"]
                    total = min(x + y for x, y in zip(r, s, strict=True))
                    print(
                        f"{signals:>7} {res['lanes']:>6} {backend:<8} {fields:<8} {method:<10} "
                        f"{min(r):7.2f} ({statistics.median(r):6.2f}) "
                        f"{min(s):7.1f} ({statistics.median(s):6.1f}) {total:9.1f}",
                        flush=True,
                    )
                if len(checks) != 1:
                    print(f"  warning: the methods read different values ({sorted(checks)})")


if __name__ == "__main__":
    main()
