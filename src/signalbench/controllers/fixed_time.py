"""``fixed-time``: the network's own signal programs, untouched (the reference baseline)."""

from __future__ import annotations

from typing import ClassVar

from signalbench.controllers._api import IntersectionObs, PhaseRequest
from signalbench.controllers._base import BaseController

__all__ = ["FixedTime"]


class FixedTime(BaseController):
    """Leave every signal to the program stored in the network (static, actuated, ...).

    No request ever reaches SUMO: the harness does not touch the signals, and a trial in
    which every intersection is ``fixed-time`` runs plain ``sumo`` without TraCI at all.
    """

    controls_signals: ClassVar[bool] = False

    def act(self, obs: IntersectionObs) -> PhaseRequest:
        """Never asked: the harness does not control these signals."""
        return PhaseRequest.hold()
