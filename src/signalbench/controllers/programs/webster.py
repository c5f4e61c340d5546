"""``webster``: fixed-time plans recomputed with Webster's formulas from the trial's demand.

Webster (1958), "Traffic signal settings", Road Research Technical Paper 39, HMSO London:
optimal cycle C0 = (1.5 L + 5) / (1 - Y), with L the lost time per cycle and Y the sum of the
critical flow ratios y_i = q_i / s of the phases; the effective green C0 - L is split in
proportion to y_i. By default s and the lost times are measured in SUMO from queue discharge
(:func:`signalbench.networks.measure_discharge`): the lost time of a phase is its start-up
lost time plus its yellow and all-red minus the end gain (HCM: l1 + l2), and a phase shows
its effective green plus l1 - e.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from signalbench.controllers._phases import check_number
from signalbench.controllers.programs._plans import (
    PhaseDemand,
    ProgramController,
    SignalProgram,
    build_cycle,
    network_yellow_s,
    phase_demand,
    split_greens,
    transition_lost_time_s,
    webster_cycle_s,
)
from signalbench.networks import DischargeTable, IntersectionSpec, NetworkModel

__all__ = ["Webster", "WebsterParams", "WebsterPlan", "webster_plan"]


@dataclass(frozen=True, kw_only=True)
class WebsterParams:
    """Parameters of :class:`Webster`.

    Attributes:
        saturation_flow_veh_h_lane: saturation flow of every lane [veh/h], with the textbook
            2 s start-up lost time and 2 s end gain; None (default): measured in SUMO per lane
            from queue discharge, with its start-up lost time and end gain.
        min_cycle_s: shortest cycle [s].
        max_cycle_s: longest cycle; also the cycle at or above saturation (Y >= 1) [s].
        min_green_s: shortest green of a phase [s].
        yellow_s: yellow of each switch [s]; None takes the network's own (its longest yellow).
        all_red_s: all-red after each yellow [s].

    """

    saturation_flow_veh_h_lane: float | None = None
    min_cycle_s: float = 30.0
    max_cycle_s: float = 120.0
    min_green_s: float = 5.0
    yellow_s: float | None = None
    all_red_s: float = 0.0

    def __post_init__(self) -> None:
        check_number("saturation_flow_veh_h_lane", self.saturation_flow_veh_h_lane, optional=True)
        check_number("min_cycle_s", self.min_cycle_s)
        check_number("max_cycle_s", self.max_cycle_s)
        check_number("min_green_s", self.min_green_s)
        check_number("yellow_s", self.yellow_s, optional=True)
        check_number("all_red_s", self.all_red_s, allow_zero=True)
        if self.min_cycle_s > self.max_cycle_s:
            raise ValueError(f"min_cycle_s ({self.min_cycle_s}) exceeds max_cycle_s ({self.max_cycle_s})")

    @property
    def measured(self) -> bool:
        """True when the saturation flows and lost times are measured in SUMO."""
        return self.saturation_flow_veh_h_lane is None


@dataclass(frozen=True, kw_only=True)
class WebsterPlan:
    """A Webster plan for one intersection: the program and the numbers behind it."""

    program: SignalProgram
    phases: tuple[int, ...]  # indices into spec.green_phases, in cycle order
    flow_ratios: tuple[float, ...]
    lost_time_s: float
    webster_cycle_s: float  # C0 bounded to [min, max], before rounding and min greens
    demand: tuple[PhaseDemand, ...] = ()

    def describe(self) -> dict[str, Any]:
        """JSON-ready summary for the result record."""
        out = self.program.describe()
        out.update(
            phases=list(self.phases),
            flow_ratios=[round(y, 4) for y in self.flow_ratios],
            lost_time_s=round(self.lost_time_s, 3),
        )
        if self.demand:
            out["saturation_flow_veh_h"] = [round(d.discharge.saturation_flow_veh_h, 1) for d in self.demand]
            out["startup_lost_s"] = [round(d.discharge.startup_lost_s, 2) for d in self.demand]
            out["end_gain_s"] = [round(d.discharge.end_gain_s, 2) for d in self.demand]
            out["discharge_source"] = [d.discharge.source for d in self.demand]
        return out


def webster_plan(
    spec: IntersectionSpec,
    pair_flow_veh_h: Mapping[tuple[str, str], float],
    params: WebsterParams,
    *,
    cycle_s: float | None = None,
    discharge: DischargeTable | None = None,
) -> WebsterPlan:
    """Webster's plan for ``spec``; with ``cycle_s``, only the split for that given cycle.

    ``discharge`` is the measured queue discharge (used when ``params`` ask for measured
    saturation flows; without it the textbook values stand in: 1800 veh/h, l1 = e = 2 s).
    """
    if params.saturation_flow_veh_h_lane is not None:
        saturation: float | DischargeTable = params.saturation_flow_veh_h_lane
    else:
        saturation = discharge if discharge is not None else 1800.0
    demand_by_phase = phase_demand(spec, pair_flow_veh_h, saturation)
    kept = sorted(demand_by_phase)
    demand = [demand_by_phase[k] for k in kept]
    ratios = [d.flow_ratio for d in demand]
    states = [spec.green_phases[k].state for k in kept]
    yellow = params.yellow_s if params.yellow_s is not None else network_yellow_s(spec)
    clearance = transition_lost_time_s(states, yellow_s=yellow, all_red_s=params.all_red_s)
    # HCM: lost time of a phase = l1 + (yellow + all-red - e); shown green = effective + l1 - e.
    shift = (
        [d.discharge.startup_lost_s - d.discharge.end_gain_s for d in demand]
        if clearance > 0
        else [0.0] * len(kept)
    )
    lost = clearance + sum(shift)
    c0 = webster_cycle_s(lost, sum(ratios), min_cycle_s=params.min_cycle_s, max_cycle_s=params.max_cycle_s)
    cycle = c0 if cycle_s is None else cycle_s
    if len(kept) == 1:
        greens = [max(params.min_green_s, cycle)]
    else:
        total_y = sum(ratios)
        effective = max(cycle - lost, 0.0)
        shares = [effective * (y / total_y if total_y > 0 else 1.0 / len(kept)) for y in ratios]
        targets = [max(g + s, 0.0) for g, s in zip(shares, shift, strict=True)]
        greens = split_greens(cycle, clearance, targets, min_green_s=params.min_green_s)
    phases, _ = build_cycle(states, greens, yellow_s=yellow, all_red_s=params.all_red_s)
    program = SignalProgram(tls_id=spec.id, kind="static", phases=tuple(phases))
    return WebsterPlan(
        program=program,
        phases=tuple(kept),
        flow_ratios=tuple(ratios),
        lost_time_s=lost,
        webster_cycle_s=c0,
        demand=tuple(demand) if params.measured else (),
    )


class Webster(ProgramController):
    """Fixed-time plans from Webster's formulas and the trial's measured turning flows."""

    Params: ClassVar[type[WebsterParams]] = WebsterParams
    needs_demand: ClassVar[bool] = True

    def __init__(self, params: WebsterParams | None = None) -> None:
        self.params = params if params is not None else WebsterParams()

    def needs_discharge(self) -> bool:
        """Tell whether to measure saturation flows: unless the parameters fix one."""
        return self.params.measured

    def plans(
        self,
        model: NetworkModel,
        pair_flow_veh_h: Mapping[tuple[str, str], float],
        discharge: DischargeTable | None = None,
    ) -> list[WebsterPlan]:
        """One plan per controllable intersection of ``model``."""
        return [
            webster_plan(spec, pair_flow_veh_h, self.params, discharge=discharge)
            for spec in model.intersections
        ]

    def build_programs(
        self,
        model: NetworkModel,
        flows: Mapping[tuple[str, str], float],
        discharge: DischargeTable | None = None,
    ) -> tuple[list[SignalProgram], dict[str, Any]]:
        """Webster plans from the measured flows (and saturation flows)."""
        plans = self.plans(model, flows, discharge)
        return [p.program for p in plans], {p.program.tls_id: p.describe() for p in plans}
