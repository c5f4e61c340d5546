"""Small phase arithmetic shared by the built-in controllers."""

from __future__ import annotations

import math

import numpy as np

from signalbench.networks import IntersectionSpec

__all__ = ["check_choice", "check_flag", "check_number", "phase_lanes", "pick_max"]


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


def check_choice(name: str, value: object, choices: tuple[str, ...]) -> None:
    """Raise ValueError unless ``value`` is one of ``choices`` (the message lists them)."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(choices)}, got {value!r}")


def check_flag(name: str, value: object) -> None:
    """Raise ValueError unless ``value`` is a boolean (``1`` or ``"yes"`` are not)."""
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be true or false, got {value!r}")


def check_number(name: str, value: object, *, allow_zero: bool = False, optional: bool = False) -> None:
    """Raise ValueError unless ``value`` is a finite number > 0 (>= 0 with ``allow_zero``).

    Booleans are refused (``True`` is not a distance), so are NaN and infinity; None passes
    only when ``optional`` (a parameter whose absence means "derive it").
    """
    if optional and value is None:
        return
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or value < 0 or (value == 0 and not allow_zero):  # type: ignore[operator]
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be a finite number {bound}, got {value!r}")
