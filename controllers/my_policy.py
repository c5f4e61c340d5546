"""An example controller to copy: serve the phase with the longest queue.

Run it against the built-ins without registering anything:

    signalbench run --network cologne3 --controller fixed-time \
        --controller controllers/my_policy.py:MyPolicy --seeds 3

or from a spec file:

    [[controllers]]
    id = "controllers/my_policy.py:MyPolicy"   # relative to the spec file, or absolute
    label = "my-policy"
    params = { switch_margin_veh = 2.0 }

A controller sees one intersection through a frozen ``IntersectionObs`` and returns a
``PhaseRequest``. It never talks to SUMO: the harness's safety actuator adds the yellow and
all-red intervals and enforces min/max green, so any request is safe to make.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from signalbench import BaseController, IntersectionObs, IntersectionSpec, PhaseRequest


@dataclass(frozen=True, kw_only=True)
class MyPolicyParams:
    """Parameters with units in their names; unknown names in a spec are rejected."""

    switch_margin_veh: float = 2.0  # switch only if another phase's queue is this much longer

    def __post_init__(self) -> None:
        if self.switch_margin_veh < 0:
            raise ValueError(f"switch_margin_veh must be >= 0, got {self.switch_margin_veh}")


class MyPolicy(BaseController):
    """Longest queue first, with a margin against flip-flopping."""

    Params = MyPolicyParams
    decision_interval_s = 5.0  # [s]; an experiment's timing.decision_interval_s overrides it

    def reset(self, spec: IntersectionSpec, rng: np.random.Generator) -> None:
        """Called once per episode: precompute what stays fixed."""
        super().reset(spec, rng)
        # For each green phase, which incoming lanes it serves (a lane counts once per phase).
        served = np.zeros((spec.n_phases, len(spec.incoming_lanes)), dtype=bool)
        for k, phase in enumerate(spec.green_phases):
            served[k, spec.movement_in_lane[list(phase.movements)]] = True
        self._served = served

    def act(self, obs: IntersectionObs) -> PhaseRequest:
        """Called every decision interval: return hold or switch."""
        queues = self._served @ obs.in_halting  # halting vehicles per phase [veh]
        best = int(np.argmax(queues))
        if queues[best] >= queues[obs.phase] + self.params.switch_margin_veh:
            return PhaseRequest.switch(best)
        return PhaseRequest.hold()
