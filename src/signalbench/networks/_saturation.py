"""Saturation flow and lost times measured from queue discharge in SUMO itself.

Webster's formulas need, per movement, the saturation flow s (the rate at which a standing
queue crosses the stop line once it moves) and the lost time of each phase. Textbook defaults
(1800 veh/h per lane, 2 s start-up) are not what SUMO's car-following, junction model, turn
speeds and yielding produce, so this module measures them the way a field engineer does
(Highway Capacity Manual, ch. 19 / its field procedure for saturation flow; Roess, Prassas &
McShane, *Traffic Engineering*, "Discharge headways"):

- At every start of green of a lane, the vehicles halting on it (and on the short lanes that
  feed it) form the standing queue, nearest to the stop line first.
- Their stop-line crossing times give the discharge headways h_1 (green start to the first
  crossing), h_2, ... The saturation headway h_s is the median headway from the 3rd queued
  vehicle on, ``s = 3600 / h_s`` [veh/h per lane]. (The HCM counts from the 5th; in SUMO the
  discharge is steady from the 3rd, and the median is not moved by the one long headway a
  queue shows where it continues across a node onto a feeding edge.)
- Start-up lost time ``l1``: a queue of n vehicles clears ``l1 + n h_s`` after the green
  starts (the effective-green definition); l1 is the mean of ``t_n - n h_s`` over discharges
  of at least four vehicles within the green. It absorbs every delay of the first vehicles and
  of a queue's crossing onto a feeding edge.
- End gain ``e``: where a queue is still standing when yellow starts, the vehicles that still
  cross during yellow and all-red use ``e = n * h_s`` of it; the clearance lost time of a
  phase is then ``l2 = yellow + all-red - e`` (HCM: lost time per phase ``l1 + l2``).

A protected discharge is cut where it stops being a saturated discharge: a headway exceeds
:data:`MAX_HEADWAY_S` (blocked by spillback). Lanes are classed by their links in the green:
**protected** (all ``G``) or **permissive** (some ``g``: a left turner yields to the opposing
flow, and on a shared lane the vehicles behind it wait too). A permissive lane's saturation
flow is measured, like a protected lane's, only while its queue discharges: the median headway
from the 3rd queued vehicle on, leaving out headways beyond :data:`MAX_HEADWAY_S` (a left turner
waiting for a gap) and the wait to the end of a green that left part of the queue standing (the
capacity an opposed left loses to gap acceptance is not a saturation headway; HCM treats it in
its permitted-left model). Its start-up lost time is the median of t_n - n h over all its
discharges, t_n the whole green where the queue was still waiting at its end, so a lane whose
queue mostly does not move shows a loss beyond a blocked headway. A lane with too few
discharging headways gets its effective rate over the greens it had. Queued vehicles that
leave the lane sideways (a lane change) drop out of its queue.

The pre-run drives the scenario with its own programs (the ones SUMO runs) for the whole window
at the demand given, reading every incoming lane each simulation step. Results are cached per
scenario content, window, demand scale, seed and SUMO release, like the demand pre-run.
"""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from signalbench._util import atomic_write_text, cache_dir
from signalbench.errors import SimulationError
from signalbench.networks._catalog import Scenario
from signalbench.networks._demand import prerun_key
from signalbench.networks._model import IntersectionSpec, NetworkModel
from signalbench.sim import VEHICLES, LaneVehicles, SimConfig, make_backend, sumo_version

__all__ = [
    "DEFAULT_SATURATION_FLOW_VEH_H",
    "DEFAULT_STARTUP_LOST_S",
    "MAX_HEADWAY_S",
    "Discharge",
    "DischargeTable",
    "LaneClass",
    "describe_discharge",
    "lane_class",
    "measure_discharge",
]

LaneClass = Literal["protected", "permissive"]

