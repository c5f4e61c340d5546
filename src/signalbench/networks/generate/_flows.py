"""Seeded demand for generated networks: a flow description turned into individual trips."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.sax.saxutils import quoteattr

import numpy as np

from signalbench._util import atomic_write_text
from signalbench.errors import NetworkError

__all__ = ["MAX_FLOW_VEH_H", "MAX_VEHICLES", "PROFILES", "FlowRecipe", "generate_demand"]

#: The largest flow an approach or an origin-destination pair takes [veh/h]: an eight-lane
#: approach at saturation carries about 15,000; more is a typo that would fill memory.
MAX_FLOW_VEH_H = 20_000.0
#: The most vehicles one approach or pair may bring over the whole duration.
MAX_VEHICLES = 1_000_000

#: Named time profiles: factors applied to the flow over equal slices of the duration (mean 1).
PROFILES: dict[str, tuple[float, ...]] = {
    "flat": (1.0,),
    # A peak hour in 8 slices: rising to 1.4 times the mean flow in the middle.
    "peak": (0.6, 0.8, 1.2, 1.4, 1.4, 1.2, 0.8, 0.6),
}


@dataclass(frozen=True, kw_only=True)
class FlowRecipe:
    """A demand description, turned into individual seeded trips.

    Attributes:
        flow_veh_h: mean flow entering on each approach from outside [veh/h].
        side_flow_veh_h: flow on approaches heading north or south (the side streets of an
            arterial), if different [veh/h].
        left: share of vehicles turning left (relative to the approach direction).
        straight: share going straight on.
        right: share turning right.
        profile: factors applied to the flow over equal slices of the duration (mean 1 keeps
            the mean flow), or a name from :data:`PROFILES`.
        duration_s: time over which vehicles enter [s].
        od: extra origin-destination flows as (from edge, to edge, veh/h).

    """

    flow_veh_h: float
    side_flow_veh_h: float | None = None
    left: float = 0.2
    straight: float = 0.6
    right: float = 0.2
    profile: tuple[float, ...] = (1.0,)
    duration_s: float = 3600.0
    od: tuple[tuple[str, str, float], ...] = ()

    def __post_init__(self) -> None:
        for name in ("flow_veh_h", "left", "straight", "right"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < math.inf:
                raise NetworkError(f"demand: {name} must be a number >= 0, got {value!r}")
        if self.side_flow_veh_h is not None and not 0 <= self.side_flow_veh_h < math.inf:
            raise NetworkError(f"demand: side_flow_veh_h must be >= 0, got {self.side_flow_veh_h!r}")
        if not self.left + self.straight + self.right > 0:
            raise NetworkError("demand: left + straight + right must be > 0")
        if not self.profile or any(not 0 <= f < math.inf for f in self.profile):
            raise NetworkError(
                f"demand: profile must be a non-empty list of factors >= 0, got {list(self.profile)}"
            )
        if not 0 < self.duration_s < math.inf:
            raise NetworkError(f"demand: duration_s must be > 0, got {self.duration_s!r}")
        flows = [self.flow_veh_h, self.side_flow_veh_h or 0.0, *(float(q) for *_, q in self.od)]
        peak = max(flows) * max(self.profile)
        if peak > MAX_FLOW_VEH_H:
            raise NetworkError(
                f"demand: {peak:g} veh/h on one approach is more than any road carries "
                f"(at most {MAX_FLOW_VEH_H:g} veh/h, profile factor included)"
            )
        if peak * self.duration_s / 3600.0 > MAX_VEHICLES:
            raise NetworkError(
                f"demand: {peak:g} veh/h for {self.duration_s:g} s brings more than {MAX_VEHICLES:,} "
                "vehicles on one approach; shorten duration_s"
            )

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready form."""
        data = dataclasses.asdict(self)
        for key in ("flow_veh_h", "left", "straight", "right", "duration_s"):
            data[key] = float(data[key])
        if self.side_flow_veh_h is not None:
            data["side_flow_veh_h"] = float(self.side_flow_veh_h)
        data["profile"] = list(self.profile)
        data["od"] = [list(o) for o in self.od]
        return data


def _unit(dx: float, dy: float) -> tuple[float, float]:
    norm = math.hypot(dx, dy) or 1.0
    return dx / norm, dy / norm


