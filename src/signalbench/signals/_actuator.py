"""The safety actuator: turns controller requests into legal SUMO signal strings.

Pure code, no SUMO: time comes in as an argument. For each intersection it owns the current
signal string and enforces yellow, all-red, minimum and maximum green. What a controller
asked for but did not get is counted per kind in :attr:`Actuator.overrides`.
"""

from __future__ import annotations

import enum
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from signalbench.signals._timing import SignalTiming, all_red_state, loses_green, yellow_state

__all__ = ["Actuator", "InvalidRequest", "Mode", "Override", "PhaseRequest"]

_EPS_S = 1e-6  # float time comparisons; SUMO times are multiples of the step length


@dataclass(frozen=True, slots=True)
class PhaseRequest:
    """A controller's wish: hold the current green (``phase=None``) or switch to green ``phase``.

    Use :meth:`hold` and :meth:`switch` rather than the constructor.
    """

    phase: int | None = None

    @classmethod
    def hold(cls) -> PhaseRequest:
        """Keep the current green (or let a running transition finish)."""
        return _HOLD

    @classmethod
    def switch(cls, phase: int) -> PhaseRequest:
        """Serve green phase ``phase`` (an index into ``IntersectionSpec.green_phases``)."""
        return cls(phase)


_HOLD = PhaseRequest(None)


class InvalidRequest(ValueError):
    """A request that is not a PhaseRequest or names a phase that does not exist."""


class Mode(enum.Enum):
    """What the signal shows now."""

    GREEN = "green"
    YELLOW = "yellow"
    ALL_RED = "all_red"


class Override(str, enum.Enum):
    """Why the actuator did not do what a controller asked (keys of ``overrides``)."""

    MIN_GREEN = "min_green"  # switch asked before min green elapsed: green held
    IN_TRANSITION = "in_transition"  # another phase asked during yellow/all-red: ignored
    MAX_GREEN = "max_green"  # green reached max green: next phase forced


