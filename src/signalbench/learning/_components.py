"""Observation and reward components of the reinforcement-learning environments.

Both are small typed objects, bound to one intersection at the start of each episode.
Built-ins are known by name (``OBSERVATIONS`` / ``REWARDS``); users register their own or
pass instances.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, runtime_checkable

import numpy as np

from signalbench._util import did_you_mean
from signalbench.controllers import IntersectionObs
from signalbench.errors import SpecError
from signalbench.networks import IntersectionSpec
from signalbench.signals import SignalTiming

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
    "make_observation",
    "make_reward",
]

_VEHICLE_SPACE_M = 7.5  # lane length one queued car occupies, gap included [m]


@runtime_checkable
class ObservationFn(Protocol):
    """Turns an :class:`IntersectionObs` into a fixed-length float vector.

    ``bind`` is called once per intersection and episode and returns the vector's bounds
    (low, high), which fix the observation space.
    """

    name: str
    observed_lane_fields: tuple[str, ...]

    def bind(self, spec: IntersectionSpec, timing: SignalTiming) -> tuple[np.ndarray, np.ndarray]:
        """Prepare for ``spec``; return the (low, high) bounds of the vector."""

    def __call__(self, obs: IntersectionObs) -> np.ndarray:
        """Return the observation vector (float32)."""


@runtime_checkable
class RewardFn(Protocol):
    """Scores the last decision of one intersection from the observation that followed it."""

    name: str
    observed_lane_fields: tuple[str, ...]

    def reset(self, spec: IntersectionSpec) -> None:
        """Forget the previous episode."""

    def __call__(self, obs: IntersectionObs) -> float:
        """Return the reward of the step that led to ``obs``."""


def _capacity(spec: IntersectionSpec) -> np.ndarray:
    return np.maximum(np.array([ln.length_m for ln in spec.incoming_lanes]) / _VEHICLE_SPACE_M, 1.0)


def _one_hot(obs: IntersectionObs) -> np.ndarray:
    out = np.zeros(obs.n_phases, dtype=np.float32)
    out[obs.phase] = 1.0
    return out


class QueueDensityObservation:
    """Default observation: phase one-hot, minimum-green-done flag, lane densities and queues.

    Per incoming lane: density (vehicles / lane capacity) and queue (halting vehicles / lane
    capacity), clipped to [0, 1]; the capacity is the lane length / 7.5 m.

    The same layout as sumo-rl's default observation, so results compare.
    """

    name: str = "queue-density"
    observed_lane_fields: tuple[str, ...] = ("vehicle_count", "halting_count")

    def __init__(self) -> None:
        self._capacity = np.ones(0)
        self._min_green_s = 0.0
        self._size = self._phases = self._lanes = 0

    def bind(self, spec: IntersectionSpec, timing: SignalTiming) -> tuple[np.ndarray, np.ndarray]:
        """Fix the lane capacities; the vector has n_phases + 1 + 2 * n_lanes entries."""
        self._capacity = _capacity(spec)
        self._min_green_s = timing.min_green_s
        self._phases, self._lanes = spec.n_phases, len(spec.incoming_lanes)
        self._size = size = spec.n_phases + 1 + 2 * len(spec.incoming_lanes)
        return np.zeros(size, dtype=np.float32), np.ones(size, dtype=np.float32)

    def __call__(self, obs: IntersectionObs) -> np.ndarray:
        """Build the vector (written in place into a new float32 array: one allocation per call)."""
        n, lanes = self._phases, self._lanes
        out = np.zeros(self._size, dtype=np.float32)
        out[obs.phase] = 1.0
        out[n] = not obs.in_transition and obs.time_in_phase_s >= self._min_green_s
        # Clipped to [0, 1] in float64 and rounded once to float32 (np.clip(...).astype(np.float32)
        # gives the same numbers; two plain ufuncs cost less than np.clip's wrappers).
        for values, into in (
            (obs.in_vehicles, out[n + 1 : n + 1 + lanes]),
            (obs.in_halting, out[n + 1 + lanes :]),
        ):
            share = values / self._capacity
            np.maximum(share, 0.0, out=share)
            np.minimum(share, 1.0, out=into, casting="same_kind")
        return out


class PressureObservation:
    """Phase one-hot, then every green phase's pressure, scaled.

    The pressure is halting vehicles in minus out over the movements the phase serves,
    divided by ``scale_veh`` and clipped to [-1, 1].
    """

    name: str = "pressure"
    observed_lane_fields: tuple[str, ...] = ("halting_count",)

    def __init__(self, scale_veh: float = 50.0) -> None:
        self.scale_veh = scale_veh

    def bind(self, spec: IntersectionSpec, timing: SignalTiming) -> tuple[np.ndarray, np.ndarray]:
        """Return the bounds; the vector has 2 * n_phases entries."""
        n = spec.n_phases
        low = np.concatenate([np.zeros(n), -np.ones(n)]).astype(np.float32)
        return low, np.ones(2 * n, dtype=np.float32)

    def __call__(self, obs: IntersectionObs) -> np.ndarray:
        """Build the vector."""
        pressure = np.clip(obs.phase_pressures() / self.scale_veh, -1.0, 1.0)
        return np.concatenate([_one_hot(obs), pressure]).astype(np.float32)


class DiffWaitingTimeReward:
    """Default reward: the decrease of the waiting time on the incoming lanes since the last decision.

    The total over the vehicles on the incoming lanes of SUMO's waiting time (time spent
    below 0.1 m/s since the vehicle last moved), in hundreds of seconds; positive when
    queues are served. Read as one lane total per lane (``waiting_time_s``, SUMO's
    ``lane.getWaitingTime``: the same sum), not vehicle by vehicle.
    """

    name: str = "diff-waiting-time"
    observed_lane_fields: tuple[str, ...] = ("waiting_time_s",)

    def __init__(self) -> None:
        self._last = 0.0

    def reset(self, spec: IntersectionSpec) -> None:
        """Start from zero waiting."""
        self._last = 0.0

    def __call__(self, obs: IntersectionObs) -> float:
        """Previous minus current total waiting time, in hundreds of seconds."""
        waiting = obs.in_waiting_time_s
        if waiting is None:
            raise SpecError("the diff-waiting-time reward needs the lanes' waiting time (perfect sensing)")
        total = float(waiting.sum()) / 100.0
        reward, self._last = self._last - total, total
        return reward


class QueueReward:
    """Minus the number of halting vehicles on the incoming lanes [veh]."""

    name: str = "queue"
    observed_lane_fields: tuple[str, ...] = ("halting_count",)

    def reset(self, spec: IntersectionSpec) -> None:
        """Nothing to remember."""

    def __call__(self, obs: IntersectionObs) -> float:
        """Return the negative queue."""
        return -float(obs.in_halting.sum())


class PressureReward:
    """Minus the absolute intersection pressure (halting in minus halting out over all movements) [veh]."""

    name: str = "pressure"
    observed_lane_fields: tuple[str, ...] = ("halting_count",)

    def reset(self, spec: IntersectionSpec) -> None:
        """Nothing to remember."""

    def __call__(self, obs: IntersectionObs) -> float:
        """Return the negative absolute pressure."""
        return -abs(float(obs.movement_pressures().sum()))


#: Built-in observations by name; add your own factory here to use it by name.
OBSERVATIONS: dict[str, Callable[[], ObservationFn]] = {
    "queue-density": QueueDensityObservation,
    "pressure": PressureObservation,
}

#: Built-in rewards by name.
REWARDS: dict[str, Callable[[], RewardFn]] = {
    "diff-waiting-time": DiffWaitingTimeReward,
    "queue": QueueReward,
    "pressure": PressureReward,
}


def _make(kind: str, table: dict[str, Callable[[], object]], value: object) -> object:
    if not isinstance(value, str):
        return value
    if value not in table:
        hint = did_you_mean(value, table, otherwise=f"; known: {', '.join(table)}")
        raise SpecError(f"unknown {kind} {value!r}{hint}")
    return table[value]()


def make_observation(value: str | ObservationFn) -> ObservationFn:
    """Return the observation component named ``value`` (or ``value`` itself)."""
    obs = _make("observation", OBSERVATIONS, value)  # type: ignore[arg-type]
    if not isinstance(obs, ObservationFn):
        raise SpecError(f"observation {value!r} lacks name/observed_lane_fields/bind()/__call__()")
    return obs


def make_reward(value: str | RewardFn) -> RewardFn:
    """Return the reward component named ``value`` (or ``value`` itself)."""
    reward = _make("reward", REWARDS, value)  # type: ignore[arg-type]
    if not isinstance(reward, RewardFn):
        raise SpecError(f"reward {value!r} lacks name/observed_lane_fields/reset()/__call__()")
    return reward
