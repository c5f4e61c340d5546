"""Reinforcement-learning environments: the short import name of :mod:`signalbench.learning`'s.

``from signalbench.rl import SignalEnv, SignalParallelEnv`` (needs ``pip install "signalbench[rl]"``).
"""

from typing import TYPE_CHECKING

from signalbench.learning import (
    OBSERVATIONS,
    REWARDS,
    DiffWaitingTimeReward,
    ObservationFn,
    PressureObservation,
    PressureReward,
    QueueDensityObservation,
    QueueReward,
    RewardFn,
    SignalSim,
    make_observation,
    make_reward,
)

if TYPE_CHECKING:
    from signalbench.learning import SignalEnv, SignalParallelEnv


def __getattr__(name: str) -> object:
    # The environments import gymnasium and pettingzoo: resolved on use, with the install hint.
    if name in ("SignalEnv", "SignalParallelEnv"):
        import signalbench.learning as learning

        return getattr(learning, name)
    raise AttributeError(name)


__all__ = [
    "OBSERVATIONS",
    "REWARDS",
    "DiffWaitingTimeReward",
    "ObservationFn",
    "PressureObservation",
    "PressureReward",
    "QueueDensityObservation",
    "QueueReward",
    "RewardFn",
    "SignalEnv",
    "SignalParallelEnv",
    "SignalSim",
    "make_observation",
    "make_reward",
]