def _fringe_edges(
    net_file: Path,
) -> tuple[list[tuple[str, tuple[float, float]]], list[tuple[str, tuple[float, float]]]]:
    """Edges entering from and leaving to the network's dead ends, with their headings."""
    import sumolib

    net = sumolib.net.readNet(str(net_file))
    origins, exits = [], []
    for edge in net.getEdges():
        a, b = edge.getFromNode(), edge.getToNode()
        (ax, ay), (bx, by) = a.getCoord(), b.getCoord()
        heading = _unit(bx - ax, by - ay)
        if a.getType() == "dead_end":
            origins.append((edge.getID(), heading))
        if b.getType() == "dead_end":
            exits.append((edge.getID(), heading))
    return sorted(origins), sorted(exits)


def _turn(h_in: tuple[float, float], h_out: tuple[float, float]) -> str:
    """Classify the turn from one heading to another: straight, left, right or back."""
    cross = h_in[0] * h_out[1] - h_in[1] * h_out[0]
    dot = h_in[0] * h_out[0] + h_in[1] * h_out[1]
    angle = math.degrees(math.atan2(cross, dot))  # counter-clockwise positive: left
    if abs(angle) <= 45:
        return "straight"
    if 45 < angle < 135:
        return "left"
    if -135 < angle < -45:
        return "right"
    return "back"


def _arrivals(rng: np.random.Generator, rate_per_s: list[float], slice_s: float) -> list[float]:
    """Poisson arrival times over consecutive slices with the given rates."""
    times: list[float] = []
    for i, rate in enumerate(rate_per_s):
        if rate <= 0:
            continue
        t = i * slice_s
        end = (i + 1) * slice_s
        while True:
            t += float(rng.exponential(1.0 / rate))
            if t >= end:
                break
            times.append(t)
    return times


def generate_demand(net_file: Path, flow: FlowRecipe, seed: int, *, out: Path) -> Path:
    """Write seeded trips for ``flow`` on a generated network to ``out`` (atomically).

    Every origin (an edge entering from a dead end) gets Poisson arrivals at its flow times the
    profile factor of each slice; each vehicle's exit is drawn by the turning ratios, applied to
    the direction of the exit relative to the entry (an exit on the far side is "straight", one
    heading to the left of the entry direction is "left"), equally among exits of one kind. OD
    flows add Poisson arrivals between two given edges. SUMO routes the trips (fastest path).
    """
    origins, exits = _fringe_edges(net_file)
    edge_ids = {e for e, _ in origins} | {e for e, _ in exits}
    rng = np.random.default_rng(seed)
    slice_s = flow.duration_s / len(flow.profile)
    shares = {"left": flow.left, "straight": flow.straight, "right": flow.right}
    trips: list[tuple[float, str, str, str]] = []
    for origin, heading in origins:
        by_kind: dict[str, list[str]] = {"left": [], "straight": [], "right": []}
        for exit_id, exit_heading in exits:
            kind = _turn(heading, exit_heading)
            if kind in by_kind:
                by_kind[kind].append(exit_id)
        weights: list[float] = []
        targets: list[str] = []
        for kind, ids in by_kind.items():
            for exit_id in ids:
                targets.append(exit_id)
                weights.append(shares[kind] / len(ids))
        if not targets or sum(weights) <= 0:
            continue
        p = np.asarray(weights) / sum(weights)
        side = abs(heading[1]) > abs(heading[0])
        q = flow.side_flow_veh_h if side and flow.side_flow_veh_h is not None else flow.flow_veh_h
        times = _arrivals(rng, [q * f / 3600.0 for f in flow.profile], slice_s)
        picks = rng.choice(len(targets), size=len(times), p=p)
        for k, (t, j) in enumerate(zip(times, picks, strict=True)):
            trips.append((round(t, 2), f"{origin}.{k}", origin, targets[int(j)]))
    for n, (a, b, q) in enumerate(flow.od):
        for edge in (a, b):
            if edge not in edge_ids:
                known = ", ".join(sorted(edge_ids))
                raise NetworkError(f"demand: od edge {edge!r} is not an entry or exit edge; edges: {known}")
        times = _arrivals(rng, [q * f / 3600.0 for f in flow.profile], slice_s)
        trips.extend((round(t, 2), f"od{n}.{k}", a, b) for k, t in enumerate(times))
    trips.sort()
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', "<routes>"]
    lines += [
        f'    <trip id={quoteattr(vid)} depart="{t:.2f}" from={quoteattr(a)} to={quoteattr(b)}'
        ' departLane="best" departSpeed="max"/>'
        for t, vid, a, b in trips
    ]
    lines.append("</routes>\n")
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out, "\n".join(lines))
    return out
