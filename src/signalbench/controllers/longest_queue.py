"""``longest-queue-first``: give green to the phase serving the longest single queue.

A classic queue-based heuristic (e.g. Wunderlich et al. 2008, "A novel signal-scheduling
algorithm with quality-of-service provisioning for an isolated intersection", IEEE T-ITS):
the lane with the most halting vehicles decides; among phases serving it, the one with the
largest total queue wins. Unlike max-pressure it ignores the exits, so it can feed a blocked
downstream lane.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from signalbench.controllers._api import IntersectionObs, PhaseRequest
from signalbench.controllers._base import BaseController
from signalbench.controllers._batch import HOLD, NetworkObs
from signalbench.controllers._phases import check_number, phase_lanes
from signalbench.networks import IntersectionSpec

__all__ = ["LongestQueueFirst", "LongestQueueFirstParams"]


@dataclass(frozen=True, kw_only=True)
class LongestQueueFirstParams:
    """Parameters of :class:`LongestQueueFirst`.

    Attributes:
        switch_margin_veh: switch only if the longest queue is at least this much longer
            than the longest queue the current phase serves [veh].

    """

    switch_margin_veh: float = 0.0

    def __post_init__(self) -> None:
        check_number("switch_margin_veh", self.switch_margin_veh, allow_zero=True)


class LongestQueueFirst(BaseController):
    """Serve the phase that serves the lane with the most halting vehicles."""

    Params = LongestQueueFirstParams
    params: LongestQueueFirstParams
    observed_lane_fields = ("halting_count",)

    def reset(self, spec: IntersectionSpec, rng: np.random.Generator) -> None:
        """Precompute which lanes each phase serves."""
        super().reset(spec, rng)
        self._lanes = phase_lanes(spec)

    def act(self, obs: IntersectionObs) -> PhaseRequest:
        """Request the phase with the longest served queue; totals break ties."""
        queues = obs.in_halting
        longest = np.where(self._lanes, queues[None, :], 0.0).max(axis=1)  # per phase
        totals = self._lanes.astype(np.float64) @ queues
        best = max(range(len(longest)), key=lambda k: (longest[k], totals[k], k == obs.phase, -k))
        better = longest[best] > longest[obs.phase] or totals[best] > totals[obs.phase]
        margin = self.params.switch_margin_veh
        if best != obs.phase and better and longest[best] >= longest[obs.phase] + margin:
            return PhaseRequest.switch(best)
        return PhaseRequest.hold()

    def batched(self) -> _LongestQueueBatch | None:
        """All lights at once."""
        if (
            type(self) is not LongestQueueFirst
        ):  # a subclass may decide otherwise: it keeps the per-light path
            return None
        return _LongestQueueBatch(self.params.switch_margin_veh)


class _LongestQueueBatch:
    """:meth:`LongestQueueFirst.act` for every light in one call."""

    def __init__(self, margin_veh: float) -> None:
        self.margin_veh = margin_veh

    def decide(self, obs: NetworkObs) -> np.ndarray:
        layout = obs.layout
        queues = obs.lanes.halting_count[layout.in_rows][layout.pl_in]
        longest = layout.phase_max(layout.pl_slot, queues)
        totals = layout.phase_sums(layout.pl_slot, queues)
        rows, cur = np.arange(len(layout)), obs.phase
        # the key of act(): (longest, totals, is the current phase, lowest index)
        top = longest == longest.max(axis=1, keepdims=True)
        tied = np.where(top, totals, -np.inf)
        top &= tied == tied.max(axis=1, keepdims=True)
        best = np.where(top[rows, cur], cur, top.argmax(axis=1))
        lb, lc = longest[rows, best], longest[rows, cur]
        better = (lb > lc) | (totals[rows, best] > totals[rows, cur])
        switch = (best != cur) & better & (lb >= lc + self.margin_veh)
        return np.where(switch, best, HOLD)
