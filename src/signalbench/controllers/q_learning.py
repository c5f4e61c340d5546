"""``q-learning``: tabular Q-learning per intersection, in numpy only (a learning baseline).

Watkins & Dayan (1992), "Q-learning", Machine Learning 8. Each traffic light is an
independent agent (as in most multi-agent signal-control baselines):

- state: the queue level of the current green phase, the queue level of its rival (the
  other green phase with the longest queue), and the time in the phase (10 s buckets up to
  30 s); a queue is the halting vehicles on the lanes a phase serves, cut into levels at
  ``queue_bins_veh``. Small and phase-independent, so tens of episodes suffice;
- action: hold the current phase, or switch to the rival (the safety actuator adds
  yellow/all-red and enforces min/max green, so exploration is always safe); the agent
  learns *when* to switch, the rival rule says *where*;
- reward: minus the halting vehicles on the incoming lanes at the next decision [veh];
- update: Q(s, a) += alpha (r + gamma max_a' Q(s', a') - Q(s, a)); epsilon-greedy exploration
  with epsilon decaying linearly from ``epsilon_start`` to ``epsilon_end`` over the episodes.

Train it with ``train = {...}`` in an experiment's ``[[controllers]]`` entry or with ``signalbench
train`` (both run :mod:`signalbench.learning`'s training loop over this class's
:meth:`QLearning.trainer`), which writes a JSON checkpoint; evaluate it like any controller with
``params = { checkpoint = "path.json" }``. The greedy
policy chooses among the actions tried in training only; in a state never visited it
switches to the rival if its queue level is higher, else holds. A checkpoint is bound to its
network: loading it on another network (other lights, other phases) is refused with the light
named.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from signalbench._util import atomic_write_text, file_sha256, strict_json
from signalbench.controllers._api import BuiltController, IntersectionObs, PhaseRequest, Traits
from signalbench.controllers._base import BaseController
from signalbench.controllers._phases import phase_lanes
from signalbench.errors import ControllerError
from signalbench.networks import IntersectionSpec, NetworkModel

__all__ = [
    "CHECKPOINT_FORMAT",
    "QLearning",
    "QLearningParams",
    "QTables",
    "QTraining",
    "TrainSettings",
]

CHECKPOINT_FORMAT = "signalbench-q-learning/2"  # bump whenever the state or action encoding changes


@dataclass(frozen=True, kw_only=True)
class TrainSettings:
    """How a Q-learning agent is trained.

    Attributes:
        episodes: training episodes (each a full run of the network's window) [-].
        seeds: SUMO seeds of the training episodes, used in turn; they must differ from the
            evaluation seeds of an experiment.
        alpha: learning rate [-].
        gamma: discount factor per decision [-].
        epsilon_start: exploration rate of the first episode [-].
        epsilon_end: exploration rate of the last episode [-].
        queue_bins_veh: upper edges of the queue levels [veh]; a queue above the last edge
            falls in the top level.

    """

    episodes: int = 60
    seeds: tuple[int, ...] = tuple(range(1001, 1021))
    alpha: float = 0.1
    gamma: float = 0.9
    epsilon_start: float = 0.3
    epsilon_end: float = 0.01
    queue_bins_veh: tuple[float, ...] = (0.0, 3.0, 8.0, 15.0)

    def __post_init__(self) -> None:
        object.__setattr__(self, "seeds", tuple(self.seeds))
        object.__setattr__(self, "queue_bins_veh", tuple(float(b) for b in self.queue_bins_veh))
        if isinstance(self.episodes, bool) or not isinstance(self.episodes, int) or self.episodes < 1:
            raise ValueError(f"train.episodes must be a whole number >= 1, got {self.episodes!r}")
        if not self.seeds or not all(isinstance(s, int) and not isinstance(s, bool) for s in self.seeds):
            raise ValueError(f"train.seeds must be a non-empty list of integers, got {self.seeds!r}")
        for name in ("alpha", "gamma", "epsilon_start", "epsilon_end"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
                raise ValueError(f"train.{name} must be in [0, 1], got {value!r}")
        if self.alpha == 0:
            raise ValueError("train.alpha must be > 0")
        bins = self.queue_bins_veh
        if not bins or any(b2 <= b1 for b1, b2 in itertools.pairwise(bins)):
            raise ValueError(f"train.queue_bins_veh must be increasing, got {list(bins)!r}")

    def epsilon(self, episode: int) -> float:
        """Exploration rate of episode ``episode`` (0-based)."""
        if self.episodes == 1:
            return self.epsilon_start
        share = episode / (self.episodes - 1)
        return self.epsilon_start + share * (self.epsilon_end - self.epsilon_start)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        data = dataclasses.asdict(self)
        data["seeds"] = list(self.seeds)
        data["queue_bins_veh"] = list(self.queue_bins_veh)
        return data


@dataclass
class QTables:
    """The learned tables of every light of one network, and what they were learned on."""

    network: str
    settings: TrainSettings
    phases: dict[str, list[str]] = field(default_factory=dict)  # light -> green phase strings
    tables: dict[str, dict[tuple[int, ...], np.ndarray]] = field(default_factory=dict)
    episodes_done: int = 0
    history: list[dict[str, float]] = field(default_factory=list)

    def table(self, spec: IntersectionSpec) -> dict[tuple[int, ...], np.ndarray]:
        """Return the table of light ``spec`` (created empty for training)."""
        states = [p.state for p in spec.green_phases]
        known = self.phases.setdefault(spec.id, states)
        if known != states:
            raise ControllerError(f"light {spec.id!r}: its phases differ from those the tables were made for")
        return self.tables.setdefault(spec.id, {})

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the checkpoint atomically as JSON; return its path."""
        data = {
            "format": CHECKPOINT_FORMAT,
            "network": self.network,
            "settings": self.settings.to_dict(),
            "episodes_done": self.episodes_done,
            "history": self.history,
            "lights": {
                tls: {
                    "phases": self.phases[tls],
                    "q": {
                        ",".join(map(str, k)): [round(float(x), 6) for x in v] for k, v in sorted(t.items())
                    },
                }
                for tls, t in sorted(self.tables.items())
            },
        }
        target = Path(path)
        atomic_write_text(target, strict_json(data, indent=1, sort_keys=True))
        return target

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> QTables:
        """Read a checkpoint written by :meth:`save`."""
        p = Path(path)
        try:
            data = json.loads(p.read_bytes())
        except FileNotFoundError:
            raise ControllerError(f"checkpoint not found: {p}") from None
        except IsADirectoryError:
            raise ControllerError(f"checkpoint {p} is a folder, not a checkpoint file") from None
        except (OSError, ValueError) as exc:
            raise ControllerError(
                f"checkpoint {p} is not a q-learning checkpoint (not readable JSON: {exc})"
            ) from exc
        if not isinstance(data, dict) or data.get("format") != CHECKPOINT_FORMAT:
            raise ControllerError(f"{p} is not a q-learning checkpoint (format {CHECKPOINT_FORMAT!r})")
        try:
            out = cls(
                network=str(data["network"]),
                settings=TrainSettings(**data["settings"]),
                episodes_done=int(data.get("episodes_done", 0)),
                history=list(data.get("history", [])),
            )
            for tls, entry in data["lights"].items():
                out.phases[tls] = list(entry["phases"])
                out.tables[tls] = {
                    tuple(int(x) for x in k.split(",")): np.array(
                        [math.nan if x is None else x for x in v], dtype=np.float64
                    )
                    for k, v in entry["q"].items()
                }
        except (KeyError, TypeError, ValueError) as exc:
            raise ControllerError(f"checkpoint {p} is malformed: {exc}") from exc
        return out


@dataclass(frozen=True, kw_only=True)
class QLearningParams:
    """Parameters of :class:`QLearning` for evaluation.

    Attributes:
        checkpoint: path of a checkpoint written by training.
        checkpoint_sha256: optionally, the checkpoint's SHA-256, checked on loading (in an
            experiment the checkpoint's content is part of the trial id anyway).

    """

    checkpoint: str = ""
    checkpoint_sha256: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.checkpoint, str):
            raise ValueError(f"checkpoint must be a path string, got {self.checkpoint!r}")


