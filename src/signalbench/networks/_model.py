"""Static model of a signalised SUMO network, read with sumolib without starting SUMO."""

from __future__ import annotations

import dataclasses
import functools
import os
import pickle
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from signalbench._util import atomic_write_bytes, cache_dir, file_sha256, text_sha256
from signalbench.errors import NetworkError
from signalbench.networks._directions import approach_headings, exit_heading
from signalbench.networks._programs import (
    LoadedProgram,
    active_programs,
    net_programs,
    read_additional_programs,
)
from signalbench.signals import GREEN, is_green_state

if TYPE_CHECKING:
    from signalbench.networks._catalog import Scenario

__all__ = [
    "GreenPhase",
    "IntersectionSpec",
    "LaneSpec",
    "Movement",
    "NetworkModel",
    "has_traffic_lights",
    "load_network_model",
    "load_scenario_model",
]


@dataclass(frozen=True, kw_only=True)
class LaneSpec:
    """One lane entering or leaving an intersection.

    Attributes:
        id: lane id.
        edge_id: id of the lane's edge.
        length_m: lane length [m].
        speed_limit_m_s: lane speed limit [m/s].
        downstream_signal: for an outgoing lane, the next modelled traffic light its traffic
            reaches (straight on through unsignalised junctions, at most 1 km), or None.
        downstream_lanes: that light's incoming lanes on the edge this lane's traffic
            arrives on (the lane itself when it leads straight into the light).
        upstream_lanes: for an incoming lane, the lanes that feed it through unsignalised
            junctions, as ``(lane id, offset_m)``: a vehicle on such a lane is ``offset_m``
            plus its distance to that lane's end away from this lane's stop line. They reach
            back up to 300 m (:data:`UPSTREAM_MAX_M`) and stop at a traffic light.

    """

    id: str
    edge_id: str
    length_m: float
    speed_limit_m_s: float
    downstream_signal: str | None = None
    downstream_lanes: tuple[str, ...] = ()
    upstream_lanes: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True, kw_only=True)
class Movement:
    """One signal link: a connection from an incoming lane to an outgoing lane.

    Attributes:
        link_index: position of the link in the traffic light's signal string.
        from_lane: incoming lane id.
        to_lane: outgoing lane id.
        direction: SUMO's direction code: ``s`` straight, ``l``/``r`` left/right,
            ``L``/``R`` partly left/right, ``t`` turnaround.
        heading_in: compass heading of travel on arrival (``N`` = northbound), derived from
            the geometry of the light's approaches (:mod:`signalbench.networks._directions`).
        heading_out: compass heading it leaves with (through: the same; right: a quarter turn
            clockwise; ...). ``f"{heading_in}-{heading_out}"`` is the movement's *direction
            movement*, as benchmarks such as RESCO name them (``S-W``: southbound turning right).

    """

    link_index: int
    from_lane: str
    to_lane: str
    direction: str
    heading_in: str = ""
    heading_out: str = ""


@dataclass(frozen=True, kw_only=True)
class GreenPhase:
    """A green phase of the intersection's own program.

    Attributes:
        program_index: index of this phase in the original SUMO program.
        state: its signal string.
        duration_s: its duration in the original program [s].
        movements: indices into :attr:`IntersectionSpec.movements` that have green (G or g).

    """

    program_index: int
    state: str
    duration_s: float
    movements: tuple[int, ...]


@dataclass(frozen=True, kw_only=True)
class IntersectionSpec:
    """Static description of one traffic light (which may span several joined junctions).

    Attributes:
        id: traffic light id (``tlLogic`` id).
        program_id: id of the program the green phases come from: the one SUMO runs, i.e. the
            last one loaded (from the network file, then the scenario's additional files).
        n_links: length of the signal string.
        incoming_lanes: lanes with at least one signalised vehicle movement, in link order.
        outgoing_lanes: lanes those movements lead to, in link order.
        movements: signalised vehicle movements, by link index.
        green_phases: green phases of the program, in program order, duplicates removed.
        program: the whole original program as (state, duration_s) pairs.
        program_file: the additional file the program was loaded from; None when it is the
            network file's own.
        program_offset_s: the program's offset [s].

    """

    id: str
    program_id: str
    n_links: int
    incoming_lanes: tuple[LaneSpec, ...]
    outgoing_lanes: tuple[LaneSpec, ...]
    movements: tuple[Movement, ...]
    green_phases: tuple[GreenPhase, ...]
    program: tuple[tuple[str, float], ...]
    program_file: Path | None = None
    program_offset_s: float = 0.0

    @property
    def n_phases(self) -> int:
        """Number of green phases a controller can choose from."""
        return len(self.green_phases)

    # Derived index arrays, computed once per instance (functools.cached_property stores them in
    # the instance's __dict__, beside the frozen fields; dataclasses.replace makes a new instance).
    @functools.cached_property
    def movement_in_lane(self) -> np.ndarray:
        """For each movement, the index of its lane in :attr:`incoming_lanes`."""
        pos = {lane.id: i for i, lane in enumerate(self.incoming_lanes)}
        return _readonly(np.array([pos[m.from_lane] for m in self.movements], dtype=np.intp))

    @functools.cached_property
    def movement_out_lane(self) -> np.ndarray:
        """For each movement, the index of its lane in :attr:`outgoing_lanes`."""
        pos = {lane.id: i for i, lane in enumerate(self.outgoing_lanes)}
        return _readonly(np.array([pos[m.to_lane] for m in self.movements], dtype=np.intp))

    @functools.cached_property
    def phase_movements(self) -> np.ndarray:
        """Boolean matrix (n_phases, n_movements): True where the phase serves the movement."""
        mat = np.zeros((self.n_phases, len(self.movements)), dtype=bool)
        for k, phase in enumerate(self.green_phases):
            mat[k, list(phase.movements)] = True
        return _readonly(mat)


