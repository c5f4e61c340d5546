"""``perfect`` sensing: the simulator's own lane truths (what every peer harness gives controllers)."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

import numpy as np

from signalbench.controllers import IntersectionObs, NetworkLayout, NetworkObs, Traits
from signalbench.networks import IntersectionSpec, NetworkModel
from signalbench.sensing._api import SignalStatus
from signalbench.sensing._config import SensingConfig, field_set
from signalbench.sensing._frame import LightRows
from signalbench.sim import VEHICLES, Backend, LaneReadings, LaneVehicles

__all__ = ["PerfectSensing"]


class PerfectSensing:
    """Exact lane readings from SUMO.

    Counts, halting vehicles, occupancy and speeds per lane and, when the controller observes
    ``vehicles``, every vehicle's position, speed and waiting time.
    """

    name = "perfect"
    writes_files = False
    config = SensingConfig(name="perfect")

    def additional_files(
        self, model: NetworkModel, outdir: Path, *, interval_s: float, outputs: bool = False
    ) -> tuple[Path, ...]:
        """No detectors: the lanes are read directly."""
        return ()

    def fields_for(self, traits: Traits, controller: str) -> tuple[str, ...]:
        """Return the controller's first field set that lane truths give (all but detector fields)."""
        return field_set(self.config, traits, controller)

    def sensor(
        self, *, backend: Backend, model: NetworkModel, traits: Traits, rng: np.random.Generator
    ) -> _PerfectSensor:
        """Watch every lane the controlled lights need, with the fields the controller reads."""
        chosen = field_set(self.config, traits, "the controller")
        if chosen != traits.observed_fields:
            traits = replace(traits, observed_fields=chosen)
        return _PerfectSensor(backend, model, traits)


class _PerfectSensor:
    def __init__(self, backend: Backend, model: NetworkModel, traits: Traits) -> None:
        self.backend = backend
        self.specs = model.intersections
        lane_index: dict[str, int] = {}
        for spec in self.specs:
            for lane in (*spec.incoming_lanes, *spec.outgoing_lanes):
                lane_index.setdefault(lane.id, len(lane_index))
        fields = traits.observed_fields
        # Lanes feeding the incoming lanes, for a controller whose detection follows the approach.
        feeders: dict[str, list[tuple[str, float]]] = {}
        if traits.observed_upstream_m > 0 and VEHICLES in fields:
            for spec in self.specs:
                for lane in spec.incoming_lanes:
                    near = [(u, off) for u, off in lane.upstream_lanes if off < traits.observed_upstream_m]
                    if near:
                        feeders[lane.id] = near
                        for u, _ in near:
                            lane_index.setdefault(u, len(lane_index))
        # lane row -> (row, offset_m) of its own lane and its feeders
        self.upstream = {
            lane_index[lane]: ((lane_index[lane], 0.0), *((lane_index[u], off) for u, off in near))
            for lane, near in feeders.items()
        }
        backend.watch_lanes(list(lane_index), fields)
        self.with_vehicles = VEHICLES in fields
        self.with_halting = "halting_count" in fields
        self.rows = {spec.id: LightRows.of(spec, lane_index) for spec in self.specs}
        self.fields = frozenset(fields)
        self._lane_index = lane_index
        self._layout: NetworkLayout | None = None
        # Every light's downstream lanes in one flat gather: one bincount per decision gives the
        # downstream queue of every outgoing lane of every light (halting counts are whole numbers,
        # so the sums are exact in any order).
        rows = list(self.rows.values())
        groups = [d for r in rows for d in r.downstream]
        self._down_flat = np.concatenate([np.zeros(0, np.intp), *groups])
        self._down_group = np.repeat(np.arange(len(groups)), [len(d) for d in groups])
        self._down_groups = len(groups)
        ends = np.cumsum([len(r.downstream) for r in rows])
        self._down_slices = {
            spec.id: slice(int(end) - len(r.downstream), int(end))
            for spec, r, end in zip(self.specs, rows, ends, strict=True)
        }
        # NaN arrays (read-only, shared) for the fields the controller did not ask for.
        self._unread = {
            spec.id: _Unread.of(len(r.incoming), len(r.outgoing))
            for spec, r in zip(self.specs, rows, strict=True)
        }

    def lost_requests(self, now_s: float) -> frozenset[str]:
        return frozenset()

    def report(self) -> dict[str, object]:
        return {}

    def _vehicles(self) -> tuple[LaneVehicles, ...]:
        vehicles = self.backend.read_vehicles() if self.with_vehicles else ()
        if self.upstream:  # each incoming lane with the vehicles on its feeders
            joined = list(vehicles)
            for row, parts in self.upstream.items():
                joined[row] = LaneVehicles.joined([(vehicles[i], off) for i, off in parts])
            vehicles = tuple(joined)
        return vehicles

    def observe_batch(
        self, now_s: float, phase: np.ndarray, in_transition: np.ndarray, time_in_phase_s: np.ndarray
    ) -> NetworkObs:
        if self._layout is None:
            self._layout = NetworkLayout.build(self.specs, self._lane_index)
        readings = self.backend.read_lanes()
        within = functools.partial(_counts_within, self._vehicles()) if self.with_vehicles else None
        return NetworkObs(
            layout=self._layout,
            time_s=now_s,
            phase=phase,
            in_transition=in_transition,
            time_in_phase_s=time_in_phase_s,
            lanes=readings,
            within=within,
        )

    def observe(self, now_s: float, status: Mapping[str, SignalStatus]) -> dict[str, IntersectionObs]:
        readings = self.backend.read_lanes()
        vehicles = self._vehicles()
        down: np.ndarray | None = None
        if self.with_halting:  # downstream queues: one gather and one sum for every light
            halting = _nan_free(readings.halting_count)
            down = np.bincount(self._down_group, halting[self._down_flat], self._down_groups)
        return {
            spec.id: _observe(
                spec,
                status[spec.id],
                readings,
                None if down is None else down[self._down_slices[spec.id]],
                vehicles,
                self.rows[spec.id],
                self._unread[spec.id],
                now_s,
                self.fields,
            )
            for spec in self.specs
        }


