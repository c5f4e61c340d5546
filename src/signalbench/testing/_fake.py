"""A fake backend for millisecond unit tests: point queues on the lanes of a network model.

It follows the backend contract exactly (time, stepping, lane readings, detectors, signal
strings) with a crude but deterministic traffic model: Poisson arrivals on incoming lanes,
discharge at a saturation flow on green links, outgoing lanes drain at the same rate. Queued
vehicles stand 7.5 m apart from the lane's end. Detectors (induction loops and lane-area
detectors) are read from the additional files of the configuration, as SUMO would: a loop
counts the vehicles that passed its position, a zone sees the queued vehicles inside it. It
writes no SUMO outputs. Every signal string set is kept in :attr:`FakeBackend.timelines`.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from signalbench.errors import SimulationError
from signalbench.sim import (
    LANE_FIELDS,
    VEHICLES,
    ZONE_FIELDS,
    BackendKind,
    Closing,
    DetectorReadings,
    LaneReadings,
    LaneVehicles,
    SimConfig,
    VehicleFilter,
    check_fields,
)

if TYPE_CHECKING:
    from signalbench.networks import NetworkModel

__all__ = ["FakeBackend"]

_SPACING_M = 7.5  # distance between queued vehicles in the fake [m]
_LENGTH_M = 5.0  # a vehicle's length in the fake [m]


@dataclass(frozen=True)
class _Detector:
    """A detector of the additional files: its lane and where it sits, from the lane's end [m]."""

    lane: str
    dist_m: float  # a loop's position / a zone's far end, from the lane's end
    near_m: float = 0.0  # a zone's near end, from the lane's end
    period_s: float = 60.0


