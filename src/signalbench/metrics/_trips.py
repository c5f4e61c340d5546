"""Trip metrics from SUMO's own tripinfo and statistics outputs.

Definitions (see docs/metrics.md). Every mean is over the inserted vehicles of the run:
vehicles that arrived and vehicles still in the network at the end (written by
``--tripinfo-output.write-unfinished``). Vehicles that were loaded but never inserted
(written with ``depart="-1"`` by ``--tripinfo-output.write-undeparted``) are the unserved
demand: counted and charged separately, and in ``mean_delay_incl_unserved_s``.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from signalbench.errors import SimulationError

__all__ = [
    "EMISSION_METRICS",
    "GRIDLOCK_SHARE",
    "STUCK_WAITING_S",
    "TRIP_METRICS",
    "TripMetrics",
    "is_gridlocked",
    "read_statistics",
    "read_trip_metrics",
]

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
    "vehicles_unserved": (
        "veh",
        "vehicles due to depart but never inserted by the end (tripinfo undeparted)",
    ),
    "mean_unserved_wait_s": ("s/veh", "mean wait of unserved vehicles: end - scheduled departure"),
    "mean_delay_incl_unserved_s": (
        "s/veh",
        "mean delay over inserted and unserved vehicles; an unserved one counts its wait to enter",
    ),
    "vehicles_stuck": (
        "veh",
        "unfinished vehicles that stood still >= 300 s in total (tripinfo waitingTime): a gridlock symptom",
    ),
    "gridlocked": ("0/1", "1 when vehicles_stuck >= 5 % of vehicles_total (and > 0): the network locked up"),
    "flagged": ("0/1", "1 when the run had teleports or collisions (its delays understate congestion)"),
}

#: Emission metrics, present only with ``[metrics] emissions = true`` (emissions device).
EMISSION_METRICS: dict[str, tuple[str, str]] = {
    "mean_co2_g": ("g/veh", "mean tripinfo emissions CO2_abs per inserted vehicle"),
    "mean_nox_g": ("g/veh", "mean tripinfo emissions NOx_abs per inserted vehicle"),
    "mean_fuel_g": ("g/veh", "mean tripinfo emissions fuel_abs per inserted vehicle (SUMO >= 1.14: mg)"),
    "total_co2_kg": ("kg", "sum of CO2_abs over the inserted vehicles"),
}

#: A vehicle that has stood still this long in total is counted as stuck (SUMO's own
#: default --time-to-teleport for a standing vehicle is 300 s).
STUCK_WAITING_S = 300.0

#: A run counts as gridlocked when at least this share of its vehicles is stuck. On the RESCO
#: networks runs without a lock-up keep under 2 % of their vehicles stuck (a few held for
#: minutes at saturated lights); lock-ups strand 5-45 %.
GRIDLOCK_SHARE = 0.05


def is_gridlocked(vehicles_stuck: float, vehicles_total: float) -> int:
    """Return 1 when ``vehicles_stuck`` is at least :data:`GRIDLOCK_SHARE` of the vehicles."""
    return int(vehicles_stuck > 0 and vehicles_stuck >= GRIDLOCK_SHARE * vehicles_total)


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
    vehicles_unserved: int = 0
    mean_unserved_wait_s: float = math.nan
    mean_delay_incl_unserved_s: float = math.nan
    vehicles_stuck: int = 0
    gridlocked: int = 0
    flagged: int = 0
    emissions: dict[str, float] | None = None

    def as_dict(self) -> dict[str, float | int]:
        """Plain dict (JSON-ready); emission metrics only when the emissions device ran."""
        data = asdict(self)
        emissions = data.pop("emissions") or {}
        return {**data, **emissions}


_FIELDS = ("timeLoss", "departDelay", "duration", "waitingTime", "waitingCount", "routeLength")


def read_trip_metrics(
    tripinfo: Path, statistics: Path | None = None, *, min_depart_s: float | None = None
) -> TripMetrics:
    """Compute :class:`TripMetrics` from a tripinfo file (and the statistics file, if any).

    With ``min_depart_s`` (a warm-up), only vehicles inserted at or after that time count;
    the counts from the statistics file (not inserted, teleports, collisions) and the
    unserved vehicles (never inserted at all) stay whole-run.
    """
    if not tripinfo.is_file():
        raise SimulationError(f"SUMO wrote no tripinfo output ({tripinfo})")
    cols: list[list[float]] = [[] for _ in _FIELDS]
    arrived = 0
    unfinished = 0
    stuck = 0
    unserved: list[float] = []
    undeparted_seen = False
    emissions: dict[str, float] = dict.fromkeys(_EMISSIONS, 0.0)
    with_emissions = False
    current_emissions: dict[str, str] | None = None
    try:
        for _, elem in ET.iterparse(tripinfo, events=("end",)):
            if elem.tag == "emissions":
                current_emissions = dict(elem.attrib)
                continue
            if elem.tag != "tripinfo":
                continue
            get = elem.attrib.get
            depart = float(get("depart", "0"))
            if depart < 0:
                # --tripinfo-output.write-undeparted: loaded, never inserted. departDelay is
                # end - scheduled departure; 0 for vehicles not yet due at the end.
                undeparted_seen = True
                wait = float(get("departDelay", "0"))
                if wait > 0:
                    unserved.append(wait)
                current_emissions = None
                elem.clear()
                continue
            if min_depart_s is not None and depart < min_depart_s:
                current_emissions = None
                elem.clear()
                continue
            for col, name in zip(cols, _FIELDS, strict=True):
                col.append(float(get(name, "nan")))
            if float(get("arrival", "-1")) < 0 or get("vaporized") == "end":
                unfinished += 1
                if float(get("waitingTime", "0")) >= STUCK_WAITING_S:
                    stuck += 1
            else:
                arrived += 1
            if current_emissions is not None:
                with_emissions = True
                for key in _EMISSIONS:
                    emissions[key] += float(current_emissions.get(key, "0"))
            current_emissions = None
            elem.clear()
    except ET.ParseError as exc:
        raise SimulationError(f"{tripinfo}: truncated or invalid tripinfo output ({exc})") from exc
    arr = np.array(cols, dtype=np.float64).reshape(len(_FIELDS), -1)
    time_loss, depart_delay, duration, waiting, stops, length = arr

    def mean(values: np.ndarray) -> float:
        return float(np.mean(values)) if values.size else math.nan

    stats = read_statistics(statistics) if statistics is not None else {}
    not_inserted = int(stats.get("vehicles.waiting", 0))
    if not undeparted_seen and not_inserted:
        # No undeparted entries: a SUMO older than 1.9.1 (or the option off). Its statistics'
        # departDelayWaiting is in ms there and counts vehicles not yet due (SUMO #8490), so it
        # cannot stand in: the unserved wait is unknown and "delay incl. unserved" is NaN.
        unserved = [math.nan] * not_inserted
    delays = time_loss + depart_delay
    n_all = delays.size + len(unserved)
    incl = (float(delays.sum()) + float(sum(unserved))) / n_all if n_all else math.nan
    teleports = int(stats.get("teleports.total", 0))
    collisions = int(stats.get("safety.collisions", 0))
    return TripMetrics(
        mean_delay_s=mean(delays),
        mean_time_loss_s=mean(time_loss),
        mean_depart_delay_s=mean(depart_delay),
        mean_travel_time_s=mean(duration),
        mean_waiting_time_s=mean(waiting),
        mean_stops=mean(stops),
        mean_route_length_m=mean(length),
        vehicles_total=int(arr.shape[1]),
        vehicles_arrived=arrived,
        vehicles_unfinished=unfinished,
        vehicles_not_inserted=not_inserted,
        teleports=teleports,
        collisions=collisions,
        vehicles_unserved=len(unserved),
        mean_unserved_wait_s=float(np.mean(unserved)) if unserved else math.nan,
        mean_delay_incl_unserved_s=incl,
        vehicles_stuck=stuck,
        gridlocked=is_gridlocked(stuck, int(arr.shape[1])),
        flagged=int(teleports > 0 or collisions > 0),
        emissions=_emission_means(emissions, int(arr.shape[1])) if with_emissions else None,
    )


_EMISSIONS = ("CO2_abs", "NOx_abs", "fuel_abs")


def _emission_means(totals: dict[str, float], n: int) -> dict[str, float]:
    """Per-vehicle means in g from SUMO's totals in mg.

    SUMO before 1.14 wrote fuel in ml, not mg; such an output is recognised by its CO2/fuel
    ratio (about 3 g CO2 per g of fuel, but over 2000 mg CO2 per ml) and its fuel left NaN.
    """
    co2, nox, fuel = (totals[k] / 1000.0 for k in _EMISSIONS)
    fuel_in_ml = fuel > 0 and co2 / fuel > 100.0
    return {
        "mean_co2_g": co2 / n if n else math.nan,
        "mean_nox_g": nox / n if n else math.nan,
        "mean_fuel_g": math.nan if fuel_in_ml or not n else fuel / n,
        "total_co2_kg": co2 / 1000.0,
    }


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