def _readonly(arr: np.ndarray) -> np.ndarray:
    arr.flags.writeable = False
    return arr


@dataclass(frozen=True, kw_only=True)
class NetworkModel:
    """All traffic lights of a network that a controller can drive, plus what was skipped.

    Attributes:
        net_file: the ``.net.xml`` the model was read from.
        intersections: controllable traffic lights, sorted by id.
        problems: one line per traffic light the model could not use, naming it and why.
        additional_files: the additional files whose signal programs were applied, in load order.

    """

    net_file: Path
    intersections: tuple[IntersectionSpec, ...]
    problems: tuple[str, ...] = ()
    additional_files: tuple[Path, ...] = ()

    def __getitem__(self, tls_id: str) -> IntersectionSpec:
        for spec in self.intersections:
            if spec.id == tls_id:
                return spec
        raise KeyError(tls_id)

    @property
    def ids(self) -> tuple[str, ...]:
        """Ids of the controllable traffic lights."""
        return tuple(spec.id for spec in self.intersections)


def has_traffic_lights(net_file: str | os.PathLike[str]) -> bool:
    """Tell whether a ``.net.xml`` (or ``.net.xml.gz``) defines any traffic light, fast.

    Scans the bytes for a ``<tlLogic`` element instead of parsing the network (milliseconds on
    the largest catalogued network), for checks at spec-reading time.
    """
    import gzip

    path = Path(net_file)
    tail = b""
    try:
        with gzip.open(path, "rb") if path.name.endswith(".gz") else path.open("rb") as fh:
            while chunk := fh.read(1 << 20):
                if b"<tlLogic" in tail + chunk:
                    return True
                tail = chunk[-16:]
    except OSError as exc:
        raise NetworkError(f"{path}: cannot read the network ({exc})") from exc
    return False


def load_network_model(
    net_file: str | os.PathLike[str], additional_files: tuple[str | os.PathLike[str], ...] = ()
) -> NetworkModel:
    """Read every traffic light of ``net_file`` with sumolib (no SUMO process).

    ``additional_files`` are read for their ``<tlLogic>`` programs, in the order SUMO loads
    them: a light runs the program loaded last (see :mod:`signalbench.networks._programs`), and
    the model's green phases are that program's. Models are cached per process, keyed by every
    file's path, size and modification time, so an edited file is read again; a network of
    :data:`DISK_CACHE_MIN_BYTES` or more is also cached on disk, keyed by every file's path
    and bytes and by signalbench's model code (a new process loads it instead of parsing).

    Raises:
        NetworkError: a file is missing, the network is not a SUMO network, or an additional
            program is one SUMO would refuse (named with its file).

    """
    files = [Path(net_file).resolve(), *(Path(a).resolve() for a in additional_files)]
    key = []
    for i, path in enumerate(files):
        if not path.is_file():
            raise NetworkError(f"{'network' if i == 0 else 'additional'} file not found: {path}")
        stat = path.stat()
        key.append((path, stat.st_mtime_ns, stat.st_size))
    return _load_cached(tuple(key))


def load_scenario_model(scenario: Scenario) -> NetworkModel:
    """Return the network model of a scenario: its network file and its additional files' programs."""
    return load_network_model(scenario.net_file, scenario.additional_files)


#: Networks from this size on are also kept on disk once read (``cache_dir("models")``): a
#: new process (every trial) loads the pickle (~0.02 s at 128 signals) instead of parsing the
#: network with sumolib again (~0.3 s CPU at 128 signals, ~2.3 s at 1,024). Smaller ones parse fast.
DISK_CACHE_MIN_BYTES = 1 << 20


