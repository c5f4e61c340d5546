"""``max-pressure``: serve the green phase with the largest total movement pressure.

Varaiya (2013), "Max pressure control of a network of signalized intersections",
Transportation Research Part C 36: the pressure of a movement is its upstream queue minus its
downstream queue; the phase whose served movements have the largest summed pressure gets green.
Turning ratios are taken as 1 per movement, as in most open-source implementations.

Defaults: a queue is the number of halting vehicles (speed < 0.1 m/s) on the whole lane, and
the downstream queue is the one on the movement's outgoing lane. The options reproduce the
variant of the RESCO benchmark (Ault & Sharon 2021): ``detection_m = 200``,
``queue = "stopped"``, ``downstream = "signalised"``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

from signalbench.controllers._api import IntersectionObs, PhaseRequest
from signalbench.controllers._base import BaseController
from signalbench.controllers._batch import HOLD, NetworkObs, first_max
from signalbench.controllers._detection import QUEUE_RULES, QueueRule, QueueTracker
from signalbench.controllers._phases import check_flag, check_number
from signalbench.networks import IntersectionSpec

__all__ = ["MaxPressure", "MaxPressureParams"]

Downstream = Literal["out-lane", "signalised", "none"]
_DOWNSTREAM = ("out-lane", "signalised", "none")


@dataclass(frozen=True, kw_only=True)
class MaxPressureParams:
    """Parameters of :class:`MaxPressure`.

    Attributes:
        detection_m: vehicles count only within this distance of the stop line [m]; None
            counts the whole lane (cheapest: no per-vehicle data needed).
        queue: ``halting`` (slower than 0.1 m/s now) or ``stopped`` (stopped at some time
            since it was first detected, and still detected).
        downstream: ``out-lane``: the queue on the movement's outgoing lane; ``signalised``:
            the queue on the next traffic light's incoming lanes that this movement feeds,
            and nothing when no controlled light follows; ``none``: no downstream term.
        upstream: count within ``detection_m`` also on the lanes feeding each incoming lane
            through unsignalised junctions (needs ``detection_m``): the detection zone
            follows the approach instead of stopping where SUMO split the road.

    """

    detection_m: float | None = None
    queue: QueueRule = "halting"
    downstream: Downstream = "out-lane"
    upstream: bool = False

    def __post_init__(self) -> None:
        if self.detection_m is not None:
            check_number("detection_m", self.detection_m)
        if self.queue not in QUEUE_RULES:
            raise ValueError(f"queue must be one of {', '.join(QUEUE_RULES)}, got {self.queue!r}")
        check_flag("upstream", self.upstream)
        if self.upstream and self.detection_m is None:
            raise ValueError("upstream = true needs detection_m (how far back along the approach)")
        if self.downstream not in _DOWNSTREAM:
            raise ValueError(f"downstream must be one of {', '.join(_DOWNSTREAM)}, got {self.downstream!r}")

    @property
    def needs_vehicles(self) -> bool:
        """True when per-vehicle observations are needed (a range or the stopped rule)."""
        return self.detection_m is not None or self.queue == "stopped"


class MaxPressure(BaseController):
    """Pick the phase with the largest pressure; ties keep the current phase, else the lowest index."""

    Params = MaxPressureParams
    params: MaxPressureParams

    def __init__(self, params: MaxPressureParams | None = None) -> None:
        super().__init__(params)
        self.observed_lane_fields = ("vehicles",) if self.params.needs_vehicles else ("halting_count",)
        if self.params.upstream and self.params.detection_m is not None:
            self.observed_upstream_m = self.params.detection_m
        self._tracker = QueueTracker()

    def reset(self, spec: IntersectionSpec, rng: np.random.Generator) -> None:
        """Start a new episode with an empty queue memory."""
        super().reset(spec, rng)
        p = self.params
        self._tracker = QueueTracker(p.detection_m if p.detection_m is not None else math.inf, p.queue)
        self._phase_movements = spec.phase_movements.astype(np.float64)
        self._has_downstream = np.array([bool(ln.downstream_lanes) for ln in spec.outgoing_lanes])

    def pressures(self, obs: IntersectionObs) -> np.ndarray:
        """Pressure of every green phase [veh]."""
        spec, p = obs.spec, self.params
        if p.needs_vehicles:
            q_in, q_out, *q_down_lanes = self._tracker.update(
                obs.in_lane_vehicles, obs.out_lane_vehicles, *obs.down_lane_vehicles
            )
            q_down = np.array([q.sum() for q in q_down_lanes], dtype=np.float64)
        else:
            q_in, q_out = obs.in_halting, obs.out_halting
            q_down = obs.down_halting if obs.down_halting is not None else np.zeros(len(q_out))
        if p.downstream == "out-lane":
            down = q_out
        elif p.downstream == "signalised":
            down = np.where(self._has_downstream, q_down, 0.0)
        else:
            down = np.zeros(len(spec.outgoing_lanes))
        movement = q_in[spec.movement_in_lane] - down[spec.movement_out_lane]
        return self._phase_movements @ movement  # type: ignore[no-any-return]

    def act(self, obs: IntersectionObs) -> PhaseRequest:
        """Request the max-pressure phase."""
        pressures = self.pressures(obs)
        best = float(np.max(pressures))
        if pressures[obs.phase] >= best:
            return PhaseRequest.hold()
        return PhaseRequest.switch(int(np.argmax(pressures)))

    def batched(self) -> _MaxPressureBatch | None:
        """All lights at once from halting counts (None with a range or the stopped rule)."""
        if type(self) is not MaxPressure:  # a subclass may decide otherwise: it keeps the per-light path
            return None
        return None if self.params.needs_vehicles else _MaxPressureBatch(self.params.downstream)


class _MaxPressureBatch:
    """:meth:`MaxPressure.act` for every light in one call (halting counts on whole lanes)."""

    def __init__(self, downstream: Downstream) -> None:
        self.downstream = downstream

    def decide(self, obs: NetworkObs) -> np.ndarray:
        layout, halting = obs.layout, obs.lanes.halting_count
        q_in = halting[layout.in_rows]
        if self.downstream == "out-lane":
            down = halting[layout.out_rows]
        elif self.downstream == "signalised":
            out_idx, rows = layout.down_pairs
            q_down = np.bincount(
                out_idx, weights=np.nan_to_num(halting, nan=0.0)[rows], minlength=len(layout.out_rows)
            )
            down = np.where(layout.out_has_downstream, q_down, 0.0)
        else:
            down = np.zeros(len(layout.out_rows))
        movement = q_in[layout.mv_in] - down[layout.mv_out]
        table = layout.phase_sums(layout.pm_slot, movement[layout.pm_mv])
        _, pick = first_max(table, obs.phase)
        return np.where(pick == obs.phase, HOLD, pick)
