"""The sensing contract: what the episode asks of a sensing model at every decision."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from signalbench.controllers import IntersectionObs, NetworkObs, Traits
from signalbench.networks import NetworkModel
from signalbench.sim import Backend

__all__ = ["BatchSensor", "SensingModel", "Sensor", "SignalStatus"]


@dataclass(frozen=True, slots=True)
class SignalStatus:
    """What the safety actuator says of one light at a decision (it is not sensed).

    Attributes:
        phase: current green phase; during a transition, the phase being switched to.
        in_transition: True while yellow or all-red is shown.
        time_in_phase_s: time since the current green started [s] (0 during a transition).

    """

    phase: int
    in_transition: bool
    time_in_phase_s: float


class Sensor(Protocol):
    """One episode's sensing: it reads the simulation and fills the controllers' observations."""

    def observe(self, now_s: float, status: Mapping[str, SignalStatus]) -> dict[str, IntersectionObs]:
        """Return every controlled light's observation at decision time ``now_s``."""

    def lost_requests(self, now_s: float) -> frozenset[str]:
        """Return the lights whose request of the decision at ``now_s`` does not reach the signal."""

    def report(self) -> dict[str, object]:
        """Return what the episode's record keeps of the sensing (e.g. the diagnostics' reports)."""


@runtime_checkable
class BatchSensor(Protocol):
    """A sensor that can also fill one :class:`NetworkObs` for every light (the vectorised path)."""

    def observe(self, now_s: float, status: Mapping[str, SignalStatus]) -> dict[str, IntersectionObs]:
        """Return every controlled light's observation at decision time ``now_s``."""

    def observe_batch(
        self, now_s: float, phase: np.ndarray, in_transition: np.ndarray, time_in_phase_s: np.ndarray
    ) -> NetworkObs:
        """Return all lights' readings as arrays; the status arrays follow the model's light order."""


class SensingModel(Protocol):
    """How controllers sense the street (perfect lane truths, loops, cameras, probes, ...).

    A model may need SUMO detectors: :meth:`additional_files` writes them before SUMO starts
    (only when :attr:`writes_files`); :meth:`fields_for` says which observation fields a
    controller gets (or refuses it); :meth:`sensor` binds the model to a started backend.
    """

    @property
    def name(self) -> str:
        """A short name for tables and records."""

    @property
    def writes_files(self) -> bool:
        """True when the model needs :meth:`additional_files` before SUMO starts."""

    def additional_files(
        self, model: NetworkModel, outdir: Path, *, interval_s: float, outputs: bool = False
    ) -> tuple[Path, ...]:
        """Write the SUMO additional files (detectors) the model reads; return their paths.

        ``interval_s`` is the decision interval (a loop reports the interval that just ended);
        with ``outputs`` the detectors also write SUMO's own output files into ``outdir``.
        """

    def fields_for(self, traits: Traits, controller: str) -> tuple[str, ...]:
        """Return the fields ``controller`` gets; raise SpecError naming it if it needs others."""

    def sensor(
        self, *, backend: Backend, model: NetworkModel, traits: Traits, rng: np.random.Generator
    ) -> Sensor:
        """Return the sensor of one episode (the backend is started; ``rng`` seeds noise and faults)."""
