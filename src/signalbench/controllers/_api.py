"""The controller contract: frozen observations in, phase requests out."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Protocol, runtime_checkable

import numpy as np

from signalbench.signals import PhaseRequest
from signalbench.sim import LANE_FIELDS, LaneVehicles

if TYPE_CHECKING:
    from signalbench.networks import IntersectionSpec, NetworkModel, Scenario

__all__ = [
    "BuiltController",
    "Controller",
    "IntersectionObs",
    "NetworkController",
    "PhaseRequest",
    "ProgramWriter",
    "Scope",
    "Trainable",
    "TrainingRun",
    "TrainingSettings",
    "Traits",
]

#: ``intersection``: one instance per traffic light; ``network``: one for the whole network.
Scope = Literal["intersection", "network"]


@dataclass(frozen=True, kw_only=True, eq=False)
class IntersectionObs:
    """What a controller sees of one intersection at a decision (read-only).

    Lane arrays follow the order of ``spec.incoming_lanes`` / ``spec.outgoing_lanes``.
    A field the controller did not list in ``observed_lane_fields``, or that the sensing model
    cannot measure, holds NaN (``fields`` names those that were filled). What the fields mean
    under each sensing model (perfect lane truths, loops, cameras, connected vehicles) is in
    docs/sensing.md: a camera's ``in_vehicles`` counts the vehicles in its zone, for example.

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
        in_gap_s: per incoming lane, the time since one of its detectors last detected a
            vehicle, 0 while one is on it [s] (``gap_s``: induction loops); None when not observed.
        in_jam_length_m: per incoming lane, the longest jam in its detection zone [m]
            (``jam_length_m``: cameras); None when not observed.
        in_waiting_time_s: per incoming lane, the sum of SUMO's waiting times of its vehicles [s]
            (``waiting_time_s``: a lane truth, bare ``perfect`` sensing only); None when not observed.
        in_failed: per incoming lane, True while the detection system reports the lane's
            detector failed (its diagnostics: stuck on, no activity); None when the sensing
            has no diagnostics (perfect lane truths). A controller with a fallback (recall,
            fixed operation) uses it; see :attr:`Traits.detector_fallback`.
        fields: the observed fields that were filled (empty when not stated).

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
    in_gap_s: np.ndarray | None = None
    in_jam_length_m: np.ndarray | None = None
    in_waiting_time_s: np.ndarray | None = None
    in_failed: np.ndarray | None = None
    fields: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        for name in (
            "in_vehicles",
            "in_halting",
            "in_occupancy",
            "in_mean_speed_m_s",
            "out_vehicles",
            "out_halting",
            "down_halting",
            "in_gap_s",
            "in_jam_length_m",
            "in_waiting_time_s",
            "in_failed",
        ):
            value = getattr(self, name)
            if value is not None:
                value.flags.writeable = False

    @property
    def n_phases(self) -> int:
        """Number of green phases to choose from."""
        return self.spec.n_phases

    def observes(self, field: str) -> bool:
        """Tell whether ``field`` (a lane field, ``vehicles``, ``gap_s``, ...) was filled.

        A controller that can work from more than one set of fields (its
        ``alternative_lane_fields``) asks this to know which one the sensing gave it.
        """
        return field in self.fields

    def failed_lanes(self) -> np.ndarray:
        """Per incoming lane, True while its detector is reported failed (all False without diagnostics)."""
        if self.in_failed is None:
            return np.zeros(len(self.spec.incoming_lanes), dtype=bool)
        return self.in_failed

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

    Optional attributes, read once when the controller is built (see :class:`Traits`):

    - ``decision_interval_s``: simulated seconds between two decisions (default 5).
    - ``observed_lane_fields``: the lane fields the controller reads, out of
      ``vehicle_count``, ``halting_count``, ``occupancy``, ``mean_speed_m_s`` (default: these
      four), plus ``vehicles`` for per-vehicle positions, speeds and waiting times (costlier).
      Fewer fields make each decision cheaper, above all with the traci backend.
    - ``observed_upstream_m`` (with ``vehicles``): each incoming lane's vehicle list then also
      holds the vehicles on the lanes feeding it through unsignalised junctions
      (``LaneSpec.upstream_lanes``) up to this distance from the stop line, their ``dist_m``
      measured to this lane's stop line: a detection zone along the approach rather than on
      the last lane, which on SUMO networks may be a few metres long.
    - ``alternative_lane_fields``: other sets of fields the controller can work from, in order
      of preference, when the sensing model cannot give ``observed_lane_fields`` (e.g.
      ``(("gap_s",),)``: induction loops' gaps instead of vehicle positions); ``obs.observes``
      tells which set was given. Default: none.
    - ``detector_fallback``: a short description of what the controller does when a detector
      is reported failed (``"max recall"``, ``"fixed cycle"``), shown in reports; "" for none.
    """

    def reset(self, spec: IntersectionSpec, rng: np.random.Generator) -> None:
        """Prepare for a new episode on intersection ``spec``; use only ``rng`` for randomness."""

    def act(self, obs: IntersectionObs) -> PhaseRequest:
        """Return the phase request for this decision."""


@runtime_checkable
class NetworkController(Protocol):
    """A policy for all controlled intersections of a network at once (``scope = "network"``).

    The optional attributes of :class:`Controller` apply as well.
    """

    def reset(self, network: NetworkModel, rng: np.random.Generator) -> None:
        """Prepare for a new episode on ``network``."""

    def act(self, obs: Mapping[str, IntersectionObs]) -> Mapping[str, PhaseRequest | None]:
        """Return a request per intersection id (missing ids hold their phase)."""


@runtime_checkable
class ProgramWriter(Protocol):
    """A controller that installs SUMO signal programs instead of deciding in Python.

    Before the trial the harness calls :meth:`write_programs`; it adds the file to SUMO's
    additional files and runs plain ``sumo`` (no TraCI). The returned description goes into
    the result's ``control["programs"]``. A writer that returns None installs nothing: the
    network's own programs run (``fixed-time``).
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
    ) -> Mapping[str, Any] | None:
        """Write ``<tlLogic>`` programs to ``path``; return a JSON-ready description per light.

        ``sumo_binary`` is the SUMO the trial runs (None: the bundled one); a writer that runs
        SUMO itself (e.g. a demand pre-run) should run that one. Return None to install nothing.
        """


