"""One controlled simulation: observe, decide, actuate, advance, until the end time."""

from __future__ import annotations

import math
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from signalbench.controllers import (
    HOLD,
    BatchDecider,
    BuiltController,
    IntersectionObs,
    PerIntersection,
    PhaseRequest,
)
from signalbench.errors import ControllerError, SimulationError
from signalbench.networks import NetworkModel
from signalbench.sensing import PERFECT, BatchSensor, SensingModel, Sensor, SignalStatus
from signalbench.signals import Actuator, InvalidRequest, SignalTiming
from signalbench.sim import Backend, SimConfig

__all__ = ["BATCH_MIN_LIGHTS", "DecisionHook", "Episode", "EpisodeStats"]

#: Called at every decision with its time, the observations and the controller's requests,
#: before the requests are applied (``signalbench watch`` shows them; a recorder keeps them).
DecisionHook = Callable[[float, Mapping[str, IntersectionObs], Mapping[str, PhaseRequest | None]], None]

_EPS_S = 1e-6
#: Rounds of the advance loop in a row that may pass without stepping SUMO (actuator events
#: due at the same instant); more means time cannot advance and the trial fails.
_MAX_IDLE_ROUNDS = 8
_HOLD = PhaseRequest.hold()  # what a lost request becomes
#: From this many lights on, a controller that offers a vectorised decider decides for all
#: lights in one call (same requests as the per-light path; see ``controllers._batch``).
BATCH_MIN_LIGHTS = 16