#: Fallbacks when a class has too few saturated discharges anywhere in the network.
DEFAULT_SATURATION_FLOW_VEH_H = 1800.0
DEFAULT_STARTUP_LOST_S = 2.0
DEFAULT_END_GAIN_S = 2.0
#: A protected discharge headway longer than this is a blocked queue, not saturation [s].
MAX_HEADWAY_S = 6.0
#: Queue positions whose headways are saturation headways (the 3rd vehicle on).
SATURATED_FROM = 3
#: Fewest saturation headways for a lane's own estimate.
MIN_SAMPLES = 20
#: Fewest discharges of four or more vehicles within the green, for l1.
MIN_DISCHARGES = 5
_FEEDER_M = 100.0
_HALTING_M_S = 0.1
_ACCEL_M_S2 = 2.6  # SUMO's default passenger-car acceleration
_FORMAT = "v4"  # bump when the measurement changes


@dataclass(frozen=True, kw_only=True)
class Discharge:
    """What a lane (or a pool of lanes) showed when its queue discharged.

    Attributes:
        saturation_flow_veh_h: ``3600 / h_s`` [veh/h per lane].
        startup_lost_s: start-up lost time l1 [s].
        end_gain_s: green gained at the end of the phase from yellow and all-red, e [s].
        headways: saturation headways measured (positions >= 3).
        startups: discharges of four or more vehicles within the green (for l1).
        source: ``lane`` (its own samples), ``light`` or ``network`` (pooled over the class),
            or ``default`` (too few samples anywhere).

    """

    saturation_flow_veh_h: float
    startup_lost_s: float
    end_gain_s: float
    headways: int = 0
    startups: int = 0
    source: str = "lane"


@dataclass
class _Samples:
    by_position: dict[int, list[float]] = field(default_factory=dict)
    clearances: list[tuple[int, float]] = field(default_factory=list)  # (n, t_n - green start)
    end_vehicles: list[int] = field(default_factory=list)

    def add(self, other: _Samples) -> None:
        for pos, hs in other.by_position.items():
            self.by_position.setdefault(pos, []).extend(hs)
        self.clearances.extend(other.clearances)
        self.end_vehicles.extend(other.end_vehicles)

    def estimate(self, source: str, kind: str, end_vehicles: float | None) -> Discharge | None:
        """Return the estimate (None: too few samples); ``end_vehicles`` stands in for too few ends."""
        ends = (
            statistics.fmean(self.end_vehicles) if len(self.end_vehicles) >= MIN_DISCHARGES else end_vehicles
        )
        if kind == "permissive":
            # A yielding queue. Start-up lost time: the median of t_n - n h over its discharges,
            # those whose head waited out the green included (t_n is then the whole green), so a
            # queue that mostly does not move shows a loss beyond a blocked headway.
            steady = [h for pos, hs in self.by_position.items() if pos >= SATURATED_FROM for h in hs]
            if len(self.clearances) < MIN_DISCHARGES or len(steady) < MIN_SAMPLES:
                return None
            lost = max(statistics.median(t - n * statistics.median(steady) for n, t in self.clearances), 0.0)
            # Saturation headway: measured only while the queue discharges (a field engineer's
            # rule): headways longer than a blocked headway (a left turner waiting for a gap)
            # and the waits to the end of the green are not discharge.
            moving = [h for h in steady if h <= MAX_HEADWAY_S]
            if len(moving) >= MIN_SAMPLES:
                h_s = statistics.median(moving)
            else:  # a queue that hardly ever moved: its effective rate over the greens it had
                time_s = sum(max(t - lost, 0.0) for _, t in self.clearances)
                crossed = sum(n for n, _ in self.clearances)
                if crossed == 0 or time_s <= 0:
                    return None
                h_s = time_s / crossed
        else:
            saturated = [h for pos, hs in self.by_position.items() if pos >= SATURATED_FROM for h in hs]
            if len(saturated) < MIN_SAMPLES or len(self.clearances) < MIN_DISCHARGES:
                return None
            h_s = statistics.median(saturated)
            lost = statistics.fmean(t - n * h_s for n, t in self.clearances)
        return Discharge(
            saturation_flow_veh_h=3600.0 / h_s,
            startup_lost_s=max(lost, 0.0),
            end_gain_s=ends * h_s if ends is not None else DEFAULT_END_GAIN_S,
            headways=sum(len(hs) for hs in self.by_position.values()),
            startups=len(self.clearances),
            source=source,
        )