@dataclass(frozen=True, kw_only=True)
class Traits:
    """What the harness needs to know of a controller, resolved once when it is built.

    Attributes:
        scope: one instance per light, or one for the network.
        decision_interval_s: simulated seconds between two decisions [s].
        observed_fields: the lane fields (and ``vehicles``) the observations carry.
        observed_upstream_m: how far back along the approach vehicles are listed [m].
        writes_programs: True for a :class:`ProgramWriter` (no Python decisions).
        trainable: True for a controller class that implements :class:`Trainable`.
        alternative_fields: further field sets the controller can work from, in order of
            preference, when a sensing model cannot give ``observed_fields``.
        detector_fallback: what the controller does on a failed detector ("" for nothing).

    """

    scope: Scope = "intersection"
    decision_interval_s: float = 5.0
    observed_fields: tuple[str, ...] = LANE_FIELDS
    observed_upstream_m: float = 0.0
    writes_programs: bool = False
    trainable: bool = False
    alternative_fields: tuple[tuple[str, ...], ...] = ()
    detector_fallback: str = ""

    @property
    def field_sets(self) -> tuple[tuple[str, ...], ...]:
        """The field sets the controller can work from, preferred first."""
        return (self.observed_fields, *self.alternative_fields)


@dataclass(frozen=True, kw_only=True, eq=False)
class BuiltController:
    """A controller ready for an episode: its name, its traits, and either a policy or a writer.

    Attributes:
        name: the id or reference it was built from (``max-pressure-v0``, ``file.py:Class``).
        traits: see :class:`Traits`.
        policy: the network-level policy the episode asks at every decision (None for a
            program writer).
        programs: the program writer (None for a Python policy).

    """

    name: str
    traits: Traits
    policy: NetworkController | None = None
    programs: ProgramWriter | None = None

    def __post_init__(self) -> None:
        if (self.policy is None) == (self.programs is None):
            raise ValueError(f"controller {self.name!r}: give exactly one of policy or programs")

    @property
    def controls_signals(self) -> bool:
        """True when Python decides (through the safety actuator), False for a program writer."""
        return self.policy is not None


class TrainingSettings(Protocol):
    """The validated ``train`` table of a learning controller."""

    episodes: int
    seeds: tuple[int, ...]

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready form (it enters the checkpoint's cache key)."""


class TrainingRun(Protocol):
    """One training of a :class:`Trainable` controller on one network, episode by episode."""

    def learner(self, episode: int) -> BuiltController:
        """Return the policy that drives (and learns in) training episode ``episode`` (0-based)."""

    def end_episode(self, episode: int, seed: int, metrics: Mapping[str, float]) -> dict[str, float]:
        """Close episode ``episode`` (its seed and trip metrics); return its history record."""

    def save(self, path: Path) -> Path:
        """Write the checkpoint (atomically); return its path."""


@runtime_checkable
class Trainable(Protocol):
    """A controller class that learns before it is evaluated (``[[controllers]] train = {...}``).

    The harness validates the ``train`` table with :meth:`training_settings`, runs
    :meth:`trainer`'s episodes on the training seeds, caches the checkpoint by content, and
    evaluates the controller with the checkpoint's path in ``params[checkpoint_param]``. A
    checkpoint a spec names is checked with :meth:`check_checkpoint` when the spec is read.
    """

    checkpoint_param: ClassVar[str]
    checkpoint_format: ClassVar[str]

    @classmethod
    def check_checkpoint(cls, path: Path) -> None:
        """Raise ControllerError naming ``path`` unless it is a checkpoint of this controller."""

    @classmethod
    def training_settings(cls, raw: Mapping[str, Any]) -> TrainingSettings:
        """Validate a ``train`` table; raise ValueError naming the bad setting."""

    @classmethod
    def trainer(cls, settings: TrainingSettings, *, network: str, decision_interval_s: float) -> TrainingRun:
        """Start a training run on ``network`` (its name is recorded in the checkpoint)."""
