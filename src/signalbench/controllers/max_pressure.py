"""``max-pressure``: serve the green phase with the largest total movement pressure.

Varaiya (2013), "Max pressure control of a network of signalized intersections",
Transportation Research Part C 36: the pressure of a movement is its upstream queue minus its
downstream queue; the phase whose served movements have the largest summed pressure gets green.
Here a queue is the number of halting vehicles (speed < 0.1 m/s) on the whole lane, and turning
ratios are taken as 1 per movement, as in most open-source implementations.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from signalbench.controllers._api import IntersectionObs, PhaseRequest
from signalbench.controllers._base import BaseController

__all__ = ["MaxPressure"]


@dataclass(frozen=True, kw_only=True)
class MaxPressureParams:
    """Parameters of :class:`MaxPressure` (none yet beyond the experiment's timing)."""


class MaxPressure(BaseController):
    """Pick the phase with the largest pressure; ties keep the current phase, else the lowest index."""

    Params = MaxPressureParams
    observed_lane_fields = ("halting_count",)

    def act(self, obs: IntersectionObs) -> PhaseRequest:
        """Request the max-pressure phase."""
        pressures = obs.phase_pressures()
        best = float(np.max(pressures))
        if pressures[obs.phase] >= best:
            return PhaseRequest.hold()
        return PhaseRequest.switch(int(np.argmax(pressures)))
