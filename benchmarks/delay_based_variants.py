"""Variants of ``sumo-delay-based`` that change one thing, for the cologne3 experiment.

Used by ``benchmarks/delay-based-cologne3.toml`` (docs/controllers.md, "sumo-delay-based on
cologne3 (measured)"). Each class is ``sumo-delay-based-v0`` with its own parameters, except:

- ``ThroughMin10``: 10 s minimum green on phases serving a through movement (``sumo-actuated``'s).
- ``OwnMax``: a phase serving a through movement gets the network's own green as its maximum.
- ``FixedTurn``: a turn-only phase (e.g. a protected left) keeps its own duration (min = max).
- ``OwnMaxFixedTurn``: both.
- ``Primary``: only the phases Webster's plan keeps (``primary_phases``: a protected-left phase
  whose lefts share a lane with a through movement leaves the cycle, as do overlaps), with the
  engineered minimum and maximum greens and the network's yellow between them.
- ``PrimaryAtLeastOwn``: ``Primary``, each maximum at least the network's own green.
- ``PrimaryFloor25``: ``Primary``, a through phase's maximum at least 25 s.

Run: ``signalbench run benchmarks/delay-based-cologne3.toml --workers 1``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import ClassVar

from signalbench.controllers.programs import (
    ProgramPhase,
    SignalProgram,
    SumoDelayBased,
    actuated_program,
    build_cycle,
    engineer_greens,
    network_yellow_s,
    primary_phases,
)
from signalbench.networks import DischargeTable, IntersectionSpec, NetworkModel
from signalbench.signals import GREEN, is_green_state


def serves_through(spec: IntersectionSpec, state: str) -> bool:
    """Tell whether the green ``state`` gives green to a through movement."""
    return any(m.direction == "s" and state[m.link_index] in GREEN for m in spec.movements)


def own_greens(spec: IntersectionSpec) -> dict[str, float]:
    """Duration of each green state in the network's own program [s]."""
    out: dict[str, float] = {}
    for state, duration in spec.program:
        if is_green_state(state):
            out.setdefault(state, duration)
    return out


class _Variant(SumoDelayBased):
    fixed_turn: ClassVar[bool] = False
    own_max: ClassVar[bool] = False

    def _greens(
        self,
        spec: IntersectionSpec,
        flows: Mapping[tuple[str, str], float] | None,
        discharge: DischargeTable | None,
    ) -> dict[str, tuple[float, float]]:
        p = self.params
        greens = engineer_greens(
            spec,
            flows or {},
            discharge,
            min_green_s=p.min_green_s,
            max_green_s=p.max_green_s,
            through_min_green_s=self.through_min_green_s,
        )
        own = own_greens(spec)
        for state, (low, _high) in list(greens.items()):
            through = serves_through(spec, state)
            if self.fixed_turn and not through:
                greens[state] = (own[state], own[state])
            elif self.own_max and through:
                greens[state] = (low, max(low, own[state]))
        return greens

    def programs(
        self,
        model: NetworkModel,
        flows: Mapping[tuple[str, str], float] | None = None,
        discharge: DischargeTable | None = None,
    ) -> list[SignalProgram]:
        params = self._sumo_params()
        return [
            actuated_program(spec, self.kind, params, greens=self._greens(spec, flows, discharge))
            for spec in model.intersections
        ]


class ThroughMin10(_Variant):
    through_min_green_s: ClassVar[float] = 10.0


class OwnMax(_Variant):
    own_max = True


class FixedTurn(_Variant):
    fixed_turn = True


class OwnMaxFixedTurn(_Variant):
    own_max = True
    fixed_turn = True


class Primary(_Variant):
    #: Smallest maximum green of a phase serving a through movement [s] (0: the engineered one).
    through_max_floor_s: ClassVar[float] = 0.0
    #: Each maximum green at least the network's own green.
    at_least_own: ClassVar[bool] = False

    def programs(
        self,
        model: NetworkModel,
        flows: Mapping[tuple[str, str], float] | None = None,
        discharge: DischargeTable | None = None,
    ) -> list[SignalProgram]:
        out = []
        for spec in model.intersections:
            greens = self._greens(spec, flows, discharge)
            own = own_greens(spec)
            kept, _ = primary_phases(spec)
            states = [spec.green_phases[i].state for i in kept]
            cycle, _lost = build_cycle(
                states, [own[s] for s in states], yellow_s=network_yellow_s(spec), all_red_s=0.0
            )
            phases: list[ProgramPhase] = []
            for phase in cycle:
                if phase.state not in greens:
                    phases.append(phase)
                    continue
                low, high = greens[phase.state]
                if self.at_least_own:
                    high = max(high, own[phase.state])
                if serves_through(spec, phase.state):
                    high = max(high, self.through_max_floor_s)
                initial = min(max(phase.duration_s, low), high)
                phases.append(replace(phase, duration_s=initial, min_dur_s=low, max_dur_s=high))
            program = SignalProgram(
                tls_id=spec.id, kind=self.kind, phases=tuple(phases), params=self._sumo_params()
            )
            out.append(program)
        return out


class PrimaryAtLeastOwn(Primary):
    at_least_own = True


class PrimaryFloor25(Primary):
    through_max_floor_s = 25.0
