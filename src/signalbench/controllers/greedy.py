"""``greedy``: serve the phase with the most vehicles queued at or approaching its stop lines.

The "max-wave" / greedy baseline of the RESCO benchmark (Ault & Sharon 2021): for every green
phase, count the vehicles within ``detection_m`` of the stop line on the incoming lanes the
phase serves, queued or moving, with no downstream term; pick the largest. Without vehicle
positions (induction loops) the sensing's per-lane vehicle counts stand in for them.

Defaults: each lane a phase serves counts once, every green phase is a candidate, and ties keep
the current phase. RESCO's own formulation (``states.wave``, ``agents/maxwave.py``) is
``groups = "direction"`` (a lane counted once per direction movement it serves),
``actions = "pairs"`` (only the phases serving one of the benchmark's phase pairs, valued by
the pair) and ``ties = "first"``; see ``max-pressure`` and ``experiments/resco/README.md``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from signalbench.controllers._api import IntersectionObs, PhaseRequest
from signalbench.controllers._base import BaseController
from signalbench.controllers._batch import NetworkObs, first_max
from signalbench.controllers._movements import PHASE_PAIRS, direction_movements
from signalbench.controllers._phases import check_choice, check_flag, check_number, phase_lanes
from signalbench.controllers.max_pressure import (
    ACTIONS,
    GROUPS,
    TIES,
    Actions,
    Groups,
    Ties,
    choose,
    default_formulation,
)
from signalbench.networks import IntersectionSpec

__all__ = ["Greedy", "GreedyParams"]


@dataclass(frozen=True, kw_only=True)
class GreedyParams:
    """Parameters of :class:`Greedy`.

    Attributes:
        detection_m: vehicles count within this distance of the stop line [m].
        upstream: count also on the lanes feeding each incoming lane through unsignalised
            junctions, within ``detection_m``: the detection zone follows the approach.
        groups: ``links`` (each served lane once per phase) or ``direction`` (once per
            direction movement of the phase; see ``max-pressure``).
        actions: ``all`` or ``pairs`` (see ``max-pressure``).
        ties: ``hold`` or ``first`` (see ``max-pressure``).

    """

    detection_m: float = 50.0
    upstream: bool = False
    groups: Groups = "links"
    actions: Actions = "all"
    ties: Ties = "hold"

    def __post_init__(self) -> None:
        check_number("detection_m", self.detection_m)
        check_flag("upstream", self.upstream)
        check_choice("groups", self.groups, GROUPS)
        check_choice("actions", self.actions, ACTIONS)
        check_choice("ties", self.ties, TIES)


class Greedy(BaseController):
    """Serve the phase with most queued plus approaching vehicles near its stop lines."""

    Params = GreedyParams
    params: GreedyParams
    observed_lane_fields = ("vehicles",)
    alternative_lane_fields = (("vehicle_count",),)

    def __init__(self, params: GreedyParams | None = None) -> None:
        super().__init__(params)
        self.observed_upstream_m = self.params.detection_m if self.params.upstream else 0.0

    def reset(self, spec: IntersectionSpec, rng: np.random.Generator) -> None:
        """Precompute which lanes each phase counts."""
        super().reset(spec, rng)
        p = self.params
        self._candidates = np.arange(spec.n_phases)
        self._lanes = phase_lanes(spec).astype(np.float64)
        if p.groups == "direction" or p.actions == "pairs":
            dm = direction_movements(spec)
            if p.actions == "pairs" and dm.actions:
                self._candidates = np.array(dm.actions)
            if p.groups == "direction":
                select = np.zeros((spec.n_phases, len(dm.lanes)))
                for k in range(spec.n_phases):
                    if p.actions == "pairs":
                        if dm.phase_pair[k] >= 0:
                            select[k, list(PHASE_PAIRS[dm.phase_pair[k]])] = 1.0
                    else:
                        select[k] = dm.phase_movements[k]
                self._lanes = select @ dm.lanes  # lane weight: the movements it is counted in

    def act(self, obs: IntersectionObs) -> PhaseRequest:
        """Request the phase with the largest wave."""
        if obs.observes("vehicles") or not obs.fields:
            wave = self._lanes @ obs.vehicles_within(self.params.detection_m)
        else:
            wave = self._lanes @ np.nan_to_num(obs.in_vehicles)
        return PhaseRequest.switch(choose(wave, self._candidates, obs.phase, self.params.ties))

    def batched(self) -> _GreedyBatch | None:
        """All lights at once (the default formulation only: RESCO's keeps the per-light path)."""
        if type(self) is not Greedy:  # a subclass may decide otherwise: it keeps the per-light path
            return None
        p = self.params
        if not default_formulation(p.groups, p.actions, p.ties):
            return None
        return _GreedyBatch(p.detection_m)


class _GreedyBatch:
    """:meth:`Greedy.act` for every light in one call."""

    def __init__(self, detection_m: float) -> None:
        self.detection_m = detection_m

    def decide(self, obs: NetworkObs) -> np.ndarray:
        if obs.within is None:
            raise ValueError("vehicles were not observed: add 'vehicles' to observed_lane_fields")
        layout = obs.layout
        wave = obs.within(self.detection_m)[layout.in_rows]
        table = layout.phase_sums(layout.pl_slot, wave[layout.pl_in])
        return first_max(table, obs.phase)[1]
