"""The peer for bench_speed.py: a max-pressure episode driven through sumo-rl.

Run as a script (a whole process, start-up included, like the signalbench variants):

    python benchmarks/_sumo_rl_peer.py NET_FILE ROUTE_FILE BEGIN_S DURATION_S

Uses sumo-rl's own environment loop (decision every 5 s, 3 s yellow, 5 s min green, 60 s max
green, seed 1, teleports off), with max-pressure computed from its TraCI connection. Set
LIBSUMO_AS_TRACI=1 to make sumo-rl use libsumo.
"""

from __future__ import annotations

import os
import sys

from signalbench.sim import sumo_home

os.environ.setdefault("SUMO_HOME", str(sumo_home()))

from sumo_rl import SumoEnvironment


def main() -> None:
    net, routes, begin, duration = sys.argv[1], sys.argv[2], int(float(sys.argv[3])), int(float(sys.argv[4]))
    env = SumoEnvironment(
        net_file=net, route_file=routes, begin_time=begin, num_seconds=duration, delta_time=5,
        yellow_time=3, min_green=5, max_green=60, sumo_seed=1, time_to_teleport=-1, sumo_warnings=False,
        add_system_info=False, add_per_agent_info=False,
    )  # fmt: skip
    env.reset()
    links: dict[str, list[tuple[str, str]]] = {}
    for ts_id, ts in env.traffic_signals.items():
        links[ts_id] = [
            (group[0][0], group[0][1]) if group else ("", "")
            for group in ts.sumo.trafficlight.getControlledLinks(ts_id)
        ]
    done = False
    while not done:
        actions = {}
        for ts_id in env.ts_ids:
            ts = env.traffic_signals[ts_id]
            if not ts.time_to_act:
                continue
            halting = ts.sumo.lane.getLastStepHaltingNumber
            pressures = []
            for phase in ts.green_phases:
                p = 0
                for i, (src, dst) in enumerate(links[ts_id]):
                    if src and phase.state[i] in "Gg":
                        p += halting(src) - halting(dst)
                pressures.append(p)
            actions[ts_id] = max(range(len(pressures)), key=pressures.__getitem__)
        _, _, dones, _ = env.step(actions)
        done = dones["__all__"]
    env.close()


if __name__ == "__main__":
    main()
