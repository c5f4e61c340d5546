"""Direction movements and phase pairs: the intersection as benchmarks such as RESCO describe it.

RESCO (Ault & Sharon 2021, ``config/signal_config.py``) groups each light's incoming lanes into
twelve *direction movements* (arrival heading x turn, ``S-W`` ... ``E-N``); a lane serving
several turns belongs to each of them, so it counts once per movement. A phase is a *pair* of
direction movements out of a fixed list (the FRAP/MPLight pairs), and each light may choose only
among the phases that serve one of those pairs. Here the movements come from the network's
geometry (:attr:`signalbench.networks.Movement.heading_in` / ``heading_out``), so the grouping
works on any network; turnarounds count with the left turns, as RESCO's configuration files them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from signalbench.networks import IntersectionSpec
from signalbench.signals import GREEN

__all__ = ["MOVEMENT_KEYS", "PHASE_PAIRS", "DirectionMovements", "direction_movements"]

#: The twelve direction movements, in RESCO's index order (``arrival-leaving`` heading).
MOVEMENT_KEYS: tuple[str, ...] = (
    "S-W",
    "S-S",
    "S-E",
    "W-N",
    "W-W",
    "W-S",
    "N-E",
    "N-N",
    "N-W",
    "E-S",
    "E-E",
    "E-N",
)
#: The phase pairs RESCO's configurations choose from (indices into :data:`MOVEMENT_KEYS`).
PHASE_PAIRS: tuple[tuple[int, int], ...] = (
    (1, 7), (2, 8), (1, 2), (7, 8), (4, 10), (5, 11), (10, 11),
    (4, 5), (9, 11), (3, 5), (7, 9), (0, 2), (6, 8),
)  # fmt: skip

_HEADINGS = "NESW"
_LEFT = {"N": "W", "E": "N", "S": "E", "W": "S"}


def movement_key(heading_in: str, heading_out: str) -> str | None:
    """Return the direction movement of a link; a turnaround counts as the left turn."""
    if not heading_in or not heading_out:
        return None
    if (_HEADINGS.index(heading_out) - _HEADINGS.index(heading_in)) % 4 == 2:
        heading_out = _LEFT[heading_in]
    return f"{heading_in}-{heading_out}"


@dataclass(frozen=True, kw_only=True)
class DirectionMovements:
    """One light's direction movements, phase pairs and downstream lanes.

    Attributes:
        lanes: (12, n_incoming) 0/1 matrix: the incoming lanes of each direction movement
            (a lane belongs to every movement it has a link for, once).
        phase_pair: per green phase, the index into :data:`PHASE_PAIRS` of the pair it serves
            best, or -1 when it serves none.
        phase_movements: (n_phases, 12) 0/1 matrix: the direction movements a phase gives
            green to (any link green).
        actions: the green phases that are valid actions: for each pair, the phase serving
            the most of its links (the lowest on ties), in phase order.
        exit_lanes: per direction movement, the indices of the outgoing lanes its links lead
            to (for the downstream term).

    """

    lanes: np.ndarray
    phase_pair: tuple[int, ...]
    phase_movements: np.ndarray
    actions: tuple[int, ...]
    exit_lanes: tuple[tuple[int, ...], ...]

    def lane_sets(self, spec: IntersectionSpec) -> dict[str, tuple[str, ...]]:
        """Return the lane ids of each non-empty direction movement (RESCO's ``lane_sets``)."""
        return {
            key: tuple(spec.incoming_lanes[i].id for i in np.flatnonzero(self.lanes[k]))
            for k, key in enumerate(MOVEMENT_KEYS)
            if self.lanes[k].any()
        }


def direction_movements(spec: IntersectionSpec) -> DirectionMovements:
    """Group a light's links into direction movements and find the phase each pair is served by."""
    n_in = len(spec.incoming_lanes)
    key_of = [movement_key(m.heading_in, m.heading_out) for m in spec.movements]
    index = {key: k for k, key in enumerate(MOVEMENT_KEYS)}
    lanes = np.zeros((len(MOVEMENT_KEYS), n_in), dtype=np.float64)
    exits: list[set[int]] = [set() for _ in MOVEMENT_KEYS]
    for i, key in enumerate(key_of):
        if key is None:
            continue
        lanes[index[key], spec.movement_in_lane[i]] = 1.0
        exits[index[key]].add(int(spec.movement_out_lane[i]))
    nonempty = [bool(row.any()) for row in lanes]
    phase_movements = np.zeros((spec.n_phases, len(MOVEMENT_KEYS)), dtype=np.float64)
    pairs: list[int] = []
    coverage: list[int] = []
    for p, phase in enumerate(spec.green_phases):
        served: dict[int, list[bool]] = {}  # movement -> priority green per link
        for i, mv in enumerate(spec.movements):
            key = key_of[i]
            if key is not None and phase.state[mv.link_index] in GREEN:
                served.setdefault(index[key], []).append(phase.state[mv.link_index] == "G")
        for k in served:
            phase_movements[p, k] = 1.0

        def score(k: int, served: dict[int, list[bool]] = served) -> int:
            if not nonempty[k]:
                return 0  # a movement this light does not have: neither for nor against
            if k not in served:
                return -100
            return 2 if all(served[k]) else 1

        scores = [score(a) + score(b) for a, b in PHASE_PAIRS]
        best = max(range(len(PHASE_PAIRS)), key=lambda j: (scores[j], -j))
        pairs.append(best if scores[best] > 0 else -1)
        a, b = PHASE_PAIRS[best]
        coverage.append(sum(len(served.get(k, ())) for k in (a, b)))
    chosen: dict[int, int] = {}
    for p, pair in enumerate(pairs):
        if pair >= 0 and (pair not in chosen or coverage[p] > coverage[chosen[pair]]):
            chosen[pair] = p
    return DirectionMovements(
        lanes=lanes,
        phase_pair=tuple(pairs),
        phase_movements=phase_movements,
        actions=tuple(sorted(chosen.values())),
        exit_lanes=tuple(tuple(sorted(e)) for e in exits),
    )
