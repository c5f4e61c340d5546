"""Environment steps per second: signalbench's RL environments against sumo-rl, in one run.

Per network (one simulated hour of its catalog window, 5 s steps, SUMO seed 1, libsumo for both,
teleports off, the default observation and the diff-waiting-time reward on both sides), each
variant runs in its own process; for every action seed the variants run back to back (order
rotated), repeats interleaved. Printed per network and action seed: steps per CPU-second of the
process (far less noisy than the wall clock on a shared machine), the ratio to sumo-rl and the
mean number of vehicles in the network (the traffic SUMO simulates under that signal timeline);
then per variant over all runs: steps per CPU-second (minimum, median, maximum), the median over
seeds of the per-seed ratio to sumo-rl (one gridlocked seed does not decide it), CPU milliseconds
per step inside libsumo's ``simulationStep`` and outside it (the environment's own cost), and
the wall clock:

- ``signalbench``: :class:`signalbench.rl.SignalEnv` on a one-light network,
  :class:`signalbench.rl.SignalParallelEnv` on the others (every light an agent);
- ``sumo-rl``: ``sumo_rl.SumoEnvironment`` with ``LIBSUMO_AS_TRACI=1`` (``single_agent`` on a
  one-light network), its defaults otherwise (per-step system and agent info on);
- ``sumo-rl lean``: the same with ``add_system_info=False, add_per_agent_info=False``.

The same timing rules where both can express them: 3 s yellow, no all-red, 5 s minimum green,
and no maximum green (sumo-rl takes ``max_green`` but never enforces it, so signalbench runs with
``SignalTiming(max_green_s=None)`` here; its default enforces 60 s). What cannot be matched
(neither side has a setting): a switch in which no link loses green (on cologne1, phase 1 -> 0
and 3 -> 2) starts the new green at once in signalbench, which may leave it after the 5 s
minimum, while sumo-rl shows the old phase 3 s longer as its "yellow" and then holds 5 s;
signalbench starts from the phase the network's program shows at the window's begin and decides
first 5 s later, sumo-rl starts from green phase 0 and decides at the begin. So the same random
draws give other signal timelines on the two sides and SUMO's own time differs with the traffic
they let through (docs/performance.md has the experiment).

``--policy random`` (default): actions from a generator seeded with the action seed, one draw
per light and step, the same draws on both sides. ``--policy cycle``: every light serves its
green phases in turn, 20 s each: the same signal plan on both sides, nearly the same traffic
(one action seed: the plan has no draws).

    python benchmarks/bench_rl.py [--networks cologne1 cologne8 grid4x4] [--seeds 0 1 2 3 4]
        [--repeats 1] [--policy cycle] [--variants signalbench sumo-rl]
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

    def __init__(self, kind: str, seed: int = 0) -> None:
        import numpy as np

        self.kind = kind
        self.rng = np.random.default_rng(seed)
        self.step = 0
        self.vehicles = 0  # vehicles in the network, summed over the steps
        self._count: Any = None
        self.counted = 0

    def __call__(self, n: int) -> int:
        if self.kind == "random":
            return int(self.rng.integers(n))
        return (self.step // 4) % n

    def tick(self, done: bool) -> None:
        """Count a step and, unless the episode ended (SUMO closed), the vehicles in the network."""
        self.step += 1
        if done:
            return
        if self._count is None:
            import libsumo  # both environments run SUMO in this process through libsumo

            self._count = libsumo.vehicle.getIDCount
        self.vehicles += self._count()
        self.counted += 1


def _single_agent_episode(env: Any, policy: _Policy) -> int:
    """Step a reset single-agent Gymnasium environment to its end; return the steps taken."""
    n = int(env.action_space.n)
    steps = 0
    done = False
    while not done:
        _, _, terminated, truncated, _ = env.step(policy(n))
        done = terminated or truncated
        steps += 1
        policy.tick(bool(done))
    return steps


def _signalbench(network: str, policy: _Policy) -> tuple[int, float, float]:
    from signalbench.rl import SignalEnv, SignalParallelEnv
    from signalbench.signals import SignalTiming

    _time_sumo_steps()
    timing = SignalTiming(yellow_s=3, all_red_s=0, min_green_s=5, max_green_s=None)  # as sumo-rl

    single = _lights(network) == 1
    start, cpu = time.perf_counter(), time.process_time()
    steps = 0
    if single:
        env: Any = SignalEnv(network, duration_s=DURATION_S, timing=timing)
        env.reset(seed=1)
        steps = _single_agent_episode(env, policy)
    else:
        env = SignalParallelEnv(network, duration_s=DURATION_S, timing=timing)
        env.reset(seed=1)
        sizes = {a: int(env.action_space(a).n) for a in env.possible_agents}
        while env.agents:
            env.step({a: policy(sizes[a]) for a in env.agents})
            steps += 1
            policy.tick(not env.agents)
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
        "max_green": 60,  # stored, never enforced by sumo-rl
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
            policy.tick(done)
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


def child(variant: str, network: str, policy: str = "random", seed: str = "0") -> None:
    """Run one variant in this process; print a JSON line."""
    actions = _Policy(policy, int(seed))
    if variant == "signalbench":
        steps, wall, cpu = _signalbench(network, actions)
    else:
        steps, wall, cpu = _sumo_rl(network, lean=variant == "sumo-rl lean", policy=actions)
    res = {
        "steps": steps,
        "wall_s": wall,
        "sumo_s": _IN_SUMO[0],
        "cpu_s": cpu,
        "sumo_cpu_s": _IN_SUMO[1],
        "mean_vehicles": actions.vehicles / max(1, actions.counted),
    }
    print(json.dumps(res))


def _run(variant: str, network: str, policy: str, seed: int) -> dict[str, float]:
    env = {**os.environ, "LIBSUMO_AS_TRACI": "1"}
    cmd = [sys.executable, __file__, "--child", variant, network, policy, str(seed)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{proc.stderr[-3000:]}")
    res: dict[str, float] = json.loads(proc.stdout.strip().splitlines()[-1])
    return res


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--networks", nargs="+", default=["cologne1", "cologne8", "grid4x4"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3, 4], help="action seeds")
    parser.add_argument("--repeats", type=int, default=1, help="runs per variant and action seed")
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=VARIANTS)
    parser.add_argument("--policy", choices=("random", "cycle"), default="random")
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    seeds = args.seeds if args.policy == "random" else args.seeds[:1]
    med = statistics.median
    # runs[network][variant][seed] -> the child's results, one per repeat
    runs: dict[str, dict[str, dict[int, list[dict[str, float]]]]] = {}
    k = 0
    for name in args.networks:
        network = name if name.endswith("-v0") else f"{name}-v0"
        runs[network] = {v: {s: [] for s in seeds} for v in args.variants}
        for _rep in range(args.repeats):
            for seed in seeds:
                k += 1
                order = args.variants[k % len(args.variants) :] + args.variants[: k % len(args.variants)]
                for variant in order:
                    res = _run(variant, network, args.policy, seed)
                    runs[network][variant][seed].append(res)
                    print(f"  {network} seed {seed} {variant}: {res['steps'] / res['cpu_s']:.0f} steps per "
                          f"CPU-s, {res['mean_vehicles']:.0f} vehicles", file=sys.stderr)  # fmt: skip

    def rate(r: dict[str, float]) -> float:
        return r["steps"] / r["cpu_s"]

    base_variant = "sumo-rl" if "sumo-rl" in args.variants else None
    print(f"\npolicy {args.policy}; per action seed: steps per CPU-second (median over {args.repeats} "
          "repeat(s)), x sumo-rl, mean vehicles in the network")  # fmt: skip
    head = "".join(f" {v[:18]:>18} {'x':>5} {'veh':>5}" for v in args.variants)
    print(f"{'network':<12} {'seed':>4}{head}")
    ratios: dict[str, dict[str, list[float]]] = {}
    for network, per in runs.items():
        ratios[network] = {v: [] for v in args.variants}
        for seed in seeds:
            cells = ""
            base = med(map(rate, per[base_variant][seed])) if base_variant else None
            for variant in args.variants:
                r = med(map(rate, per[variant][seed]))
                x = r / base if base else float("nan")
                ratios[network][variant].append(x)
                veh = med(res["mean_vehicles"] for res in per[variant][seed])
                cells += f" {r:18.0f} {x:5.2f} {veh:5.0f}"
            print(f"{network:<12} {seed:>4}{cells}")
    print("\nall runs: steps per CPU-second min / median / max; x sumo-rl = median over seeds of the per-seed"
          " ratio; CPU ms per step in / outside SUMO (medians); wall-clock steps/s median")  # fmt: skip
    print(f"{'network':<12} {'variant':<14} {'min':>6} {'median':>7} {'max':>6} {'x sumo-rl':>9} "
          f"{'in SUMO ms':>10} {'outside ms':>10} {'wall/s':>7}")  # fmt: skip
    for network, per in runs.items():
        for variant, by_seed in per.items():
            all_runs = [res for rs in by_seed.values() for res in rs]
            rates = [rate(res) for res in all_runs]
            in_ms = med(1000 * res["sumo_cpu_s"] / res["steps"] for res in all_runs)
            out_ms = med(1000 * (res["cpu_s"] - res["sumo_cpu_s"]) / res["steps"] for res in all_runs)
            wall = med(res["steps"] / res["wall_s"] for res in all_runs)
            x = med(ratios[network][variant]) if base_variant else float("nan")
            print(f"{network:<12} {variant:<14} {min(rates):6.0f} {med(rates):7.0f} {max(rates):6.0f} "
                  f"{x:9.2f} "
                  f"{in_ms:10.2f} {out_ms:10.2f} {wall:7.0f}")  # fmt: skip


if __name__ == "__main__":
    main()
