"""``fixed-time``: the network's own signal programs, untouched (the reference baseline)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from signalbench.controllers.programs._plans import ProgramController

if TYPE_CHECKING:
    from signalbench.networks import NetworkModel, Scenario

__all__ = ["FixedTime"]


class FixedTime(ProgramController):
    """Leave every signal to the program stored in the network (static, actuated, ...).

    It installs nothing: no request ever reaches SUMO, and a trial in which every
    intersection is ``fixed-time`` runs plain ``sumo`` without TraCI at all.
    """

    def write_programs(
        self,
        model: NetworkModel,
        scenario: Scenario,
        path: Path,
        *,
        scale: float,
        seed: int,
        sumo_binary: Path | None = None,
    ) -> None:
        """Install nothing: the network's own programs run."""
        return None
