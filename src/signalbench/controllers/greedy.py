"""``greedy``: serve the phase with the most vehicles queued at or approaching its stop lines.

The "max-wave" / greedy baseline of the RESCO benchmark (Ault & Sharon 2021): for every green
phase, count the vehicles within ``detection_m`` of the stop line on the incoming lanes the
phase serves, queued or moving, with no downstream term; pick the largest. Without vehicle
positions (induction loops) the sensing's per-lane vehicle counts stand in for them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from signalbench.controllers._api import IntersectionObs, PhaseRequest
from signalbench.controllers._base import BaseController
from signalbench.controllers._batch import NetworkObs, first_max
from signalbench.controllers._phases import check_flag, check_number, phase_lanes, pick_max
from signalbench.networks import IntersectionSpec

__all__ = ["Greedy", "GreedyParams"]


@dataclass(frozen=True, kw_only=True)
class GreedyParams:
    """Parameters of :class:`Greedy`.

    Attributes:
        detection_m: vehicles count within this distance of the stop line [m].
        upstream: count also on the lanes feeding each incoming lane through unsignalised
            junctions, within ``detection_m``: the detection zone follows the approach.

    """

    detection_m: float = 50.0
    upstream: bool = False

    def __post_init__(self) -> None:
        check_number("detection_m", self.detection_m)
        check_flag("upstream", self.upstream)


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
        """Precompute which lanes each phase serves."""
        super().reset(spec, rng)
        self._lanes = phase_lanes(spec).astype(np.float64)

    def act(self, obs: IntersectionObs) -> PhaseRequest:
        """Request the phase with the largest wave; ties keep the current phase."""
        if obs.observes("vehicles") or not obs.fields:
            wave = self._lanes @ obs.vehicles_within(self.params.detection_m)
        else:
            wave = self._lanes @ np.nan_to_num(obs.in_vehicles)
        return PhaseRequest.switch(pick_max(wave, obs.phase))

    def batched(self) -> _GreedyBatch | None:
        """All lights at once."""
        if type(self) is not Greedy:  # a subclass may decide otherwise: it keeps the per-light path
            return None
        return _GreedyBatch(self.params.detection_m)


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
