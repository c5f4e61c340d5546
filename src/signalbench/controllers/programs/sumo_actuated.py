"""``sumo-actuated``: SUMO's own gap-based actuated control on the network's own phases.

SUMO's ``actuated`` traffic lights (Simulation/Traffic_Lights, "Actuated Traffic Lights",
based on time gaps): an induction loop on each incoming lane, ``detector-gap`` seconds of travel
at the speed limit upstream of the stop line, extends the current green while vehicles pass it
within ``max-gap`` seconds of each other, between the phase's ``minDur`` and ``maxDur``.

The minimum and maximum greens are what a signal engineer sets (FHWA *Signal Timing Manual*,
FHWA-HOP-08-024, 2008, sections 5.3.1-5.3.3): a minimum green of 10 s for a phase that serves
a through movement (its detectors sit ``detector-gap`` upstream, so the vehicles stored between
them and the stop line must be served by the minimum) and 5 s for a turn-only phase, and a
maximum green of 1.5 times the green that Webster's method gives the phase for the trial's
demand (with the saturation flows and lost times measured in SUMO), at least 15 s for a phase
serving a through movement and 10 s for a turn-only phase, at most 90 s.
``sumo-delay-based``, whose detectors cover 100 m, uses 5 s on every phase. Shared lanes whose
turning links yield (``g``) get detectors that can extend the green too (SUMO's
``jam-threshold``: without it SUMO only uses a lane's detector where all its links show ``G``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from signalbench.controllers._phases import check_number
from signalbench.controllers.programs._plans import (
    ProgramController,
    ProgramPhase,
    SignalProgram,
)
from signalbench.controllers.programs.webster import WebsterParams, webster_plan
from signalbench.networks import DischargeTable, IntersectionSpec, NetworkModel
from signalbench.signals import GREEN, is_green_state

__all__ = ["SumoActuated", "SumoActuatedParams", "actuated_program", "engineer_greens"]

#: Minimum greens [s]: turn-only phases (and every phase of ``sumo-delay-based``), and
#: ``sumo-actuated``'s phases serving a through movement.
MIN_GREEN_S = 5.0
THROUGH_MIN_GREEN_S = 10.0
#: Smallest maximum green [s]: phases serving a through movement, turn-only phases.
THROUGH_MAX_FLOOR_S = 15.0
TURN_MAX_FLOOR_S = 10.0
#: Maximum green = this factor x the phase's Webster green for the design (the trial's) demand.
MAX_GREEN_FACTOR = 1.5
MAX_GREEN_CAP_S = 90.0


@dataclass(frozen=True, kw_only=True)
class SumoActuatedParams:
    """Parameters of :class:`SumoActuated`.

    Attributes:
        min_green_s: ``minDur`` of every green phase [s]; None: 10 s for a phase serving a
            through movement, 5 s for a turn-only phase.
        max_green_s: ``maxDur`` of every green phase [s]; None: 1.5 x the phase's Webster
            green for the trial's demand, within [15 s (10 s for a turn-only phase), 90 s]
            (with a ``min_green_s`` given, at least that minimum + 5 s).
        max_gap_s: largest time gap between vehicles that still extends the green [s].
        detector_gap_s: detector distance upstream of the stop line, in travel time at the
            speed limit [s].
        passing_time_s: time a vehicle needs from the detector to the stop line [s].
        jam_threshold_s: a detector occupied this long counts as jammed and stops extending
            the green; > 0 also lets the detectors of lanes with yielding links extend it
            (SUMO's ``jam-threshold``; 0 leaves SUMO's default, which does not) [s].

    """

    min_green_s: float | None = None
    max_green_s: float | None = None
    max_gap_s: float = 3.0
    detector_gap_s: float = 2.0
    passing_time_s: float = 1.9
    jam_threshold_s: float = 30.0

    def __post_init__(self) -> None:
        for name in ("max_gap_s", "passing_time_s"):
            check_number(name, getattr(self, name))
        check_number("min_green_s", self.min_green_s, optional=True)
        check_number("max_green_s", self.max_green_s, optional=True)
        check_number("detector_gap_s", self.detector_gap_s, allow_zero=True)
        check_number("jam_threshold_s", self.jam_threshold_s, allow_zero=True)
        if (
            self.min_green_s is not None
            and self.max_green_s is not None
            and self.min_green_s > self.max_green_s
        ):
            raise ValueError(f"min_green_s ({self.min_green_s}) exceeds max_green_s ({self.max_green_s})")


def _serves_through(spec: IntersectionSpec, state: str) -> bool:
    return any(m.direction == "s" and state[m.link_index] in GREEN for m in spec.movements)


def engineer_greens(
    spec: IntersectionSpec,
    flows: Mapping[tuple[str, str], float],
    discharge: DischargeTable | None,
    *,
    min_green_s: float | None,
    max_green_s: float | None,
    through_min_green_s: float = THROUGH_MIN_GREEN_S,
) -> dict[str, tuple[float, float]]:
    """Minimum and maximum green of every green phase of the network's program, by state [s].

    The phases Webster's plan keeps get 1.5 x their Webster green; an overlapping phase it
    leaves out (e.g. a leading left beside its through) gets 1.5 x its own program duration.
    """
    plan = webster_plan(spec, flows, WebsterParams(), discharge=discharge) if max_green_s is None else None
    webster_green: dict[str, float] = {}
    if plan is not None:
        for phase in plan.program.phases:
            if is_green_state(phase.state):
                webster_green[phase.state] = phase.duration_s
    out: dict[str, tuple[float, float]] = {}
    for state, duration in spec.program:
        if not is_green_state(state) or state in out:
            continue
        if min_green_s is None:
            through = _serves_through(spec, state)
            low = through_min_green_s if through else MIN_GREEN_S
            floor = THROUGH_MAX_FLOOR_S if through else TURN_MAX_FLOOR_S
        else:
            low, floor = min_green_s, min_green_s + 5.0
        high = max_green_s
        if high is None:
            design = webster_green.get(state, duration)
            high = min(max(MAX_GREEN_FACTOR * design, floor), MAX_GREEN_CAP_S)
        out[state] = (low, max(high, low))
    return out


def actuated_program(
    spec: IntersectionSpec,
    kind: str,
    params: Mapping[str, str],
    *,
    min_green_s: float | None = None,
    max_green_s: float | None = None,
    greens: Mapping[str, tuple[float, float]] | None = None,
) -> SignalProgram:
    """Return the network's own program as a SUMO ``kind`` program: greens get min/max, the rest stays.

    ``greens`` gives (min, max) per green state; otherwise ``min_green_s``/``max_green_s`` apply
    to every green phase.
    """
    phases = []
    for state, duration in spec.program:
        if is_green_state(state):
            if greens is not None and state in greens:
                low, high = greens[state]
            else:
                low, high = float(min_green_s or MIN_GREEN_S), float(max_green_s or MAX_GREEN_CAP_S)
            initial = min(max(duration, low), high)
            phases.append(ProgramPhase(state=state, duration_s=initial, min_dur_s=low, max_dur_s=high))
        else:
            phases.append(ProgramPhase(state=state, duration_s=duration))
    return SignalProgram(tls_id=spec.id, kind=kind, phases=tuple(phases), params=dict(params))


class _SumoProgramController(ProgramController):
    kind: ClassVar[str] = "actuated"
    needs_demand: ClassVar[bool] = True
    #: Default minimum green of a phase serving a through movement [s].
    through_min_green_s: ClassVar[float] = THROUGH_MIN_GREEN_S
    params: Any

    def _sumo_params(self) -> dict[str, str]:  # pragma: no cover - overridden
        raise NotImplementedError

    def needs_discharge(self) -> bool:
        """Tell whether a maximum green is derived from Webster (measured saturation flows)."""
        return self.params.max_green_s is None

    def programs(
        self,
        model: NetworkModel,
        flows: Mapping[tuple[str, str], float] | None = None,
        discharge: DischargeTable | None = None,
    ) -> list[SignalProgram]:
        """One program per controllable intersection of ``model``."""
        p = self.params
        out = []
        for spec in model.intersections:
            greens = engineer_greens(
                spec,
                flows or {},
                discharge,
                min_green_s=p.min_green_s,
                max_green_s=p.max_green_s,
                through_min_green_s=self.through_min_green_s,
            )
            out.append(actuated_program(spec, self.kind, self._sumo_params(), greens=greens))
        return out

    def build_programs(
        self,
        model: NetworkModel,
        flows: Mapping[tuple[str, str], float],
        discharge: DischargeTable | None = None,
    ) -> tuple[list[SignalProgram], dict[str, Any]]:
        """SUMO's own programs on the network's phases, with an engineer's min and max greens."""
        programs = self.programs(model, flows, discharge)
        return programs, {p.tls_id: p.describe() for p in programs}


class SumoActuated(_SumoProgramController):
    """SUMO's gap-based actuated control on the network's own phases."""

    Params: ClassVar[type[SumoActuatedParams]] = SumoActuatedParams
    kind: ClassVar[str] = "actuated"

    def __init__(self, params: SumoActuatedParams | None = None) -> None:
        self.params = params if params is not None else SumoActuatedParams()

    def _sumo_params(self) -> dict[str, str]:
        p = self.params
        out = {
            "max-gap": f"{p.max_gap_s:g}",
            "detector-gap": f"{p.detector_gap_s:g}",
            "passing-time": f"{p.passing_time_s:g}",
        }
        if p.jam_threshold_s > 0:
            out["jam-threshold"] = f"{p.jam_threshold_s:g}"
        return out
