"""Gymnasium (one intersection) and PettingZoo (all intersections) environments."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import gymnasium
import numpy as np
from gymnasium import spaces
from pettingzoo import ParallelEnv

from signalbench.errors import SpecError
from signalbench.learning._components import ObservationFn, RewardFn
from signalbench.learning._sim import SignalSim
from signalbench.networks import Scenario
from signalbench.signals import SignalTiming

__all__ = ["SignalEnv", "SignalParallelEnv"]

_MAX_SEED = 2**31 - 1


class SignalEnv(gymnasium.Env[np.ndarray, np.int64]):
    """One traffic light of a network as a Gymnasium environment.

    Observation: the chosen observation component's vector (default ``queue-density``).
    Action: the index of the next green phase (``Discrete(n_phases)``); the safety actuator
    inserts yellow/all-red and enforces minimum and maximum green, so every action is safe.
    Reward: the chosen reward component (default ``diff-waiting-time``). An episode is the
    network's time window (or ``duration_s`` of it); its end is a truncation. The other lights
    of the network keep their own programs. ``reset(seed=...)`` is SUMO's ``--seed``.

    Args:
        network: catalog id or path, or a :class:`~signalbench.networks.Scenario` (e.g. a
            generated network).
        intersection: the light to control; may be omitted when the network has only one.
        observation, reward, timing, decision_interval_s, duration_s, scale, route_files,
        backend: as for :class:`signalbench.rl.SignalSim`.

    """

    metadata: dict[str, Any] = {"render_modes": []}

    def __init__(
        self,
        network: str | Scenario,
        *,
        intersection: str | None = None,
        observation: str | ObservationFn = "queue-density",
        reward: str | RewardFn = "diff-waiting-time",
        timing: SignalTiming | None = None,
        decision_interval_s: float = 5.0,
        duration_s: float | None = None,
        scale: float = 1.0,
        route_files: Sequence[str] = (),
        backend: str = "libsumo",
    ) -> None:
        common: dict[str, Any] = {
            "observation": observation,
            "reward": reward,
            "timing": timing,
            "decision_interval_s": decision_interval_s,
            "duration_s": duration_s,
            "scale": scale,
            "route_files": route_files,
            "backend": backend,
        }
        if intersection is None:
            probe = SignalSim(network, **common)
            if len(probe.ids) != 1:
                raise SpecError(
                    f"network {probe.network!r} has {len(probe.ids)} controllable lights; choose one with "
                    f"intersection= ({', '.join(probe.ids[:5])}{', ...' if len(probe.ids) > 5 else ''}) "
                    "or use SignalParallelEnv for all of them"
                )
            self.sim = probe
        else:
            self.sim = SignalSim(network, intersections=[intersection], **common)
        self.tls = self.sim.ids[0]
        low, high = self.sim.bounds[self.tls]
        self.observation_space = spaces.Box(low=low, high=high, dtype=np.float32)
        self.action_space = spaces.Discrete(self.sim.spec(self.tls).n_phases)
        self._n_actions = self.sim.spec(self.tls).n_phases

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Start an episode; ``seed`` seeds SUMO (else drawn from the environment's generator)."""
        super().reset(seed=seed)
        sumo_seed = seed if seed is not None else int(self.np_random.integers(_MAX_SEED))
        obs = self.sim.reset(sumo_seed)
        return obs[self.tls], {"time_s": self.sim.scenario.begin_s, "sumo_seed": sumo_seed}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        """Request green phase ``action``; run to the next decision."""
        try:  # what Discrete.contains(np.int64(action)) accepts, without its per-call checks
            index = int(np.int64(action))
        except (TypeError, ValueError, OverflowError):
            index = -1
        if not 0 <= index < self._n_actions:
            raise SpecError(f"action {action!r} is not in {self.action_space}")
        obs, rewards, done, info = self.sim.step({self.tls: index})
        return obs[self.tls], rewards[self.tls], False, done, info

    def close(self) -> None:
        """Stop SUMO."""
        self.sim.close()


class SignalParallelEnv(ParallelEnv[str, np.ndarray, int]):  # type: ignore[misc]
    """Every controllable light of a network as a PettingZoo parallel environment.

    Agents are the traffic-light ids; spaces, actions and rewards per agent as in
    :class:`SignalEnv`. All agents act at every decision; the episode ends for all at the
    end of the window (a truncation).
    """

    metadata: dict[str, Any] = {"render_modes": [], "name": "signalbench_parallel_v0"}

    def __init__(self, network: str | Scenario, **kwargs: Any) -> None:
        self.sim = SignalSim(network, **kwargs)
        self.possible_agents = list(self.sim.ids)
        self.agents: list[str] = []
        self._obs_spaces = {
            tls: spaces.Box(low=lo, high=hi, dtype=np.float32) for tls, (lo, hi) in self.sim.bounds.items()
        }
        self._act_spaces = {tls: spaces.Discrete(self.sim.spec(tls).n_phases) for tls in self.possible_agents}
        self._rng = np.random.default_rng()

    @functools.cache  # noqa: B019 - PettingZoo wants the same space object back
    def observation_space(self, agent: str) -> spaces.Space[Any]:
        """Return the observation space of ``agent``."""
        return self._obs_spaces[agent]

    @functools.cache  # noqa: B019
    def action_space(self, agent: str) -> spaces.Space[Any]:
        """Return the action space of ``agent``: its green phases."""
        return self._act_spaces[agent]

    def reset(
        self, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, np.ndarray], dict[str, dict[str, Any]]]:
        """Start an episode; ``seed`` seeds SUMO."""
        if seed is not None:
            self._rng = np.random.default_rng(seed)
        sumo_seed = seed if seed is not None else int(self._rng.integers(_MAX_SEED))
        obs = self.sim.reset(sumo_seed)
        self.agents = list(self.possible_agents)
        return obs, {tls: {"sumo_seed": sumo_seed} for tls in self.agents}

    def step(
        self, actions: dict[str, int]
    ) -> tuple[
        dict[str, np.ndarray],
        dict[str, float],
        dict[str, bool],
        dict[str, bool],
        dict[str, dict[str, Any]],
    ]:
        """All agents act at once; run to the next decision."""
        obs, rewards, done, info = self.sim.step(actions)
        agents = list(self.agents)
        if done:
            self.agents = []
        return (
            {a: obs[a] for a in agents},
            {a: rewards[a] for a in agents},
            dict.fromkeys(agents, False),
            dict.fromkeys(agents, done),
            {a: dict(info) for a in agents},
        )

    def close(self) -> None:
        """Stop SUMO."""
        self.sim.close()
