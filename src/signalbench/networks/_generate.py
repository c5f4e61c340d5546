"""Synthetic networks built with ``netgenerate`` and seeded demand written by our own code.

A :class:`NetRecipe` (single intersection, grid R x C, arterial with N signals) and a
:class:`FlowRecipe` (veh/h per approach, turning ratios, time profile, optional OD flows) are
turned into files under a cache folder keyed by the hash of the recipe. The same recipe and seed
give byte-identical files on the same SUMO version.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.sax.saxutils import quoteattr

import numpy as np

from signalbench.errors import NetworkError
from signalbench.networks._catalog import Scenario

__all__ = [
    "GENERATORS",
    "PROFILES",
    "FlowRecipe",
    "NetRecipe",
    "cache_root",
    "generate_demand",
    "generate_network",
    "generated_scenario",
    "recipe_from_dict",
]

#: Generator kinds and what they build.
GENERATORS: dict[str, str] = {
    "intersection": "one signalised four-arm intersection",
    "grid": "a grid of rows x cols signalised intersections",
    "arterial": "a main road through N signalised intersections with side streets",
}

#: Named time profiles: factors applied to the flow over equal slices of the duration (mean 1).
PROFILES: dict[str, tuple[float, ...]] = {
    "flat": (1.0,),
    # A peak hour in 8 slices: rising to 1.4 times the mean flow in the middle.
    "peak": (0.6, 0.8, 1.2, 1.4, 1.4, 1.2, 0.8, 0.6),
}

_FORMAT = 1  # bump when the generated files change for the same recipe


def cache_root() -> Path:
    """Folder of generated files: ``$SIGNALBENCH_CACHE/generated`` or ``~/.cache/signalbench/generated``."""
    base = os.environ.get("SIGNALBENCH_CACHE")
    if base:
        return Path(base).expanduser() / "generated"
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "signalbench" / "generated"


def _digest(data: Mapping[str, Any]) -> str:
    text = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True, kw_only=True)
class NetRecipe:
    """How to build a synthetic network with ``netgenerate``.

    Attributes:
        kind: ``intersection``, ``grid`` or ``arterial``.
        rows: grid rows (``grid``).
        cols: grid columns (``grid``).
        signals: signalised intersections along the main road (``arterial``).
        lanes: lanes per approach (every road, both directions).
        left_turn_lanes: extra left-turn lanes (bays) per approach, 0 for none.
        left_turn_bay_m: length of the left-turn bays [m].
        block_m: distance between intersections [m].
        approach_m: length of the roads entering from outside [m].
        speed_m_s: speed limit [m/s].

    """

    kind: str
    rows: int = 1
    cols: int = 1
    signals: int = 1
    lanes: int = 1
    left_turn_lanes: int = 0
    left_turn_bay_m: float = 50.0
    block_m: float = 200.0
    approach_m: float = 200.0
    speed_m_s: float = 13.89

    def __post_init__(self) -> None:
        if self.kind not in GENERATORS:
            raise NetworkError(f"unknown generator {self.kind!r}; choose one of {', '.join(GENERATORS)}")
        for name in ("rows", "cols", "signals", "lanes"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 50:
                raise NetworkError(
                    f"generator {self.kind}: {name} must be an integer from 1 to 50, got {value!r}"
                )
        if isinstance(self.left_turn_lanes, bool) or self.left_turn_lanes not in (0, 1, 2, 3):
            raise NetworkError(
                f"generator {self.kind}: left_turn_lanes must be 0 to 3, got {self.left_turn_lanes!r}"
            )
        for name in ("left_turn_bay_m", "block_m", "approach_m", "speed_m_s"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < math.inf:
                raise NetworkError(f"generator {self.kind}: {name} must be > 0, got {value!r}")
        if self.left_turn_lanes and self.left_turn_bay_m >= min(self.block_m, self.approach_m):
            raise NetworkError(
                f"generator {self.kind}: left_turn_bay_m must be shorter than block_m and approach_m"
            )

    def grid_size(self) -> tuple[int, int]:
        """Return (columns, rows) of the junction grid netgenerate builds."""
        if self.kind == "grid":
            return self.cols, self.rows
        if self.kind == "arterial":
            return self.signals, 1
        return 1, 1

    def netgenerate_args(self) -> list[str]:
        """Return the netgenerate options of this recipe (without the output file)."""
        x, y = self.grid_size()
        args = [
            "--grid",
            "--grid.x-number", str(x),
            "--grid.y-number", str(y),
            "--grid.length", f"{self.block_m:g}",
            "--grid.attach-length", f"{self.approach_m:g}",
            "--default.junctions.type", "traffic_light",
            "--default.lanenumber", str(self.lanes),
            "--default.speed", f"{self.speed_m_s:g}",
            "--no-turnarounds", "true",
            "--tls.default-type", "static",
            "--seed", "1",
        ]  # fmt: skip
        if self.left_turn_lanes:
            args += [
                "--turn-lanes",
                str(self.left_turn_lanes),
                "--turn-lanes.length",
                f"{self.left_turn_bay_m:g}",
            ]
        return args

    def to_dict(self) -> dict[str, Any]:
        """Return the fields that matter for this kind (a stable, minimal form)."""
        data = dataclasses.asdict(self)
        for key in ("left_turn_bay_m", "block_m", "approach_m", "speed_m_s"):
            data[key] = float(data[key])  # 200 and 200.0 are the same recipe
        skip = {
            "intersection": ("rows", "cols", "signals"),
            "grid": ("signals",),
            "arterial": ("rows", "cols"),
        }
        for key in skip[self.kind]:
            del data[key]
        if not self.left_turn_lanes:
            del data["left_turn_bay_m"]
        return data

    def default_name(self) -> str:
        """Return a readable name: ``intersection``, ``grid2x3``, ``arterial4``."""
        if self.kind == "grid":
            return f"grid{self.rows}x{self.cols}"
        if self.kind == "arterial":
            return f"arterial{self.signals}"
        return "intersection"

    def digest(self, sumo_version: str) -> str:
        """Hash of the recipe, the SUMO version and the generator's format."""
        return _digest({"net": self.to_dict(), "sumo": sumo_version, "format": _FORMAT})


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


