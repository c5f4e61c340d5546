"""Environment steps per second: signalbench's RL environments against sumo-rl, in one run.

Per network (one simulated hour of its catalog window, 5 s steps, SUMO seed 1, libsumo for both;
3 s yellow, 5 s minimum and 60 s maximum green, teleports off, the default observation and the
diff-waiting-time reward on both sides), each variant runs in its own process, repeats
interleaved. Printed: steps per second over reset and the whole episode (minimum, median and
maximum over the repeats) by the wall clock and per CPU-second of the process (far less noisy on
a shared machine), the ratio of the medians to sumo-rl, and the milliseconds per step spent
inside libsumo's ``simulationStep`` and outside it (the environment's own cost):

- ``signalbench``: :class:`signalbench.rl.SignalEnv` on a one-light network,
  :class:`signalbench.rl.SignalParallelEnv` on the others (every light an agent);
- ``sumo-rl``: ``sumo_rl.SumoEnvironment`` with ``LIBSUMO_AS_TRACI=1`` (``single_agent`` on a
  one-light network), its defaults otherwise (per-step system and agent info on);
- ``sumo-rl lean``: the same with ``add_system_info=False, add_per_agent_info=False``.

``--policy random`` (default): actions from a seeded generator, the same draws on both sides;
the two environments then simulate different traffic, since their rules differ in details
(signalbench enforces the 60 s maximum green, sumo-rl stores it but never does; after a switch
in which no link loses green, signalbench starts the new green at once and may leave it after
the 5 s minimum, sumo-rl shows the old phase 3 s longer and holds at least 10 s; signalbench's
first decision is 5 s after the window's begin, sumo-rl's at the begin), so SUMO's own time
differs too. ``--policy cycle``: every light serves its green phases in turn, 20 s each: the
same signal plan on both sides, nearly the same traffic.

    python benchmarks/bench_rl.py [--networks cologne1 cologne8 grid4x4] [--repeats 3] [--policy cycle]
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

VARIANTS = ("signalbench", "sumo-rl", "sumo-rl lean")
DURATION_S = 3600


class _Policy:
    """The actions: ``random`` (a seeded generator, one draw per light and step) or ``cycle``.

    ``cycle`` serves every light's green phases in turn, 20 s each (every 4th step); it never
    reaches the 60 s maximum green, so both environments then run the same signal plan and
    simulate nearly the same traffic (SUMO's own cost then compares too).
    """

    def __init__(self, kind: str) -> None:
        import numpy as np

        self.kind = kind
        self.rng = np.random.default_rng(0)
        self.step = 0

    def __call__(self, n: int) -> int:
        if self.kind == "random":
            return int(self.rng.integers(n))
        return (self.step // 4) % n

    def tick(self) -> None:
        self.step += 1


def _single_agent_episode(env: Any, policy: _Policy) -> int:
    """Step a reset single-agent Gymnasium environment to its end; return the steps taken."""
    n = int(env.action_space.n)
    steps = 0
    done = False
    while not done:
        _, _, terminated, truncated, _ = env.step(policy(n))
        done = terminated or truncated
        steps += 1
        policy.tick()
    return steps


def _signalbench(network: str, policy: _Policy) -> tuple[int, float, float]:
    from signalbench.rl import SignalEnv, SignalParallelEnv

    _time_sumo_steps()

    single = _lights(network) == 1
    start, cpu = time.perf_counter(), time.process_time()
    steps = 0
    if single:
        env: Any = SignalEnv(network, duration_s=DURATION_S)
        env.reset(seed=1)
        steps = _single_agent_episode(env, policy)
    else:
        env = SignalParallelEnv(network, duration_s=DURATION_S)
        env.reset(seed=1)
        sizes = {a: int(env.action_space(a).n) for a in env.possible_agents}
        while env.agents:
            env.step({a: policy(sizes[a]) for a in env.agents})
            steps += 1
            policy.tick()
    env.close()
    return steps, time.perf_counter() - start, time.process_time() - cpu


def _lights(network: str) -> int:
    from signalbench.networks import catalog, load_network_model

    return len(load_network_model(catalog()[network].scenario().net_file).intersections)


def _sumo_rl(network: str, lean: bool, policy: _Policy) -> tuple[int, float, float]:
    from signalbench.networks import catalog
    from signalbench.sim import sumo_home

    os.environ.setdefault("SUMO_HOME", str(sumo_home()))
    from sumo_rl import SumoEnvironment

    _time_sumo_steps()  # after sumo-rl's import: its ``traci`` is then libsumo itself

    sc = catalog()[network].scenario()
    probe_single = _lights(network) == 1
    start, cpu = time.perf_counter(), time.process_time()
    kwargs: dict[str, Any] = {
        "net_file": str(sc.net_file),
        "route_file": ",".join(str(r) for r in sc.route_files),
        "begin_time": int(sc.begin_s),
        "num_seconds": DURATION_S,
        "delta_time": 5,
        "yellow_time": 3,
        "min_green": 5,
        "max_green": 60,
        "sumo_seed": 1,
        "time_to_teleport": -1,
        "sumo_warnings": False,
    }
    if lean:
        kwargs.update(add_system_info=False, add_per_agent_info=False)
    env = SumoEnvironment(single_agent=probe_single, **kwargs)
    env.reset()
    steps = 0
    if probe_single:
        steps = _single_agent_episode(env, policy)
    else:
        sizes = {ts: int(env.action_spaces(ts).n) for ts in env.ts_ids}
        done = False
        while not done:
            _, _, dones, _ = env.step({ts: policy(sizes[ts]) for ts in env.ts_ids})
            done = dones["__all__"]
            steps += 1
            policy.tick()
    env.close()
    return steps, time.perf_counter() - start, time.process_time() - cpu


_IN_SUMO = [0.0, 0.0]  # wall and CPU seconds inside simulationStep


def _time_sumo_steps() -> None:
    """Count the time spent inside libsumo's simulationStep (both sides call it through the module)."""
    from signalbench.sim import sumo_home

    os.environ.setdefault("SUMO_HOME", str(sumo_home()))
    import libsumo
    import traci  # with LIBSUMO_AS_TRACI, sumo-rl's ``traci`` holds libsumo's functions

    for module in (libsumo, traci):
        step = getattr(module, "simulationStep", None)
        if step is None:  # plain traci (no LIBSUMO_AS_TRACI in this process): not used here
            continue

        def timed(*args: Any, _step: Any = step) -> Any:
            a, c = time.perf_counter(), time.process_time()
            try:
                return _step(*args)
            finally:
                _IN_SUMO[0] += time.perf_counter() - a
                _IN_SUMO[1] += time.process_time() - c

        module.simulationStep = timed


def child(variant: str, network: str, policy: str = "random") -> None:
    """Run one variant in this process; print a JSON line."""
    if variant == "signalbench":
        steps, wall, cpu = _signalbench(network, _Policy(policy))
    else:
        steps, wall, cpu = _sumo_rl(network, lean=variant == "sumo-rl lean", policy=_Policy(policy))
    res = {"steps": steps, "wall_s": wall, "sumo_s": _IN_SUMO[0], "cpu_s": cpu, "sumo_cpu_s": _IN_SUMO[1]}
    print(json.dumps(res))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--networks", nargs="+", default=["cologne1", "cologne8", "grid4x4"])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=VARIANTS)
    parser.add_argument("--policy", choices=("random", "cycle"), default="random")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    rates: dict[str, dict[str, list[float]]] = {}
    cpu_rates: dict[str, dict[str, list[float]]] = {}
    outside: dict[str, dict[str, list[float]]] = {}
    outside_cpu: dict[str, dict[str, list[float]]] = {}
    inside_cpu: dict[str, dict[str, list[float]]] = {}
    steps: dict[str, dict[str, int]] = {}
    for name in args.networks:
        network = name if name.endswith("-v0") else f"{name}-v0"
        for table in (rates, cpu_rates, outside, outside_cpu, inside_cpu):
            table[network] = {v: [] for v in args.variants}
        steps[network] = {}
        for rep in range(args.repeats):
            k = rep % len(args.variants)
            for variant in args.variants[k:] + args.variants[:k]:
                env = {**os.environ, "LIBSUMO_AS_TRACI": "1"}
                cmd = [sys.executable, __file__, "--child", variant, network, args.policy]
                proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
                if proc.returncode != 0:
                    raise SystemExit(f"failed: {' '.join(cmd)}\n{proc.stderr[-3000:]}")
                res = json.loads(proc.stdout.strip().splitlines()[-1])
                n = res["steps"]
                rates[network][variant].append(n / res["wall_s"])
                cpu_rates[network][variant].append(n / res["cpu_s"])
                outside[network][variant].append(1000 * (res["wall_s"] - res["sumo_s"]) / n)
                outside_cpu[network][variant].append(1000 * (res["cpu_s"] - res["sumo_cpu_s"]) / n)
                inside_cpu[network][variant].append(1000 * res["sumo_cpu_s"] / n)
                steps[network][variant] = n
                rate, cpu_rate = n / res["wall_s"], n / res["cpu_s"]
                print(f"  {network} {variant}: {rate:.0f} steps/s, {cpu_rate:.0f} per CPU-s", file=sys.stderr)
    med = statistics.median
    print("\nwall clock: steps per second (min / median / max over the repeats), ms per step outside SUMO")
    print(f"{'network':<12} {'variant':<14} {'steps':>6} {'min':>6} {'median':>7} {'max':>6} "
          f"{'x sumo-rl':>9} {'outside ms':>10}")  # fmt: skip
    for network, per in rates.items():
        base = med(per["sumo-rl"]) if per.get("sumo-rl") else None
        for variant, r in per.items():
            ratio = f"{med(r) / base:9.2f}" if base else ""
            out_ms = med(outside[network][variant])
            print(f"{network:<12} {variant:<14} {steps[network][variant]:>6} {min(r):6.0f} "
                  f"{med(r):7.0f} {max(r):6.0f} {ratio:>9} {out_ms:10.2f}")  # fmt: skip
    print("\nCPU time (process_time; robust to load): steps per CPU-second, CPU ms per step in/out SUMO")
    print(f"{'network':<12} {'variant':<14} {'min':>6} {'median':>7} {'max':>6} {'x sumo-rl':>9} "
          f"{'in SUMO ms':>10} {'outside ms':>10}")  # fmt: skip
    for network, per in cpu_rates.items():
        base = med(per["sumo-rl"]) if per.get("sumo-rl") else None
        for variant, r in per.items():
            ratio = f"{med(r) / base:9.2f}" if base else ""
            in_ms, out_ms = med(inside_cpu[network][variant]), med(outside_cpu[network][variant])
            print(f"{network:<12} {variant:<14} {min(r):6.0f} {med(r):7.0f} {max(r):6.0f} {ratio:>9} "
                  f"{in_ms:10.2f} {out_ms:10.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
