"""The backend contract: the only way the rest of signalbench touches a running SUMO."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, Protocol, TypeVar, runtime_checkable

import numpy as np

if TYPE_CHECKING:
    from signalbench.sim._config import SimConfig

__all__ = [
    "DETECTOR_FIELDS",
    "LANE_FIELDS",
    "LANE_TRUTH_FIELDS",
    "LOOP_FIELDS",
    "OBSERVABLE_FIELDS",
    "VEHICLES",
    "ZONE_FIELDS",
    "Backend",
    "BackendKind",
    "Closing",
    "DetectorReadings",
    "LaneReadings",
    "LaneVehicles",
    "VehicleFilter",
    "check_fields",
]

BackendKind = Literal["libsumo", "traci", "fake"]

#: Fields of :class:`LaneReadings`, with their units.
LANE_FIELDS: tuple[str, ...] = (
    "vehicle_count",  # vehicles on the lane in the last step [veh]
    "halting_count",  # vehicles slower than 0.1 m/s [veh]
    "occupancy",  # share of the lane length covered by vehicles [0..1]
    "mean_speed_m_s",  # mean speed of vehicles on the lane, lane speed limit if empty [m/s]
)


#: Lane fields only a simulator's lane truths give (no detector measures them); a controller or
#: an RL component lists them in ``observed_lane_fields`` and gets them from ``perfect`` sensing.
#: Not in :data:`LANE_FIELDS`, so a controller that observes every default field does not pay for them.
LANE_TRUTH_FIELDS: tuple[str, ...] = (
    # sum over the vehicles on the lane of SUMO's waiting time (time below 0.1 m/s since last moving) [s]
    "waiting_time_s",
)

#: Pseudo-field: the vehicles on each watched lane (see :meth:`Backend.read_vehicles`).
VEHICLES = "vehicles"

#: Observation fields that only detectors measure (not lane getters), with their units. A
#: controller may list them in ``observed_lane_fields``; the sensing model fills them.
DETECTOR_FIELDS: tuple[str, ...] = (
    "gap_s",  # time since a detector of the lane last detected a vehicle, 0 while one is on it [s]
    "jam_length_m",  # length of the longest jam (halting vehicles) in the lane's detection zone [m]
)

#: Every name a controller may list in ``observed_lane_fields``.
OBSERVABLE_FIELDS: tuple[str, ...] = (*LANE_FIELDS, *LANE_TRUTH_FIELDS, VEHICLES, *DETECTOR_FIELDS)

#: Every field a :class:`LaneReadings` holds, in its canonical order.
_READ_FIELDS: tuple[str, ...] = (*LANE_FIELDS, *LANE_TRUTH_FIELDS)

#: Fields of an induction-loop (SUMO E1) reading, one value per watched loop, with their units.
LOOP_FIELDS: tuple[str, ...] = (
    "count",  # vehicles that left the loop during its last complete interval [veh] (E1 nVehContrib)
    "gap_s",  # time since the loop last detected a vehicle, 0 while one is on it [s]
)

#: Fields of a lane-area detector (SUMO E2) reading, one value per watched zone (last step).
ZONE_FIELDS: tuple[str, ...] = (
    "vehicle_count",  # vehicles in the zone [veh]
    "halting_count",  # vehicles in the zone slower than the detector's speed threshold [veh]
    "occupancy",  # share of the zone covered by vehicles [0..1]
    "mean_speed_m_s",  # mean speed of the vehicles in the zone, NaN when it is empty [m/s]
    "jam_length_m",  # length of the longest jam in the zone [m]
)

#: Chooses the vehicles whose data :meth:`Backend.read_vehicles` returns (by vehicle id).
VehicleFilter = Callable[[str], bool]


def check_fields(fields: Sequence[str]) -> tuple[str, ...]:
    """Return the lane fields among ``fields`` in canonical order (:data:`LANE_FIELDS`, then lane truths).

    Unknown names raise ValueError.

    :data:`VEHICLES` is accepted and is not a lane field.
    """
    unknown = [f for f in fields if f not in OBSERVABLE_FIELDS]
    if unknown:
        raise ValueError(f"unknown lane field {unknown[0]!r}; known: {', '.join(OBSERVABLE_FIELDS)}")
    return tuple(f for f in _READ_FIELDS if f in fields)


@dataclass(frozen=True, eq=False)
class DetectorReadings:
    """One reading of the watched detectors (see :meth:`Backend.watch_detectors`).

    Attributes:
        loops: per :data:`LOOP_FIELDS` name, one value per watched loop, in watch order.
        zones: per :data:`ZONE_FIELDS` name, one value per watched zone, in watch order.
        zone_vehicles: the vehicles in each watched zone (only if asked for): distances are
            measured from the vehicle's front to the end of the zone's lane (negative for a
            vehicle whose front has already left the lane while its back is still in the zone).

    """

    loops: Mapping[str, np.ndarray]
    zones: Mapping[str, np.ndarray]
    zone_vehicles: tuple[LaneVehicles, ...] = ()

    @classmethod
    def build(
        cls,
        loops: Mapping[str, Sequence[float] | np.ndarray],
        zones: Mapping[str, Sequence[float] | np.ndarray],
        zone_vehicles: Sequence[LaneVehicles] = (),
        *,
        n_zones: int = 0,
    ) -> DetectorReadings:
        """Build from per-field values; zone fields not given are NaN (``n_zones`` values)."""
        nan = np.full(n_zones, np.nan)
        return cls(
            loops={f: _frozen(loops[f]) for f in LOOP_FIELDS},
            zones={f: _frozen(zones[f]) if f in zones else nan for f in ZONE_FIELDS},
            zone_vehicles=tuple(zone_vehicles),
        )


@dataclass(frozen=True, eq=False)
class LaneReadings:
    """One reading of the watched lanes: an array per field, one value per lane in watch order.

    A field that was not watched holds NaN. Attributes follow :data:`LANE_FIELDS`, then
    :data:`LANE_TRUTH_FIELDS`.
    """

    vehicle_count: np.ndarray
    halting_count: np.ndarray
    occupancy: np.ndarray
    mean_speed_m_s: np.ndarray
    waiting_time_s: np.ndarray

    @classmethod
    def build(cls, n_lanes: int, values: Mapping[str, Sequence[float] | np.ndarray]) -> LaneReadings:
        """Build from the values of the watched fields; the other fields are NaN."""
        arrays = {f: np.asarray(values[f], dtype=np.float64) for f in _READ_FIELDS if f in values}
        if len(arrays) < len(_READ_FIELDS):
            nan = np.full(n_lanes, np.nan, dtype=np.float64)
            arrays = {f: arrays.get(f, nan) for f in _READ_FIELDS}
        return cls(**arrays)

    def __len__(self) -> int:
        return len(self.vehicle_count)

    def field(self, name: str) -> np.ndarray:
        """Return one field's values by name."""
        if name not in _READ_FIELDS:
            raise ValueError(f"unknown lane field {name!r}; known: {', '.join(_READ_FIELDS)}")
        return getattr(self, name)  # type: ignore[no-any-return]

    def rows(self, index: np.ndarray) -> LaneReadings:
        """Return the readings of some lanes (``index``: their positions in watch order)."""
        return LaneReadings(**{f: getattr(self, f)[index] for f in _READ_FIELDS})


