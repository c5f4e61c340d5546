"""Which rule difference makes random actions carry more traffic in signalbench than in sumo-rl?

One change at a time, on one network (default cologne1), one simulated hour, 5 s steps, libsumo,
SUMO seed 1, the same seeded random draws on every variant (one draw per step), each run in its
own process. Printed per variant and action seed: the mean number of vehicles in the network
(over the steps; what SUMO has to simulate), then the median and mean over seeds and SUMO's CPU
milliseconds per step.

- ``signalbench``: :class:`signalbench.rl.SignalEnv` with its default timing (3 s yellow, 5 s
  minimum green, 60 s maximum green enforced);
- ``signalbench no-max``: the same with ``max_green_s=None`` (sumo-rl never enforces its max);
- ``sumo-rl``: ``SumoEnvironment`` (3 s yellow, 5 s min green, ``max_green=60`` stored only);
- ``sumo-rl direct``: sumo-rl with signalbench's rule for a switch in which no link loses green
  (the new green at once, and it may be left after the 5 s minimum), patched into
  ``TrafficSignal.set_next_phase`` for this experiment only;
- ``sumo-rl late``: sumo-rl deciding first 5 s after the begin, as signalbench (its first
  action holds the initial phase; the draws start at the second);
- ``sumo-rl direct late``: both changes.

    python benchmarks/rl_rule_differences.py [--network cologne1] [--seeds 0 1 2 3 4 5 6 7 8 9]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from typing import Any

VARIANTS = (
    "signalbench",
    "signalbench no-max",
    "sumo-rl",
    "sumo-rl direct",
    "sumo-rl late",
    "sumo-rl direct late",
)
DURATION_S = 3600
_IN_SUMO = [0.0]


def _time_steps(module: Any) -> None:
    step = module.simulationStep

    def timed(*args: Any) -> Any:
        c = time.process_time()
        try:
            return step(*args)
        finally:
            _IN_SUMO[0] += time.process_time() - c

    module.simulationStep = timed


def _signalbench(network: str, variant: str, rng: Any) -> tuple[list[int], int]:
    import libsumo

    from signalbench.rl import SignalEnv
    from signalbench.signals import SignalTiming

    _time_steps(libsumo)
    timing = SignalTiming(max_green_s=None) if "no-max" in variant else SignalTiming()
    env = SignalEnv(network, duration_s=DURATION_S, timing=timing)
    env.reset(seed=1)
    return _random_actions(env, rng, libsumo.vehicle.getIDCount, 0)


def _direct_switches() -> None:
    """Patch sumo-rl: a switch in which no link loses green starts the new green at once."""
    from sumo_rl.environment.traffic_signal import TrafficSignal

    original = TrafficSignal.set_next_phase

    def set_next_phase(self: Any, new_phase: int) -> None:
        new_phase = int(new_phase)
        if (
            self.green_phase != new_phase
            and self.time_since_last_phase_change >= self.yellow_time + self.min_green
        ):
            old, new = self.green_phases[self.green_phase].state, self.green_phases[new_phase].state
            if not any(a in "Gg" and b not in "Gg" for a, b in zip(old, new, strict=True)):
                self.sumo.trafficlight.setRedYellowGreenState(self.id, new)
                self.green_phase = new_phase
                self.next_action_time = self.env.sim_step + self.delta_time
                self.is_yellow = False
                # sumo-rl counts min green from the yellow's start: as if a yellow had just ended
                self.time_since_last_phase_change = self.yellow_time
                return
        original(self, new_phase)

    TrafficSignal.set_next_phase = set_next_phase  # type: ignore[method-assign]


def _sumo_rl(network: str, variant: str, rng: Any) -> tuple[list[int], int]:
    from signalbench.networks import catalog
    from signalbench.sim import sumo_home

    os.environ.setdefault("SUMO_HOME", str(sumo_home()))
    import traci  # libsumo itself under LIBSUMO_AS_TRACI
    from sumo_rl import SumoEnvironment

    _time_steps(traci)
    if "direct" in variant:
        _direct_switches()
    sc = catalog()[network].scenario()
    env = SumoEnvironment(
        net_file=str(sc.net_file), route_file=",".join(map(str, sc.route_files)), begin_time=int(sc.begin_s),
        num_seconds=DURATION_S, delta_time=5, yellow_time=3, min_green=5, max_green=60, sumo_seed=1,
        time_to_teleport=-1, sumo_warnings=False, single_agent=True, add_system_info=False,
        add_per_agent_info=False,
    )  # fmt: skip
    env.reset()
    light = env.traffic_signals[env.ts_ids[0]]
    steps = 0
    if "late" in variant:  # hold the initial phase at the begin: the first real decision 5 s later
        env.step(light.green_phase)
        steps += 1
    counts, steps = _random_actions(env, rng, traci.vehicle.getIDCount, steps)
    env.close()
    return counts, steps


def _random_actions(env: Any, rng: Any, count: Any, steps: int) -> tuple[list[int], int]:
    """Step ``env`` with uniformly drawn actions to its end; vehicles in the network after each step."""
    n, done, counts = int(env.action_space.n), False, []
    while not done:
        _, _, terminated, truncated, _ = env.step(int(rng.integers(n)))
        done = terminated or truncated
        steps += 1
        if not done:
            counts.append(count())
    return counts, steps


def child(variant: str, network: str, seed: int) -> None:
    """Run one variant and action seed in this process; print a JSON line."""
    import numpy as np

    rng = np.random.default_rng(seed)
    cpu = time.process_time()
    run = _signalbench if variant.startswith("signalbench") else _sumo_rl
    counts, steps = run(network, variant, rng)
    cpu = time.process_time() - cpu
    print(
        json.dumps(
            {"mean_vehicles": float(np.mean(counts)), "steps": steps, "cpu_s": cpu, "sumo_cpu_s": _IN_SUMO[0]}
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--network", default="cologne1")
    parser.add_argument("--seeds", nargs="+", type=int, default=list(range(10)), help="action seeds")
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=VARIANTS)
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], args.child[1], int(args.child[2]))
        return
    network = args.network if args.network.endswith("-v0") else f"{args.network}-v0"
    res: dict[str, dict[int, dict[str, float]]] = {v: {} for v in args.variants}
    for seed in args.seeds:
        for variant in args.variants:
            cmd = [sys.executable, __file__, "--child", variant, network, str(seed)]
            proc = subprocess.run(
                cmd, capture_output=True, text=True, env={**os.environ, "LIBSUMO_AS_TRACI": "1"}, check=False
            )
            if proc.returncode != 0:
                raise SystemExit(f"failed: {' '.join(cmd)}\n{proc.stderr[-3000:]}")
            res[variant][seed] = json.loads(proc.stdout.strip().splitlines()[-1])
            print(
                f"  seed {seed} {variant}: {res[variant][seed]['mean_vehicles']:.1f} vehicles",
                file=sys.stderr,
            )
    print(
        f"\n{network}: mean vehicles in the network per action seed; median, mean over seeds; "
        "SUMO CPU ms per step"
    )
    print(
        f"{'variant':<20} "
        + " ".join(f"{s:>5}" for s in args.seeds)
        + f" {'median':>7} {'mean':>6} {'SUMO ms':>8}"
    )
    for variant, per in res.items():
        veh = [per[s]["mean_vehicles"] for s in args.seeds]
        ms = statistics.median(1000 * per[s]["sumo_cpu_s"] / per[s]["steps"] for s in args.seeds)
        cells = " ".join(f"{v:5.0f}" for v in veh)
        print(f"{variant:<20} {cells} {statistics.median(veh):7.1f} {statistics.mean(veh):6.1f} {ms:8.2f}")


if __name__ == "__main__":
    main()
