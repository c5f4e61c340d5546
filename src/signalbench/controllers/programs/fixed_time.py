"""``fixed-time``: the network's own signal programs, untouched (the reference baseline)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from signalbench.controllers.programs._plans import ProgramController, SignalProgram

if TYPE_CHECKING:
    from signalbench.networks import DischargeTable, NetworkModel

__all__ = ["FixedTime"]


class FixedTime(ProgramController):
    """Leave every signal to the program stored in the network (static, actuated, ...).

    It installs no program: no request ever reaches SUMO, and a trial in which every
    intersection is ``fixed-time`` runs plain ``sumo`` without TraCI at all.
    """

    def build_programs(
        self,
        model: NetworkModel,
        flows: Mapping[tuple[str, str], float],
        discharge: DischargeTable | None = None,
    ) -> tuple[list[SignalProgram], dict[str, Any]]:
        """No programs: the network's own run."""
        return [], {}