def _frozen(values: Sequence[float] | np.ndarray) -> np.ndarray:
    arr = np.asarray(values, dtype=np.float64)
    arr.flags.writeable = False
    return arr


@dataclass(frozen=True, eq=False)
class LaneVehicles:
    """The vehicles on one lane in the last step, nearest to the lane's end first.

    Attributes:
        ids: vehicle ids.
        dist_m: distance from the vehicle's front to the end of the lane (the stop line of
            an incoming lane) [m].
        speed_m_s: speed [m/s].
        waiting_s: SUMO's waiting time: time since the vehicle last drove faster than
            0.1 m/s, 0 while it moves [s].

    """

    ids: tuple[str, ...] = ()
    dist_m: np.ndarray = field(default_factory=lambda: _frozen(()))
    speed_m_s: np.ndarray = field(default_factory=lambda: _frozen(()))
    waiting_s: np.ndarray = field(default_factory=lambda: _frozen(()))

    @classmethod
    def build(
        cls,
        ids: Sequence[str],
        dist_m: Sequence[float] | np.ndarray,
        speed_m_s: Sequence[float] | np.ndarray,
        waiting_s: Sequence[float] | np.ndarray,
    ) -> LaneVehicles:
        """Build from parallel sequences, sorted by distance to the lane's end."""
        dist = np.asarray(dist_m, dtype=np.float64)
        order = np.argsort(dist, kind="stable")
        return cls(
            ids=tuple(ids[i] for i in order),
            dist_m=_frozen(dist[order]),
            speed_m_s=_frozen(np.asarray(speed_m_s, dtype=np.float64)[order]),
            waiting_s=_frozen(np.asarray(waiting_s, dtype=np.float64)[order]),
        )

    @classmethod
    def per_lane(
        cls,
        ids: Sequence[Sequence[str]],
        dist_m: np.ndarray,
        speed_m_s: np.ndarray,
        waiting_s: np.ndarray,
    ) -> tuple[LaneVehicles, ...]:
        """Split flat arrays (all lanes' vehicles, lane after lane) into one object per lane.

        One sort and one set of arrays for every lane of a decision instead of a few numpy
        calls per lane: each lane's arrays are read-only views of the flat ones.
        """
        counts = np.fromiter((len(v) for v in ids), np.intp, len(ids))
        lane = np.repeat(np.arange(len(ids)), counts)
        order = np.lexsort((dist_m, lane))  # by lane, then by distance (stable within ties)
        flat_ids = [vid for lane_ids in ids for vid in lane_ids]
        dist, speed, wait = (
            _frozen(np.asarray(a, dtype=np.float64)[order]) for a in (dist_m, speed_m_s, waiting_s)
        )
        ends = np.cumsum(counts).tolist()
        out = []
        start = 0
        for end in ends:
            if end == start:
                out.append(_EMPTY)
            else:
                out.append(
                    cls(
                        ids=tuple(flat_ids[i] for i in order[start:end].tolist()),
                        dist_m=dist[start:end],
                        speed_m_s=speed[start:end],
                        waiting_s=wait[start:end],
                    )
                )
            start = end
        return tuple(out)

    @classmethod
    def joined(cls, parts: Sequence[tuple[LaneVehicles, float]]) -> LaneVehicles:
        """Join lanes into one approach: each part's distances shifted by its offset [m].

        A vehicle on several parts (it cannot be, within one step) would be listed twice.
        """
        if len(parts) == 1 and parts[0][1] == 0.0:
            return parts[0][0]
        return cls.build(
            [vid for lane, _ in parts for vid in lane.ids],
            np.concatenate([lane.dist_m + offset for lane, offset in parts]),
            np.concatenate([lane.speed_m_s for lane, _ in parts]),
            np.concatenate([lane.waiting_s for lane, _ in parts]),
        )

    def __len__(self) -> int:
        return len(self.ids)

    def within(self, max_dist_m: float) -> int:
        """Count the vehicles at most ``max_dist_m`` from the lane's end."""
        return int(np.searchsorted(self.dist_m, max_dist_m, side="right"))


