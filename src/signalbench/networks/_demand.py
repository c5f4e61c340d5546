"""The demand of a scenario: the one reader of SUMO route files, and the measured turning flows.

:func:`read_demand` streams route files (``.rou.xml`` or ``.gz``) once and yields every vehicle,
trip and flow with the number of vehicles it sends into a time window, following SUMO's own
rules for flows (``begin`` 0, ``end`` 24 h after ``begin`` when absent; ``vehsPerHour`` or its
alias ``perHour``, ``period`` including ``exp(rate)``, ``probability`` per second, ``number``
alone or with a rate) and SUMO times (``25200``, ``7:0:0``, ``1:7:0:0``). Counting vehicles
(:func:`count_vehicles`, for spec checks and lint) and counting edge pairs from the routes
(:func:`route_file_pairs`, for plan controllers) both read through it, so they always agree.

When the route files do not give every route (trips, flows routed at insertion), the turning
flows come from a plain SUMO pre-run instead (:func:`edge_pair_flows`): every demand form SUMO
accepts ends as the route a vehicle actually drove. The counts are cached on disk, keyed by the
scenario's content hash, window, scale, seed and SUMO version.
"""

from __future__ import annotations

import gzip
import itertools
import json
import math
import tempfile
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from signalbench._util import atomic_write_text, cache_dir, strict_json
from signalbench.errors import NetworkError, SimulationError
from signalbench.networks._catalog import Scenario
from signalbench.sim import SimConfig, run_sumo, sumo_version

__all__ = [
    "DemandCount",
    "DemandItem",
    "count_edge_pairs",
    "count_vehicles",
    "edge_pair_flows",
    "flow_vehicles",
    "parse_time_s",
    "read_demand",
    "route_file_pairs",
]

#: SUMO's default duration of a flow without ``end`` [s].
FLOW_DEFAULT_S = 86400.0

_PERSONS = frozenset({"person", "personFlow", "container", "containerFlow"})

Routes = tuple[tuple[tuple[str, ...], float], ...]  # alternatives: (edges, probability)


def parse_time_s(value: str) -> float | None:
    """Read a SUMO time (``"25200"``, ``"15:0:0"``, ``"1:15:0:0"``) in seconds; None if symbolic.

    Symbolic departures (``triggered``, ``containerTriggered``, ``now``, ``begin``) have no time.

    Raises:
        ValueError: a ``d:h:m:s`` time with a part that is not a number.

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


def _rate_per_s(attrs: dict[str, str]) -> float | None:
    """Vehicles per second of a flow's rate attribute (the mean, for random ones); None if none."""
    for key in ("vehsPerHour", "perHour"):
        if key in attrs:
            return float(attrs[key]) / 3600.0
    if "period" in attrs:
        period = attrs["period"].strip()
        if period.startswith("exp(") and period.endswith(")"):  # Poisson arrivals: exp(rate per second)
            return float(period[4:-1])
        value = float(period)
        return 1.0 / value if value > 0 else 0.0
    if "probability" in attrs:
        return float(attrs["probability"])  # a vehicle per second with this probability
    return None


def flow_vehicles(attrs: dict[str, str], lo: float = -math.inf, hi: float = math.inf) -> float:
    """Return the expected vehicles a ``<flow>`` (its attributes) sends between ``lo`` and ``hi`` [veh].

    Raises:
        ValueError: a time or rate is not a number.

    """
    begin = parse_time_s(attrs.get("begin", "0")) or 0.0
    end_raw = attrs.get("end")
    end = parse_time_s(end_raw) if end_raw is not None else None
    rate = _rate_per_s(attrs)
    number = float(attrs["number"]) if "number" in attrs else None
    if end is None:
        # With a number and a rate, the flow ends when the number is reached; else 24 h.
        end = begin + number / rate if number is not None and rate else begin + FLOW_DEFAULT_S
    span = end - begin
    a, b = max(begin, lo), min(end, hi)
    if b <= a or span <= 0:
        return 0.0
    if rate is not None:
        total = rate * span if number is None else min(number, rate * span)
        return total * (b - a) / span
    if number is not None:
        return number * (b - a) / span
    return 0.0


@dataclass(frozen=True, kw_only=True)
class DemandItem:
    """One vehicle, trip or flow of a route file.

    Attributes:
        tag: ``vehicle``, ``trip`` or ``flow``.
        vehicles: vehicles it sends in all [veh] (expected number for a flow).
        in_window: the part of them departing in the window [veh].
        routes: the routes its vehicles drive, as alternatives with probabilities; None when
            SUMO routes them at insertion (trips, ``from``/``to`` flows) or the depart time is
            symbolic.

    """

    tag: str
    vehicles: float
    in_window: float
    routes: Routes | None


