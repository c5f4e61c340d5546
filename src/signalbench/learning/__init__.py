"""Learning: training learning controllers, and reinforcement-learning environments.

- Training (:func:`train`, :func:`ensure_trained`): runs the episodes of a
  :class:`~signalbench.controllers.Trainable` controller (q-learning) on training seeds and
  caches its checkpoint by content; experiments with ``train = {...}`` and ``signalbench train``
  both go through it.
- Environments: Gymnasium's :class:`SignalEnv` and PettingZoo's :class:`SignalParallelEnv` on the
  same sessions, network model, safety actuator and metrics as experiments (an
  :class:`~signalbench.runtime.Episode` stepped from outside). They need the ``rl`` extra:
  ``pip install "signalbench[rl]"``; ``signalbench.rl`` is their short import name.
"""

from __future__ import annotations

from signalbench.learning._components import (
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
from signalbench.learning._sim import SignalSim
from signalbench.learning._training import EpisodeFn, TrainingRequest, ensure_trained, store_checkpoint, train


def __getattr__(name: str) -> object:
    # The environments import gymnasium and pettingzoo (the rl extra): loaded on first use, so
    # that experiments and training never pay for them.
    if name in ("SignalEnv", "SignalParallelEnv"):
        try:
            from signalbench.learning import _envs
        except ImportError as exc:
            raise ImportError(
                f'{name} needs gymnasium and pettingzoo: pip install "signalbench[rl]" ({exc})'
            ) from exc
        return getattr(_envs, name)
    raise AttributeError(name)


__all__ = [
    "OBSERVATIONS",
    "REWARDS",
    "DiffWaitingTimeReward",
    "EpisodeFn",
    "ObservationFn",
    "PressureObservation",
    "PressureReward",
    "QueueDensityObservation",
    "QueueReward",
    "RewardFn",
    "SignalEnv",
    "SignalParallelEnv",
    "SignalSim",
    "TrainingRequest",
    "ensure_trained",
    "make_observation",
    "make_reward",
    "store_checkpoint",
    "train",
]
