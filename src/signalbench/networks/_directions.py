"""Compass headings of a traffic light's approaches, from geometry: the direction movements.

Benchmarks such as RESCO describe an intersection by twelve *direction movements*: the heading
a vehicle arrives with (``N`` = northbound, travelling north) and the heading it leaves with
(``S-W`` is southbound traffic turning right, to the west). This module derives them for any
network:

1. Each approach (incoming edge) gets the bearing of its last 25 m of travel (followed back
   onto the feeding lane when the edge is a short stub before the stop line).
2. Relative headings between approaches come from the turns SUMO computed for the links
   (``s`` through, ``r``/``R`` right, ``l``/``L`` left, ``t`` turnaround): two links that
   leave through the same exit edge must agree on its heading. Constraints are applied
   strongest first (through before right/left before partial turns and turnarounds), and one
   that contradicts those already applied is dropped, as on irregular junctions whose two
   "left" exits cannot both be a quarter turn. Approaches no constraint reaches are placed by
   their bearings.
3. The light's four-fold rotation is the one closest to the geographic compass.

The result is a relabelling-invariant grouping (which lanes serve which approach and turn);
the rotation only names it. Turnarounds are grouped with the left turns, as benchmark
configurations file them (a U-turn is served from the left-turn lane).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

__all__ = ["HEADINGS", "approach_headings", "exit_heading", "turn_of"]

#: Compass headings of travel, clockwise.
HEADINGS = ("N", "E", "S", "W")

# Quarter turns clockwise for SUMO's direction codes.
_TURN = {"s": 0, "r": 1, "R": 1, "l": -1, "L": -1, "t": 2}
# How much a code says about geometry: through links are the most reliable.
_WEIGHT = {"s": 3, "r": 2, "l": 2, "R": 1, "L": 1, "t": 1}
_TAIL_M = 25.0


def turn_of(heading_in: str, heading_out: str) -> str:
    """Return the turn between two headings: ``s``, ``r``, ``l`` or ``t`` (turnaround)."""
    q = (HEADINGS.index(heading_out) - HEADINGS.index(heading_in)) % 4
    return "srtl"[q]


def _bearing(p: tuple[float, float], q: tuple[float, float]) -> float:
    return math.degrees(math.atan2(q[0] - p[0], q[1] - p[1])) % 360.0


def _tail_bearing(lane: Any) -> float:
    """Bearing of travel over the last 25 m before the lane's end [deg, clockwise from north]."""
    points = [tuple(p) for p in lane.getShape()]
    length, current = float(lane.getLength()), lane
    while length < _TAIL_M:
        feeders = [c.getFromLane() for c in current.getIncomingConnections()]
        if not feeders:
            break
        current = max(feeders, key=lambda ln: ln.getLength())
        points = [tuple(p) for p in current.getShape()] + points
        length += float(current.getLength())
    end, travelled, i = points[-1], 0.0, len(points) - 1
    while i > 0 and travelled < _TAIL_M:
        travelled += math.dist(points[i], points[i - 1])
        i -= 1
    return _bearing(points[i], end)


def _angle(a: float, b: float) -> float:
    """Signed smallest difference a - b [deg]."""
    return (a - b + 180.0) % 360.0 - 180.0


def approach_headings(links: Iterable[tuple[Any, Any, str]]) -> dict[str, str]:
    """Return the compass heading of travel of every approach edge of one traffic light.

    Args:
        links: ``(incoming sumolib lane, outgoing sumolib lane, SUMO direction code)`` of
            every signalised vehicle link of the light.

    """
    bearing: dict[str, float] = {}
    exits: dict[str, list[tuple[str, str]]] = {}
    for in_lane, out_lane, code in links:
        edge = str(in_lane.getEdge().getID())
        if edge not in bearing:
            bearing[edge] = _tail_bearing(in_lane)
        if code in _TURN:
            exits.setdefault(str(out_lane.getEdge().getID()), []).append((edge, code))
    # Every shared exit says h[b] = h[a] + turn(a) - turn(b); per pair of approaches the
    # offset with the most weight wins, and pairs are applied best supported first.
    votes: dict[tuple[str, str], dict[int, int]] = {}
    for users in exits.values():
        for i, (a, ca) in enumerate(users):
            for b, cb in users[i + 1 :]:
                if a == b:
                    continue
                (x, cx), (y, cy) = sorted(((a, ca), (b, cb)))
                delta = (_TURN[cx] - _TURN[cy]) % 4
                pair = votes.setdefault((x, y), {})
                pair[delta] = pair.get(delta, 0) + min(_WEIGHT[cx], _WEIGHT[cy])
    constraints = []
    for (a, b), by_delta in votes.items():
        delta, weight = max(by_delta.items(), key=lambda kv: (kv[1], -kv[0]))
        constraints.append((weight, a, b, delta))
    constraints.sort(key=lambda c: (-c[0], c[1], c[2]))
    # Union-find with offsets: h[x] = h[root(x)] + offset(x) (mod 4).
    parent = {e: e for e in bearing}
    offset = dict.fromkeys(bearing, 0)

    def find(x: str) -> tuple[str, int]:
        off = 0
        while parent[x] != x:
            off += offset[x]
            x = parent[x]
        return x, off % 4

    for _, a, b, delta in constraints:
        ra, oa = find(a)
        rb, ob = find(b)
        if ra == rb:
            continue  # already placed; a contradicting constraint is dropped
        # h[b] = h[a] + delta  =>  h[rb] + ob = h[ra] + oa + delta
        parent[rb] = ra
        offset[rb] = (oa + delta - ob) % 4
    # Components placed relative to each other by their bearings, largest component first.
    groups: dict[str, dict[str, int]] = {}
    for e in bearing:
        root, off = find(e)
        groups.setdefault(root, {})[e] = off
    ordered = sorted(groups.values(), key=lambda g: (-len(g), min(g)))
    relative = dict(ordered[0])
    for group in ordered[1:]:
        best = min(
            range(4),
            key=lambda r: sum(
                ((h + r) % 4 - (relative[f] + round(_angle(bearing[e], bearing[f]) / 90.0))) % 4 != 0
                for e, h in group.items()
                for f in relative
            ),
        )
        relative.update({e: (h + best) % 4 for e, h in group.items()})
    # The rotation closest to the geographic compass names the headings.
    rotation = min(
        range(4),
        key=lambda r: sum(_angle(bearing[e], 90.0 * ((h + r) % 4)) ** 2 for e, h in relative.items()),
    )
    return {e: HEADINGS[(h + rotation) % 4] for e, h in relative.items()}


def exit_heading(heading_in: str, code: str) -> str:
    """Return the heading a link leaves with, from its arrival heading and SUMO's turn code."""
    return HEADINGS[(HEADINGS.index(heading_in) + _TURN.get(code, 0)) % 4]
