"""Independent check of a signal timeline against the timing rules.

Used by the tests and the conformance kit: it does not share code with the actuator, so a
bug in one is caught by the other.
"""

from __future__ import annotations

from collections.abc import Sequence

from signalbench.signals._timing import SignalTiming, is_green_state

__all__ = ["audit_timeline"]

_GREEN = frozenset("Gg")
_YELLOW = frozenset("yY")


def audit_timeline(
    timeline: Sequence[tuple[float, str]],
    timing: SignalTiming,
    *,
    end_s: float,
    phases: Sequence[str] | None = None,
    tolerance_s: float = 1e-6,
) -> list[str]:
    """Return every violation of ``timing`` in a timeline of (time set [s], signal string).

    Checks: a link leaving green shows yellow for at least ``yellow_s`` first (when
    ``yellow_s`` > 0); with ``phases``, an all-red clearance after a yellow lasts at least
    ``all_red_s``; every green phase that ended lasted at least ``min_green_s``;
    no green phase lasted longer than ``max_green_s`` (plus ``tolerance_s``). With
    ``phases``, only spans showing one of those strings count as green phases (an all-red
    clearance that keeps common greens is not a phase); otherwise any green string does.
    """
    problems: list[str] = []
    if not timeline:
        return problems
    # Collapse repeated strings: setting the same state twice is not a change.
    spans: list[tuple[float, float, str]] = []
    for i, (t, state) in enumerate(timeline):
        if spans and spans[-1][2] == state:
            continue
        if spans:
            spans[-1] = (spans[-1][0], t, spans[-1][2])
        spans.append((t, end_s, state))
        del i
    n_links = len(spans[0][2])
    for start, _stop, state in spans:
        if len(state) != n_links:
            problems.append(f"t={start:g}: signal string length changed to {len(state)}")
            return problems
    # Per link: green -> (not green, not yellow) needs a yellow of yellow_s in between.
    for link in range(n_links):
        prev_char = spans[0][2][link]
        yellow_since: float | None = None
        for start, _stop, state in spans[1:]:
            c = state[link]
            if c in _YELLOW:
                if prev_char in _GREEN:
                    yellow_since = start
                elif prev_char not in _YELLOW:
                    yellow_since = None
            elif c not in _GREEN:
                if prev_char in _GREEN and timing.yellow_s > 0:
                    problems.append(f"t={start:g}: link {link} went from green to {c!r} without yellow")
                elif prev_char in _YELLOW and yellow_since is not None:
                    shown = start - yellow_since
                    if shown + tolerance_s < timing.yellow_s:
                        problems.append(
                            f"t={start:g}: link {link} yellow lasted {shown:g} s < {timing.yellow_s:g} s"
                        )
                yellow_since = None
            else:
                yellow_since = None
            prev_char = c
    # With the phases known, a span between a yellow and a green phase is an all-red clearance.
    if phases is not None and timing.all_red_s > 0:
        for idx in range(1, len(spans) - 1):
            start, stop, state = spans[idx]
            after_yellow = any(c in _YELLOW for c in spans[idx - 1][2])
            is_all_red = after_yellow and state not in phases and not any(c in _YELLOW for c in state)
            if is_all_red and stop - start + tolerance_s < timing.all_red_s:
                problems.append(f"t={start:g}: all-red lasted {stop - start:g} s < {timing.all_red_s:g} s")
    # Per green phase: min and max green. The last span may be cut by the end of the run.
    for idx, (start, stop, state) in enumerate(spans):
        if not is_green_state(state) or (phases is not None and state not in phases):
            continue
        duration = stop - start
        is_last = idx == len(spans) - 1
        if not is_last and duration + tolerance_s < timing.min_green_s:
            problems.append(
                f"t={start:g}: green {state} lasted {duration:g} s < min {timing.min_green_s:g} s"
            )
        if timing.max_green_s is not None and duration > timing.max_green_s + tolerance_s:
            problems.append(
                f"t={start:g}: green {state} lasted {duration:g} s > max {timing.max_green_s:g} s"
            )
    return problems
