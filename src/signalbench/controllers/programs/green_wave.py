"""``green-wave``: coordinated fixed-time control with one common cycle and progression offsets.

The classic coordination of a signalised arterial (e.g. Roess, Prassas & McShane, *Traffic
Engineering*, ch. "Signal coordination"; the Highway Capacity Manual's progression): all
signals share one cycle, and each signal's offset is the offset of the upstream signal plus the
travel time of the link between them at the speed limit, so a platoon released by one green
meets the next green.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, ClassVar

from signalbench.controllers._phases import check_number
from signalbench.controllers.programs._plans import ProgramController, SignalProgram, primary_phases
from signalbench.controllers.programs.webster import WebsterParams, WebsterPlan, webster_plan
from signalbench.errors import ControllerError
from signalbench.networks import DischargeTable, NetworkModel

__all__ = ["CoordinatedLink", "GreenWave", "GreenWaveParams", "coordinated_links"]


@dataclass(frozen=True, kw_only=True)
class GreenWaveParams(WebsterParams):
    """Parameters of :class:`GreenWave` (plus all of :class:`WebsterParams` for the splits).

    Attributes:
        cycle_s: the common cycle [s]; None takes the longest Webster cycle of the signals.

    """

    cycle_s: float | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        check_number("cycle_s", self.cycle_s, optional=True)


@dataclass(frozen=True, kw_only=True)
class CoordinatedLink:
    """A road from one signal straight into the next, along the coordinated direction.

    Attributes:
        upstream: traffic light the platoon leaves.
        downstream: traffic light it reaches.
        edge_id: the edge between them.
        travel_time_s: edge length over its speed limit [s].
        flow_veh_h: vehicles entering the edge from the upstream signal [veh/h].
        upstream_phase: green phase (index into ``green_phases``) releasing the platoon.
        downstream_phase: green phase serving it straight on at the downstream signal.

    """

    upstream: str
    downstream: str
    edge_id: str
    travel_time_s: float
    flow_veh_h: float
    upstream_phase: int
    downstream_phase: int


def _candidate_links(model: NetworkModel, flows: Mapping[tuple[str, str], float]) -> list[CoordinatedLink]:
    # Where each edge leads straight on, per signal: edge -> (signal, its phase for that movement).
    straight_in: dict[str, tuple[str, int]] = {}
    for spec in model.intersections:
        _, per_movement = primary_phases(spec)
        in_edge = {lane.id: lane.edge_id for lane in spec.incoming_lanes}
        for m, k in zip(spec.movements, per_movement, strict=True):
            if m.direction == "s":
                straight_in.setdefault(in_edge[m.from_lane], (spec.id, k))
    links: dict[tuple[str, str], CoordinatedLink] = {}
    for spec in model.intersections:
        _, per_movement = primary_phases(spec)
        out_lane = {lane.id: lane for lane in spec.outgoing_lanes}
        for m, k in zip(spec.movements, per_movement, strict=True):
            lane = out_lane[m.to_lane]
            if m.direction != "s" or lane.edge_id not in straight_in:
                continue
            downstream, phase = straight_in[lane.edge_id]
            if downstream == spec.id or (spec.id, downstream) in links:
                continue
            inflow = sum(q for (_, b), q in flows.items() if b == lane.edge_id)
            links[(spec.id, downstream)] = CoordinatedLink(
                upstream=spec.id,
                downstream=downstream,
                edge_id=lane.edge_id,
                travel_time_s=lane.length_m / max(lane.speed_limit_m_s, 0.1),
                flow_veh_h=inflow,
                upstream_phase=k,
                downstream_phase=phase,
            )
    return sorted(links.values(), key=lambda c: (-c.flow_veh_h, c.upstream, c.downstream))


def coordinated_links(model: NetworkModel, flows: Mapping[tuple[str, str], float]) -> list[CoordinatedLink]:
    """Return the coordinated direction: chains of signals linked straight on, heaviest flow first.

    Candidates are edges that lead from a signal's straight movement directly into another
    signal's straight movement. They are accepted greedily by decreasing flow while every
    signal keeps at most one coordinated inflow and one outflow and no loop forms, so the
    result is a set of disjoint chains (arterials, grid rows or columns) following the main
    traffic direction of the trial.
    """
    has_in: set[str] = set()
    has_out: set[str] = set()
    head: dict[str, str] = {}  # signal -> first signal of its chain

    def root(x: str) -> str:
        while x in head:
            x = head[x]
        return x

    accepted: list[CoordinatedLink] = []
    for link in _candidate_links(model, flows):
        if link.upstream in has_out or link.downstream in has_in or root(link.upstream) == link.downstream:
            continue
        accepted.append(link)
        has_out.add(link.upstream)
        has_in.add(link.downstream)
        head[link.downstream] = link.upstream
    return accepted


class GreenWave(ProgramController):
    """Network-level coordinated fixed time: common cycle, Webster splits, progression offsets.

    Applies to networks with signals linked directly by straight roads (arterial4x4, grid4x4,
    and the linked signals of cologne8 / ingolstadt); signals on no such link keep offset 0,
    which on a network of isolated signals is Webster with a common cycle.
    """

    Params: ClassVar[type[GreenWaveParams]] = GreenWaveParams
    needs_demand: ClassVar[bool] = True

    def __init__(self, params: GreenWaveParams | None = None) -> None:
        self.params = params if params is not None else GreenWaveParams()

    def needs_discharge(self) -> bool:
        """Tell whether to measure saturation flows: unless the parameters fix one."""
        return self.params.measured

    def plans(
        self,
        model: NetworkModel,
        flows: Mapping[tuple[str, str], float],
        discharge: DischargeTable | None = None,
    ) -> tuple[dict[str, WebsterPlan], list[CoordinatedLink], float]:
        """Plans with offsets for every signal, the coordinated links and the common cycle."""
        own = {
            spec.id: webster_plan(spec, flows, self.params, discharge=discharge)
            for spec in model.intersections
        }
        # The shortest cycle each signal can run: its minimum greens plus its lost time.
        needed = {tls: len(p.phases) * self.params.min_green_s + p.lost_time_s for tls, p in own.items()}
        if self.params.cycle_s is not None:
            for tls, need in needed.items():
                if self.params.cycle_s < need:
                    raise ControllerError(
                        f"green-wave: cycle_s {self.params.cycle_s:g} is shorter than intersection {tls!r} "
                        f"needs ({need:g} s: {len(own[tls].phases)} phases x min_green_s "
                        f"{self.params.min_green_s:g} + {own[tls].lost_time_s:g} s lost time)"
                    )
            wanted = self.params.cycle_s
        else:
            wanted = max([p.webster_cycle_s for p in own.values()] + list(needed.values()), default=60.0)
        # Whole seconds, so that every signal's rounded greens add up to exactly this cycle.
        cycle = float(math.ceil(wanted))
        plans = {
            spec.id: webster_plan(spec, flows, self.params, cycle_s=cycle, discharge=discharge)
            for spec in model.intersections
        }
        links = coordinated_links(model, flows)
        incoming = {link.downstream: link for link in links}
        offsets: dict[str, float] = {}

        def start_of(tls: str, phase: int) -> float:
            # Time from the start of the program to the start of green phase `phase`.
            target = model[tls].green_phases[phase].state
            t = 0.0
            for p in plans[tls].program.phases:
                if p.state == target:
                    return t
                t += p.duration_s
            return 0.0

        def offset(tls: str) -> float:
            if tls in offsets:
                return offsets[tls]
            link = incoming.get(tls)
            if link is None:
                offsets[tls] = 0.0
                return 0.0
            arrival = (
                offset(link.upstream) + start_of(link.upstream, link.upstream_phase) + link.travel_time_s
            )
            offsets[tls] = round((arrival - start_of(tls, link.downstream_phase)) % cycle, 1)
            return offsets[tls]

        for tls in plans:
            plans[tls] = replace(plans[tls], program=replace(plans[tls].program, offset_s=offset(tls)))
        return plans, links, cycle

    def build_programs(
        self,
        model: NetworkModel,
        flows: Mapping[tuple[str, str], float],
        discharge: DischargeTable | None = None,
    ) -> tuple[list[SignalProgram], dict[str, Any]]:
        """Coordinated plans from the measured flows; the description names each light's link."""
        plans, links, _ = self.plans(model, flows, discharge)
        out: dict[str, Any] = {tls: plan.describe() for tls, plan in plans.items()}
        for link in links:
            out[link.downstream]["coordinated_from"] = link.upstream
            out[link.downstream]["travel_time_s"] = round(link.travel_time_s, 1)
        return [p.program for p in plans.values()], out
