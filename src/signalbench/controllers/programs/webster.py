"""``webster``: fixed-time plans recomputed with Webster's formulas from the trial's demand.

Webster (1958), "Traffic signal settings", Road Research Technical Paper 39, HMSO London:
optimal cycle C0 = (1.5 L + 5) / (1 - Y), with L the lost time per cycle and Y the sum of the
critical flow ratios y_i = q_i / s of the phases; the effective green C0 - L is split in
proportion to y_i.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from signalbench.controllers._phases import check_number
from signalbench.controllers.programs._plans import (
    ProgramController,
    SignalProgram,
    build_cycle,
    network_yellow_s,
    phase_flow_ratios,
    split_greens,
    transition_lost_time_s,
    webster_cycle_s,
)
from signalbench.networks import IntersectionSpec, NetworkModel

__all__ = ["Webster", "WebsterParams", "WebsterPlan", "webster_plan"]


@dataclass(frozen=True, kw_only=True)
class WebsterParams:
    """Parameters of :class:`Webster`.

    Attributes:
        saturation_flow_veh_h_lane: saturation flow of one lane [veh/h].
        min_cycle_s: shortest cycle [s].
        max_cycle_s: longest cycle; also the cycle at or above saturation (Y >= 1) [s].
        min_green_s: shortest green of a phase [s].
        yellow_s: yellow of each switch [s]; None takes the network's own (its longest yellow).
        all_red_s: all-red after each yellow [s].

    """

    saturation_flow_veh_h_lane: float = 1800.0
    min_cycle_s: float = 30.0
    max_cycle_s: float = 120.0
    min_green_s: float = 5.0
    yellow_s: float | None = None
    all_red_s: float = 0.0

    def __post_init__(self) -> None:
        check_number("saturation_flow_veh_h_lane", self.saturation_flow_veh_h_lane)
        check_number("min_cycle_s", self.min_cycle_s)
        check_number("max_cycle_s", self.max_cycle_s)
        check_number("min_green_s", self.min_green_s)
        check_number("yellow_s", self.yellow_s, optional=True)
        check_number("all_red_s", self.all_red_s, allow_zero=True)
        if self.min_cycle_s > self.max_cycle_s:
            raise ValueError(f"min_cycle_s ({self.min_cycle_s}) exceeds max_cycle_s ({self.max_cycle_s})")


@dataclass(frozen=True, kw_only=True)
class WebsterPlan:
    """A Webster plan for one intersection: the program and the numbers behind it."""

    program: SignalProgram
    phases: tuple[int, ...]  # indices into spec.green_phases, in cycle order
    flow_ratios: tuple[float, ...]
    lost_time_s: float
    webster_cycle_s: float  # C0 bounded to [min, max], before rounding and min greens

    def describe(self) -> dict[str, Any]:
        """JSON-ready summary for the result record."""
        out = self.program.describe()
        out.update(
            phases=list(self.phases),
            flow_ratios=[round(y, 4) for y in self.flow_ratios],
            lost_time_s=self.lost_time_s,
        )
        return out


def webster_plan(
    spec: IntersectionSpec,
    pair_flow_veh_h: Mapping[tuple[str, str], float],
    params: WebsterParams,
    *,
    cycle_s: float | None = None,
) -> WebsterPlan:
    """Webster's plan for ``spec``; with ``cycle_s``, only the split for that given cycle."""
    ratios_by_phase = phase_flow_ratios(spec, pair_flow_veh_h, params.saturation_flow_veh_h_lane)
    kept = sorted(ratios_by_phase)
    ratios = [ratios_by_phase[k] for k in kept]
    states = [spec.green_phases[k].state for k in kept]
    yellow = params.yellow_s if params.yellow_s is not None else network_yellow_s(spec)
    lost = transition_lost_time_s(states, yellow_s=yellow, all_red_s=params.all_red_s)
    c0 = webster_cycle_s(lost, sum(ratios), min_cycle_s=params.min_cycle_s, max_cycle_s=params.max_cycle_s)
    cycle = c0 if cycle_s is None else cycle_s
    if len(kept) == 1:
        greens = [max(params.min_green_s, cycle)]
    else:
        greens = split_greens(cycle, lost, ratios, min_green_s=params.min_green_s)
    phases, _ = build_cycle(states, greens, yellow_s=yellow, all_red_s=params.all_red_s)
    program = SignalProgram(tls_id=spec.id, kind="static", phases=tuple(phases))
    return WebsterPlan(
        program=program, phases=tuple(kept), flow_ratios=tuple(ratios), lost_time_s=lost, webster_cycle_s=c0
    )


class Webster(ProgramController):
    """Fixed-time plans from Webster's formulas and the trial's measured turning flows."""

    Params: ClassVar[type[WebsterParams]] = WebsterParams
    needs_demand: ClassVar[bool] = True

    def __init__(self, params: WebsterParams | None = None) -> None:
        self.params = params if params is not None else WebsterParams()

    def plans(
        self, model: NetworkModel, pair_flow_veh_h: Mapping[tuple[str, str], float]
    ) -> list[WebsterPlan]:
        """One plan per controllable intersection of ``model``."""
        return [webster_plan(spec, pair_flow_veh_h, self.params) for spec in model.intersections]

    def build_programs(
        self, model: NetworkModel, flows: Mapping[tuple[str, str], float]
    ) -> tuple[list[SignalProgram], dict[str, Any]]:
        """Webster plans from the measured flows."""
        plans = self.plans(model, flows)
        return [p.program for p in plans], {p.program.tls_id: p.describe() for p in plans}
