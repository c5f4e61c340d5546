"""Signal timing rules and the transition states between two green phases."""

from __future__ import annotations

import math
from dataclasses import dataclass

from signalbench.errors import SpecError

__all__ = ["GREEN", "SignalTiming", "all_red_state", "is_green_state", "loses_green", "yellow_state"]

#: Signal characters that let vehicles go: ``G`` priority green, ``g`` green that must yield.
GREEN = frozenset("Gg")
_GREEN = GREEN
_TRANSITION = frozenset("yYu")


def is_green_state(state: str) -> bool:
    """Return True for a signal string that gives green to some link and shows no yellow."""
    return any(c in _GREEN for c in state) and not any(c in _TRANSITION for c in state)


@dataclass(frozen=True, kw_only=True)
class SignalTiming:
    """Timing rules the safety actuator enforces for every Python-controlled signal.

    Defaults follow common practice and the RESCO / sumo-rl conventions: a 3 s yellow, no
    all-red, 5 s minimum green and 60 s maximum green (``None`` disables the maximum).

    Attributes:
        yellow_s: yellow interval shown to links that lose green [s].
        all_red_s: red clearance after the yellow, before the next green [s].
        min_green_s: shortest green before a controller may switch away [s].
        max_green_s: longest green before the actuator forces the next phase [s], or None.
        yellow_on_every_switch: pass through the yellow interval on every switch, also where no
            link loses green (its "yellow" then shows the old green for ``yellow_s``), as RESCO
            and sumo-rl do. False (the default): such a switch starts the new green at once.

    """

    yellow_s: float = 3.0
    all_red_s: float = 0.0
    min_green_s: float = 5.0
    max_green_s: float | None = 60.0
    yellow_on_every_switch: bool = False

    def __post_init__(self) -> None:
        flag = self.yellow_on_every_switch
        if not isinstance(flag, bool):
            raise SpecError(f"timing.yellow_on_every_switch must be true or false, got {flag!r}")
        for name in ("yellow_s", "all_red_s", "min_green_s"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise SpecError(f"timing.{name} must be a number of seconds, got {value!r}")
            if not (math.isfinite(value) and value >= 0):
                raise SpecError(f"timing.{name} must be >= 0, got {value!r}")
        if self.max_green_s is not None:
            if isinstance(self.max_green_s, bool) or not isinstance(self.max_green_s, (int, float)):
                raise SpecError(f"timing.max_green_s must be seconds or none, got {self.max_green_s!r}")
            if not self.max_green_s > 0:
                raise SpecError(f"timing.max_green_s must be > 0, got {self.max_green_s!r}")
            if self.max_green_s < self.min_green_s:
                raise SpecError(
                    f"timing.min_green_s ({self.min_green_s}) exceeds timing.max_green_s ({self.max_green_s})"
                )


def loses_green(from_state: str, to_state: str) -> bool:
    """Return True if some link that is green in ``from_state`` is not green in ``to_state``."""
    return any(a in _GREEN and b not in _GREEN for a, b in zip(from_state, to_state, strict=True))


def yellow_state(from_state: str, to_state: str) -> str:
    """Return the yellow state between two phases.

    Links losing green turn ``y``; every other link keeps its ``from_state`` signal, so links
    gaining green stay red until the new phase starts.
    """
    _check_lengths(from_state, to_state)
    pairs = zip(from_state, to_state, strict=True)
    return "".join("y" if a in _GREEN and b not in _GREEN else a for a, b in pairs)


def all_red_state(from_state: str, to_state: str) -> str:
    """Return the all-red clearance state: links green in both phases keep green, every other link is red."""
    _check_lengths(from_state, to_state)
    pairs = zip(from_state, to_state, strict=True)
    return "".join(a if a in _GREEN and b in _GREEN else "r" for a, b in pairs)


def _check_lengths(a: str, b: str) -> None:
    if len(a) != len(b):
        raise ValueError(f"signal strings differ in length: {len(a)} vs {len(b)}")