class Actuator:
    """Safe signal state machine of one intersection.

    Args:
        phases: the intersection's green signal strings (all the same length).
        timing: the rules to enforce.
        now_s: simulation time at which control starts [s].
        initial_phase: green phase to serve first.
        current_state: what the signal shows when control starts (its own program's state).
            If links that are green there are not green in ``initial_phase``, control starts
            with a yellow (and all-red) clearance instead of cutting them to red.

    """

    def __init__(
        self,
        phases: Sequence[str],
        timing: SignalTiming,
        *,
        now_s: float,
        initial_phase: int = 0,
        current_state: str | None = None,
    ) -> None:
        if not phases:
            raise ValueError("an actuator needs at least one green phase")
        if len({len(p) for p in phases}) != 1:
            raise ValueError("green phases differ in signal string length")
        if not 0 <= initial_phase < len(phases):
            raise ValueError(f"initial phase {initial_phase} out of range")
        self.phases: tuple[str, ...] = tuple(phases)
        self.timing = timing
        self.overrides: Counter[str] = Counter()
        self.switches = 0
        self._green = initial_phase  # current green, or the target during a transition
        self._from_state = self.phases[initial_phase]
        self._mode = Mode.GREEN
        self._mode_start_s = now_s
        self._green_start_s = now_s
        self._state = self.phases[initial_phase]
        if current_state is not None and current_state != self._state:
            if len(current_state) != len(self._state):
                raise ValueError("current_state differs in length from the green phases")
            self._from_state = current_state
            self._clear(now_s, current_state, self.phases[initial_phase])

    # -- read-only view -------------------------------------------------------------------
    @property
    def state(self) -> str:
        """The signal string to show now."""
        return self._state

    @property
    def mode(self) -> Mode:
        """Green, yellow or all-red."""
        return self._mode

    @property
    def phase(self) -> int:
        """Current green phase; during a transition, the phase being switched to."""
        return self._green

    @property
    def in_transition(self) -> bool:
        """True during yellow or all-red."""
        return self._mode is not Mode.GREEN

    def time_in_phase_s(self, now_s: float) -> float:
        """Seconds since the current green started (0 during a transition)."""
        return max(0.0, now_s - self._green_start_s) if self._mode is Mode.GREEN else 0.0

    def next_event_s(self) -> float:
        """When the actuator must act by itself next (end of yellow/all-red, max green)."""
        t = self.timing
        if self._mode is Mode.YELLOW:
            return self._mode_start_s + t.yellow_s
        if self._mode is Mode.ALL_RED:
            return self._mode_start_s + t.all_red_s
        if t.max_green_s is not None and len(self.phases) > 1:
            return self._green_start_s + t.max_green_s
        return math.inf

    # -- transitions ----------------------------------------------------------------------
    def validate(self, request: object) -> int | None:
        """Return the phase ``request`` asks for (None: hold).

        Raises:
            InvalidRequest: ``request`` is not a PhaseRequest or names no existing phase.

        """
        if not isinstance(request, PhaseRequest):
            raise InvalidRequest(f"expected a PhaseRequest, got {request!r}")
        target = request.phase
        if target is None:
            return None
        if isinstance(target, bool) or not isinstance(target, int):
            raise InvalidRequest(f"phase must be an int, got {target!r}")
        if not 0 <= target < len(self.phases):
            raise InvalidRequest(f"phase {target} does not exist (valid: 0..{len(self.phases) - 1})")
        return target

    def request(self, now_s: float, request: object) -> str | None:
        """Apply a controller request at ``now_s``; return the new signal string if it changed.

        Raises:
            InvalidRequest: ``request`` is not a PhaseRequest or names no existing phase.

        """
        changed = self.advance(now_s)
        target = self.validate(request)
        if target is None:
            return changed
        if self._mode is not Mode.GREEN:
            if target != self._green:
                self.overrides[Override.IN_TRANSITION.value] += 1
            return changed
        if target == self._green:
            return changed
        if now_s - self._green_start_s < self.timing.min_green_s - _EPS_S:
            self.overrides[Override.MIN_GREEN.value] += 1
            return changed
        before = self._state
        self._begin_switch(now_s, target)
        return self._state if self._state != before else changed  # a held green shows no change yet

    def advance(self, now_s: float) -> str | None:
        """Run the actuator's own timer at ``now_s``; return the new string if it changed.

        At most one transition per call, starting at ``now_s``: the caller shows the returned
        string from ``now_s`` on, so an interval that ends between two simulation steps is
        shown until the next step (longer, never shorter), and no state is skipped.
        """
        if self.next_event_s() > now_s + _EPS_S:
            return None
        before = self._state
        if self._mode is Mode.YELLOW:
            if self.timing.all_red_s > 0:
                self._mode = Mode.ALL_RED
                self._mode_start_s = now_s
                self._state = all_red_state(self._from_state, self.phases[self._green])
            else:
                self._start_green(now_s)
        elif self._mode is Mode.ALL_RED:
            self._start_green(now_s)
        else:  # max green reached: serve the next phase in program order
            self.overrides[Override.MAX_GREEN.value] += 1
            self._begin_switch(now_s, (self._green + 1) % len(self.phases))
        return self._state if self._state != before else None

    def _begin_switch(self, now_s: float, target: int) -> None:
        self.switches += 1
        self._from_state, self._green = self.phases[self._green], target
        self._clear(now_s, self._from_state, self.phases[target])

    def _clear(self, now_s: float, old: str, new: str) -> None:
        """Start the clearance from ``old`` to green ``new`` (``new`` at once if none is needed)."""
        if not loses_green(old, new) and not (self.timing.yellow_on_every_switch and old != new):
            self._start_green(now_s)  # no link loses green: nothing to clear
        elif self.timing.yellow_s > 0:
            self._mode = Mode.YELLOW
            self._mode_start_s = now_s
            self._state = yellow_state(old, new)
        elif self.timing.all_red_s > 0:
            self._mode = Mode.ALL_RED
            self._mode_start_s = now_s
            self._state = all_red_state(old, new)
        else:
            self._start_green(now_s)

    def _start_green(self, now_s: float) -> None:
        self._mode = Mode.GREEN
        self._mode_start_s = now_s
        self._green_start_s = now_s
        self._state = self.phases[self._green]
