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
        # Downstream queues sum halting counts: one NaN-free copy per decision, not per light.
        halting = _nan_free(readings.halting_count) if self.with_halting else None
        return {
            spec.id: _observe(
                spec, status[spec.id], readings, halting, vehicles, self.rows[spec.id], now_s, self.fields
            )
            for spec in self.specs
        }


def _nan_free(values: np.ndarray) -> np.ndarray:
    return np.where(np.isnan(values), 0.0, values) if np.isnan(values).any() else values


def _counts_within(vehicles: tuple[LaneVehicles, ...], max_dist_m: float) -> np.ndarray:
    return np.fromiter((lv.within(max_dist_m) for lv in vehicles), np.float64, len(vehicles))


def _observe(
    spec: IntersectionSpec,
    status: SignalStatus,
    readings: LaneReadings,
    halting: np.ndarray | None,
    vehicles: tuple[LaneVehicles, ...],
    rows: LightRows,
    now_s: float,
    fields: frozenset[str],
) -> IntersectionObs:
    inc, out = readings.rows(rows.incoming), readings.rows(rows.outgoing)
    if vehicles:
        in_veh = tuple(vehicles[i] for i in rows.incoming)
        out_veh = tuple(vehicles[i] for i in rows.outgoing)
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
        in_vehicles=inc.vehicle_count,
        in_halting=inc.halting_count,
        in_occupancy=inc.occupancy,
        in_mean_speed_m_s=inc.mean_speed_m_s,
        out_vehicles=out.vehicle_count,
        out_halting=out.halting_count,
        down_halting=rows.down_halting(halting),
        in_lane_vehicles=in_veh,
        out_lane_vehicles=out_veh,
        down_lane_vehicles=down_veh,
        fields=fields,
    )
