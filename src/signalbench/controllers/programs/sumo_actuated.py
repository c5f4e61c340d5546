"""``sumo-actuated``: SUMO's own gap-based actuated control on the network's own phases.

SUMO's ``actuated`` traffic lights (Simulation/Traffic_Lights, "Actuated Traffic Lights",
based on time gaps): an induction loop on each incoming lane, ``detector-gap`` seconds of travel
at the speed limit upstream of the stop line, extends the current green while vehicles pass it
within ``max-gap`` seconds of each other, between the phase's ``minDur`` and ``maxDur``.
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
from signalbench.networks import DischargeTable, IntersectionSpec, NetworkModel
from signalbench.signals import is_green_state

__all__ = ["SumoActuated", "SumoActuatedParams", "actuated_program"]


@dataclass(frozen=True, kw_only=True)
class SumoActuatedParams:
    """Parameters of :class:`SumoActuated` (SUMO's defaults where SUMO has one).

    Attributes:
        min_green_s: ``minDur`` of every green phase [s].
        max_green_s: ``maxDur`` of every green phase [s].
        max_gap_s: largest time gap between vehicles that still extends the green [s].
        detector_gap_s: detector distance upstream of the stop line, in travel time at the
            speed limit [s].
        passing_time_s: time a vehicle needs from the detector to the stop line [s].

    """

    min_green_s: float = 5.0
    max_green_s: float = 50.0
    max_gap_s: float = 3.0
    detector_gap_s: float = 2.0
    passing_time_s: float = 1.9

    def __post_init__(self) -> None:
        for name in ("min_green_s", "max_green_s", "max_gap_s", "passing_time_s"):
            check_number(name, getattr(self, name))
        check_number("detector_gap_s", self.detector_gap_s, allow_zero=True)
        if self.min_green_s > self.max_green_s:
            raise ValueError(f"min_green_s ({self.min_green_s}) exceeds max_green_s ({self.max_green_s})")


def actuated_program(
    spec: IntersectionSpec, kind: str, params: Mapping[str, str], *, min_green_s: float, max_green_s: float
) -> SignalProgram:
    """Return the network's own program as a SUMO ``kind`` program: greens get min/max, the rest stays."""
    phases = []
    for state, duration in spec.program:
        if is_green_state(state):
            initial = min(max(duration, min_green_s), max_green_s)
            phases.append(
                ProgramPhase(state=state, duration_s=initial, min_dur_s=min_green_s, max_dur_s=max_green_s)
            )
        else:
            phases.append(ProgramPhase(state=state, duration_s=duration))
    return SignalProgram(tls_id=spec.id, kind=kind, phases=tuple(phases), params=dict(params))


class _SumoProgramController(ProgramController):
    kind: ClassVar[str] = "actuated"

    def _sumo_params(self) -> dict[str, str]:  # pragma: no cover - overridden
        raise NotImplementedError

    def _bounds(self) -> tuple[float, float]:  # pragma: no cover - overridden
        raise NotImplementedError

    def programs(self, model: NetworkModel) -> list[SignalProgram]:
        """One program per controllable intersection of ``model``."""
        low, high = self._bounds()
        return [
            actuated_program(spec, self.kind, self._sumo_params(), min_green_s=low, max_green_s=high)
            for spec in model.intersections
        ]

    def build_programs(
        self,
        model: NetworkModel,
        flows: Mapping[tuple[str, str], float],
        discharge: DischargeTable | None = None,
    ) -> tuple[list[SignalProgram], dict[str, Any]]:
        """SUMO's own programs on the network's phases (the demand is not needed)."""
        programs = self.programs(model)
        return programs, {p.tls_id: p.describe() for p in programs}


class SumoActuated(_SumoProgramController):
    """SUMO's gap-based actuated control on the network's own phases."""

    Params: ClassVar[type[SumoActuatedParams]] = SumoActuatedParams
    kind: ClassVar[str] = "actuated"

    def __init__(self, params: SumoActuatedParams | None = None) -> None:
        self.params = params if params is not None else SumoActuatedParams()

    def _bounds(self) -> tuple[float, float]:
        return self.params.min_green_s, self.params.max_green_s

    def _sumo_params(self) -> dict[str, str]:
        p = self.params
        return {
            "max-gap": f"{p.max_gap_s:g}",
            "detector-gap": f"{p.detector_gap_s:g}",
            "passing-time": f"{p.passing_time_s:g}",
        }