@dataclass(frozen=True, kw_only=True)
class EpisodeStats:
    """What happened on the control side of an episode.

    Attributes:
        decisions: controller calls (one per decision time, all intersections at once).
        switches: phase changes started by the actuator.
        overrides: requests the actuator did not follow, by reason (min_green, ...).
        controller_time_s: total wall time spent inside the controller [s].
        sim_calls: calls that advanced the simulation.
        intersections: ids of the intersections under Python control.
        timelines: signal strings set per intersection, if recorded.
        sensing: the sensing's name, the fields the controller got, the requests lost on
            the way to the signals and the controller's detector-failure fallback ("" for
            none); empty for perfect lane truths.

    """

    decisions: int
    switches: int
    overrides: dict[str, int]
    controller_time_s: float
    sim_calls: int
    intersections: tuple[str, ...]
    timelines: dict[str, list[tuple[float, str]]] = field(default_factory=dict)
    sensing: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready summary (timelines left out)."""
        extra = {"sensing": dict(self.sensing)} if self.sensing else {}
        return {
            "decisions": self.decisions,
            "switches": self.switches,
            "overrides": dict(self.overrides),
            "overrides_total": sum(self.overrides.values()),
            "controller_time_s": self.controller_time_s,
            "controller_ms_per_decision": (
                1000.0 * self.controller_time_s / self.decisions if self.decisions else 0.0
            ),
            "sim_calls": self.sim_calls,
            "controlled_intersections": len(self.intersections),
            **extra,
        }


class Episode:
    """Couples a started backend, a network model, a controller and the safety actuator.

    Build it through :class:`~signalbench.runtime.Session` (the one way a run is assembled).
    Drive it with :meth:`run`, or from outside with :meth:`start` and :meth:`step` (the
    reinforcement-learning environments do).

    Args:
        backend: an unstarted backend; the episode starts and always closes it.
        config: the SUMO run.
        model: the network's static model.
        controller: the built controller (its policy decides; a program writer decides nothing
            and the simulation runs to its end).
        timing: yellow/all-red/min/max green rules.
        decision_interval_s: overrides the controller's own interval when given.
        record_timelines: keep every signal string set, for auditing.
        on_decision: called at every decision of :meth:`run` (see :data:`DecisionHook`).
        sensing: how the controller senses the street (default: perfect lane truths).
        sensing_dir: where a sensing model's detector files go (default: the folder of
            SUMO's tripinfo output, else a temporary folder removed on close).
        batch: decide for all lights in one vectorised call (True), per light (False), or
            from :data:`BATCH_MIN_LIGHTS` lights on when the controller and the sensing offer
            it (None). :meth:`run` without ``on_decision`` only; the requests are the same.

    """

    def __init__(
        self,
        *,
        backend: Backend,
        config: SimConfig,
        model: NetworkModel,
        controller: BuiltController,
        timing: SignalTiming,
        decision_interval_s: float | None = None,
        record_timelines: bool = False,
        on_decision: DecisionHook | None = None,
        sensing: SensingModel = PERFECT,
        sensing_dir: Path | None = None,
        batch: bool | None = None,
    ) -> None:
        self.backend = backend
        self.batch = batch
        self.sensing = sensing
        self.sensing_dir = sensing_dir
        self._scratch: Path | None = None
        self.lost_requests = 0
        self.config = config
        self.model = model
        self.controller = controller
        self.timing = timing
        interval = decision_interval_s or controller.traits.decision_interval_s
        if not (interval > 0 and math.isfinite(interval)):
            raise ControllerError(f"decision interval must be > 0 s, got {interval!r}")
        self.decision_interval_s = interval
        self.record_timelines = record_timelines
        self.on_decision = on_decision
        self.name = controller.name
        self.actuators: dict[str, Actuator] = {}
        self.timelines: dict[str, list[tuple[float, str]]] = {}
        self.decisions = 0
        self.sim_calls = 0
        self.controller_time_s = 0.0
        self.done = False
        self._started = False
        self._sensor: Sensor | None = None
        self._fields: tuple[str, ...] = ()
        self._now = config.begin_s
        self._next_decision = config.begin_s + interval

    def _aligned(self, t: float) -> float:
        step = self.config.step_length_s
        begin = self.config.begin_s
        return begin + math.ceil((t - begin) / step - _EPS_S) * step

    def run(self) -> EpisodeStats:
        """Run the whole episode with the controller; the backend is closed on every exit path."""
        try:
            self.drive(self.start())
            return self.stats()
        finally:
            self.close()

    def drive(self, obs: dict[str, IntersectionObs] | None) -> None:
        """Ask the controller at every decision from ``obs`` (what :meth:`start` returned) to the end."""
        policy = self.controller.policy
        decider = self._batch_decider()
        if obs is not None and decider is not None:
            self._drive_batch(decider)
            return
        while obs is not None and policy is not None:
            started = time.perf_counter()
            requests = policy.act(obs)
            self.controller_time_s += time.perf_counter() - started
            if self.on_decision is not None:
                self.on_decision(self._now, obs, requests)
            obs = self.step(requests)

    def _batch_decider(self) -> BatchDecider | None:
        policy = self.controller.policy
        if self.batch is False or self.on_decision is not None or not isinstance(self._sensor, BatchSensor):
            return None
        if not isinstance(policy, PerIntersection) or policy.batch is None:
            if self.batch:
                raise ControllerError(f"controller {self.name!r} has no vectorised decider (batch = true)")
            return None
        if self.batch is None and len(self.actuators) < BATCH_MIN_LIGHTS:
            return None
        return policy.batch

    def _drive_batch(self, decider: BatchDecider) -> None:
        """Run the decision loop with one vectorised call for every light (same requests as per light)."""
        sensor = self._sensor
        assert isinstance(sensor, BatchSensor)
        ids = tuple(self.actuators)
        acts = tuple(self.actuators.values())
        n = len(acts)
        hold = PhaseRequest.hold()
        switch = [PhaseRequest.switch(k) for k in range(max(len(a.phases) for a in acts))]
        running = True
        while running:
            now = self._now
            obs = sensor.observe_batch(
                now,
                np.fromiter((a.phase for a in acts), np.intp, n),
                np.fromiter((a.in_transition for a in acts), bool, n),
                np.fromiter((a.time_in_phase_s(now) for a in acts), np.float64, n),
            )
            started = time.perf_counter()
            try:
                answer = decider.decide(obs).tolist()
            except Exception as exc:
                raise ControllerError(
                    f"controller {self.name!r} failed (t={now:g} s, all lights at once): "
                    f"{type(exc).__name__}: {exc}"
                ) from exc
            self.controller_time_s += time.perf_counter() - started
            # What _apply does with these requests, without building the mapping.
            lost = sensor.lost_requests(now)
            self.decisions += 1
            for tls, act, k in zip(ids, acts, answer, strict=True):
                self._deliver(tls, act, hold if k == HOLD else switch[k], now, lost, self.timelines)
            running = self._next_decision_and_advance()

    # -- stepping API (used by run() and by the reinforcement-learning environments) ------
    def start(self) -> dict[str, IntersectionObs] | None:
        """Start SUMO and advance to the first decision; return its observations.

        Returns None when there is nothing to decide (no controllable light, a controller
        that does not set signals, or a window shorter than one decision interval); the
        simulation has then run to its end.
        """
        backend, cfg = self.backend, self.config
        if self._started:
            raise ControllerError("an Episode can be started only once")
        self._started = True
        specs = self.model.intersections
        policy = self.controller.policy
        sensed = policy is not None and bool(specs)
        if sensed:  # a controller the sensing cannot serve is refused before SUMO starts
            self._fields = self.sensing.fields_for(self.controller.traits, self.name)
            if self.sensing.writes_files:
                files = self.sensing.additional_files(
                    self.model, self._detector_dir(), interval_s=self.decision_interval_s
                )
                cfg = cfg.with_additional(files)
        backend.start(cfg)
        if policy is None or not specs:
            backend.step_until(cfg.end_s)
            self.sim_calls += 1
            self.done = True
            return None
        policy.reset(self.model, np.random.default_rng(cfg.seed))
        self._sensor = self.sensing.sensor(
            backend=backend,
            model=self.model,
            traits=self.controller.traits,
            rng=np.random.default_rng(np.random.SeedSequence(cfg.seed).spawn(1)[0]),
        )

        now = backend.time_s()
        for spec in specs:
            current = backend.signal_state(spec.id)
            states = [p.state for p in spec.green_phases]
            initial = states.index(current) if current in states else _closest_green(current, states)
            # Starting from what the program shows: a clearance first if links would lose green.
            act = Actuator(states, self.timing, now_s=now, initial_phase=initial, current_state=current)
            self.actuators[spec.id] = act
            if self.record_timelines:
                self.timelines[spec.id] = [(now, current)]
            if act.state != current:
                self._set(spec.id, act.state, now, self.timelines)
            else:  # set it all the same: that takes the light off its own program, which would
                # otherwise keep cycling under an actuator that believes it holds this phase
                backend.set_signal_state(spec.id, current)
        self._now = now
        self._next_decision = cfg.begin_s + self.decision_interval_s
        return self._observe() if self._advance() else None

    def step(self, requests: Mapping[str, PhaseRequest | None]) -> dict[str, IntersectionObs] | None:
        """Apply one decision's requests and advance to the next decision.

        Returns the next decision's observations, or None when the episode has ended.
        """
        return self._observe() if self._apply_and_advance(requests) else None

    def _apply_and_advance(self, requests: Mapping[str, PhaseRequest | None]) -> bool:
        """Apply one decision's requests, advance to the next decision; False at the end."""
        if self.done or not self._started:
            raise ControllerError("step() called on an episode that is not running")
        self.decisions += 1
        self._apply(requests, self.actuators, self._now, self.timelines)
        return self._next_decision_and_advance()

    def _next_decision_and_advance(self) -> bool:
        """Place the next decision after the one just applied and advance to it; False at the end."""
        while self._next_decision <= self._now + _EPS_S:
            later = self._next_decision + self.decision_interval_s
            if not later > self._next_decision:  # time values this large lose the interval
                raise SimulationError(
                    f"the next decision cannot be placed after t={self._now:g} s with a "
                    f"{self.decision_interval_s:g} s interval (too little precision at this time)"
                )
            self._next_decision = later
        return self._advance()

    @property
    def time_s(self) -> float:
        """Simulation time of the current decision [s]."""
        return self._now

    def close(self) -> None:
        """Stop SUMO (idempotent); its outputs are complete afterwards."""
        self.backend.close()
        if self._scratch is not None:
            shutil.rmtree(self._scratch, ignore_errors=True)
            self._scratch = None

    def _detector_dir(self) -> Path:
        """Where the sensing's detector files go (see ``sensing_dir``)."""
        if self.sensing_dir is not None:
            return self.sensing_dir
        if self.config.tripinfo_file is not None:
            return self.config.tripinfo_file.parent
        self._scratch = Path(tempfile.mkdtemp(prefix="signalbench-sensing-"))
        return self._scratch

    def stats(self) -> EpisodeStats:
        """Return what happened on the control side so far."""
        overrides: Counter[str] = Counter()
        for act in self.actuators.values():
            overrides.update(act.overrides)
        return EpisodeStats(
            decisions=self.decisions,
            switches=sum(a.switches for a in self.actuators.values()),
            overrides=dict(sorted(overrides.items())),
            controller_time_s=self.controller_time_s,
            sim_calls=self.sim_calls,
            intersections=tuple(self.actuators),
            timelines=self.timelines,
            sensing=(
                {
                    "name": self.sensing.name,
                    "fields": list(self._fields),
                    "lost_requests": self.lost_requests,
                    "fallback": self.controller.traits.detector_fallback,
                    **self._sensor.report(),
                }
                if self.sensing is not PERFECT and self._sensor is not None
                else {}
            ),
        )

    def _observe(self) -> dict[str, IntersectionObs]:
        now = self._now
        assert self._sensor is not None
        status = {
            tls: SignalStatus(act.phase, act.in_transition, act.time_in_phase_s(now))
            for tls, act in self.actuators.items()
        }
        return self._sensor.observe(now, status)

    def _advance(self) -> bool:
        """Step SUMO through actuator events to the next decision time; False at the end."""
        backend, end = self.backend, self.config.end_s
        now = self._now
        idle = 0
        items = tuple(self.actuators.items())
        while now < end - _EPS_S:
            # Each actuator's next own event, once per round: the due ones are advanced below
            # (an actuator whose event lies after ``now`` would do nothing: see Actuator.advance).
            events = [act.next_event_s() for _, act in items]
            target = min(self._next_decision, end, min(events, default=math.inf))
            target = min(self._aligned(target), end)
            if target > now + _EPS_S:
                backend.step_until(target)
                self.sim_calls += 1
                before, now = now, backend.time_s()
                if not now > before:
                    raise SimulationError(
                        f"simulation time did not advance from t={before:g} s (asked for {target:g} s "
                        f"with {self.config.step_length_s:g} s steps)"
                    )
                idle = 0
            else:
                idle += 1
                if idle > _MAX_IDLE_ROUNDS:
                    raise SimulationError(
                        f"the decision loop cannot advance from t={now:g} s (next decision at "
                        f"{self._next_decision:g} s, end {end:g} s, {self.config.step_length_s:g} s steps)"
                    )
            due = now + _EPS_S
            for (tls, act), event in zip(items, events, strict=True):
                if event <= due:
                    changed = act.advance(now)
                    if changed is not None:
                        self._set(tls, changed, now, self.timelines)
            if now >= self._next_decision - _EPS_S and now < end - _EPS_S:
                self._now = now
                return True
        self._now = now
        self.done = True
        return False

    def _set(self, tls: str, state: str, now: float, timelines: dict[str, list[tuple[float, str]]]) -> None:
        self.backend.set_signal_state(tls, state)
        if self.record_timelines:
            timelines[tls].append((now, state))

    def _apply(
        self,
        requests: object,
        actuators: dict[str, Actuator],
        now: float,
        timelines: dict[str, list[tuple[float, str]]],
    ) -> None:
        if not isinstance(requests, Mapping):
            raise ControllerError(
                f"controller {self.name!r} returned {type(requests).__name__}, "
                "expected a mapping of intersection id to PhaseRequest"
            )
        assert self._sensor is not None
        lost = self._sensor.lost_requests(now)
        for tls, request in requests.items():
            act = actuators.get(tls)
            if act is None:
                raise ControllerError(
                    f"controller {self.name!r} returned a request for unknown intersection {tls!r}"
                )
            if request is None:
                request = PhaseRequest.hold()
            self._deliver(tls, act, request, now, lost, timelines)

    def _deliver(
        self,
        tls: str,
        act: Actuator,
        request: object,
        now: float,
        lost: AbstractSet[str],
        timelines: dict[str, list[tuple[float, str]]],
    ) -> None:
        """Hand one request to its light's actuator; a lost request is checked, counted and held."""
        try:
            if tls in lost:  # lost on the way to the signal: the actuator holds what it shows
                act.validate(request)
                self.lost_requests += 1
                request = _HOLD
            changed = act.request(now, request)
        except InvalidRequest as exc:
            raise ControllerError(
                f"controller {self.name!r} at intersection {tls!r} (t={now:g} s): invalid request: {exc}"
            ) from exc
        if changed is not None:
            self._set(tls, changed, now, timelines)


def _closest_green(current: str, states: list[str]) -> int:
    """Return the green phase keeping most of ``current``'s green links (first one on ties)."""

    def kept(state: str) -> int:
        return sum(1 for a, b in zip(current, state, strict=True) if a in "Gg" and b in "Gg")

    return max(range(len(states)), key=lambda k: (kept(states[k]), -k))
