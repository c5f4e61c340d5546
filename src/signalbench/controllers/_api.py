"""The controller contract: frozen observations in, phase requests out."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

import numpy as np

from signalbench.signals import PhaseRequest
from signalbench.sim import LaneVehicles

if TYPE_CHECKING:
    from signalbench.networks import IntersectionSpec, NetworkModel, Scenario

__all__ = [
    "Controller",
    "IntersectionObs",
    "NetworkController",
    "PhaseRequest",
    "ProgramWriter",
]


@dataclass(frozen=True, kw_only=True, eq=False)
class IntersectionObs:
    """What a controller sees of one intersection at a decision (read-only).

    Lane arrays follow the order of ``spec.incoming_lanes`` / ``spec.outgoing_lanes``.
    A field the controller did not list in ``observed_lane_fields`` holds NaN.

    Attributes:
        spec: the static intersection description.
        time_s: simulation time [s].
        phase: current green phase index; during a transition, the phase being switched to.
        in_transition: True while yellow or all-red is shown.
        time_in_phase_s: time since the current green started [s] (0 during a transition).
        in_vehicles: vehicles on each incoming lane [veh].
        in_halting: halting vehicles (speed < 0.1 m/s) on each incoming lane [veh].
        in_occupancy: share of each incoming lane covered by vehicles [0..1].
        in_mean_speed_m_s: mean vehicle speed on each incoming lane [m/s].
        out_vehicles: vehicles on each outgoing lane [veh].
        out_halting: halting vehicles on each outgoing lane [veh].
        down_halting: per outgoing lane, halting vehicles on the incoming lanes of the next
            traffic light it leads to (``LaneSpec.downstream_lanes``); 0 where there is none.
        in_lane_vehicles: the vehicles on each incoming lane (ids, distance to the stop
            line, speed, waiting time); empty unless the controller observes ``vehicles``.
        out_lane_vehicles: the same for each outgoing lane (distance to its end, i.e. to
            the next signal when the lane leads straight into one).
        down_lane_vehicles: per outgoing lane, the vehicles on each of its
            ``downstream_lanes`` (distance to the next signal's stop line).

    """

    spec: IntersectionSpec
    time_s: float
    phase: int
    in_transition: bool
    time_in_phase_s: float
    in_vehicles: np.ndarray
    in_halting: np.ndarray
    in_occupancy: np.ndarray
    in_mean_speed_m_s: np.ndarray
    out_vehicles: np.ndarray
    out_halting: np.ndarray
    down_halting: np.ndarray | None = None
    in_lane_vehicles: tuple[LaneVehicles, ...] = ()
    out_lane_vehicles: tuple[LaneVehicles, ...] = ()
    down_lane_vehicles: tuple[tuple[LaneVehicles, ...], ...] = ()

    def __post_init__(self) -> None:
        for name in (
            "in_vehicles",
            "in_halting",
            "in_occupancy",
            "in_mean_speed_m_s",
            "out_vehicles",
            "out_halting",
            "down_halting",
        ):
            value = getattr(self, name)
            if value is not None:
                value.flags.writeable = False

    @property
    def n_phases(self) -> int:
        """Number of green phases to choose from."""
        return self.spec.n_phases

    def _halting(self) -> None:
        if np.isnan(self.in_halting).any() or np.isnan(self.out_halting).any():
            raise ValueError("halting counts were not observed: add 'halting_count' to observed_lane_fields")

    def _need_vehicles(self) -> None:
        if len(self.in_lane_vehicles) != len(self.spec.incoming_lanes):
            raise ValueError("vehicles were not observed: add 'vehicles' to observed_lane_fields")

    def vehicles_within(self, max_dist_m: float) -> np.ndarray:
        """Vehicles at most ``max_dist_m`` from the stop line, per incoming lane [veh]."""
        self._need_vehicles()
        return np.array([lv.within(max_dist_m) for lv in self.in_lane_vehicles], dtype=np.float64)

    def movement_queues(self) -> np.ndarray:
        """Halting vehicles on the incoming lane of each movement [veh]."""
        self._halting()
        return self.in_halting[self.spec.movement_in_lane]  # type: ignore[no-any-return]

    def movement_pressures(self) -> np.ndarray:
        """Per movement: halting vehicles on its incoming lane minus on its outgoing lane."""
        self._halting()
        spec = self.spec
        return (  # type: ignore[no-any-return]
            self.in_halting[spec.movement_in_lane] - self.out_halting[spec.movement_out_lane]
        )

    def phase_pressures(self) -> np.ndarray:
        """Per green phase: sum of the pressures of the movements it serves."""
        return self.spec.phase_movements.astype(np.float64) @ self.movement_pressures()  # type: ignore[no-any-return]


@runtime_checkable
class Controller(Protocol):
    """A policy for one intersection.

    The harness builds one instance per intersection, calls :meth:`reset` once before the
    episode, then :meth:`act` every ``decision_interval_s`` simulated seconds. Controllers
    never see the simulation backend; the safety actuator turns their requests into legal
    signal states (yellow, all-red, min/max green).

    Optional attribute ``observed_lane_fields``: the lane fields the controller reads, out
    of ``vehicle_count``, ``halting_count``, ``occupancy``, ``mean_speed_m_s`` (default: these
    four), plus ``vehicles`` for per-vehicle positions, speeds and waiting times (costlier).
    Fewer fields make each decision cheaper, above all with the traci backend.

    Optional attribute ``observed_upstream_m`` (with ``vehicles``): each incoming lane's
    vehicle list then also holds the vehicles on the lanes feeding it through unsignalised
    junctions (``LaneSpec.upstream_lanes``) up to this distance from the stop line, their
    ``dist_m`` measured to this lane's stop line: a detection zone along the approach rather
    than on the last lane, which on SUMO networks may be a few metres long.
    """

    decision_interval_s: float

    def reset(self, spec: IntersectionSpec, rng: np.random.Generator) -> None:
        """Prepare for a new episode on intersection ``spec``; use only ``rng`` for randomness."""

    def act(self, obs: IntersectionObs) -> PhaseRequest:
        """Return the phase request for this decision."""


@runtime_checkable
class NetworkController(Protocol):
    """A policy for all controlled intersections of a network at once."""

    decision_interval_s: float
    controls_signals: ClassVar[bool]

    def reset(self, network: NetworkModel, rng: np.random.Generator) -> None:
        """Prepare for a new episode on ``network``."""

    def act(self, obs: Mapping[str, IntersectionObs]) -> Mapping[str, PhaseRequest]:
        """Return a request per intersection id (missing ids hold their phase)."""


@runtime_checkable
class ProgramWriter(Protocol):
    """Optional: a controller that installs SUMO signal programs instead of deciding in Python.

    Such a controller has ``controls_signals = False``. Before the trial the harness calls
    :meth:`write_programs`, adds the file to SUMO's additional files and runs plain ``sumo``;
    the returned description goes into the result's ``control["programs"]``.
    """

    def write_programs(
        self,
        model: NetworkModel,
        scenario: Scenario,
        path: Path,
        *,
        scale: float,
        seed: int,
        sumo_binary: Path | None = None,
    ) -> Mapping[str, Any]:
        """Write ``<tlLogic>`` programs to ``path``; return a JSON-ready description per light.

        ``sumo_binary`` is the SUMO the trial runs (None: the bundled one); a writer that runs
        SUMO itself (e.g. a demand pre-run) should run that one.
        """
