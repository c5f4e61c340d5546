"""Train a DQN agent (Stable-Baselines3) on the single light of cologne1, then evaluate it.

    pip install "signalbench[rl]" stable-baselines3
    python examples/sb3_dqn.py --timesteps 20000

The environment is signalbench's own Gymnasium environment: same backends, network model,
safety actuator and metrics as experiments, so the printed delay is comparable with
``signalbench run --network cologne1 --controller fixed-time``.
"""

from __future__ import annotations

import argparse

from stable_baselines3 import DQN

from signalbench.rl import SignalEnv


def main(argv: list[str] | None = None) -> float:
    """Train, evaluate on a held-out seed, print and return the evaluation's mean delay."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timesteps", type=int, default=20_000, help="training decisions")
    parser.add_argument("--duration-s", type=float, default=1800.0, help="episode length [s]")
    parser.add_argument("--save", default="", help="where to save the model (optional)")
    args = parser.parse_args(argv)

    env = SignalEnv("cologne1-v0", duration_s=args.duration_s)
    model = DQN(
        "MlpPolicy",
        env,
        learning_starts=min(200, args.timesteps // 2),
        train_freq=1,
        target_update_interval=500,
        exploration_fraction=0.3,
        verbose=0,
        seed=1,
    )
    model.learn(total_timesteps=args.timesteps)
    if args.save:
        model.save(args.save)

    obs, info = env.reset(seed=1)  # SUMO seed 1: not one of the training episodes' seeds
    done = False
    while not done:
        action, _ = model.predict(obs, deterministic=True)
        obs, _reward, terminated, truncated, info = env.step(action)
        done = terminated or truncated
    env.close()
    delay = float(info["metrics"]["mean_delay_s"])
    print(f"DQN on cologne1 (seed 1, {args.duration_s:g} s): mean delay {delay:.1f} s/veh")
    return delay


if __name__ == "__main__":
    main()