_EMPTY = LaneVehicles()


@runtime_checkable
class Backend(Protocol):
    """One SUMO simulation, owned by one object (no module-level "current connection").

    Lifecycle: ``start(config)`` once, then any number of reads and ``step_until`` calls,
    then ``close()`` (idempotent; also called by ``__exit__``). A backend is single-use.
    """

    kind: BackendKind

    def start(self, config: SimConfig) -> None:
        """Start SUMO with ``config``; raise :class:`SimulationError` if it cannot start."""

    def close(self) -> None:
        """Stop SUMO, flush its outputs and release every resource. Safe to call twice."""

    def time_s(self) -> float:
        """Return the current simulation time [s]."""

    def step_until(self, time_s: float) -> None:
        """Advance the simulation to ``time_s`` in one call (no per-step Python round trip)."""

    def watch_lanes(
        self,
        lane_ids: Sequence[str],
        fields: Sequence[str] = LANE_FIELDS,
        *,
        vehicle_filter: VehicleFilter | None = None,
    ) -> None:
        """Declare the lanes :meth:`read_lanes` returns, in this order, and which fields.

        Reading fewer fields is cheaper, above all over a socket: a controller that needs
        only queues should not pay for speeds and occupancies. With ``vehicle_filter``,
        :meth:`read_vehicles` returns (and pays for) only the vehicles it accepts, such as
        the equipped ones of a connected-vehicle sensor; lane fields still count every vehicle.
        """

    def read_lanes(self) -> LaneReadings:
        """Return the watched fields of the watched lanes (NaN for fields not watched)."""

    def read_vehicles(self) -> tuple[LaneVehicles, ...]:
        """Return the vehicles on each watched lane (only if :data:`VEHICLES` is watched).

        Raises:
            SimulationError: the ``vehicles`` field was not watched.

        """

    def watch_detectors(
        self,
        loops: Sequence[str] = (),
        zones: Sequence[str] = (),
        *,
        zone_fields: Sequence[str] = ZONE_FIELDS,
        zone_vehicles: bool = False,
    ) -> None:
        """Declare the detectors :meth:`read_detectors` returns, in this order.

        ``loops`` are induction loops (SUMO E1) and ``zones`` lane-area detectors (SUMO E2)
        of the run's additional files; the zones' ``zone_fields`` are read (the others are
        NaN), and with ``zone_vehicles`` each zone's vehicles too.

        Raises:
            SimulationError: a detector does not exist in the running simulation.

        """

    def read_detectors(self) -> DetectorReadings:
        """Return the watched detectors' readings (one batched read for all of them)."""

    def set_signal_state(self, tls_id: str, state: str) -> None:
        """Set a traffic light's full signal string; the program's own timers stop."""

    def signal_state(self, tls_id: str) -> str:
        """Return a traffic light's current signal string."""

    def __enter__(self) -> Backend: ...

    def __exit__(self, *exc: object) -> None: ...


_B = TypeVar("_B", bound="Closing")


class Closing:
    """Context-manager plumbing shared by the backends: every exit path calls ``close()``."""

    def close(self) -> None:  # pragma: no cover - every backend defines it
        """Release the simulation."""
        raise NotImplementedError

    def __enter__(self: _B) -> _B:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        with contextlib.suppress(Exception):  # interpreter shutdown: nothing left to report to
            self.close()