class FakeBackend(Closing):
    """In-memory stand-in for SUMO, driven by a :class:`NetworkModel`.

    Args:
        model: the network whose traffic lights and lanes exist in the fake.
        arrival_rate_veh_s: mean arrivals per incoming lane per second.
        saturation_flow_veh_s: discharge per green link per second.

    """

    kind: BackendKind = "fake"

    def __init__(
        self,
        model: NetworkModel,
        *,
        arrival_rate_veh_s: float = 0.05,
        saturation_flow_veh_s: float = 0.5,
    ) -> None:
        self.model = model
        self.arrival_rate_veh_s = arrival_rate_veh_s
        self.saturation_flow_veh_s = saturation_flow_veh_s
        self.timelines: dict[str, list[tuple[float, str]]] = {}
        self.steps_advanced = 0
        self.step_calls = 0
        self._time = 0.0
        self._begin = 0.0
        self._step = 1.0
        self._started = False
        self._closed = False
        self._lanes: tuple[str, ...] = ()
        self._fields: tuple[str, ...] = LANE_FIELDS
        self._vehicles = False
        self._count: dict[str, float] = {}
        self._states: dict[str, str] = {}
        self._rng = np.random.default_rng(0)
        self._in_lanes: list[str] = []
        self._keep: VehicleFilter | None = None
        self._lengths: dict[str, float] = {}
        self._detectors: dict[str, _Detector] = {}
        self._loops: tuple[str, ...] = ()
        self._zones: tuple[str, ...] = ()
        self._zone_vehicles = False
        self._zone_fields: tuple[str, ...] = ZONE_FIELDS
        # Cumulative vehicles that reached each lane's end (left it) and entered it, with the
        # times of the last ones: what the loops count and when they last detected a vehicle.
        self._left: dict[str, float] = {}
        self._entered: dict[str, float] = {}
        self._last_left_s: dict[str, float] = {}
        self._last_entered_s: dict[str, float] = {}
        self._interval_marks: dict[
            str, tuple[float, float, float]
        ] = {}  # loop -> (end_s, cum now, cum at last end)

    def start(self, config: SimConfig) -> None:
        """Reset the fake to ``config.begin_s`` with ``config.seed``."""
        if self._started:
            raise SimulationError("a FakeBackend can be started only once")
        self._started = True
        self._time = float(config.begin_s)
        self._begin = self._time
        self._step = float(config.step_length_s)
        self._rng = np.random.default_rng(config.seed)
        lanes: dict[str, None] = {}
        for spec in self.model.intersections:
            for lane in (*spec.incoming_lanes, *spec.outgoing_lanes):
                lanes[lane.id] = None
            self._states[spec.id] = spec.program[0][0]
            self.timelines[spec.id] = [(self._time, spec.program[0][0])]
        self._count = dict.fromkeys(lanes, 0.0)
        self._in_lanes = sorted({lane.id for s in self.model.intersections for lane in s.incoming_lanes})
        self._lengths = {
            lane.id: lane.length_m
            for spec in self.model.intersections
            for lane in (*spec.incoming_lanes, *spec.outgoing_lanes)
        }
        self._left = dict.fromkeys(lanes, 0.0)
        self._entered = dict.fromkeys(lanes, 0.0)
        self._last_left_s = dict.fromkeys(lanes, -math.inf)
        self._last_entered_s = dict.fromkeys(lanes, -math.inf)
        for path in config.additional_files:
            self._detectors.update(_read_detectors(path, self._lengths))

    def close(self) -> None:
        """Nothing to release."""
        self._closed = True

    def time_s(self) -> float:
        """Return the current fake time [s]."""
        return self._time

    def step_until(self, time_s: float) -> None:
        """Advance whole steps until ``time_s`` is reached."""
        if self._closed:
            raise SimulationError("the fake backend is closed")
        self.step_calls += 1
        n = max(1, math.ceil((time_s - self._time) / self._step - 1e-9))
        for _ in range(n):
            self._advance_one()

    def _advance_one(self) -> None:
        dt = self._step
        now = self._time + dt
        for lane, k in zip(
            self._in_lanes,
            self._rng.poisson(self.arrival_rate_veh_s * dt, len(self._in_lanes)),
            strict=True,
        ):
            self._count[lane] += float(k)
            self._arrive(lane, float(k), now)
        moved: dict[str, float] = {}
        for spec in self.model.intersections:
            state = self._states[spec.id]
            for m in spec.movements:
                if state[m.link_index] in "Gg" and self._count[m.from_lane] > 0:
                    q = min(self._count[m.from_lane], self.saturation_flow_veh_s * dt)
                    self._count[m.from_lane] -= q
                    self._depart(m.from_lane, q, now)
                    moved[m.to_lane] = moved.get(m.to_lane, 0.0) + q
        for spec in self.model.intersections:
            for out_lane in spec.outgoing_lanes:
                left = min(self._count[out_lane.id], self.saturation_flow_veh_s * dt)
                self._count[out_lane.id] -= left
                self._depart(out_lane.id, left, now)
        for lane_id, q in moved.items():
            self._count[lane_id] += q
            self._arrive(lane_id, q, now)
        self._time = now
        for loop, (end_s, _, _) in list(self._interval_marks.items()):
            if now >= end_s - 1e-9:  # an interval of this loop closed: remember its count
                det = self._detectors[loop]
                cum = self._passed(det)
                self._interval_marks[loop] = (end_s + det.period_s, cum, self._interval_marks[loop][1])
        self.steps_advanced += 1

    def _arrive(self, lane: str, k: float, now: float) -> None:
        if k > 0:
            self._entered[lane] += k
            self._last_entered_s[lane] = now

    def _depart(self, lane: str, k: float, now: float) -> None:
        if k > 0:
            self._left[lane] += k
            self._last_left_s[lane] = now

    def _passed(self, det: _Detector) -> float:
        """Vehicles that passed a loop so far: those that left the lane, and the queued ones past it."""
        past = max(0, math.ceil((det.dist_m - _LENGTH_M) / _SPACING_M))
        return math.floor(self._left[det.lane]) + min(math.floor(self._count[det.lane]), past)

    def watch_lanes(
        self,
        lane_ids: Sequence[str],
        fields: Sequence[str] = LANE_FIELDS,
        *,
        vehicle_filter: VehicleFilter | None = None,
    ) -> None:
        """Declare the lanes and fields to read."""
        unknown = [lane for lane in lane_ids if lane not in self._count]
        if unknown:
            raise SimulationError(f"unknown lane {unknown[0]!r}")
        self._lanes = tuple(lane_ids)
        self._fields = check_fields(fields)
        self._vehicles = VEHICLES in fields
        self._keep = vehicle_filter

    def read_vehicles(self) -> tuple[LaneVehicles, ...]:
        """Return each lane's queue as stopped vehicles 7.5 m apart from the lane's end."""
        if not self._vehicles:
            raise SimulationError("read_vehicles() needs the 'vehicles' field in watch_lanes()")
        return tuple(self._queue(lane, math.inf, self._keep) for lane in self._lanes)

    def _queue(self, lane: str, max_dist_m: float, keep: VehicleFilter | None = None) -> LaneVehicles:
        """Return the lane's queue as stopped vehicles from the lane's end, up to ``max_dist_m``."""
        n = math.floor(self._count[lane])
        rows = [(f"{lane}#{k}", _SPACING_M * k) for k in range(n) if _SPACING_M * k <= max_dist_m]
        if keep is not None:
            rows = [r for r in rows if keep(r[0])]
        return LaneVehicles.build(
            [r[0] for r in rows], [r[1] for r in rows], [0.0] * len(rows), [1.0] * len(rows)
        )

    def watch_detectors(
        self,
        loops: Sequence[str] = (),
        zones: Sequence[str] = (),
        *,
        zone_fields: Sequence[str] = ZONE_FIELDS,
        zone_vehicles: bool = False,
    ) -> None:
        """Declare the detectors to read (they must be in the configuration's additional files)."""
        for kind, ids in (("induction loop", loops), ("lane-area detector", zones)):
            missing = [d for d in ids if d not in self._detectors]
            if missing:
                raise SimulationError(
                    f"no {kind} {missing[0]!r} in the simulation (its additional file was not loaded?)"
                )
        self._loops, self._zones, self._zone_vehicles = tuple(loops), tuple(zones), zone_vehicles
        self._zone_fields = tuple(f for f in ZONE_FIELDS if f in zone_fields)
        for loop in self._loops:
            det = self._detectors[loop]
            cum = self._passed(det)
            begin = self._begin
            ends = math.floor((self._time - begin) / det.period_s + 1e-9) + 1
            self._interval_marks[loop] = (begin + ends * det.period_s, cum, cum)

    def read_detectors(self) -> DetectorReadings:
        """Loops: count of the last closed interval, time since a vehicle passed; zones: the queue in them."""
        counts, gaps = [], []
        for loop in self._loops:
            det = self._detectors[loop]
            _, last_end, before = self._interval_marks[loop]
            counts.append(last_end - before)
            n = math.floor(self._count[det.lane])
            if n > 0 and (n - 1) * _SPACING_M >= det.dist_m - 1e-9:  # the queue stands on the loop
                gaps.append(0.0)
            else:
                last = (
                    self._last_left_s[det.lane] if det.dist_m < _SPACING_M else self._last_entered_s[det.lane]
                )
                gaps.append(self._time - last if math.isfinite(last) else self._time + 3600.0)
        zones: dict[str, list[float]] = {f: [] for f in ("vehicle_count", "halting_count", "occupancy")}
        zones |= {"mean_speed_m_s": [], "jam_length_m": []}
        vehicles = []
        for zone in self._zones:
            det = self._detectors[zone]
            queue = self._queue(det.lane, det.dist_m)
            inside = int(np.sum(queue.dist_m >= det.near_m))
            zones["vehicle_count"].append(float(inside))
            zones["halting_count"].append(float(inside))
            zones["occupancy"].append(min(1.0, inside * _SPACING_M / max(det.dist_m - det.near_m, 1e-9)))
            zones["mean_speed_m_s"].append(0.0 if inside else math.nan)
            zones["jam_length_m"].append(inside * _SPACING_M)
            if self._zone_vehicles:
                vehicles.append(queue)
        kept = {f: v for f, v in zones.items() if f in self._zone_fields}
        return DetectorReadings.build(
            {"count": counts, "gap_s": gaps}, kept, vehicles, n_zones=len(self._zones)
        )

    def read_lanes(self) -> LaneReadings:
        """Queue counts; every queued vehicle counts as halting."""
        queued = np.array([math.floor(self._count[lane]) for lane in self._lanes], dtype=np.float64)
        values = {
            "vehicle_count": queued,
            "halting_count": queued,
            "occupancy": np.minimum(1.0, queued * 7.5 / 100.0),
            "mean_speed_m_s": np.where(queued > 0, 0.0, 13.9),
            "waiting_time_s": queued * 1.0,  # each queued vehicle has waited 1 s (as read_vehicles says)
        }
        return LaneReadings.build(len(self._lanes), {f: values[f] for f in self._fields})

    def set_signal_state(self, tls_id: str, state: str) -> None:
        """Record and apply a signal string."""
        if tls_id not in self._states:
            raise SimulationError(f"unknown traffic light {tls_id!r}")
        if len(state) != len(self._states[tls_id]):
            raise SimulationError(f"traffic light {tls_id!r}: wrong signal string length")
        self._states[tls_id] = state
        self.timelines[tls_id].append((self._time, state))

    def signal_state(self, tls_id: str) -> str:
        """Return the current signal string."""
        return self._states[tls_id]


def _read_detectors(path: object, lengths: dict[str, float]) -> dict[str, _Detector]:
    """Induction loops and lane-area detectors of an additional file, on lanes the fake knows."""
    try:
        root = ET.parse(str(path)).getroot()
    except (OSError, ET.ParseError):
        return {}
    found: dict[str, _Detector] = {}
    for el in root.iter():
        lane = el.get("lane")
        if lane is None or lane not in lengths or el.get("id") is None:
            continue
        length = lengths[lane]
        period = float(el.get("period") or el.get("freq") or 60.0)
        if el.tag in ("inductionLoop", "e1Detector"):
            pos = float(el.get("pos", "0"))
            found[el.get("id", "")] = _Detector(lane, dist_m=length - pos, period_s=period)
        elif el.tag in ("laneAreaDetector", "e2Detector"):
            pos = float(el.get("pos", "0"))
            end = float(el.get("endPos", str(pos + float(el.get("length", "0")))))
            found[el.get("id", "")] = _Detector(
                lane, dist_m=length - pos, near_m=length - end, period_s=period
            )
    return found