@dataclass(frozen=True, kw_only=True)
class DischargeTable:
    """Measured discharge of every signalised incoming lane, with pooled fallbacks.

    Attributes:
        lanes: per ``(light, lane, class)``, the lane's own estimate where it had enough
            saturated discharges.
        lights: per ``(light, class)``, pooled over the light's lanes of that class.
        network: per class, pooled over the whole network; a class with too few samples
            anywhere gets the textbook defaults (``source = "default"``).
        sumo: the SUMO release it was measured with.

    """

    lanes: Mapping[tuple[str, str, str], Discharge]
    lights: Mapping[tuple[str, str], Discharge]
    network: Mapping[str, Discharge]
    sumo: str = ""

    def lookup(self, light: str, lane: str, kind: str) -> Discharge:
        """Return a lane's estimate: its own, else its light's, else the network's, else defaults."""
        found = (
            self.lanes.get((light, lane, kind)) or self.lights.get((light, kind)) or self.network.get(kind)
        )
        if found is not None:
            return found
        return Discharge(
            saturation_flow_veh_h=DEFAULT_SATURATION_FLOW_VEH_H,
            startup_lost_s=DEFAULT_STARTUP_LOST_S,
            end_gain_s=DEFAULT_END_GAIN_S,
            source="default",
        )

    def to_json(self) -> str:
        """Serialise for the cache."""
        return json.dumps(
            {
                "sumo": self.sumo,
                "lanes": [[*k, asdict(v)] for k, v in sorted(self.lanes.items())],
                "lights": [[*k, asdict(v)] for k, v in sorted(self.lights.items())],
                "network": [[k, asdict(v)] for k, v in sorted(self.network.items())],
            }
        )

    @classmethod
    def from_json(cls, text: str) -> DischargeTable:
        """Read what :meth:`to_json` wrote."""
        raw = json.loads(text)
        return cls(
            lanes={(a, b, c): Discharge(**d) for a, b, c, d in raw["lanes"]},
            lights={(a, b): Discharge(**d) for a, b, d in raw["lights"]},
            network={a: Discharge(**d) for a, d in raw["network"]},
            sumo=str(raw.get("sumo", "")),
        )


def lane_class(spec: IntersectionSpec, lane_id: str, state: str) -> LaneClass | None:
    """Class of a lane under a signal state: None if none of its links is green."""
    chars = [state[m.link_index] for m in spec.movements if m.from_lane == lane_id]
    green = [c for c in chars if c in "Gg"]
    if not green:
        return None
    return "protected" if all(c == "G" for c in green) else "permissive"


@dataclass
class _Discharging:
    """One lane's queue being discharged since ``start_s``."""

    kind: str
    start_s: float
    queue: list[str]
    crossed: list[float] = field(default_factory=list)
    yellow_s: float | None = None
    left_at_yellow: int = 0
    in_green: int = 0
    after_yellow: int = 0


def measure_discharge(
    scenario: Scenario,
    model: NetworkModel,
    *,
    scale: float = 1.0,
    seed: int = 1,
    sumo_binary: Path | None = None,
) -> DischargeTable:
    """Measure saturation flow, start-up lost time and end gain per lane (cached).

    Runs the scenario under its own programs (``libsumo`` for the bundled SUMO, the TraCI
    socket for another release given by ``sumo_binary``).

    Raises:
        SimulationError: the pre-run failed.

    """
    key = prerun_key(_FORMAT, scenario, scale=scale, seed=seed, sumo_binary=sumo_binary)
    cached = cache_dir("saturation") / f"{key}.json"
    if cached.is_file():
        return DischargeTable.from_json(cached.read_text())
    samples = _run(scenario, model, scale=scale, seed=seed, sumo_binary=sumo_binary)
    table = _table(samples, sumo=sumo_version(sumo_binary))
    atomic_write_text(cached, table.to_json())  # concurrent trials write the same content
    return table