_NET_KEYS = frozenset(f.name for f in dataclasses.fields(NetRecipe)) - {"kind"}
_FLOW_KEYS = frozenset(f.name for f in dataclasses.fields(FlowRecipe)) - {"flow_veh_h"}
#: Keys a generated-network entry of an experiment spec may carry besides ``generator``.
RECIPE_KEYS: frozenset[str] = _NET_KEYS | _FLOW_KEYS | {"seed"}


def recipe_from_dict(data: Mapping[str, Any], flow_veh_h: float) -> tuple[NetRecipe, FlowRecipe, int | None]:
    """Build the recipes of a spec entry ``{"generator": kind, ...}`` at one demand level.

    Returns the network recipe, the flow recipe and the fixed demand seed (None: the trial's).
    """
    kind = data.get("generator")
    if not isinstance(kind, str):
        raise NetworkError(f"generator: expected one of {', '.join(GENERATORS)}, got {kind!r}")
    unknown = sorted(set(data) - RECIPE_KEYS - {"generator"})
    if unknown:
        raise NetworkError(f"generator {kind}: unknown parameter {unknown[0]!r}")
    net = NetRecipe(kind=kind, **{k: v for k, v in data.items() if k in _NET_KEYS})
    flow_args: dict[str, Any] = {k: v for k, v in data.items() if k in _FLOW_KEYS}
    profile = flow_args.get("profile", "flat")
    if isinstance(profile, str):
        if profile not in PROFILES:
            raise NetworkError(
                f"demand: unknown profile {profile!r}; choose one of {', '.join(PROFILES)} or a list"
            )
        profile = PROFILES[profile]
    if not isinstance(profile, (list, tuple)) or not all(
        isinstance(f, (int, float)) and not isinstance(f, bool) for f in profile
    ):
        raise NetworkError(f"demand: profile must be a name or a list of numbers, got {profile!r}")
    flow_args["profile"] = tuple(float(f) for f in profile)
    od = flow_args.get("od", ())
    try:
        flow_args["od"] = tuple((str(a), str(b), float(q)) for a, b, q in od)
    except (TypeError, ValueError) as exc:
        raise NetworkError(f"demand: od must be a list of [from_edge, to_edge, veh_h], got {od!r}") from exc
    flow = FlowRecipe(flow_veh_h=flow_veh_h, **flow_args)
    seed = data.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
        raise NetworkError(f"generator {kind}: seed must be an integer >= 0, got {seed!r}")
    return net, flow, seed


