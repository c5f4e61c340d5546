"""Small phase arithmetic shared by the built-in controllers."""

from __future__ import annotations

import numpy as np

from signalbench.networks import IntersectionSpec

__all__ = ["phase_lanes", "pick_max"]


def phase_lanes(spec: IntersectionSpec) -> np.ndarray:
    """Boolean matrix (n_phases, n_incoming_lanes): True where the phase serves a movement from the lane."""
    mat = np.zeros((spec.n_phases, len(spec.incoming_lanes)), dtype=bool)
    in_lane = spec.movement_in_lane
    for k, phase in enumerate(spec.green_phases):
        mat[k, in_lane[list(phase.movements)]] = True
    return mat


def pick_max(scores: np.ndarray, current: int) -> int:
    """Index of the largest score; the current phase wins ties, then the lowest index."""
    best = float(np.max(scores))
    if scores[current] >= best:
        return current
    return int(np.argmax(scores))
