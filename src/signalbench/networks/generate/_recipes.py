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
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from signalbench._util import atomic_write_text, cache_dir, strict_json, toml_value, umask_mode
from signalbench.errors import NetworkError
from signalbench.networks._catalog import Scenario
from signalbench.networks.generate._flows import PROFILES, FlowRecipe, generate_demand
from signalbench.sim import ToolError, run_tool, sumo_version

__all__ = [
    "GENERATORS",
    "PRESETS",
    "RECIPE_KEYS",
    "NetRecipe",
    "generate_network",
    "generated_scenario",
    "parse_generator_ref",
    "preset_scenario",
    "recipe_from_dict",
]

#: Generator kinds and what they build.
GENERATORS: dict[str, str] = {
    "intersection": "one signalised four-arm intersection",
    "grid": "a grid of rows x cols signalised intersections",
    "arterial": "a main road through N signalised intersections with side streets",
}

#: City-scale grids by name (``--network city-1024``): two lanes per direction, 200 m blocks, 300
#: veh/h entering on every fringe approach over an hour, Poisson arrivals, 20/60/20 % left,
#: straight, right -- the demand of the 128-signal measurement that opened issue 18. Trips
#: cross the grid between fringe edges, routed by SUMO; the interior fills within ~8 minutes
#: (32 x 200 m at 13.89 m/s). Sizes: 8 x 16 (128 signals), 16 x 16 (256), 32 x 32 (1,024).
PRESETS: dict[str, dict[str, Any]] = {
    f"city-{rows * cols}": {
        "generator": "grid",
        "rows": rows,
        "cols": cols,
        "lanes": 2,
        "flow_veh_h": 300.0,
        "name": f"city-{rows * cols}",
    }
    for rows, cols in ((8, 16), (16, 16), (32, 32))
}

_FORMAT = 1  # bump when the generated files change for the same recipe


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


_NET_KEYS = frozenset(f.name for f in dataclasses.fields(NetRecipe)) - {"kind"}
_FLOW_KEYS = frozenset(f.name for f in dataclasses.fields(FlowRecipe)) - {"flow_veh_h"}
#: Keys a generated-network entry of an experiment spec may carry besides ``generator``.
RECIPE_KEYS: frozenset[str] = _NET_KEYS | _FLOW_KEYS | {"seed"}


def parse_generator_ref(text: str) -> dict[str, Any] | None:
    """Parse a generated network written on one line: ``KIND:key=value,key=value,...``.

    ``grid:rows=2,cols=3,flow_veh_h=600`` gives the spec entry ``{"generator": "grid", "rows": 2,
    "cols": 3, "flow_veh_h": 600}``. Values are TOML values (``[300, 600]`` lists the demand
    levels; a bare word such as ``profile=peak`` is a string). Returns None when ``text`` does not
    start with a generator kind (a catalog id or a path).

    Raises:
        NetworkError: a part is not ``key=value``.

    """
    kind, _, rest = text.partition(":")
    if kind in PRESETS:
        entry: dict[str, Any] = dict(PRESETS[kind])
    elif kind in GENERATORS:
        entry = {"generator": kind}
    else:
        return None
    depth, part, parts = 0, "", []
    for ch in rest:  # split on commas outside [...]
        depth += {"[": 1, "]": -1}.get(ch, 0)
        if ch == "," and depth == 0:
            parts.append(part)
            part = ""
        else:
            part += ch
    parts.append(part)
    for item in (p.strip() for p in parts):
        if not item:
            continue
        key, eq, value = item.partition("=")
        if not eq or not key.strip():
            raise NetworkError(f"{text}: expected {kind}:key=value,..., got {item!r}")
        entry[key.strip()] = toml_value(value)
    return entry


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
    root = cache or cache_dir("generated")
    folder = root / f"{recipe.kind}-{recipe.digest(sumo_version())}"
    net = folder / "net.net.xml"
    if net.is_file():
        return net
    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=root, prefix=".build-"))
    try:
        tmp.chmod(umask_mode(0o777))  # mkdtemp makes it private; the cache is as shared as the umask says
        try:
            run_tool(
                "netgenerate",
                [*recipe.netgenerate_args(), "--output-file", str(tmp / "net.net.xml")],
                timeout_s=300,
            )
        except ToolError as exc:
            raise NetworkError(f"netgenerate failed for {recipe.default_name()}: {exc.detail}") from exc
        text = _strip_header((tmp / "net.net.xml").read_text(encoding="utf-8"))
        atomic_write_text(tmp / "net.net.xml", text)
        atomic_write_text(tmp / "recipe.json", strict_json(recipe.to_dict(), indent=2, sort_keys=True) + "\n")
        try:
            tmp.rename(folder)
        except OSError:  # built meanwhile by another process: keep theirs
            if not net.is_file():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return net


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


def preset_scenario(name: str, *, seed: int = 1, cache: Path | None = None) -> Scenario:
    """Build (or reuse from the cache) a :data:`PRESETS` network at its demand, seeded ``seed``."""
    if name not in PRESETS:
        raise NetworkError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}")
    entry = dict(PRESETS[name])
    flow = float(entry.pop("flow_veh_h"))
    return generated_scenario(entry, flow_veh_h=flow, seed=seed, name=entry.pop("name"), cache=cache)