class _Unread:
    """Read-only NaN arrays standing in for the lane fields a controller did not ask for."""

    __slots__ = ("down", "inc", "out")

    def __init__(self, inc: np.ndarray, out: np.ndarray, down: np.ndarray) -> None:
        self.inc, self.out, self.down = inc, out, down

    @classmethod
    def of(cls, n_in: int, n_out: int) -> _Unread:
        arrays = [np.full(n, np.nan) for n in (n_in, n_out, n_out)]
        for a in arrays:
            a.flags.writeable = False
        return cls(*arrays)


def _nan_free(values: np.ndarray) -> np.ndarray:
    return np.where(np.isnan(values), 0.0, values) if np.isnan(values).any() else values


def _counts_within(vehicles: tuple[LaneVehicles, ...], max_dist_m: float) -> np.ndarray:
    return np.fromiter((lv.within(max_dist_m) for lv in vehicles), np.float64, len(vehicles))


def _observe(
    spec: IntersectionSpec,
    status: SignalStatus,
    readings: LaneReadings,
    down_halting: np.ndarray | None,
    vehicles: tuple[LaneVehicles, ...],
    rows: LightRows,
    unread: _Unread,
    now_s: float,
    fields: frozenset[str],
) -> IntersectionObs:
    inc, out = rows.incoming, rows.outgoing
    # Only the watched fields are gathered; the others are the light's shared NaN arrays.
    counts = "vehicle_count" in fields
    halting = "halting_count" in fields
    if vehicles:
        in_veh = tuple(vehicles[i] for i in inc)
        out_veh = tuple(vehicles[i] for i in out)
        down_veh = tuple(tuple(vehicles[i] for i in d) for d in rows.downstream)
    else:
        in_veh = out_veh = ()
        down_veh = ()
    return IntersectionObs(
        spec=spec,
        time_s=now_s,
        phase=status.phase,
        in_transition=status.in_transition,
        time_in_phase_s=status.time_in_phase_s,
        in_vehicles=readings.vehicle_count[inc] if counts else unread.inc,
        in_halting=readings.halting_count[inc] if halting else unread.inc,
        in_occupancy=readings.occupancy[inc] if "occupancy" in fields else unread.inc,
        in_mean_speed_m_s=readings.mean_speed_m_s[inc] if "mean_speed_m_s" in fields else unread.inc,
        in_waiting_time_s=readings.waiting_time_s[inc] if "waiting_time_s" in fields else None,
        out_vehicles=readings.vehicle_count[out] if counts else unread.out,
        out_halting=readings.halting_count[out] if halting else unread.out,
        down_halting=unread.down if down_halting is None else down_halting,
        in_lane_vehicles=in_veh,
        out_lane_vehicles=out_veh,
        down_lane_vehicles=down_veh,
        fields=fields,
    )