def _run(
    scenario: Scenario, model: NetworkModel, *, scale: float, seed: int, sumo_binary: Path | None
) -> dict[tuple[str, str, str], _Samples]:
    watch: dict[str, int] = {}
    feeders: dict[str, list[tuple[int, float]]] = {}
    for spec in model.intersections:
        for ln in spec.incoming_lanes:
            watch.setdefault(ln.id, len(watch))
    for spec in model.intersections:
        for ln in spec.incoming_lanes:
            near = [(u, off) for u, off in ln.upstream_lanes if off < _FEEDER_M]
            for u, _ in near:
                watch.setdefault(u, len(watch))
            feeders[ln.id] = [(watch[ln.id], 0.0), *((watch[u], off) for u, off in near)]
    lanes = list(watch)
    samples: dict[tuple[str, str, str], _Samples] = {}
    active: dict[tuple[str, str], _Discharging] = {}
    previous: dict[str, str] = {}
    # (light, lane) -> vehicle -> (time, distance to that lane's stop line, speed) at the last step
    last_seen: dict[tuple[str, str], dict[str, tuple[float, float, float]]] = {}
    config = SimConfig.for_scenario(
        scenario, seed=seed, scale=scale, sumo_binary=sumo_binary, time_to_teleport_s=-1.0
    )
    kind = "traci" if sumo_binary is not None else "libsumo"
    try:
        with make_backend(kind) as sim:
            sim.start(config)
            sim.watch_lanes(lanes, (VEHICLES,))
            step = config.step_length_s
            t = sim.time_s()
            while t < scenario.end_s - 1e-6:
                sim.step_until(t + step)
                t = sim.time_s()
                vehicles = sim.read_vehicles()
                for spec in model.intersections:
                    state = sim.signal_state(spec.id)
                    before = previous.get(spec.id, state)
                    previous[spec.id] = state
                    for ln in spec.incoming_lanes:
                        joined = LaneVehicles.joined([(vehicles[i], off) for i, off in feeders[ln.id]])
                        _observe(spec, ln.id, state, before, joined, t, step, active, samples, last_seen)
    except SimulationError as exc:
        raise SimulationError(f"saturation-flow pre-run for {scenario.id!r} failed: {exc}") from exc
    return samples


def _observe(
    spec: IntersectionSpec,
    lane: str,
    state: str,
    before: str,
    joined: LaneVehicles,
    t: float,
    step: float,
    active: dict[tuple[str, str], _Discharging],
    samples: dict[tuple[str, str, str], _Samples],
    last_seen: dict[tuple[str, str], dict[str, tuple[float, float, float]]],
) -> None:
    key = (spec.id, lane)
    now = lane_class(spec, lane, state)
    was = lane_class(spec, lane, before)
    present = dict(zip(joined.ids, zip(joined.dist_m, joined.speed_m_s, strict=True), strict=True))
    seen = last_seen.get(key, {})
    run = active.get(key)
    if run is not None:
        # Queued vehicles that left the approach since the last step crossed the stop line;
        # one that left far from the stop line changed lanes and is no longer in this queue.
        while len(run.crossed) < len(run.queue):
            vid = run.queue[len(run.crossed)]
            if vid in present:
                break
            seen_t, dist, speed = seen.get(vid, (t - step, 0.0, 0.0))
            if dist > 5.0 + max(speed, _ACCEL_M_S2) * step:
                run.queue.remove(vid)
                continue
            if speed > _HALTING_M_S:
                crossed = seen_t + min(step, dist / speed)
            else:  # starting from a stop: d = a t^2 / 2 with SUMO's default acceleration
                crossed = seen_t + min(step, math.sqrt(2.0 * dist / _ACCEL_M_S2))
            run.crossed.append(crossed)
            if run.yellow_s is not None:
                run.after_yellow += 1
        if now is None and run.yellow_s is None:
            run.yellow_s = t  # the green ended: what crosses now uses the yellow / all-red
            run.left_at_yellow = len(run.queue) - len(run.crossed)
            run.in_green = len(run.crossed)
        green_back = now is not None and run.yellow_s is not None
        # Counting stops when the lane's yellow ends: what crosses on red is not discharge.
        yellow = any(state[m.link_index] in "yY" for m in spec.movements if m.from_lane == lane)
        if (now is None and run.yellow_s is not None and not yellow) or green_back:
            _close(run, spec.id, lane, samples)
            del active[key]
    if now is not None and was is None and key not in active:
        # The standing queue: halting at the last step before the green, nearest first.
        standing = sorted((dist, vid) for vid, (_, dist, speed) in seen.items() if speed < _HALTING_M_S)
        if standing:
            active[key] = _Discharging(kind=now, start_s=t - step, queue=[vid for _, vid in standing])
    last_seen[key] = {vid: (t, float(dist), float(speed)) for vid, (dist, speed) in present.items()}


