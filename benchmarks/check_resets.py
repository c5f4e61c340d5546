"""Are libsumo episodes reproducible across resets in one process, in this installation?

Runs ``SignalEnv`` episodes (the same seeded random actions each time) for the seeds given, one
after another in this process, and prints a hash of every observation and reward per episode,
and whether the floating-point unit flushes denormals (a library built with fast-math turns that
on for the whole process when it is loaded). A seed that appears twice must give the same hash
both times; if it does not, run each episode in a fresh process (docs/learning.md).

    python benchmarks/check_resets.py [--network cologne1] [--duration 3600] [--seeds 104 101 104]
"""

from __future__ import annotations

import argparse
import hashlib

import numpy as np


def _flushes_denormals() -> bool:
    return (5e-324 * 1.0) == 0.0


def episode(env: object, seed: int) -> tuple[str, float]:
    """Run one episode; return its hash and total reward."""
    from signalbench.rl import SignalEnv

    assert isinstance(env, SignalEnv)
    obs, _ = env.reset(seed=seed)
    digest = hashlib.sha256(obs.tobytes())
    rng = np.random.default_rng(0)
    total, done = 0.0, False
    while not done:
        obs, reward, terminated, truncated, _ = env.step(int(rng.integers(env.action_space.n)))
        digest.update(obs.tobytes())
        digest.update(np.float64(reward).tobytes())
        total += reward
        done = terminated or truncated
    return digest.hexdigest()[:12], total


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--network", default="cologne1")
    parser.add_argument("--duration", type=float, default=3600.0)
    parser.add_argument("--seeds", type=int, nargs="+", default=[104, 101, 104])
    args = parser.parse_args()
    from signalbench.rl import SignalEnv

    network = args.network if args.network.endswith("-v0") else f"{args.network}-v0"
    env = SignalEnv(network, duration_s=args.duration)
    print(f"denormals flushed at start: {_flushes_denormals()}")
    seen: dict[int, str] = {}
    same = True
    for seed in args.seeds:
        digest, total = episode(env, seed)
        note = ""
        if seed in seen:
            agree = seen[seed] == digest
            same &= agree
            note = "same as before" if agree else f"DIFFERS from {seen[seed]}"
        seen.setdefault(seed, digest)
        print(f"seed {seed}: {digest} reward {total:.4f} {note} (denormals flushed: {_flushes_denormals()})")
    env.close()
    print("reproducible across resets" if same else "NOT reproducible across resets: use a fresh process")


if __name__ == "__main__":
    main()