_HOLD, _SWITCH = 0, 1
_TIME_BUCKET_S = 10.0
_TIME_BUCKETS = 3


def _state(obs: IntersectionObs, lanes: np.ndarray, bins: np.ndarray) -> tuple[tuple[int, ...], int]:
    """Return the state and the rival phase (the other phase with the longest queue).

    State: (queue level of the current phase, queue level of the rival, time in phase in
    10 s buckets up to 3).
    """
    queues = lanes @ np.nan_to_num(obs.in_halting)
    levels = np.searchsorted(bins, queues, side="left")
    others = queues.copy()
    others[obs.phase] = -1.0
    rival = int(np.argmax(others)) if len(others) > 1 else obs.phase
    bucket = min(int(obs.time_in_phase_s // _TIME_BUCKET_S), _TIME_BUCKETS)
    return (int(levels[obs.phase]), int(levels[rival]), bucket), rival


def _greedy(values: np.ndarray | None, state: tuple[int, ...]) -> int:
    """Return the best action tried in ``state`` (hold on ties), else the fallback."""
    if values is None or np.isnan(values).all():
        return _fallback(state)
    best = float(np.nanmax(values))
    return _HOLD if values[_HOLD] >= best else _SWITCH


def _fallback(state: tuple[int, ...]) -> int:
    """Return the action for an unknown state: switch if the rival's queue level is higher."""
    level, rival_level = state[0], state[1]
    return _SWITCH if rival_level > level else _HOLD


def _request(action: int, obs: IntersectionObs, rival: int) -> PhaseRequest:
    return PhaseRequest.switch(rival) if action == _SWITCH else PhaseRequest.hold()


class QLearning(BaseController):
    """Greedy policy of a trained tabular Q-learning agent (one table per light)."""

    Params = QLearningParams
    params: QLearningParams
    observed_lane_fields = ("halting_count",)
    # The Trainable protocol: how signalbench trains this controller before evaluating it.
    checkpoint_param: ClassVar[str] = "checkpoint"
    checkpoint_format: ClassVar[str] = CHECKPOINT_FORMAT

    @classmethod
    def check_checkpoint(cls, path: Path) -> None:
        """Raise ControllerError unless ``path`` is a readable q-learning checkpoint."""
        QTables.load(path)

    @classmethod
    def training_settings(cls, raw: Mapping[str, Any]) -> TrainSettings:
        """Validate a ``train`` table (unknown keys named); raise ValueError."""
        return settings_from(raw)

    @classmethod
    def trainer(cls, settings: Any, *, network: str, decision_interval_s: float) -> QTraining:
        """Start training tables for ``network`` with ``settings`` (a :class:`TrainSettings`)."""
        if not isinstance(settings, TrainSettings):
            raise TypeError(f"q-learning trains with TrainSettings, got {type(settings).__name__}")
        return QTraining(settings, network=network, decision_interval_s=decision_interval_s)

    def __init__(self, params: QLearningParams | None = None) -> None:
        super().__init__(params)
        self._tables: QTables | None = None

    def reset(self, spec: IntersectionSpec, rng: np.random.Generator) -> None:
        """Load this light's table from the checkpoint, refusing one made for another network."""
        super().reset(spec, rng)
        p = self.params
        if not p.checkpoint:
            raise ControllerError(
                "q-learning needs a trained checkpoint: params.checkpoint = 'file.json', or a train "
                "table in the experiment's [[controllers]] entry (or signalbench train)"
            )
        path = Path(p.checkpoint)
        if p.checkpoint_sha256 and path.is_file() and file_sha256(path) != p.checkpoint_sha256:
            raise ControllerError(
                f"checkpoint {path} changed since the experiment was read (SHA-256 differs)"
            )
        tables = _load_cached(str(path.resolve()) if path.exists() else str(path))
        if spec.id not in tables.tables:
            raise ControllerError(
                f"checkpoint {path} (trained on {tables.network!r}) has no table for light {spec.id!r}: "
                "it does not match this network"
            )
        if tables.phases[spec.id] != [ph.state for ph in spec.green_phases]:
            raise ControllerError(
                f"checkpoint {path} (trained on {tables.network!r}): light {spec.id!r} has other phases here"
            )
        self._q = tables.tables[spec.id]
        self._lanes = phase_lanes(spec).astype(np.float64)
        self._bins = np.asarray(tables.settings.queue_bins_veh)

    def act(self, obs: IntersectionObs) -> PhaseRequest:
        """Request the phase with the highest learned value; unknown states hold."""
        state, rival = _state(obs, self._lanes, self._bins)
        return _request(_greedy(self._q.get(state), state), obs, rival)


_CACHE: dict[str, tuple[float, QTables]] = {}


def _load_cached(path: str) -> QTables:
    mtime = os.stat(path).st_mtime if os.path.exists(path) else math.nan
    hit = _CACHE.get(path)
    if hit is None or hit[0] != mtime:
        hit = (mtime, QTables.load(path))
        _CACHE[path] = hit
    return hit[1]


class _Learner:
    """A network-level policy that learns while it drives (one table per light)."""

    def __init__(self, tables: QTables, epsilon: float, rng: np.random.Generator) -> None:
        self.tables = tables
        self.epsilon = epsilon
        self.rng = rng
        self.reward_sum = 0.0
        self._prev: dict[str, tuple[tuple[int, ...], int]] = {}

    def reset(self, network: NetworkModel, rng: np.random.Generator) -> None:
        """Bind the tables of the network's lights."""
        s = self.tables.settings
        self._bins = np.asarray(s.queue_bins_veh)
        self._lanes = {spec.id: phase_lanes(spec).astype(np.float64) for spec in network.intersections}
        self._q = {spec.id: self.tables.table(spec) for spec in network.intersections}
        self._prev = {}

    def act(self, obs: Mapping[str, IntersectionObs]) -> dict[str, PhaseRequest]:
        """Update each light's table with the last step's reward, then choose epsilon-greedily."""
        s = self.tables.settings
        out = {}
        for tls, o in obs.items():
            q = self._q[tls]
            state, rival = _state(o, self._lanes[tls], self._bins)
            values = q.setdefault(state, np.full(2, math.nan))
            reward = -float(np.nan_to_num(o.in_halting).sum())
            prev = self._prev.get(tls)
            if prev is not None:
                old = q[prev[0]]
                tried = values[~np.isnan(values)]
                future = float(tried.max()) if tried.size else 0.0
                target = reward + s.gamma * future
                current = old[prev[1]]
                old[prev[1]] = target if math.isnan(current) else current + s.alpha * (target - current)
                self.reward_sum += reward
            explore = self.rng.random() < self.epsilon
            action = int(self.rng.integers(2)) if explore else _greedy(values, state)
            self._prev[tls] = (state, action)
            out[tls] = _request(action, o, rival)
        return out


class QTraining:
    """One training of Q-learning tables on one network (a ``TrainingRun``).

    Episode ``k`` drives with exploration rate ``settings.epsilon(k)``; one generator, seeded
    by the settings, draws every exploration, so the same settings train the same tables.
    """

    def __init__(self, settings: TrainSettings, *, network: str, decision_interval_s: float) -> None:
        self.tables = QTables(network=network, settings=settings)
        self.decision_interval_s = decision_interval_s
        self._rng = np.random.default_rng(_seed_of(settings))
        self._learner: _Learner | None = None

    def learner(self, episode: int) -> BuiltController:
        """Return the policy that learns in episode ``episode``."""
        self._learner = _Learner(self.tables, self.tables.settings.epsilon(episode), self._rng)
        traits = Traits(
            scope="network", decision_interval_s=self.decision_interval_s, observed_fields=("halting_count",)
        )
        return BuiltController(name="q-learning (training)", traits=traits, policy=self._learner)

    def end_episode(self, episode: int, seed: int, metrics: Mapping[str, float]) -> dict[str, float]:
        """Record the episode in the tables' history; return the record."""
        learner = self._learner
        if learner is None:
            raise ControllerError("end_episode() before learner()")
        record = {
            "episode": float(episode),
            "seed": float(seed),
            "epsilon": learner.epsilon,
            "reward": learner.reward_sum,
            "mean_delay_s": float(metrics.get("mean_delay_s", math.nan)),
        }
        self.tables.history.append(record)
        self.tables.episodes_done = episode + 1
        return record

    def save(self, path: Path) -> Path:
        """Write the checkpoint (atomically)."""
        return self.tables.save(path)


def _seed_of(settings: TrainSettings) -> int:
    digest = hashlib.sha256(json.dumps(settings.to_dict(), sort_keys=True).encode()).digest()
    return int.from_bytes(digest[:4], "little")


def settings_from(raw: Mapping[str, Any] | None) -> TrainSettings:
    """Build :class:`TrainSettings` from a spec table (unknown keys named)."""
    known = {f.name for f in dataclasses.fields(TrainSettings)}
    data = dict(raw or {})
    unknown = sorted(set(data) - known)
    if unknown:
        raise ValueError(f"unknown training setting {unknown[0]!r}; known: {', '.join(sorted(known))}")
    return TrainSettings(**data)