def _open(path: Path) -> IO[bytes]:
    if path.name.endswith(".gz"):
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return path.open("rb")


def _distribution(elem: ET.Element, named: dict[str, Routes]) -> Routes | None:
    out: list[tuple[tuple[str, ...], float]] = []
    for child in elem.findall("route"):
        p = float(child.get("probability", "1"))
        ref = child.get("refId")
        if ref is not None:
            if ref not in named:
                return None
            out += [(edges, p * q) for edges, q in named[ref]]
        else:
            out.append((tuple(child.get("edges", "").split()), p))
    return tuple(out) or None


def _own_routes(elem: ET.Element, named: dict[str, Routes]) -> Routes | None:
    ref = elem.get("route")
    if ref is not None:
        return named.get(ref)
    child = elem.find("route")
    if child is not None:
        return ((tuple(child.get("edges", "").split()), 1.0),)
    dist = elem.find("routeDistribution")
    return _distribution(dist, named) if dist is not None else None


def read_demand(
    route_files: Iterable[Path], *, begin_s: float = 0.0, end_s: float = math.inf
) -> Iterator[DemandItem | str]:
    """Stream the demand of route files: a :class:`DemandItem` per vehicle, trip or flow.

    Persons and containers are yielded as their tag (a string): they are not vehicles.

    Raises:
        NetworkError: a file is missing or is not a readable SUMO route file.

    """
    named: dict[str, Routes] = {}  # routes of one file may serve the vehicles of another
    for path in route_files:
        path = Path(path)
        try:
            with _open(path) as stream:
                depth = 0
                for event, elem in ET.iterparse(stream, events=("start", "end")):
                    if event == "start":
                        depth += 1
                        continue
                    depth -= 1
                    if depth != 1:  # only children of <routes>: not the routes inside a vehicle
                        continue
                    item = _item(elem, named, begin_s, end_s)
                    if item is not None:
                        yield item
                    elem.clear()
        except FileNotFoundError as exc:
            raise NetworkError(f"route file not found: {path}") from exc
        except IsADirectoryError as exc:
            raise NetworkError(f"route file is a directory, not a file: {path}") from exc
        except (ET.ParseError, ValueError, OSError, EOFError) as exc:
            raise NetworkError(f"{path}: not a readable SUMO route file ({exc})") from exc


def _item(
    elem: ET.Element, named: dict[str, Routes], begin_s: float, end_s: float
) -> DemandItem | str | None:
    tag = elem.tag
    if tag == "route" and elem.get("id"):
        named[elem.get("id", "")] = ((tuple(elem.get("edges", "").split()), 1.0),)
    elif tag == "routeDistribution" and elem.get("id"):
        dist = _distribution(elem, named)
        if dist is not None:
            named[elem.get("id", "")] = dist
    elif tag in ("vehicle", "trip"):
        depart = parse_time_s(elem.get("depart", "0"))
        inside = 1.0 if depart is not None and begin_s <= depart < end_s else 0.0
        routes = _own_routes(elem, named) if tag == "vehicle" and depart is not None else None
        return DemandItem(tag=tag, vehicles=1.0, in_window=inside, routes=routes)
    elif tag == "flow":
        attrs = dict(elem.attrib)
        return DemandItem(
            tag=tag,
            vehicles=flow_vehicles(attrs),
            in_window=flow_vehicles(attrs, begin_s, end_s),
            routes=_own_routes(elem, named),
        )
    elif tag in _PERSONS:
        return tag
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


def count_vehicles(
    route_files: Iterable[Path], *, begin_s: float = 0.0, end_s: float = math.inf
) -> DemandCount:
    """Count the vehicles of route files, overall and departing in ``[begin_s, end_s)``.

    Flows count their expected number of vehicles (for ``probability`` flows, the mean).

    Raises:
        NetworkError: a file is missing or is not a readable SUMO route file.

    """
    total = inside = 0.0
    persons = 0
    for item in read_demand(route_files, begin_s=begin_s, end_s=end_s):
        if isinstance(item, str):
            persons += 1
        else:
            total += item.vehicles
            inside += item.in_window
    return DemandCount(total=round(total), in_window=round(inside), persons=persons)