def _close(run: _Discharging, light: str, lane: str, samples: dict[tuple[str, str, str], _Samples]) -> None:
    s = samples.setdefault((light, lane, run.kind), _Samples())
    in_green = run.in_green if run.yellow_s is not None else len(run.crossed)
    if run.kind == "permissive":
        # Vehicles crossed over the time the standing queue had: to its last crossing, or the
        # whole green when part of it was still waiting (a left turner finding no gap).
        if run.yellow_s is not None and run.left_at_yellow > 0:
            s.clearances.append((in_green, run.yellow_s - run.start_s - 1.0))
        elif in_green >= 1:
            s.clearances.append((in_green, run.crossed[in_green - 1] - run.start_s))
        for pos, crossed in enumerate(run.crossed, start=1):
            s.by_position.setdefault(pos, []).append(
                crossed - (run.crossed[pos - 2] if pos > 1 else run.start_s)
            )
        if run.yellow_s is not None and run.left_at_yellow > 0:
            s.end_vehicles.append(run.after_yellow)
        return
    previous = run.start_s
    complete = True
    for pos, crossed in enumerate(run.crossed, start=1):
        headway = crossed - previous
        if headway > MAX_HEADWAY_S or headway <= 0:
            complete = False
            break
        s.by_position.setdefault(pos, []).append(headway)
        previous = crossed
    if complete and in_green >= 4:
        s.clearances.append((in_green, run.crossed[in_green - 1] - run.start_s))
    # End gain: only where the queue was still standing when the green ended.
    if complete and run.yellow_s is not None and run.left_at_yellow > 0:
        s.end_vehicles.append(run.after_yellow)


def _table(samples: Mapping[tuple[str, str, str], _Samples], *, sumo: str) -> DischargeTable:
    per_light: dict[tuple[str, str], _Samples] = {}
    per_class: dict[str, _Samples] = {}
    everything = _Samples()
    for (light, _, kind), s in samples.items():
        per_light.setdefault((light, kind), _Samples()).add(s)
        per_class.setdefault(kind, _Samples()).add(s)
        everything.add(s)
    # The end gain is rarely sampled (a queue must outlast the green): pooled over every class
    # of the network where a lane, light or class has too few.
    pooled_end = (
        statistics.fmean(everything.end_vehicles) if len(everything.end_vehicles) >= MIN_DISCHARGES else None
    )
    network = {k: e for k, s in per_class.items() if (e := s.estimate("network", k, pooled_end)) is not None}
    lights = {}
    for (light, kind), s in per_light.items():
        ends = _ends(per_class[kind], pooled_end)
        if (e := s.estimate("light", kind, ends)) is not None:
            lights[(light, kind)] = e
    lanes = {}
    for (light, lane, kind), s in samples.items():
        ends = _ends(per_light[(light, kind)], _ends(per_class[kind], pooled_end))
        if (e := s.estimate("lane", kind, ends)) is not None:
            lanes[(light, lane, kind)] = e
    return DischargeTable(lanes=lanes, lights=lights, network=network, sumo=sumo)


def _ends(pool: _Samples, fallback: float | None) -> float | None:
    return statistics.fmean(pool.end_vehicles) if len(pool.end_vehicles) >= MIN_DISCHARGES else fallback


def describe_discharge(table: DischargeTable) -> dict[str, Any]:
    """Return a JSON-ready summary: the network-wide estimate per class."""
    return {
        kind: {
            "saturation_flow_veh_h": round(d.saturation_flow_veh_h, 1),
            "startup_lost_s": round(d.startup_lost_s, 2),
            "end_gain_s": round(d.end_gain_s, 2),
            "headways": d.headways,
        }
        for kind, d in sorted(table.network.items())
        if not math.isnan(d.saturation_flow_veh_h)
    }
