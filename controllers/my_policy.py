"""An example controller to copy: longest queue first, skipping movements that are blocked.

Run it against the built-ins without registering anything:

    signalbench run --network cologne3 --controller fixed-time \
        --controller controllers/my_policy.py:MyPolicy --seeds 3

or from a spec file:

    [[controllers]]
    id = "controllers/my_policy.py:MyPolicy"   # relative to the spec file, or absolute
    label = "my-policy"
    params = { switch_margin_veh = 2.0, blocked_share = 0.8 }

A controller sees one intersection through a frozen ``IntersectionObs`` and returns a
``PhaseRequest``. It never talks to SUMO: the harness's safety actuator adds the yellow and
all-red intervals and enforces min/max green, so any request is safe to make.

Why "skipping blocked movements": plain longest-queue-first keeps serving a long queue whose
exit is full, and a network can lock up that way (try ``blocked_share = 1e9``). Max-pressure
avoids this by subtracting the downstream queue.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from signalbench import BaseController, IntersectionObs, IntersectionSpec, PhaseRequest

_VEHICLE_SPACE_M = 7.5  # [m] lane length one queued car occupies, gap included


@dataclass(frozen=True, kw_only=True)
class MyPolicyParams:
    """Parameters with units in their names; unknown names in a spec are rejected."""

    switch_margin_veh: float = 2.0  # switch only if another phase's queue is this much longer
    blocked_share: float = 0.8  # an exit lane this full (halting / capacity) blocks its movements

    def __post_init__(self) -> None:
        # Each check is written "not <valid>" so that NaN, which fails every comparison, is refused.
        if not 0 <= self.switch_margin_veh < math.inf:
            raise ValueError(f"switch_margin_veh must be a finite number >= 0, got {self.switch_margin_veh}")
        if not 0 < self.blocked_share < math.inf:
            raise ValueError(f"blocked_share must be a finite number > 0, got {self.blocked_share}")


class MyPolicy(BaseController):
    """Longest queue first over movements whose exit lane is not full."""

    Params = MyPolicyParams
    decision_interval_s = 5.0  # [s]; an experiment's timing.decision_interval_s overrides it
    observed_lane_fields = ("halting_count",)  # read only what is used: cheaper decisions

    def reset(self, spec: IntersectionSpec, rng: np.random.Generator) -> None:
        """Called once per episode: precompute what stays fixed."""
        super().reset(spec, rng)
        self._phase_movements = spec.phase_movements.astype(np.float64)  # (phases, movements)
        capacity = np.array([lane.length_m / _VEHICLE_SPACE_M for lane in spec.outgoing_lanes])
        self._exit_capacity_veh = np.maximum(capacity, 1.0)

    def act(self, obs: IntersectionObs) -> PhaseRequest:
        """Called every decision interval: return hold or switch."""
        spec = obs.spec
        fullness = obs.out_halting / self._exit_capacity_veh  # per outgoing lane
        open_exit = fullness[spec.movement_out_lane] < self.params.blocked_share
        queues = self._phase_movements @ (obs.movement_queues() * open_exit)  # [veh] per phase
        best = int(np.argmax(queues))
        if queues[best] >= queues[obs.phase] + self.params.switch_margin_veh:
            return PhaseRequest.switch(best)
        return PhaseRequest.hold()