def route_file_pairs(
    files: Sequence[Path], *, begin_s: float, end_s: float
) -> dict[tuple[str, str], float] | None:
    """Count the expected vehicles per edge pair departing in [begin_s, end_s) from route files.

    Returns None when some vehicle or flow in the window has no route of its own (a trip, a
    flow with from/to) or a file cannot be read: the caller then measures with SUMO.
    """
    counts: dict[tuple[str, str], float] = {}
    try:
        for item in read_demand(files, begin_s=begin_s, end_s=end_s):
            if isinstance(item, str) or item.in_window <= 0:
                continue
            if item.routes is None:
                return None
            weight = sum(p for _, p in item.routes) or 1.0
            for edges, p in item.routes:
                for pair in itertools.pairwise(edges):
                    counts[pair] = counts.get(pair, 0.0) + item.in_window * p / weight
    except NetworkError:
        return None
    return counts


def prerun_key(method: str, scenario: Scenario, *, scale: float, seed: int, sumo_binary: Path | None) -> str:
    """Cache key of a pre-run's result: the method's version, the scenario by content, the run."""
    parts = [method, scenario.content_hash(), f"{scenario.begin_s:g}", f"{scenario.end_s:g}", f"{scale:g}"]
    return "-".join([*parts, str(seed), sumo_version(sumo_binary).replace(" ", "_")])


def edge_pair_flows(
    scenario: Scenario, *, scale: float, seed: int, sumo_binary: Path | None = None
) -> dict[tuple[str, str], float]:
    """Vehicles per hour driving each (edge, next edge) pair in the scenario's window [veh/h].

    Counts every vehicle that departed in the window (finished or not) once per consecutive
    edge pair of the last route it drove, divided by the window length. A pre-run, when the
    route files do not give every route, runs ``sumo_binary`` (None: the bundled SUMO).
    """
    key = prerun_key("v1", scenario, scale=scale, seed=seed, sumo_binary=sumo_binary)  # v1: the method
    cached = cache_dir("demand") / f"{key}.json"
    if cached.is_file():
        raw = json.loads(cached.read_text())
        return {(a, b): float(q) for a, b, q in raw}
    parsed = route_file_pairs(scenario.route_files, begin_s=scenario.begin_s, end_s=scenario.end_s)
    counts = (
        {pair: n * scale for pair, n in parsed.items()}
        if parsed is not None
        else dict(_measure(scenario, scale=scale, seed=seed, sumo_binary=sumo_binary))
    )
    hours = (scenario.end_s - scenario.begin_s) / 3600.0
    flows = {pair: n / hours for pair, n in counts.items()}
    # Concurrent trials may race here; both write the same content.
    atomic_write_text(cached, strict_json(sorted([a, b, q] for (a, b), q in flows.items())))
    return flows


def _measure(
    scenario: Scenario, *, scale: float, seed: int, sumo_binary: Path | None
) -> Counter[tuple[str, str]]:
    with tempfile.TemporaryDirectory(prefix="signalbench-demand-") as tmp:
        routes = Path(tmp) / "vehroutes.xml"
        config = SimConfig.for_scenario(
            scenario,
            seed=seed,
            scale=scale,
            message_file=Path(tmp) / "messages.log",
            sumo_binary=sumo_binary,
            extra_args=(
                "--vehroute-output", str(routes),
                "--vehroute-output.last-route", "true",
                "--vehroute-output.write-unfinished", "true",
            ),
        )  # fmt: skip
        try:
            run_sumo(config)
        except SimulationError as exc:
            raise SimulationError(f"demand pre-run for {scenario.id!r} failed: {exc}") from exc
        return count_edge_pairs(routes, begin_s=scenario.begin_s, end_s=scenario.end_s)


def count_edge_pairs(path: Path, *, begin_s: float, end_s: float) -> Counter[tuple[str, str]]:
    """Count consecutive edge pairs of the vehicles in a ``--vehroute-output`` file."""
    counts: Counter[tuple[str, str]] = Counter()
    depart: float | None = None
    for event, elem in ET.iterparse(path, events=("start", "end")):
        if event == "start" and elem.tag == "vehicle":
            try:
                depart = float(elem.get("depart", "nan"))
            except ValueError:
                depart = None
        elif event == "end" and elem.tag == "vehicle":
            if depart is not None and begin_s <= depart < end_s:
                route = elem.find("route")
                if route is None:  # with several routes, the last one (last-route) is kept
                    dist = elem.find("routeDistribution")
                    routes = dist.findall("route") if dist is not None else []
                    route = routes[-1] if routes else None
                edges = (route.get("edges", "") if route is not None else "").split()
                counts.update(itertools.pairwise(edges))
            elem.clear()
            depart = None
    return counts
