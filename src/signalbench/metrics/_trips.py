"""Trip metrics from SUMO's own tripinfo and statistics outputs.

Definitions (see docs/metrics.md). Every mean is over all tripinfo entries of the run:
vehicles that arrived and vehicles still in the network at the end (written by
``--tripinfo-output.write-unfinished``). Vehicles that were never inserted have no tripinfo
entry; they are counted from SUMO's statistics output as ``vehicles_not_inserted``.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from signalbench.errors import SimulationError

__all__ = ["TRIP_METRICS", "TripMetrics", "read_statistics", "read_trip_metrics"]

#: Name -> (unit, definition) of every trip metric, for docs and reports.
TRIP_METRICS: dict[str, tuple[str, str]] = {
    "mean_delay_s": ("s/veh", "mean of timeLoss + departDelay (tripinfo), unfinished trips included"),
    "mean_time_loss_s": ("s/veh", "mean tripinfo timeLoss: time lost against driving at desired speed"),
    "mean_depart_delay_s": ("s/veh", "mean tripinfo departDelay: wait before insertion into the network"),
    "mean_travel_time_s": ("s/veh", "mean tripinfo duration: departure to arrival (or to the end)"),
    "mean_waiting_time_s": ("s/veh", "mean tripinfo waitingTime: time at speed < 0.1 m/s"),
    "mean_stops": ("1/veh", "mean tripinfo waitingCount: number of times a vehicle stopped"),
    "mean_route_length_m": ("m/veh", "mean tripinfo routeLength: distance driven"),
    "vehicles_total": ("veh", "tripinfo entries: vehicles inserted during the run"),
    "vehicles_arrived": ("veh", "vehicles that reached their destination"),
    "vehicles_unfinished": ("veh", "vehicles still in the network at the end"),
    "vehicles_not_inserted": ("veh", "vehicles loaded but still waiting to enter at the end (statistics)"),
    "teleports": ("count", "vehicles teleported by SUMO (statistics); > 0 hides gridlock"),
    "collisions": ("count", "collisions reported by SUMO (statistics)"),
}


@dataclass(frozen=True, kw_only=True)
class TripMetrics:
    """Summary of one run's trips; field names are the metric names in results."""

    mean_delay_s: float
    mean_time_loss_s: float
    mean_depart_delay_s: float
    mean_travel_time_s: float
    mean_waiting_time_s: float
    mean_stops: float
    mean_route_length_m: float
    vehicles_total: int
    vehicles_arrived: int
    vehicles_unfinished: int
    vehicles_not_inserted: int
    teleports: int
    collisions: int

    def as_dict(self) -> dict[str, float | int]:
        """Plain dict (JSON-ready)."""
        return asdict(self)


_FIELDS = ("timeLoss", "departDelay", "duration", "waitingTime", "waitingCount", "routeLength")


def read_trip_metrics(
    tripinfo: Path, statistics: Path | None = None, *, min_depart_s: float | None = None
) -> TripMetrics:
    """Compute :class:`TripMetrics` from a tripinfo file (and the statistics file, if any).

    With ``min_depart_s`` (a warm-up), only vehicles inserted at or after that time count;
    the counts from the statistics file (not inserted, teleports, collisions) stay whole-run.
    """
    if not tripinfo.is_file():
        raise SimulationError(f"SUMO wrote no tripinfo output ({tripinfo})")
    cols: list[list[float]] = [[] for _ in _FIELDS]
    arrived = 0
    unfinished = 0
    try:
        for _, elem in ET.iterparse(tripinfo, events=("end",)):
            if elem.tag != "tripinfo":
                continue
            get = elem.attrib.get
            if min_depart_s is not None and float(get("depart", "0")) < min_depart_s:
                elem.clear()
                continue
            for col, name in zip(cols, _FIELDS, strict=True):
                col.append(float(get(name, "nan")))
            if float(get("arrival", "-1")) < 0 or get("vaporized") == "end":
                unfinished += 1
            else:
                arrived += 1
            elem.clear()
    except ET.ParseError as exc:
        raise SimulationError(f"{tripinfo}: truncated or invalid tripinfo output ({exc})") from exc
    arr = np.array(cols, dtype=np.float64).reshape(len(_FIELDS), -1)
    time_loss, depart_delay, duration, waiting, stops, length = arr

    def mean(values: np.ndarray) -> float:
        return float(np.mean(values)) if values.size else math.nan

    stats = read_statistics(statistics) if statistics is not None else {}
    return TripMetrics(
        mean_delay_s=mean(time_loss + depart_delay),
        mean_time_loss_s=mean(time_loss),
        mean_depart_delay_s=mean(depart_delay),
        mean_travel_time_s=mean(duration),
        mean_waiting_time_s=mean(waiting),
        mean_stops=mean(stops),
        mean_route_length_m=mean(length),
        vehicles_total=int(arr.shape[1]),
        vehicles_arrived=arrived,
        vehicles_unfinished=unfinished,
        vehicles_not_inserted=int(stats.get("vehicles.waiting", 0)),
        teleports=int(stats.get("teleports.total", 0)),
        collisions=int(stats.get("safety.collisions", 0)),
    )


def read_statistics(path: Path) -> dict[str, float]:
    """Read SUMO's ``--statistic-output`` as ``{"element.attribute": value}``."""
    if not path.is_file():
        raise SimulationError(f"SUMO wrote no statistics output ({path})")
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as exc:
        raise SimulationError(f"{path}: invalid statistics output ({exc})") from exc
    out: dict[str, float] = {}
    for elem in root:
        for key, value in elem.attrib.items():
            try:
                out[f"{elem.tag}.{key}"] = float(value)
            except ValueError:
                continue
    return out