@functools.lru_cache(maxsize=16)
def _load_cached(files: tuple[tuple[Path, int, int], ...]) -> NetworkModel:
    if files[0][2] < DISK_CACHE_MIN_BYTES:
        return _read_model(files)
    # Keyed by every file's path and bytes and by the code that builds a model.
    key = text_sha256(
        "\n".join([_model_code_digest(), *(f"{path}\t{file_sha256(path)}" for path, _, _ in files)])
    )
    cached = cache_dir("models") / f"{key}.pickle"
    try:
        model = pickle.loads(cached.read_bytes())
        if isinstance(model, NetworkModel):
            return model
    except Exception:  # absent, truncated or written by other code: read the network
        pass
    model = _read_model(files)
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(cached, pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL))
    except OSError:  # a read-only cache only costs the parse next time
        pass
    return model


@functools.lru_cache(maxsize=1)
def _model_code_digest() -> str:
    """Digest of what builds a model: this package's and the signals package's code, sumolib, numpy."""
    import signalbench.signals as signals_package

    sources = [
        *sorted(Path(__file__).parent.glob("*.py")),
        *sorted(Path(signals_package.__file__).parent.glob("*.py")),
    ]
    parts = [f"{p.name}:{file_sha256(p)}" for p in sources]
    parts += [f"sumolib {_version('sumolib')}", f"numpy {np.__version__}", f"python {sys.version_info[:2]}"]
    return text_sha256("\n".join(parts))


