"""Counting the vehicles of SUMO demand files without running SUMO."""

from __future__ import annotations

import gzip
import math
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from signalbench.errors import NetworkError

__all__ = ["DemandCount", "count_vehicles", "parse_time_s"]

_PERSONS = frozenset({"person", "personFlow", "container", "containerFlow"})


def parse_time_s(value: str) -> float | None:
    """Read a SUMO time (``"25200"``, ``"15:0:0"``, ``"1:15:0:0"``) in seconds; None if symbolic.

    Symbolic departures (``triggered``, ``containerTriggered``, ``now``, ``begin``) have no time.
    """
    text = value.strip()
    if ":" in text:
        parts = [float(p) for p in text.split(":")]
        seconds = 0.0
        for part, unit in zip(reversed(parts), (1.0, 60.0, 3600.0, 86400.0), strict=False):
            seconds += part * unit
        return seconds
    try:
        return float(text)
    except ValueError:
        return None


@dataclass(frozen=True, kw_only=True)
class DemandCount:
    """Vehicles described by route files.

    Attributes:
        total: vehicles and trips, plus the expected number of vehicles of every flow.
        in_window: the part of ``total`` that departs inside the time window.
        persons: persons and containers (not counted in ``total``).

    """

    total: int
    in_window: int
    persons: int = 0


def _open(path: Path) -> IO[bytes]:
    if path.name.endswith(".gz"):
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return path.open("rb")


def _flow_count(attrs: dict[str, str], lo: float, hi: float) -> float:
    """Return the expected vehicles of a ``<flow>`` between lo and hi (SUMO's own flow attributes)."""
    begin = parse_time_s(attrs.get("begin", "0")) or 0.0
    end_raw = attrs.get("end")
    end = parse_time_s(end_raw) if end_raw is not None else None
    number = attrs.get("number")
    if end is None:
        end = begin + 86400.0  # SUMO's default: a flow without end lasts 24 hours
    a, b = max(begin, lo), min(end, hi)
    if b <= a:
        return 0.0
    if number is not None:
        span = end - begin
        return float(number) * ((b - a) / span if math.isfinite(span) and span > 0 else 1.0)
    for key in ("vehsPerHour", "perHour"):
        if key in attrs:
            return float(attrs[key]) * (b - a) / 3600.0
    if "period" in attrs:
        period = attrs["period"]
        if period.startswith("exp("):  # Poisson arrivals: exp(rate per second)
            return float(period[4:-1]) * (b - a)
        return (b - a) / float(period) if float(period) > 0 else 0.0
    if "probability" in attrs:
        return float(attrs["probability"]) * (b - a)
    return 0.0


def count_vehicles(
    route_files: Iterable[Path], *, begin_s: float = 0.0, end_s: float = math.inf
) -> DemandCount:
    """Count the vehicles of route files, overall and departing in ``[begin_s, end_s)``.

    Flows count their expected number of vehicles (for ``probability`` flows, the mean).

    Raises:
        NetworkError: a file is missing or is not XML.

    """
    total = 0.0
    inside = 0.0
    persons = 0
    for path in route_files:
        try:
            with _open(Path(path)) as stream:
                depth = 0
                for event, elem in ET.iterparse(stream, events=("start", "end")):
                    if event == "start":
                        depth += 1
                        continue
                    depth -= 1
                    if depth != 1:  # only children of <routes>, not vehicles inside a flow etc.
                        continue
                    tag = elem.tag
                    if tag in ("vehicle", "trip"):
                        total += 1
                        t = parse_time_s(elem.get("depart", "0"))
                        if t is not None and begin_s <= t < end_s:
                            inside += 1
                    elif tag == "flow":
                        attrs = dict(elem.attrib)
                        total += _flow_count(attrs, -math.inf, math.inf)
                        inside += _flow_count(attrs, begin_s, end_s)
                    elif tag in _PERSONS:
                        persons += 1
                    elem.clear()
        except FileNotFoundError as exc:
            raise NetworkError(f"route file not found: {path}") from exc
        except (ET.ParseError, ValueError, OSError) as exc:
            raise NetworkError(f"{path}: not a readable SUMO route file ({exc})") from exc
    return DemandCount(total=round(total), in_window=round(inside), persons=persons)
