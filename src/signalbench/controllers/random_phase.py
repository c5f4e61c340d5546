"""``random``: a uniformly random green phase at every decision (a sanity baseline).

Any controller that does not beat it on a network has learned nothing about that network.
Deterministic for a given seed: it draws only from the generator the harness passes in.
"""

from __future__ import annotations

from signalbench.controllers._api import IntersectionObs, PhaseRequest
from signalbench.controllers._base import BaseController

__all__ = ["RandomPhase"]


class RandomPhase(BaseController):
    """Request a uniformly random green phase at every decision."""

    observed_lane_fields = ()

    def act(self, obs: IntersectionObs) -> PhaseRequest:
        """Draw the next phase."""
        return PhaseRequest.switch(int(self.rng.integers(obs.n_phases)))