def _version(package: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return "unknown"


def _read_model(files: tuple[tuple[Path, int, int], ...]) -> NetworkModel:
    import sumolib  # imported lazily: reading a network is the only use

    path, adds = files[0][0], tuple(f[0] for f in files[1:])
    try:
        net = sumolib.net.readNet(str(path), withPrograms=True)
    except Exception as exc:  # sumolib raises bare SAX/KeyError on broken files
        raise NetworkError(f"{path}: not a readable SUMO network ({exc})") from exc
    tls_all = sorted(net.getTrafficLights(), key=lambda t: t.getID())
    extra = [prog for add in adds for prog in read_additional_programs(add)]
    active = active_programs({t.getID(): net_programs(t, path) for t in tls_all}, extra)
    intersections: list[IntersectionSpec] = []
    problems: list[str] = []
    for tls in tls_all:
        try:
            intersections.append(_intersection(tls, active[tls.getID()], path))
        except _Unusable as exc:
            problems.append(f"traffic light {tls.getID()!r}: {exc}")
    return NetworkModel(
        net_file=path,
        intersections=_link_upstream(net, _link_downstream(net, intersections)),
        problems=tuple(problems),
        additional_files=adds,
    )


#: How far back the lanes feeding an incoming lane are followed [m].
UPSTREAM_MAX_M = 300.0
_UPSTREAM_MAX_HOPS = 12


def _link_upstream(net: Any, intersections: tuple[IntersectionSpec, ...]) -> tuple[IntersectionSpec, ...]:
    """Fill ``upstream_lanes`` of every incoming lane: feeders through unsignalised junctions."""

    def feeders(lane_id: str, length_m: float, own: set[str]) -> tuple[tuple[str, float], ...]:
        found: dict[str, float] = {}
        frontier = [(net.getLane(lane_id), length_m)]
        for _ in range(_UPSTREAM_MAX_HOPS):
            nxt = []
            for lane, offset in frontier:
                if offset >= UPSTREAM_MAX_M:
                    continue
                for conn in lane.getIncomingConnections():
                    if conn.getTLSID() != "":
                        continue  # that feeder stops at a traffic light first
                    up = conn.getFromLane()
                    uid = up.getID()
                    if uid == lane_id or uid in own or uid in found:
                        continue
                    found[uid] = offset
                    nxt.append((up, offset + float(up.getLength())))
            if not nxt:
                break
            frontier = nxt
        return tuple(sorted(found.items(), key=lambda kv: (kv[1], kv[0])))

    linked = []
    for spec in intersections:
        own = {ln.id for ln in spec.incoming_lanes}
        incoming = tuple(
            dataclasses.replace(ln, upstream_lanes=feeders(ln.id, ln.length_m, own))
            for ln in spec.incoming_lanes
        )
        linked.append(dataclasses.replace(spec, incoming_lanes=incoming))
    return tuple(linked)


_DOWNSTREAM_MAX_M = 1000.0
_DOWNSTREAM_MAX_HOPS = 8


def _link_downstream(net: Any, intersections: list[IntersectionSpec]) -> tuple[IntersectionSpec, ...]:
    """Fill ``downstream_signal``/``downstream_lanes`` of every outgoing lane."""
    owner = {lane.id: spec.id for spec in intersections for lane in spec.incoming_lanes}

    def follow(lane_id: str, own: str) -> tuple[str | None, tuple[str, ...]]:
        edge = net.getLane(lane_id).getEdge()
        travelled = 0.0
        for _ in range(_DOWNSTREAM_MAX_HOPS):
            lanes = [ln.getID() for ln in edge.getLanes()]
            signals = {owner[ln] for ln in lanes if ln in owner}
            if len(signals) == 1 and own not in signals:
                (signal,) = signals
                return signal, tuple(ln for ln in lanes if owner.get(ln) == signal)
            if signals:
                return None, ()
            travelled += float(edge.getLength())
            straight = {
                conn.getTo()
                for ln in edge.getLanes()
                for conn in ln.getOutgoing()
                if conn.getDirection() == "s" and conn.getTLSID() == ""
            }
            if len(straight) != 1 or travelled > _DOWNSTREAM_MAX_M:
                return None, ()
            edge = straight.pop()
        return None, ()

    linked = []
    for spec in intersections:
        outgoing = []
        for lane in spec.outgoing_lanes:
            signal, lanes = follow(lane.id, spec.id)
            outgoing.append(dataclasses.replace(lane, downstream_signal=signal, downstream_lanes=lanes))
        linked.append(dataclasses.replace(spec, outgoing_lanes=tuple(outgoing)))
    return tuple(linked)


class _Unusable(Exception):
    pass


def _lane_spec(lane: Any) -> LaneSpec:
    return LaneSpec(
        id=lane.getID(),
        edge_id=lane.getEdge().getID(),
        length_m=float(lane.getLength()),
        speed_limit_m_s=float(lane.getSpeed()),
    )


def _intersection(tls: Any, program: LoadedProgram | None, net_file: Path) -> IntersectionSpec:
    tls_id = tls.getID()
    if program is None:
        if tls.getPrograms():
            raise _Unusable("is switched off (program 'off' loaded from an additional file)")
        raise _Unusable("has no signal program")
    program_id = program.program_id
    phases = list(program.phases)
    if not phases:
        raise _Unusable(f"program {program_id!r} has no phases")
    n_links = len(phases[0][0])
    if any(len(state) != n_links for state, _ in phases):
        raise _Unusable(f"program {program_id!r} has signal strings of different lengths")

    # Vehicle connections controlled by this light, with their SUMO direction codes.
    links: list[tuple[Any, Any, int, str]] = []
    seen: set[tuple[int, str, str]] = set()
    for in_lane, out_lane, link_index in sorted(tls.getConnections(), key=lambda c: c[2]):
        key = (int(link_index), in_lane.getID(), out_lane.getID())
        if key in seen:
            continue
        seen.add(key)
        if not 0 <= link_index < n_links:
            raise _Unusable(f"link index {link_index} outside its {n_links}-link signal string")
        direction = ""
        for conn in in_lane.getOutgoing():
            if conn.getToLane() is out_lane and conn.getTLLinkIndex() == link_index:
                direction = str(conn.getDirection())
                break
        links.append((in_lane, out_lane, int(link_index), direction))
    headings = approach_headings((i, o, d) for i, o, _, d in links)
    movements: list[Movement] = []
    in_lanes: dict[str, LaneSpec] = {}
    out_lanes: dict[str, LaneSpec] = {}
    for in_lane, out_lane, link_index, direction in links:
        heading = headings[in_lane.getEdge().getID()]
        movements.append(
            Movement(
                link_index=link_index,
                from_lane=in_lane.getID(),
                to_lane=out_lane.getID(),
                direction=direction,
                heading_in=heading,
                heading_out=exit_heading(heading, direction),
            )
        )
        in_lanes.setdefault(in_lane.getID(), _lane_spec(in_lane))
        out_lanes.setdefault(out_lane.getID(), _lane_spec(out_lane))
    if not movements:
        raise _Unusable("controls no vehicle connection")

    greens: list[GreenPhase] = []
    seen_states: set[str] = set()
    for index, (state, duration) in enumerate(phases):
        if not is_green_state(state) or state in seen_states:
            continue
        served = tuple(i for i, m in enumerate(movements) if state[m.link_index] in GREEN)
        if not served:
            continue  # e.g. a pedestrian-only phase: nothing a vehicle controller can use
        seen_states.add(state)
        greens.append(GreenPhase(program_index=index, state=state, duration_s=duration, movements=served))
    if not greens:
        raise _Unusable(f"program {program_id!r} has no green phase serving vehicles")
    return IntersectionSpec(
        id=tls_id,
        program_id=program_id,
        n_links=n_links,
        incoming_lanes=tuple(in_lanes.values()),
        outgoing_lanes=tuple(out_lanes.values()),
        movements=tuple(movements),
        green_phases=tuple(greens),
        program=tuple(phases),
        program_file=None if program.source == net_file else program.source,
        program_offset_s=program.offset_s,
    )
