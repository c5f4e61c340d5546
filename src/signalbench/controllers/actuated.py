"""``actuated``: vehicle-actuated control with gap-out, max-out and calls, in Python.

The textbook fully-actuated controller (FHWA Traffic Signal Timing Manual, 2nd ed., 2015,
ch. 5): a detection zone of ``detector_m`` ahead of each stop line; while the green phase's
zones keep detecting vehicles, the green is extended, and it ends when no vehicle has been
detected for ``passage_s`` (gap-out) or when it has lasted ``max_green_s`` (max-out), never
before ``min_green_s``. The next phase is the next one in program order with a call (a
vehicle within ``call_m`` of a stop line it serves); phases without calls are skipped, and
with no call anywhere the green rests where it is.

With vehicle positions (perfect lane truths, cameras, connected vehicles), detection is the
presence of a vehicle in the zone. With induction loops (the ``loops`` sensing), it is the
field's: a loop's actuation extends the green (gap = time since a loop of a green lane last
detected a vehicle), and a loop that detected a vehicle since the current green began (or is
occupied) calls its phase. ``sumo-actuated`` is SUMO's own loop-based equivalent.

Detector failure (the sensing's diagnostics report a lane's detector failed: stuck on, no
activity): the engineering fallback of the FHWA manual, ``fallback = "max-recall"``: the failed
lane places a constant call, so its phases are always served and extended to the maximum
green; with every detector failed the light cycles through all phases at maximum green (fixed
operation). ``fallback = "none"`` ignores the reports.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from signalbench.controllers._api import IntersectionObs, PhaseRequest
from signalbench.controllers._base import BaseController
from signalbench.controllers._phases import check_number, phase_lanes
from signalbench.networks import IntersectionSpec

__all__ = ["Actuated", "ActuatedParams"]


@dataclass(frozen=True, kw_only=True)
class ActuatedParams:
    """Parameters of :class:`Actuated`.

    Attributes:
        min_green_s: shortest green [s] (the harness's minimum green applies as well).
        max_green_s: longest green while other phases have calls [s].
        passage_s: gap after the last detection that ends the green [s].
        detector_m: length of the detection zone ahead of each stop line [m].
        call_m: a vehicle this close to a red stop line places a call [m].
        fallback: ``max-recall`` (a lane whose detector is reported failed calls and extends
            all the time) or ``none``.

    """

    min_green_s: float = 5.0
    max_green_s: float = 45.0
    passage_s: float = 3.0
    detector_m: float = 30.0
    call_m: float = 100.0
    fallback: str = "max-recall"

    def __post_init__(self) -> None:
        if self.fallback not in ("max-recall", "none"):
            raise ValueError(f"fallback must be 'max-recall' or 'none', got {self.fallback!r}")
        for name in ("max_green_s", "passage_s", "detector_m", "call_m"):
            check_number(name, getattr(self, name))
        check_number("min_green_s", self.min_green_s, allow_zero=True)
        if self.min_green_s > self.max_green_s:
            raise ValueError(f"min_green_s ({self.min_green_s}) exceeds max_green_s ({self.max_green_s})")


class Actuated(BaseController):
    """Extend the green while vehicles keep arriving; gap-out or max-out to the next called phase."""

    Params = ActuatedParams
    params: ActuatedParams
    decision_interval_s = 1.0
    observed_lane_fields = ("vehicles",)
    alternative_lane_fields = (("gap_s",),)

    def __init__(self, params: ActuatedParams | None = None) -> None:
        super().__init__(params)
        self.detector_fallback = "max recall" if self.params.fallback == "max-recall" else ""

    def reset(self, spec: IntersectionSpec, rng: np.random.Generator) -> None:
        """Start with no detection memory."""
        super().reset(spec, rng)
        self._lanes = phase_lanes(spec)
        # Per phase pair (k, current): lanes with a movement phase k serves and the current
        # green does not; only vehicles there call phase k (a protected left on a shared lane
        # is called by its lane even though the lane's through movement is green).
        pm = spec.phase_movements
        in_lane = spec.movement_in_lane
        n = spec.n_phases
        self._call_lanes = np.zeros((n, n, len(spec.incoming_lanes)), dtype=bool)
        for k in range(n):
            for cur in range(n):
                self._call_lanes[k, cur, in_lane[pm[k] & ~pm[cur]]] = True
        self._last_detection_s = -math.inf
        self._phase = -1

    def act(self, obs: IntersectionObs) -> PhaseRequest:
        """Extend, gap out or max out."""
        p = self.params
        if obs.in_transition or obs.phase != self._phase:
            # A new green starts its own gap timer, from the start of that green.
            self._phase = obs.phase
            self._last_detection_s = obs.time_s - obs.time_in_phase_s
            if obs.in_transition:
                return PhaseRequest.hold()
        green = self._lanes[obs.phase]
        failed = obs.failed_lanes() if p.fallback == "max-recall" else np.zeros(len(green), dtype=bool)
        loops = not obs.observes("vehicles") and obs.observes("gap_s")
        if loops:
            assert obs.in_gap_s is not None
            gaps = obs.in_gap_s[green & ~failed]
            if len(gaps):  # the last actuation of a green lane's loops
                self._last_detection_s = max(self._last_detection_s, obs.time_s - float(gaps.min()))
        elif obs.vehicles_within(p.detector_m)[green].sum() > 0:
            self._last_detection_s = obs.time_s
        if (failed & green).any():  # a failed detector calls for ever: the green runs to its maximum
            self._last_detection_s = obs.time_s
        if obs.time_in_phase_s < p.min_green_s:
            return PhaseRequest.hold()
        gap_out = obs.time_s - self._last_detection_s >= p.passage_s
        max_out = obs.time_in_phase_s >= p.max_green_s
        if not (gap_out or max_out):
            return PhaseRequest.hold()
        if loops:  # a loop that detected a vehicle since this green began (locking memory) calls
            assert obs.in_gap_s is not None
            near = (obs.in_gap_s <= obs.time_in_phase_s).astype(np.float64)
        else:
            near = obs.vehicles_within(p.call_m)
        if failed.any():
            near = near + failed
        calls = self._call_lanes[:, obs.phase, :].astype(np.float64) @ near
        for i in range(1, obs.n_phases):
            k = (obs.phase + i) % obs.n_phases
            if calls[k] > 0:
                return PhaseRequest.switch(k)
        return PhaseRequest.hold()
