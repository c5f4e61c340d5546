"""A fake backend for millisecond unit tests: point queues on the lanes of a network model.

It follows the backend contract exactly (time, stepping, lane readings, signal strings) with
a crude but deterministic traffic model: Poisson arrivals on incoming lanes, discharge at a
saturation flow on green links, outgoing lanes drain at the same rate. It writes no SUMO
outputs. Every signal string set is kept in :attr:`FakeBackend.timelines` for auditing.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from signalbench.errors import SimulationError
from signalbench.sim import (
    LANE_FIELDS,
    VEHICLES,
    BackendKind,
    Closing,
    LaneReadings,
    LaneVehicles,
    SimConfig,
    check_fields,
)

if TYPE_CHECKING:
    from signalbench.networks import NetworkModel

__all__ = ["FakeBackend"]


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

    def start(self, config: SimConfig) -> None:
        """Reset the fake to ``config.begin_s`` with ``config.seed``."""
        if self._started:
            raise SimulationError("a FakeBackend can be started only once")
        self._started = True
        self._time = float(config.begin_s)
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
        for lane, k in zip(
            self._in_lanes,
            self._rng.poisson(self.arrival_rate_veh_s * dt, len(self._in_lanes)),
            strict=True,
        ):
            self._count[lane] += float(k)
        moved: dict[str, float] = {}
        for spec in self.model.intersections:
            state = self._states[spec.id]
            for m in spec.movements:
                if state[m.link_index] in "Gg" and self._count[m.from_lane] > 0:
                    q = min(self._count[m.from_lane], self.saturation_flow_veh_s * dt)
                    self._count[m.from_lane] -= q
                    moved[m.to_lane] = moved.get(m.to_lane, 0.0) + q
        for spec in self.model.intersections:
            for out_lane in spec.outgoing_lanes:
                left = self._count[out_lane.id] - self.saturation_flow_veh_s * dt
                self._count[out_lane.id] = max(0.0, left)
        for lane_id, q in moved.items():
            self._count[lane_id] += q
        self._time += dt
        self.steps_advanced += 1

    def watch_lanes(self, lane_ids: Sequence[str], fields: Sequence[str] = LANE_FIELDS) -> None:
        """Declare the lanes and fields to read."""
        unknown = [lane for lane in lane_ids if lane not in self._count]
        if unknown:
            raise SimulationError(f"unknown lane {unknown[0]!r}")
        self._lanes = tuple(lane_ids)
        self._fields = check_fields(fields)
        self._vehicles = VEHICLES in fields

    def read_vehicles(self) -> tuple[LaneVehicles, ...]:
        """Return each lane's queue as stopped vehicles 7.5 m apart from the lane's end."""
        if not self._vehicles:
            raise SimulationError("read_vehicles() needs the 'vehicles' field in watch_lanes()")
        out = []
        for lane in self._lanes:
            n = math.floor(self._count[lane])
            out.append(
                LaneVehicles.build(
                    [f"{lane}#{k}" for k in range(n)],
                    [7.5 * k for k in range(n)],
                    [0.0] * n,
                    [1.0] * n,
                )
            )
        return tuple(out)

    def read_lanes(self) -> LaneReadings:
        """Queue counts; every queued vehicle counts as halting."""
        queued = np.array([math.floor(self._count[lane]) for lane in self._lanes], dtype=np.float64)
        values = {
            "vehicle_count": queued,
            "halting_count": queued,
            "occupancy": np.minimum(1.0, queued * 7.5 / 100.0),
            "mean_speed_m_s": np.where(queued > 0, 0.0, 13.9),
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
