"""Reinforcement-learning interfaces: Gymnasium and PettingZoo environments on the harness.

They use the same backends, network model, safety actuator and metrics as experiments; an
episode is an :class:`~signalbench.experiments._episode.Episode` stepped from outside.
Needs the ``rl`` extra: ``pip install "signalbench[rl]"``.
"""

from __future__ import annotations

from signalbench.rl._components import (
    OBSERVATIONS,
    REWARDS,
    DiffWaitingTimeReward,
    ObservationFn,
    PressureObservation,
    PressureReward,
    QueueDensityObservation,
    QueueReward,
    RewardFn,
    make_observation,
    make_reward,
)
from signalbench.rl._core import SignalSim

try:
    from signalbench.rl._envs import SignalEnv, SignalParallelEnv
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    _missing = exc

    def __getattr__(name: str) -> object:
        if name in ("SignalEnv", "SignalParallelEnv"):
            raise ImportError(
                f'{name} needs gymnasium and pettingzoo: pip install "signalbench[rl]" ({_missing})'
            )
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
