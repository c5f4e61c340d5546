"""Signal programs installed in SUMO instead of decided from Python, and the plan arithmetic.

A *program controller* writes ``<tlLogic>`` programs into an additional file before the trial;
SUMO then runs them by itself (no TraCI). A program loaded from an additional file with a new
``programID`` becomes the active program of its traffic light. Its ``offset`` is absolute: the
first phase starts at ``offset + k * cycle`` simulated seconds.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from signalbench.networks import (
    MAX_HEADWAY_S,
    Discharge,
    DischargeTable,
    IntersectionSpec,
    edge_pair_flows,
    lane_class,
    measure_discharge,
)
from signalbench.signals import all_red_state, is_green_state, loses_green, yellow_state

if TYPE_CHECKING:
    from signalbench.networks import NetworkModel, Scenario

__all__ = [
    "PROGRAM_ID",
    "ProgramController",
    "ProgramPhase",
    "SignalProgram",
    "build_cycle",
    "network_yellow_s",
    "phase_demand",
    "phase_flow_ratios",
    "primary_phases",
    "split_greens",
    "transition_lost_time_s",
    "webster_cycle_s",
    "write_programs_file",
]

#: programID of every program signalbench installs (the network's own keep theirs).
PROGRAM_ID = "signalbench"


class ProgramController:
    """Base of the controllers that install SUMO programs instead of deciding in Python.

    Network-level: the harness calls :meth:`write_programs` (the ``ProgramWriter`` protocol)
    before the trial and runs plain SUMO. Subclasses implement :meth:`build_programs`; with
    ``needs_demand`` they get the trial's measured turning flows, and when
    :meth:`needs_discharge` is true the saturation flows and lost times measured in SUMO
    (:func:`signalbench.networks.measure_discharge`, on the scenario's own demand, seed 1).
    """

    scope: ClassVar[str] = "network"
    needs_demand: ClassVar[bool] = False

    def needs_discharge(self) -> bool:
        """Tell whether the programs need the measured queue discharge (saturation flows)."""
        return False

    def build_programs(
        self,
        model: NetworkModel,
        flows: Mapping[tuple[str, str], float],
        discharge: DischargeTable | None = None,
    ) -> tuple[list[SignalProgram], dict[str, Any]]:  # pragma: no cover - abstract
        """Return the programs and a JSON-ready description per light."""
        raise NotImplementedError

    def write_programs(
        self,
        model: NetworkModel,
        scenario: Scenario,
        path: Path,
        *,
        scale: float,
        seed: int,
        sumo_binary: Path | None = None,
    ) -> dict[str, Any] | None:
        """Measure the demand (if needed) on the trial's SUMO, build the programs, write them.

        Returns None, and writes nothing, when the controller installs no program.
        """
        flows = (
            edge_pair_flows(scenario, scale=scale, seed=seed, sumo_binary=sumo_binary)
            if self.needs_demand
            else {}
        )
        # The discharge is a property of the network and the SUMO release: measured once on the
        # scenario's own demand and seed 1, whatever the trial's demand scale and seed.
        discharge = (
            measure_discharge(scenario, model, sumo_binary=sumo_binary) if self.needs_discharge() else None
        )
        programs, description = self.build_programs(model, flows, discharge)
        if not programs:
            return None
        write_programs_file(programs, path)
        return description


@dataclass(frozen=True, kw_only=True)
class ProgramPhase:
    """One phase of an installed program (SUMO ``<phase>``); min/max only for actuated types."""

    state: str
    duration_s: float
    min_dur_s: float | None = None
    max_dur_s: float | None = None


@dataclass(frozen=True, kw_only=True)
class SignalProgram:
    """A whole ``<tlLogic>`` for one traffic light.

    Attributes:
        tls_id: traffic light id.
        kind: SUMO program type: ``static``, ``actuated`` or ``delay_based``.
        phases: the phases in order.
        offset_s: absolute offset [s]: the first phase starts at offset + k * cycle.
        params: SUMO ``<param>`` entries (detector settings of actuated types).
        green_names: for a description: which original green phase each green phase is.

    """

    tls_id: str
    kind: str
    phases: tuple[ProgramPhase, ...]
    offset_s: float = 0.0
    params: Mapping[str, str] = field(default_factory=dict)

    @property
    def cycle_s(self) -> float:
        """Sum of the phase durations [s] (the cycle of a static program)."""
        return sum(p.duration_s for p in self.phases)

    def describe(self) -> dict[str, Any]:
        """Compact, JSON-ready description: type, cycle, offset and the green durations."""
        greens = [p for p in self.phases if is_green_state(p.state)]
        out: dict[str, Any] = {"type": self.kind, "cycle_s": round(self.cycle_s, 3)}
        if self.kind == "static":
            out["offset_s"] = round(self.offset_s, 3)
            out["greens_s"] = [round(p.duration_s, 3) for p in greens]
        else:
            out["greens_min_max_s"] = [[p.min_dur_s, p.max_dur_s] for p in greens]
        return out

    def to_element(self) -> ET.Element:
        """Return the ``<tlLogic>`` element."""
        elem = ET.Element(
            "tlLogic",
            id=self.tls_id,
            type=self.kind,
            programID=PROGRAM_ID,
            offset=_num(self.offset_s),
        )
        for key, value in sorted(self.params.items()):
            ET.SubElement(elem, "param", key=key, value=value)
        for phase in self.phases:
            attrs = {"duration": _num(phase.duration_s), "state": phase.state}
            if phase.min_dur_s is not None:
                attrs["minDur"] = _num(phase.min_dur_s)
            if phase.max_dur_s is not None:
                attrs["maxDur"] = _num(phase.max_dur_s)
            ET.SubElement(elem, "phase", attrs)
        return elem


def write_programs_file(programs: Sequence[SignalProgram], path: Path) -> None:
    """Write ``programs`` as a SUMO additional file."""
    root = ET.Element("additional")
    for program in programs:
        root.append(program.to_element())
    ET.indent(root)
    Path(path).write_text(ET.tostring(root, encoding="unicode") + "\n", encoding="utf-8")


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.3f}".rstrip("0")


def network_yellow_s(spec: IntersectionSpec, default_s: float = 3.0) -> float:
    """Return the longest yellow phase of the intersection's own program [s] (``default_s`` if none)."""
    yellows = [d for state, d in spec.program if any(c in "yY" for c in state)]
    return max(yellows) if yellows else default_s


def primary_phases(
    spec: IntersectionSpec, discharges: Callable[[str, int], bool] | None = None
) -> tuple[list[int], list[int]]:
    """Assign each movement to one green phase and return (kept phases, phase per movement).

    A movement's phase is the first green phase (program order) giving it priority green
    (``G``), else the first giving it permissive green (``g``). Kept are the phases that are
    some movement's phase, in program order: overlapping phases of the network's own program
    (e.g. a leading left with its through) are then not counted twice in Webster's sum.

    A lane is one first-in-first-out queue. A **shared lane** whose movements would get
    different phases (its through ``G`` in one phase, its left ``g`` there and ``G`` only in a
    later protected-left phase) is served as one stream: all its movements get the first phase
    in which every one of them is green, where its queue discharges (in the protected-left phase
    a through vehicle at its head blocks it). A protected-left phase that is then no movement's
    phase leaves the cycle, as overlaps do. ``discharges(lane, phase)`` can veto this where the
    lane's queue does not move in that phase (measured: its left turners find no gap); the
    movements then keep their own phases.
    """
    per_movement: list[int] = []
    for m in spec.movements:
        chars = [phase.state[m.link_index] for phase in spec.green_phases]
        if "G" in chars:
            per_movement.append(chars.index("G"))
        else:
            per_movement.append(chars.index("g"))  # every movement model's movement has a green
    by_lane: dict[str, list[int]] = {}
    for i, m in enumerate(spec.movements):
        by_lane.setdefault(m.from_lane, []).append(i)
    for lane_id, members in by_lane.items():
        if len({per_movement[i] for i in members}) < 2:
            continue
        together = [
            k
            for k, phase in enumerate(spec.green_phases)
            if all(phase.state[spec.movements[i].link_index] in "Gg" for i in members)
        ]
        if together and (discharges is None or discharges(lane_id, together[0])):
            for i in members:
                per_movement[i] = together[0]
    return sorted(set(per_movement)), per_movement


def phase_flow_ratios(
    spec: IntersectionSpec,
    pair_flow_veh_h: Mapping[tuple[str, str], float],
    saturation_flow_veh_h_lane: float,
) -> dict[int, float]:
    """Webster's critical flow ratio y of each kept green phase.

    The flow of an edge pair (incoming edge, outgoing edge) is split equally over the
    movements (lane-to-lane links) that connect those edges. The flow ratio of a lane in a
    phase is the flow of its movements assigned to that phase over the saturation flow of a
    lane; a phase's critical ratio is the largest over its lanes.
    """
    demand = phase_demand(spec, pair_flow_veh_h, saturation_flow_veh_h_lane)
    return {k: d.flow_ratio for k, d in demand.items()}


@dataclass(frozen=True, kw_only=True)
class PhaseDemand:
    """Webster's inputs for one kept green phase.

    Attributes:
        flow_ratio: critical flow ratio y = q / s of its most loaded lane.
        critical_lane: that lane (empty without flow).
        discharge: that lane's saturation flow, start-up lost time and end gain.

    """

    flow_ratio: float
    critical_lane: str
    discharge: Discharge


def phase_demand(
    spec: IntersectionSpec,
    pair_flow_veh_h: Mapping[tuple[str, str], float],
    saturation: float | DischargeTable,
) -> dict[int, PhaseDemand]:
    """Webster's critical flow ratio of each kept green phase, with its critical lane's discharge.

    Lane flows as in :func:`phase_flow_ratios`. ``saturation`` is one flow for every lane
    [veh/h] (with the textbook 2 s start-up lost time and 2 s end gain), or the discharge
    measured in SUMO, looked up per lane and its class in that phase (protected/permissive).
    """

    def discharges(lane: str, k: int) -> bool:
        # A shared lane is served in the phase where all its movements are green unless its
        # measured queue there does not move: a start-up lost time beyond a blocked headway
        # (its left turners wait for a gap that does not come), which the protected phase serves.
        if not isinstance(saturation, DischargeTable):
            return True
        kind = lane_class(spec, lane, spec.green_phases[k].state) or "protected"
        return saturation.lookup(spec.id, lane, kind).startup_lost_s <= MAX_HEADWAY_S

    kept, per_movement = primary_phases(spec, discharges)
    edge_of = {lane.id: lane.edge_id for lane in (*spec.incoming_lanes, *spec.outgoing_lanes)}
    pairs = [(edge_of[m.from_lane], edge_of[m.to_lane]) for m in spec.movements]
    n_links = {p: pairs.count(p) for p in set(pairs)}
    lane_phase_flow: dict[tuple[str, int], float] = {}
    for m, pair, k in zip(spec.movements, pairs, per_movement, strict=True):
        q = pair_flow_veh_h.get(pair, 0.0) / n_links[pair]
        key = (m.from_lane, k)
        lane_phase_flow[key] = lane_phase_flow.get(key, 0.0) + q

    def discharge(lane: str, k: int) -> Discharge:
        if isinstance(saturation, DischargeTable):
            kind = lane_class(spec, lane, spec.green_phases[k].state) or "protected"
            return saturation.lookup(spec.id, lane, kind)
        return Discharge(
            saturation_flow_veh_h=float(saturation), startup_lost_s=2.0, end_gain_s=2.0, source="fixed"
        )

    out: dict[int, PhaseDemand] = {}
    for k in kept:
        lanes = sorted({lane for lane, p in lane_phase_flow if p == k})
        best = PhaseDemand(
            flow_ratio=0.0, critical_lane="", discharge=discharge(lanes[0], k) if lanes else discharge("", k)
        )
        for lane in lanes:
            d = discharge(lane, k)
            y = lane_phase_flow[(lane, k)] / d.saturation_flow_veh_h
            if y > best.flow_ratio:
                best = PhaseDemand(flow_ratio=y, critical_lane=lane, discharge=d)
        out[k] = best
    return out


def webster_cycle_s(lost_time_s: float, y_total: float, *, min_cycle_s: float, max_cycle_s: float) -> float:
    """Webster's optimal cycle C0 = (1.5 L + 5) / (1 - Y), bounded to [min, max] [s].

    At or above saturation (Y >= 1) the formula has no solution and the maximum is used.
    """
    if y_total >= 1.0:
        return max_cycle_s
    c0 = (1.5 * lost_time_s + 5.0) / (1.0 - y_total)
    return min(max(c0, min_cycle_s), max_cycle_s)


def split_greens(
    cycle_s: float, lost_time_s: float, ratios: Sequence[float], *, min_green_s: float
) -> list[float]:
    """Greens proportional to the flow ratios, each at least ``min_green_s``, whole seconds [s].

    The effective green C - L is shared by y_i / Y (equally if there is no flow); phases that
    would get less than the minimum get the minimum, and the rest is shared among the others.
    Greens are whole seconds (SUMO's usual step) adding up to the effective green rounded to
    whole seconds (largest remainders first), unless a non-integer minimum green needs more.
    """
    n = len(ratios)
    available = max(cycle_s - lost_time_s, min_green_s * n)
    fixed: dict[int, float] = {}
    while True:
        free = [i for i in range(n) if i not in fixed]
        left = available - sum(fixed.values())
        weight = sum(ratios[i] for i in free)
        share = {
            i: left * (ratios[i] / weight if weight > 0 else 1.0 / len(free)) for i in free
        }  # fmt: skip
        short = [i for i, g in share.items() if g < min_green_s]
        if not short:
            break
        for i in short:
            fixed[i] = min_green_s
    greens = [fixed[i] if i in fixed else share[i] for i in range(n)]
    # Whole seconds adding up to the rounded effective green (largest remainder first).
    rounded = [g if i in fixed else float(math.floor(g)) for i, g in enumerate(greens)]
    missing = math.floor(sum(greens) - sum(rounded) + 0.5 + 1e-9)  # half up, despite float noise
    for i in sorted(free, key=lambda i: (rounded[i] - greens[i], i))[: max(missing, 0)]:
        rounded[i] += 1.0
    return [max(g, min_green_s) for g in rounded]


def build_cycle(
    states: Sequence[str], greens_s: Sequence[float], *, yellow_s: float, all_red_s: float
) -> tuple[list[ProgramPhase], float]:
    """Phases of a cycle through ``states`` with yellow and all-red between them.

    Returns the phases and the lost time (sum of the yellow and all-red intervals) [s]. A
    switch in which no link loses green needs neither.
    """
    phases: list[ProgramPhase] = []
    lost = 0.0
    n = len(states)
    for i, (state, green) in enumerate(zip(states, greens_s, strict=True)):
        phases.append(ProgramPhase(state=state, duration_s=green))
        nxt = states[(i + 1) % n]
        if n > 1 and loses_green(state, nxt):
            phases.append(ProgramPhase(state=yellow_state(state, nxt), duration_s=yellow_s))
            lost += yellow_s
            if all_red_s > 0:
                phases.append(ProgramPhase(state=all_red_state(state, nxt), duration_s=all_red_s))
                lost += all_red_s
    return phases, lost


def transition_lost_time_s(states: Sequence[str], *, yellow_s: float, all_red_s: float) -> float:
    """Lost time of a cycle through ``states`` (yellow + all-red of each switch that needs them) [s]."""
    _, lost = build_cycle(states, [0.0] * len(states), yellow_s=yellow_s, all_red_s=all_red_s)
    return lost
