"""``sotl``: self-organising traffic lights (Gershenson 2005; Cools, Gershenson & D'Hooghe 2008).

Each red lane "requests" green in proportion to the vehicles waiting or approaching it: a
counter accumulates, every decision, the vehicles within ``detection_m`` of the stop lines
that the current phase leaves red, times the time elapsed [veh·s]. When the counter reaches
``threshold_veh_s`` and the green has lasted ``min_green_s``, the light switches — unless a
short platoon is about to cross the green (between 1 and ``platoon_veh`` - 1 vehicles within
``platoon_m``: let it pass first). Two of Gershenson's (2012) further rules are included: with
no vehicle approaching the green and some approaching the red, switch at once (after the
minimum green); and when a served exit is blocked (a vehicle stopped within ``blocked_m`` of
the start of an outgoing lane the green feeds), switch.

The original is for two-phase crossings; with more phases the next phase is the one with the
most vehicles within ``detection_m`` on the lanes it serves (ties: the next in program order).

Without vehicle positions (induction loops, a count-only sensing) the counts the sensing gives
per lane (``vehicle_count``: the vehicles between a lane's loops) stand in for the vehicles
within ``detection_m`` and ``platoon_m``, and the blocked-exit rule is left out. When the
sensing reports a detector of the light failed, the light falls back to fixed operation
(``fallback = "fixed-cycle"``): each phase in program order for ``fallback_green_s``, until
the report ends; ``fallback = "none"`` ignores the reports.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from signalbench.controllers._api import IntersectionObs, PhaseRequest
from signalbench.controllers._base import BaseController
from signalbench.controllers._phases import check_number, phase_lanes
from signalbench.networks import IntersectionSpec

__all__ = ["Sotl", "SotlParams"]

_HALTING_SPEED_M_S = 0.1


@dataclass(frozen=True, kw_only=True)
class SotlParams:
    """Parameters of :class:`Sotl` (names after Gershenson's: θ, d, μ, r, u, e).

    Attributes:
        threshold_veh_s: counter value that triggers a switch, θ [veh·s].
        detection_m: distance from the stop line within which vehicles are counted, d [m].
        platoon_veh: a platoon of fewer than this many vehicles on the green is let through, μ [veh].
        platoon_m: distance within which that platoon is looked for, r [m].
        min_green_s: shortest green of this controller, u [s] (the harness's minimum green
            applies as well).
        blocked_m: an outgoing lane with a stopped vehicle this close to its start is blocked, e [m].
        fallback: ``fixed-cycle`` (fixed operation while a detector is reported failed) or ``none``.
        fallback_green_s: green of each phase in fixed operation [s].

    """

    threshold_veh_s: float = 40.0
    detection_m: float = 50.0
    platoon_veh: int = 3
    platoon_m: float = 25.0
    min_green_s: float = 10.0
    blocked_m: float = 10.0
    fallback: str = "fixed-cycle"
    fallback_green_s: float = 30.0

    def __post_init__(self) -> None:
        if self.fallback not in ("fixed-cycle", "none"):
            raise ValueError(f"fallback must be 'fixed-cycle' or 'none', got {self.fallback!r}")
        for name in ("threshold_veh_s", "detection_m", "platoon_m", "blocked_m", "fallback_green_s"):
            check_number(name, getattr(self, name))
        check_number("min_green_s", self.min_green_s, allow_zero=True)
        if (
            isinstance(self.platoon_veh, bool)
            or not isinstance(self.platoon_veh, int)
            or self.platoon_veh < 0
        ):
            raise ValueError(f"platoon_veh must be a whole number >= 0, got {self.platoon_veh!r}")


class Sotl(BaseController):
    """Switch when the vehicles waiting on red, accumulated over time, pass a threshold."""

    Params = SotlParams
    params: SotlParams
    decision_interval_s = 1.0
    observed_lane_fields = ("vehicles",)
    alternative_lane_fields = (("vehicle_count",),)

    def __init__(self, params: SotlParams | None = None) -> None:
        super().__init__(params)
        self.detector_fallback = "fixed cycle" if self.params.fallback == "fixed-cycle" else ""

    def reset(self, spec: IntersectionSpec, rng: np.random.Generator) -> None:
        """Start with an empty counter."""
        super().reset(spec, rng)
        self._lanes = phase_lanes(spec)
        self._out_of_phase = np.zeros((spec.n_phases, len(spec.outgoing_lanes)), dtype=bool)
        for k, phase in enumerate(spec.green_phases):
            self._out_of_phase[k, spec.movement_out_lane[list(phase.movements)]] = True
        self._out_len = np.array([lane.length_m for lane in spec.outgoing_lanes])
        self._kappa_veh_s = 0.0
        self._last_s: float | None = None
        self._phase = -1

    def act(self, obs: IntersectionObs) -> PhaseRequest:
        """Accumulate the red lanes' demand and apply the rules."""
        p = self.params
        dt = 0.0 if self._last_s is None else obs.time_s - self._last_s
        self._last_s = obs.time_s
        if obs.in_transition or obs.phase != self._phase:
            self._phase = obs.phase
            self._kappa_veh_s = 0.0
            return PhaseRequest.hold()
        if p.fallback == "fixed-cycle" and obs.failed_lanes().any():  # fixed operation
            if obs.time_in_phase_s >= max(p.fallback_green_s, p.min_green_s):
                return PhaseRequest.switch((obs.phase + 1) % obs.n_phases)
            return PhaseRequest.hold()
        positions = obs.observes("vehicles") or not obs.fields
        near = obs.vehicles_within(p.detection_m) if positions else np.nan_to_num(obs.in_vehicles)
        green = self._lanes[obs.phase]
        red_demand = float(near[~green].sum())
        green_demand = float(near[green].sum())
        self._kappa_veh_s += red_demand * min(dt, obs.time_in_phase_s)  # green time only
        if obs.time_in_phase_s < p.min_green_s or red_demand == 0:
            return PhaseRequest.hold()
        platoon = float((obs.vehicles_within(p.platoon_m) if positions else near)[green].sum())
        switch = (
            (positions and self._blocked_exit(obs))
            or green_demand == 0
            or (self._kappa_veh_s >= p.threshold_veh_s and not 0 < platoon < p.platoon_veh)
        )
        if not switch:
            return PhaseRequest.hold()
        # Only red lanes' demand counts for the target: lanes the green already serves do not.
        demand = (self._lanes & ~green).astype(np.float64) @ near
        order = [(obs.phase + i) % obs.n_phases for i in range(1, obs.n_phases)]
        target = max(order, key=lambda k: (demand[k], -order.index(k)))
        return PhaseRequest.switch(target) if demand[target] > 0 else PhaseRequest.hold()

    def _blocked_exit(self, obs: IntersectionObs) -> bool:
        fed = self._out_of_phase[obs.phase]
        for j, lane in enumerate(obs.out_lane_vehicles):
            if not fed[j] or not len(lane):
                continue
            from_start = self._out_len[j] - lane.dist_m
            if bool(np.any((from_start <= self.params.blocked_m) & (lane.speed_m_s < _HALTING_SPEED_M_S))):
                return True
        return False