def _atomic_write(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; the cache may be shared
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _strip_header(text: str) -> str:
    """Drop netgenerate's leading comment (it holds the generation time and output path)."""
    start = text.find("<!--")
    end = text.find("-->", start)
    if 0 <= start < 200 and end > start:
        text = text[:start] + text[end + 3 :].lstrip("\n")
    return text


def generate_network(recipe: NetRecipe, *, cache: Path | None = None) -> Path:
    """Return the ``.net.xml`` of a recipe, building it with netgenerate unless cached.

    The folder ``<cache>/<kind>-<hash>/`` is built in a temporary folder and renamed into
    place, so a concurrent or interrupted build never leaves a half-written network.
    """
    from signalbench.sim import sumo_binary, sumo_env, sumo_version

    root = cache or cache_root()
    folder = root / f"{recipe.kind}-{recipe.digest(sumo_version())}"
    net = folder / "net.net.xml"
    if net.is_file():
        return net
    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=root, prefix=".build-"))
    try:
        tmp.chmod(0o755)
        cmd = [
            str(sumo_binary("netgenerate")),
            *recipe.netgenerate_args(),
            "--output-file",
            str(tmp / "net.net.xml"),
        ]
        proc = subprocess.run(cmd, capture_output=True, text=True, env=sumo_env(), check=False, timeout=300)
        if proc.returncode != 0:
            detail = " | ".join(ln for ln in proc.stderr.splitlines() if ln.startswith("Error"))[:300]
            raise NetworkError(
                f"netgenerate failed for {recipe.default_name()}: {detail or proc.stderr[-300:]}"
            )
        text = _strip_header((tmp / "net.net.xml").read_text(encoding="utf-8"))
        _atomic_write(tmp / "net.net.xml", text)
        _atomic_write(tmp / "recipe.json", json.dumps(recipe.to_dict(), indent=2, sort_keys=True) + "\n")
        try:
            tmp.rename(folder)
        except OSError:  # built meanwhile by another process: keep theirs
            if not net.is_file():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return net


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
    _atomic_write(out, "\n".join(lines))
    return out


def generated_scenario(
    recipe: Mapping[str, Any],
    *,
    flow_veh_h: float,
    seed: int,
    name: str | None = None,
    cache: Path | None = None,
) -> Scenario:
    """Build (or reuse from the cache) a generated network and its demand at one level."""
    net_recipe, flow, fixed_seed = recipe_from_dict(recipe, flow_veh_h)
    demand_seed = seed if fixed_seed is None else fixed_seed
    net = generate_network(net_recipe, cache=cache)
    key = _digest({"flow": flow.to_dict(), "seed": demand_seed, "format": _FORMAT})
    routes = net.parent / f"demand-{key}.rou.xml"
    if not routes.is_file():
        generate_demand(net, flow, demand_seed, out=routes)
    return Scenario(
        id=name or net_recipe.default_name(),
        net_file=net,
        route_files=(routes,),
        begin_s=0.0,
        end_s=flow.duration_s,
    )
