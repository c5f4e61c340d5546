"""Where the detectors of the ``loops`` and ``cameras`` models sit, and SUMO's additional file for them.

Every lane a controller watches (the incoming and outgoing lanes of every controlled light)
gets, for ``loops``, an induction loop (SUMO E1) ``stopline_m`` before its end and one
``advance_m`` before its end (at the lane's start when the lane is shorter), and for
``cameras`` a lane-area detector (SUMO E2) over the last ``zone_m`` of the lane (the whole
lane when it is shorter). The detectors' period is the decision interval, so the interval a
loop reports at a decision is the one that just ended.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import quoteattr

from signalbench._util import atomic_write_text
from signalbench.networks import LaneSpec, NetworkModel

__all__ = [
    "E1_OUTPUT",
    "E2_OUTPUT",
    "LOOPS_FILE",
    "ZONES_FILE",
    "Loop",
    "Zone",
    "loops_of",
    "watched_lanes",
    "write_loops",
    "write_zones",
    "zones_of",
]

LOOPS_FILE = "signalbench-loops.add.xml"
ZONES_FILE = "signalbench-cameras.add.xml"
#: Where the detectors write their own output when asked to (tests compare it with the readings).
E1_OUTPUT = "sensing-e1.xml"
E2_OUTPUT = "sensing-e2.xml"
#: SUMO's null output device: detectors that write nothing.
_NO_OUTPUT = "NUL"


@dataclass(frozen=True)
class Loop:
    """One induction loop: its id, lane, position from the lane's start and distance to its end [m]."""

    id: str
    lane: str
    pos_m: float
    dist_m: float


@dataclass(frozen=True)
class Zone:
    """One lane-area detector: its id, lane and extent from the lane's start [m]."""

    id: str
    lane: str
    begin_m: float
    end_m: float

    @property
    def length_m(self) -> float:
        """Length of the zone [m]."""
        return self.end_m - self.begin_m


def watched_lanes(model: NetworkModel) -> tuple[LaneSpec, ...]:
    """Return the incoming and outgoing lanes of every controlled light, each once, in a fixed order."""
    seen: dict[str, LaneSpec] = {}
    for spec in model.intersections:
        for lane in (*spec.incoming_lanes, *spec.outgoing_lanes):
            seen.setdefault(lane.id, lane)
    return tuple(seen.values())


def loops_of(
    lanes: tuple[LaneSpec, ...], *, stopline_m: float, advance_m: float
) -> tuple[tuple[Loop, Loop], ...]:
    """Return the (stop-line, advance) loop pair of every lane."""
    pairs = []
    for lane in lanes:
        length = lane.length_m
        stop = max(0.0, length - min(stopline_m, length))
        advance = max(0.0, length - advance_m)
        pairs.append(
            (
                Loop(f"sb.loop.stop.{lane.id}", lane.id, stop, length - stop),
                Loop(f"sb.loop.advance.{lane.id}", lane.id, advance, length - advance),
            )
        )
    return tuple(pairs)


def zones_of(lanes: tuple[LaneSpec, ...], *, zone_m: float) -> tuple[Zone, ...]:
    """Return the camera zone of every lane: its last ``zone_m`` metres."""
    return tuple(
        Zone(f"sb.zone.{lane.id}", lane.id, max(0.0, lane.length_m - zone_m), lane.length_m) for lane in lanes
    )


def write_loops(
    pairs: tuple[tuple[Loop, Loop], ...], outdir: Path, *, period_s: float, outputs: bool = False
) -> Path:
    """Write the loops' additional file into ``outdir``; with ``outputs``, they write :data:`E1_OUTPUT`."""
    out = quoteattr(str(outdir / E1_OUTPUT) if outputs else _NO_OUTPUT)
    lines = ["<additional>"]
    for pair in pairs:
        for loop in pair:
            lines.append(
                f"    <inductionLoop id={quoteattr(loop.id)} lane={quoteattr(loop.lane)} "
                f'pos="{loop.pos_m:.3f}" freq="{period_s:g}" file={out} friendlyPos="true"/>'
            )
    lines.append("</additional>\n")
    path = outdir / LOOPS_FILE
    atomic_write_text(path, "\n".join(lines))
    return path


def write_zones(
    zones: tuple[Zone, ...], outdir: Path, *, period_s: float, halting_speed_m_s: float, outputs: bool = False
) -> Path:
    """Write the cameras' additional file into ``outdir``; with ``outputs``, they write :data:`E2_OUTPUT`."""
    out = quoteattr(str(outdir / E2_OUTPUT) if outputs else _NO_OUTPUT)
    lines = ["<additional>"]
    for zone in zones:
        lines.append(
            f"    <laneAreaDetector id={quoteattr(zone.id)} lane={quoteattr(zone.lane)} "
            f'pos="{zone.begin_m:.3f}" endPos="{zone.end_m:.3f}" freq="{period_s:g}" '
            f'speedThreshold="{halting_speed_m_s:g}" file={out} friendlyPos="true"/>'
        )
    lines.append("</additional>\n")
    path = outdir / ZONES_FILE
    atomic_write_text(path, "\n".join(lines))
    return path
