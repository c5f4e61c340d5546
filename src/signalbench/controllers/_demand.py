"""The demand of a trial as edge-to-edge turning flows, measured by a plain SUMO pre-run.

Every demand form SUMO accepts (vehicles with routes, route distributions, flows, trips routed
at insertion, ``--scale``) ends as the route a vehicle actually drove. So instead of parsing
route files, a plan controller runs plain ``sumo`` once on the same network, demand files,
time window, scale and seed with the network's own signals and ``--vehroute-output`` and counts
how many vehicles drove each pair of consecutive edges. The counts are cached on disk, keyed by
the scenario's content hash, window, scale, seed and SUMO version, so repeated trials do not
repeat the pre-run.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import tempfile
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

from signalbench.errors import SimulationError
from signalbench.networks import Scenario
from signalbench.sim import SimConfig, run_sumo, sumo_version

__all__ = ["cache_dir", "count_edge_pairs", "edge_pair_flows", "route_file_pairs"]


def cache_dir() -> Path:
    """Where measured demand is cached: ``$SIGNALBENCH_CACHE`` or ``~/.cache/signalbench``."""
    base = os.environ.get("SIGNALBENCH_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "signalbench"
    )
    return Path(base) / "demand"


def edge_pair_flows(
    scenario: Scenario, *, scale: float, seed: int, sumo_binary: Path | None = None
) -> dict[tuple[str, str], float]:
    """Vehicles per hour driving each (edge, next edge) pair in the scenario's window [veh/h].

    Counts every vehicle that departed in the window (finished or not) once per consecutive
    edge pair of the last route it drove, divided by the window length. A pre-run, when the
    route files do not give every route, runs ``sumo_binary`` (None: the bundled SUMO).
    """
    key = "-".join(
        [
            "v1",  # the counting method; bump when it changes
            scenario.content_hash(),
            f"{scenario.begin_s:g}",
            f"{scenario.end_s:g}",
            f"{scale:g}",
            str(seed),
            sumo_version(sumo_binary).replace(" ", "_"),
        ]
    )
    cached = cache_dir() / f"{key}.json"
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
    cached.parent.mkdir(parents=True, exist_ok=True)
    tmp = cached.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(sorted([a, b, q] for (a, b), q in flows.items())))
    tmp.replace(cached)  # atomic: concurrent trials may race, both write the same content
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


class _NoRoute(Exception):
    pass


def route_file_pairs(
    files: Sequence[Path], *, begin_s: float, end_s: float
) -> dict[tuple[str, str], float] | None:
    """Count the expected vehicles per edge pair departing in [begin_s, end_s) from route files.

    Returns None when some vehicle or flow has no route of its own (a trip, a flow with
    from/to), or a file cannot be read this way: the caller then measures with SUMO.
    """
    routes: dict[str, list[tuple[list[str], float]]] = {}  # id -> [(edges, probability)]
    counts: dict[tuple[str, str], float] = {}

    def add(alternatives: Iterable[tuple[list[str], float]], n: float) -> None:
        alts = list(alternatives)
        total = sum(p for _, p in alts) or 1.0
        for edges, p in alts:
            for pair in itertools.pairwise(edges):
                counts[pair] = counts.get(pair, 0.0) + n * p / total

    def own_routes(elem: ET.Element) -> list[tuple[list[str], float]]:
        ref = elem.get("route")
        if ref is not None:
            if ref not in routes:
                raise _NoRoute
            return routes[ref]
        child = elem.find("route")
        if child is not None:
            return [(child.get("edges", "").split(), 1.0)]
        dist = elem.find("routeDistribution")
        if dist is not None:
            return _distribution(dist, routes)
        raise _NoRoute

    try:
        for path in files:
            for elem in ET.parse(path).getroot():
                tag = elem.tag
                if tag == "route" and elem.get("id"):
                    routes[elem.get("id", "")] = [(elem.get("edges", "").split(), 1.0)]
                elif tag == "routeDistribution" and elem.get("id"):
                    routes[elem.get("id", "")] = _distribution(elem, routes)
                elif tag == "vehicle":
                    depart = float(elem.get("depart", "nan"))
                    if begin_s <= depart < end_s:
                        add(own_routes(elem), 1.0)
                elif tag == "flow":
                    n = _flow_count(elem, begin_s, end_s)
                    if n > 0:
                        add(own_routes(elem), n)
                elif tag in ("trip",):
                    raise _NoRoute
    except (_NoRoute, ET.ParseError, ValueError, OSError):
        return None
    return counts


def _distribution(
    elem: ET.Element, routes: dict[str, list[tuple[list[str], float]]]
) -> list[tuple[list[str], float]]:
    out: list[tuple[list[str], float]] = []
    for child in elem.findall("route"):
        p = float(child.get("probability", "1"))
        if child.get("refId"):
            out += [(edges, p * q) for edges, q in routes[child.get("refId", "")]]
        else:
            out.append((child.get("edges", "").split(), p))
    if not out:
        raise _NoRoute
    return out


def _flow_count(elem: ET.Element, begin_s: float, end_s: float) -> float:
    """Return the expected number of vehicles of a ``<flow>`` departing in [begin_s, end_s)."""
    fb = float(elem.get("begin", "0"))
    fe = float(elem.get("end", "inf"))
    if "number" in elem.attrib and math.isinf(fe):  # SUMO then spaces them by other rules
        raise ValueError("flow with number and no end")
    overlap = max(0.0, min(end_s, fe) - max(begin_s, fb))
    if "vehsPerHour" in elem.attrib:
        return overlap * float(elem.get("vehsPerHour", "0")) / 3600.0
    if "period" in elem.attrib:
        period = elem.get("period", "")
        if period.startswith("exp("):
            return overlap * float(period[4:-1])
        return overlap / float(period)
    if "probability" in elem.attrib:
        return overlap * float(elem.get("probability", "0"))  # per 1 s step
    if "number" in elem.attrib:
        return float(elem.get("number", "0")) * overlap / (fe - fb) if fe > fb else 0.0
    raise ValueError("flow without rate")
