"""The simulation behind both environments: one Episode, stepped from outside."""

from __future__ import annotations

import dataclasses
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from signalbench.controllers import BuiltController, IntersectionObs, PhaseRequest, Traits
from signalbench.errors import NetworkError, SimulationError, SpecError
from signalbench.learning._components import ObservationFn, RewardFn, make_observation, make_reward
from signalbench.metrics import read_trip_metrics
from signalbench.networks import (
    IntersectionSpec,
    NetworkModel,
    Scenario,
    load_scenario_model,
    resolve_network,
)
from signalbench.runtime import Episode, Session, SimOptions
from signalbench.signals import SignalTiming

__all__ = ["SignalSim"]


class _Agent:
    """Stands in for a policy inside the Episode: the environment steps the episode instead."""

    def reset(self, network: NetworkModel, rng: np.random.Generator) -> None:
        """Nothing to prepare."""

    def act(self, obs: Mapping[str, IntersectionObs]) -> dict[str, PhaseRequest]:  # pragma: no cover
        """Never called: the environment passes the agent's actions to ``Episode.step``."""
        raise SimulationError("an RL environment's episode is stepped by the environment")


class SignalSim:
    """A catalog (or user) network run decision by decision, with components per intersection.

    Args:
        network: catalog id or path (as in experiment specs), or a :class:`Scenario`, e.g. a
            generated network from :func:`signalbench.networks.generated_scenario`.
        intersections: ids of the lights to control (default: every controllable light);
            the others keep their own programs.
        observation: observation component or its name.
        reward: reward component or its name.
        timing: the safety actuator's rules.
        decision_interval_s: simulated time between two actions [s].
        duration_s: run only this long from the window's begin [s] (default: whole window).
        scale: demand scale factor.
        route_files: demand files replacing the network's own.
        backend: ``libsumo`` or ``traci``.

    """

    def __init__(
        self,
        network: str | Scenario,
        *,
        intersections: Sequence[str] | None = None,
        observation: str | ObservationFn = "queue-density",
        reward: str | RewardFn = "diff-waiting-time",
        timing: SignalTiming | None = None,
        decision_interval_s: float = 5.0,
        duration_s: float | None = None,
        scale: float = 1.0,
        route_files: Sequence[str] = (),
        backend: str = "libsumo",
    ) -> None:
        if isinstance(network, Scenario):
            if route_files:
                raise SpecError(f"network {network.id!r}: a Scenario brings its own demand; drop route_files")
            self.scenario = network
            network = network.id
        else:
            self.scenario = resolve_network(network, route_files=tuple(route_files))
        if duration_s is not None:
            if not duration_s > 0:
                raise SpecError(f"duration_s must be > 0 s, got {duration_s!r}")
            self.scenario = self.scenario.shortened(duration_s)
        model = load_scenario_model(self.scenario)
        if not model.intersections:
            detail = f" ({'; '.join(model.problems)})" if model.problems else ""
            raise NetworkError(f"network {network!r} has no traffic light a controller can drive{detail}")
        if intersections is not None:
            unknown = [i for i in intersections if i not in model.ids]
            if unknown:
                raise NetworkError(
                    f"network {network!r} has no controllable traffic light {unknown[0]!r}; "
                    f"known: {', '.join(model.ids)}"
                )
            model = dataclasses.replace(
                model, intersections=tuple(s for s in model.intersections if s.id in intersections)
            )
        if not decision_interval_s > 0:
            raise SpecError(f"decision_interval_s must be > 0 s, got {decision_interval_s!r}")
        self.network = network
        self.model = model
        self.timing = timing or SignalTiming()
        self.decision_interval_s = float(decision_interval_s)
        self.scale = scale
        self.backend = backend
        self.session = Session(self.scenario, SimOptions(backend=backend, scale=scale), model=model)
        self.observations: dict[str, ObservationFn] = {}
        self.rewards: dict[str, RewardFn] = {}
        self.bounds: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        fields: set[str] = set()
        for spec in model.intersections:
            obs_fn, reward_fn = make_observation(observation), make_reward(reward)
            shared = obs_fn is observation or reward_fn is reward
            if shared and len(model.intersections) > 1:  # one instance cannot serve several lights
                raise SpecError("pass observation and reward by name when controlling several lights")
            self.observations[spec.id] = obs_fn
            self.rewards[spec.id] = reward_fn
            self.bounds[spec.id] = obs_fn.bind(spec, self.timing)
            fields |= set(obs_fn.observed_lane_fields) | set(reward_fn.observed_lane_fields)
        self._agent = BuiltController(
            name="rl-environment",
            traits=Traits(
                scope="network",
                decision_interval_s=self.decision_interval_s,
                observed_fields=tuple(sorted(fields)),
            ),
            policy=_Agent(),
        )
        # One request object per light and green phase, made once (requests are immutable).
        self._switch = {
            spec.id: tuple(map(PhaseRequest.switch, range(spec.n_phases))) for spec in model.intersections
        }
        self._tmp = tempfile.TemporaryDirectory(prefix="signalbench-env-")
        self._episode: Episode | None = None
        self._last: dict[str, IntersectionObs] = {}
        self.seed: int | None = None

    @property
    def ids(self) -> tuple[str, ...]:
        """Ids of the controlled lights, in a fixed order."""
        return self.model.ids

    def spec(self, tls: str) -> IntersectionSpec:
        """Return the static description of light ``tls``."""
        return self.model[tls]

    def reset(self, seed: int) -> dict[str, np.ndarray]:
        """Start a new episode with SUMO seed ``seed``; return the first observations."""
        self.close()
        config = self.session.config(seed=int(seed), outdir=Path(self._tmp.name))
        self.seed = int(seed)
        self._config = config
        self._episode = self.session.episode(self._agent, config=config, timing=self.timing)
        first = self._episode.start()
        if first is None:
            self.close()
            raise SimulationError(
                f"network {self.network!r}: the window ends before the first decision "
                f"({self.decision_interval_s:g} s); lengthen duration_s"
            )
        for tls, reward_fn in self.rewards.items():
            reward_fn.reset(self.model[tls])
            reward_fn(first[tls])  # the first reading is the baseline of the first reward
        self._last = first
        return {tls: self.observations[tls](o) for tls, o in first.items()}

    def step(
        self, actions: Mapping[str, int]
    ) -> tuple[dict[str, np.ndarray], dict[str, float], bool, dict[str, Any]]:
        """Request green phase ``actions[tls]`` at each light; run to the next decision.

        Returns observations, rewards, whether the window has ended, and info (the time, and
        at the end the trip metrics of the whole episode).
        """
        episode = self._episode
        if episode is None or episode.done:
            raise SimulationError("step() before reset(), or after the episode ended")
        requests = {}
        for tls, switch in self._switch.items():
            action = actions.get(tls)
            if action is None:
                continue
            index = int(action)
            if not 0 <= index < len(switch):
                raise SpecError(f"action {action!r} for light {tls!r} is not a green phase index")
            requests[tls] = switch[index]
        nxt = episode.step(requests)
        done = nxt is None
        current = self._last if nxt is None else nxt
        self._last = current
        if done:
            rewards = dict.fromkeys(self.ids, 0.0)
        else:
            rewards = {tls: float(reward_fn(current[tls])) for tls, reward_fn in self.rewards.items()}
        info: dict[str, Any] = {"time_s": episode.time_s}
        if done:
            info["control"] = episode.stats().as_dict()
            self.close()
            tripinfo = self._config.tripinfo_file
            assert tripinfo is not None
            info["metrics"] = read_trip_metrics(tripinfo, self._config.statistics_file).as_dict()
        return {tls: self.observations[tls](o) for tls, o in current.items()}, rewards, done, info

    def close(self) -> None:
        """Stop SUMO if it runs (safe to call twice)."""
        if self._episode is not None:
            self._episode.close()
            self._episode = None
