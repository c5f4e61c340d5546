"""One decision's sensed picture of the watched lanes, and the observations made from it.

A :class:`Frame` holds, per watched lane, what the sensing delivers to the controller after
its model, faults and attacks: the lane fields, loop gaps, jam lengths, the reported vehicles
and the diagnostics' failure flags. :class:`Layout` knows which rows belong to which light and
turns a frame into every light's :class:`~signalbench.controllers.IntersectionObs`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

import numpy as np

from signalbench.controllers import IntersectionObs
from signalbench.networks import IntersectionSpec, NetworkModel
from signalbench.sensing._api import SignalStatus
from signalbench.sim import LaneVehicles

__all__ = ["FRAME_FIELDS", "Frame", "Layout", "LightRows"]

#: Numeric per-lane fields of a frame (NaN where the model does not measure them).
FRAME_FIELDS = ("vehicle_count", "halting_count", "occupancy", "mean_speed_m_s", "gap_s", "jam_length_m")


@dataclass(frozen=True, eq=False)
class Frame:
    """What the sensing delivers at one time, per watched lane (one row per lane).

    Attributes:
        time_s: when it was measured [s].
        values: per :data:`FRAME_FIELDS` name, one value per lane.
        vehicles: the vehicles reported on each lane (empty when not observed).
        failed: per lane, True while its detector is reported failed.

    """

    time_s: float
    values: Mapping[str, np.ndarray]
    vehicles: tuple[LaneVehicles, ...]
    failed: np.ndarray

    @classmethod
    def empty(cls, time_s: float, n_lanes: int, vehicles: bool) -> Frame:
        """Return a frame with every value NaN, no vehicles and no failure."""
        return cls(
            time_s=time_s,
            values={f: np.full(n_lanes, np.nan) for f in FRAME_FIELDS},
            vehicles=tuple(LaneVehicles() for _ in range(n_lanes)) if vehicles else (),
            failed=np.zeros(n_lanes, dtype=bool),
        )

    def copy(self) -> Frame:
        """Return a copy whose arrays can be changed without touching this frame."""
        return replace(self, values={k: v.copy() for k, v in self.values.items()}, failed=self.failed.copy())

    def mixed(self, older: Frame, rows: np.ndarray) -> Frame:
        """Return this frame with the rows in ``rows`` (a boolean mask) taken from ``older``."""
        values = {k: np.where(rows, older.values[k], v) for k, v in self.values.items()}
        vehicles = (
            tuple(o if r else n for n, o, r in zip(self.vehicles, older.vehicles, rows, strict=True))
            if self.vehicles
            else ()
        )
        return replace(
            self, values=values, vehicles=vehicles, failed=np.where(rows, older.failed, self.failed)
        )


@dataclass(frozen=True)
class LightRows:
    """Rows of one light's lanes among the watched lanes (the same for every sensing)."""

    incoming: np.ndarray
    outgoing: np.ndarray
    downstream: tuple[np.ndarray, ...]

    @classmethod
    def of(cls, spec: IntersectionSpec, lane_index: Mapping[str, int]) -> LightRows:
        """Return the rows of ``spec``'s incoming, outgoing and downstream lanes."""
        return cls(
            incoming=np.array([lane_index[ln.id] for ln in spec.incoming_lanes], dtype=np.intp),
            outgoing=np.array([lane_index[ln.id] for ln in spec.outgoing_lanes], dtype=np.intp),
            downstream=tuple(
                np.array([lane_index[d] for d in ln.downstream_lanes if d in lane_index], dtype=np.intp)
                for ln in spec.outgoing_lanes
            ),
        )

    def down_halting(self, halting: np.ndarray | None) -> np.ndarray:
        """Halting vehicles on each outgoing lane's downstream lanes (NaN without halting counts)."""
        if halting is None:
            return np.full(len(self.downstream), np.nan)
        return np.array([halting[d].sum() for d in self.downstream], dtype=np.float64)


class Layout:
    """The watched lanes' rows of every controlled light, and the fields a controller is given.

    Args:
        model: the network.
        lane_ids: the watched lanes, in row order (incoming and outgoing lanes of every light).
        fields: the observation fields the controller receives; the others stay NaN.
        diagnostics: whether failure flags are given (``in_failed``), or None.

    """

    def __init__(
        self, model: NetworkModel, lane_ids: tuple[str, ...], fields: tuple[str, ...], *, diagnostics: bool
    ) -> None:
        index = {lane: i for i, lane in enumerate(lane_ids)}
        self.specs = model.intersections
        self.fields = frozenset(fields)
        self.diagnostics = diagnostics
        self.rows = {spec.id: LightRows.of(spec, index) for spec in self.specs}

    def observe(
        self, frame: Frame, now_s: float, status: Mapping[str, SignalStatus]
    ) -> dict[str, IntersectionObs]:
        """Every light's observation from ``frame`` (fields the controller does not get are NaN)."""
        values = frame.values
        nan = np.full(len(frame.failed), np.nan)
        lane_field = {
            name: values[name] if name in self.fields else nan
            for name in ("vehicle_count", "halting_count", "occupancy", "mean_speed_m_s")
        }
        halting = np.nan_to_num(values["halting_count"], nan=0.0) if "halting_count" in self.fields else None
        with_vehicles = "vehicles" in self.fields and bool(frame.vehicles)
        return {
            spec.id: self._observe(spec, status[spec.id], frame, lane_field, halting, with_vehicles, now_s)
            for spec in self.specs
        }

    def _observe(
        self,
        spec: IntersectionSpec,
        status: SignalStatus,
        frame: Frame,
        lane_field: Mapping[str, np.ndarray],
        halting: np.ndarray | None,
        with_vehicles: bool,
        now_s: float,
    ) -> IntersectionObs:
        rows = self.rows[spec.id]
        inc, out = rows.incoming, rows.outgoing
        vehicles = frame.vehicles
        return IntersectionObs(
            spec=spec,
            time_s=now_s,
            phase=status.phase,
            in_transition=status.in_transition,
            time_in_phase_s=status.time_in_phase_s,
            in_vehicles=lane_field["vehicle_count"][inc],
            in_halting=lane_field["halting_count"][inc],
            in_occupancy=lane_field["occupancy"][inc],
            in_mean_speed_m_s=lane_field["mean_speed_m_s"][inc],
            out_vehicles=lane_field["vehicle_count"][out],
            out_halting=lane_field["halting_count"][out],
            down_halting=rows.down_halting(halting),
            in_lane_vehicles=tuple(vehicles[i] for i in inc) if with_vehicles else (),
            out_lane_vehicles=tuple(vehicles[i] for i in out) if with_vehicles else (),
            down_lane_vehicles=tuple(tuple(vehicles[i] for i in d) for d in rows.downstream)
            if with_vehicles
            else (),
            in_gap_s=frame.values["gap_s"][inc] if "gap_s" in self.fields else None,
            in_jam_length_m=frame.values["jam_length_m"][inc] if "jam_length_m" in self.fields else None,
            in_failed=frame.failed[inc] if self.diagnostics else None,
            fields=self.fields,
        )
