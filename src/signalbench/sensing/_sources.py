"""The sensor models' readings, with their faults and diagnostics: one :class:`Frame` per decision.

- :class:`LaneTruths`: the simulator's lane values (``perfect`` with faults or attacks);
- :class:`Cameras`: lane-area detectors (SUMO E2) over the last metres of each lane;
- :class:`Loops`: a stop-line and an advance induction loop (SUMO E1) per lane, turned into
  vehicle counts and queues by input-output counting (Sharma, Bullock & Bonneson 2007);
- :class:`Probes`: the messages of a seeded share of equipped (connected) vehicles, with the
  queue estimated from the last stopped probe (Comert & Cetin 2009).

Each reads the backend once per decision for every light (a batched read), then applies its
faults per unit (a lane's detector, a loop, a lane's messages) and runs the diagnostics.
"""

from __future__ import annotations

import math
import zlib
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from signalbench.networks import LaneSpec
from signalbench.sensing._channels import HALTING_SPEED_M_S, JAM_SPACING_M, Diagnoser, FaultPlan
from signalbench.sensing._config import Attack, Diagnostics
from signalbench.sensing._detectors import Loop, Zone
from signalbench.sensing._frame import FRAME_FIELDS, Frame
from signalbench.sim import VEHICLES, ZONE_FIELDS, Backend, LaneVehicles, check_fields

__all__ = ["Cameras", "InputOutput", "LaneTruths", "Loops", "Probes", "Setting", "Source", "equipped"]


@dataclass(frozen=True)
class Setting:
    """What every sensor model is given.

    Attributes:
        backend: the started backend.
        lanes: the watched lanes (rows of the frames).
        fields: the observation fields the controller receives.
        diagnostics: the diagnostics' settings, or None.
        begin_s: the simulation's begin [s] (fault windows count from it).

    """

    backend: Backend
    lanes: tuple[LaneSpec, ...]
    fields: tuple[str, ...]
    diagnostics: Diagnostics | None
    begin_s: float


def _empty_values(n: int) -> dict[str, np.ndarray]:
    return {f: np.full(n, np.nan) for f in FRAME_FIELDS}


def _speed_or_limit(speed: np.ndarray, limit: np.ndarray) -> np.ndarray:
    """Give a lane with no vehicle its speed limit (SUMO's lane convention)."""
    return np.where(np.isnan(speed), limit, speed)


class Source:
    """Common state of a sensor model: the lanes, the fields asked for, faults and diagnostics."""

    def __init__(self, setting: Setting) -> None:
        self.backend = setting.backend
        self.lanes = setting.lanes
        self.fields = setting.fields
        self.with_vehicles = VEHICLES in setting.fields
        self.begin_s = setting.begin_s
        self.limits = np.array([ln.speed_limit_m_s for ln in self.lanes], dtype=np.float64)
        self.diagnostics = setting.diagnostics
        self.plan: FaultPlan | None = None
        self._diagnoser: Diagnoser | None = None
        self._previous: np.ndarray | None = None

    def bind(self, plan: FaultPlan) -> None:
        """Attach the faults (built on :meth:`units`) and start the diagnostics."""
        self.plan = plan
        if self.diagnostics is not None:
            self._diagnoser = Diagnoser(self.diagnostics, plan.n_units)

    def diagnosis(self) -> dict[str, float | None]:
        """Return what the detector diagnostics reported in this episode (empty without them)."""
        return {} if self._diagnoser is None else self._diagnoser.summary()

    def units(self) -> tuple[np.ndarray, list[str]]:
        """Return the row of each unit's lane, and each unit's detector (``both`` but for loops)."""
        return np.arange(len(self.lanes)), ["both"] * len(self.lanes)

    def read(self, now_s: float) -> Frame:  # pragma: no cover - every source defines it
        """Return this decision's frame (faults applied, diagnostics run)."""
        raise NotImplementedError

    # -- lane-level faults and diagnostics (every source but loops) -------------------------
    def _lane_faults(self, frame: Frame, now_s: float, coverage_m: np.ndarray) -> Frame:
        """Stuck-off / dropout (reads nothing), stuck-on (zone full of stopped vehicles), noise."""
        assert self.plan is not None
        plan, elapsed = self.plan, now_s - self.begin_s
        if not plan.items:
            return frame
        off = plan.mask("stuck-off", elapsed) | plan.dropped(elapsed)
        on = plan.mask("stuck-on", elapsed)
        noise = plan.count_noise(elapsed)
        if not (off.any() or on.any() or noise.any() or plan.position_noise(elapsed)):
            return frame
        v = {k: a.copy() for k, a in frame.values.items()}
        full = np.maximum(1.0, np.floor(coverage_m / JAM_SPACING_M))
        for name in ("vehicle_count", "halting_count"):
            noisy = np.maximum(0.0, v[name] + noise)
            v[name] = np.where(on, full, np.where(off, 0.0, noisy))
        v["halting_count"] = np.fmin(v["halting_count"], v["vehicle_count"])
        v["occupancy"] = np.where(on, 1.0, np.where(off, 0.0, v["occupancy"]))
        v["mean_speed_m_s"] = np.where(on, 0.0, np.where(off, self.limits, v["mean_speed_m_s"]))
        v["jam_length_m"] = np.where(on, coverage_m, np.where(off, 0.0, v["jam_length_m"]))
        vehicles = frame.vehicles
        if vehicles:
            vehicles = self._vehicle_faults(vehicles, off, on, noise, full, coverage_m, elapsed)
        return replace(frame, values=v, vehicles=vehicles)

    def _vehicle_faults(
        self,
        vehicles: tuple[LaneVehicles, ...],
        off: np.ndarray,
        on: np.ndarray,
        noise: np.ndarray,
        full: np.ndarray,
        coverage_m: np.ndarray,
        elapsed_s: float,
    ) -> tuple[LaneVehicles, ...]:
        assert self.plan is not None
        out = list(vehicles)
        rng = self.plan.rng_of("noise")
        for row in range(len(out)):
            if on[row]:
                n = int(full[row])
                out[row] = LaneVehicles.build(
                    [f"stuck:{row}:{k}" for k in range(n)],
                    JAM_SPACING_M * np.arange(n),
                    np.zeros(n),
                    np.full(n, elapsed_s),
                )
            elif off[row]:
                out[row] = LaneVehicles()
            elif noise[row] and rng is not None:
                out[row] = _count_noise(out[row], int(noise[row]), float(coverage_m[row]), row, rng)
        for units, sd_m, gen in self.plan.position_noise(elapsed_s):
            for noisy in np.flatnonzero(units & ~on & ~off):
                lane = out[noisy]
                if len(lane):
                    moved = np.maximum(0.0, lane.dist_m + gen.normal(0.0, sd_m, len(lane)))
                    out[noisy] = LaneVehicles.build(lane.ids, moved, lane.speed_m_s, lane.waiting_s)
        return tuple(out)

    def _diagnose(self, frame: Frame, now_s: float, presence: np.ndarray, reading: np.ndarray) -> Frame:
        if self._diagnoser is None:
            return frame
        steady = (
            np.all((reading == self._previous) | (np.isnan(reading) & np.isnan(self._previous)), axis=0)
            if self._previous is not None
            else np.zeros(len(presence), dtype=bool)
        )
        self._previous = reading
        failed = self._diagnoser.update(now_s, presence, steady)
        return replace(frame, failed=failed)

    def _zone_reading(self, frame: Frame) -> tuple[np.ndarray, np.ndarray]:
        """Presence and the compared reading of each lane's zone, from what the frame holds."""
        v = frame.values
        rows = [v[f] for f in ("vehicle_count", "halting_count", "occupancy", "jam_length_m")]
        if frame.vehicles:
            sizes = np.array([len(lane) for lane in frame.vehicles], dtype=np.float64)
            tails = np.array([lane.dist_m.sum() for lane in frame.vehicles], dtype=np.float64)
            rows += [sizes, tails]
            presence = sizes > 0
        else:
            presence = np.nan_to_num(v["vehicle_count"]) + np.nan_to_num(v["halting_count"]) > 0
        return presence, np.vstack(rows)


def _count_noise(
    lane: LaneVehicles, k: int, coverage_m: float, row: int, rng: np.random.Generator
) -> LaneVehicles:
    """``k`` > 0 ghost vehicles (standing, anywhere in the zone) or ``-k`` vehicles missed."""
    if k < 0:
        keep = np.sort(rng.permutation(len(lane))[: max(0, len(lane) + k)])
        return LaneVehicles.build(
            [lane.ids[i] for i in keep], lane.dist_m[keep], lane.speed_m_s[keep], lane.waiting_s[keep]
        )
    where = rng.uniform(0.0, max(coverage_m, 1.0), k)
    return LaneVehicles.build(
        [*lane.ids, *(f"ghost:{row}:{i}" for i in range(k))],
        np.concatenate([lane.dist_m, where]),
        np.concatenate([lane.speed_m_s, np.zeros(k)]),
        np.concatenate([lane.waiting_s, np.zeros(k)]),
    )


class LaneTruths(Source):
    """The simulator's own lane values (as ``perfect`` sensing), so faults and attacks can act on them.

    ``upstream_m``: with ``vehicles``, each lane's vehicles also include those on the lanes
    feeding it up to that distance (as perfect sensing gives a controller that asks for it).
    """

    def __init__(
        self,
        setting: Setting,
        *,
        upstream_m: float = 0.0,
        vehicle_filter: Callable[[str], bool] | None = None,
        lane_fields: bool = True,
    ) -> None:
        super().__init__(setting)
        index = {ln.id: i for i, ln in enumerate(self.lanes)}
        extra: list[str] = []
        self.feeders: dict[int, tuple[tuple[int, float], ...]] = {}
        if upstream_m > 0 and self.with_vehicles:
            for ln in self.lanes:
                near = [(u, off) for u, off in ln.upstream_lanes if off < upstream_m]
                for u, _ in near:
                    if u not in index:
                        index[u] = len(index)
                        extra.append(u)
                if near:
                    self.feeders[index[ln.id]] = ((index[ln.id], 0.0), *((index[u], off) for u, off in near))
        self.lane_fields = check_fields(self.fields) if lane_fields else ()
        self.backend.watch_lanes(
            [ln.id for ln in self.lanes] + extra,
            (*self.lane_fields, *((VEHICLES,) if self.with_vehicles else ())),
            vehicle_filter=vehicle_filter,
        )
        self.coverage_m = np.array([ln.length_m for ln in self.lanes], dtype=np.float64)

    def _lane_vehicles(self) -> tuple[LaneVehicles, ...]:
        vehicles = self.backend.read_vehicles()
        if self.feeders:
            joined = list(vehicles)
            for row, parts in self.feeders.items():
                joined[row] = LaneVehicles.joined([(vehicles[i], off) for i, off in parts])
            vehicles = tuple(joined)
        return vehicles[: len(self.lanes)]

    def read(self, now_s: float) -> Frame:
        """Read the lanes, then faults and diagnostics."""
        n = len(self.lanes)
        readings = self.backend.read_lanes()
        values = _empty_values(n)
        for name in self.lane_fields:
            values[name] = readings.field(name)[:n].copy()
        frame = Frame(
            time_s=now_s,
            values=values,
            vehicles=self._lane_vehicles() if self.with_vehicles else (),
            failed=np.zeros(n, dtype=bool),
        )
        frame = self._lane_faults(frame, now_s, self.coverage_m)
        return self._diagnose(frame, now_s, *self._zone_reading(frame))


class Cameras(Source):
    """One lane-area detector (SUMO E2) per lane: what is in the zone, and nothing beyond it."""

    def __init__(self, setting: Setting, *, zones: Sequence[Zone]) -> None:
        super().__init__(setting)
        self.zones = tuple(zones)
        self.coverage_m = np.array([z.length_m for z in self.zones], dtype=np.float64)
        # Only what the controller reads, and the vehicle count the diagnostics watch.
        wanted = {*self.fields, *(("vehicle_count",) if self.diagnostics is not None else ())}
        self.zone_fields = tuple(f for f in ZONE_FIELDS if f in wanted)
        self.backend.watch_detectors(
            zones=[z.id for z in self.zones], zone_fields=self.zone_fields, zone_vehicles=self.with_vehicles
        )

    def read(self, now_s: float) -> Frame:
        """Read the zones, then faults and diagnostics."""
        read = self.backend.read_detectors()
        values = _empty_values(len(self.lanes))
        for name in self.zone_fields:
            values[name] = np.array(read.zones[name], dtype=np.float64)
        if "mean_speed_m_s" in self.zone_fields:
            values["mean_speed_m_s"] = _speed_or_limit(values["mean_speed_m_s"], self.limits)
        frame = Frame(
            time_s=now_s,
            values=values,
            vehicles=read.zone_vehicles,
            failed=np.zeros(len(self.lanes), dtype=bool),
        )
        frame = self._lane_faults(frame, now_s, self.coverage_m)
        return self._diagnose(frame, now_s, *self._zone_reading(frame))


class InputOutput:
    """Vehicles between an advance and a stop-line loop, and the queue among them, by counting.

    Input-output counting (Sharma, Bullock & Bonneson 2007): the vehicles between the loops
    are the arrivals counted upstream minus the departures counted at the stop line; the
    queue is the vehicles that arrived more than the free-flow travel time ago and have not
    left. Counts drift (a lane change between the loops, a vehicle inserted there): more
    departures than arrivals reset the stretch to empty, and so does a quiet period on both
    loops (``quiet_s`` on the stop line, plus the travel time on the advance loop).

    Args:
        travel_s: per lane, the free-flow travel time between the loops [s].
        quiet_s: quiet time that empties the stretch [s].
        begin_s: the time of the first (empty) state [s].

    """

    def __init__(self, travel_s: np.ndarray, quiet_s: float, begin_s: float) -> None:
        self.travel_s = travel_s
        self.quiet_s = quiet_s
        self.arrived = np.zeros(len(travel_s))
        self.left = np.zeros(len(travel_s))
        self.history: deque[tuple[float, np.ndarray]] = deque([(begin_s, self.arrived.copy())])
        self.keep_s = float(travel_s.max(initial=0.0)) + 1.0

    def update(
        self,
        now_s: float,
        arrivals: np.ndarray,
        departures: np.ndarray,
        stop_gap_s: np.ndarray,
        advance_gap_s: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Return (vehicles between the loops, queued vehicles) after one interval's counts."""
        self.arrived = self.arrived + arrivals
        self.left = np.minimum(self.left + departures, self.arrived)
        quiet = (stop_gap_s >= self.quiet_s) & (advance_gap_s >= self.quiet_s + self.travel_s)
        self.left = np.where(quiet, self.arrived, self.left)
        self.history.append((now_s, self.arrived.copy()))
        while len(self.history) > 2 and self.history[1][0] <= now_s - self.keep_s:
            self.history.popleft()
        times = np.array([t for t, _ in self.history])
        cum = np.vstack([a for _, a in self.history])  # (k, lanes)
        lagged = _interp_columns(now_s - self.travel_s, times, cum)
        between = self.arrived - self.left
        queued = np.clip(lagged - self.left, 0.0, between)
        return between, queued


def _interp_columns(at: np.ndarray, times: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Per column j, ``values[:, j]`` linearly interpolated at ``at[j]`` (clamped at both ends)."""
    if len(times) == 1:
        return np.array(values[0], dtype=np.float64)
    hi = np.clip(np.searchsorted(times, at, side="right"), 1, len(times) - 1)
    lo = hi - 1
    cols = np.arange(values.shape[1])
    span = times[hi] - times[lo]
    w = np.clip((at - times[lo]) / np.where(span > 0, span, 1.0), 0.0, 1.0)
    return np.asarray(values[lo, cols] * (1.0 - w) + values[hi, cols] * w, dtype=np.float64)


class Loops(Source):
    """Two induction loops (SUMO E1) per lane: what an actuated controller in the field has.

    The controller gets ``gap_s`` (time since either loop last detected a vehicle), and the
    input-output estimates of the vehicles between the loops (``vehicle_count``) and of the
    queue among them (``halting_count``). Faults act on single loops (``detector``).
    """

    def __init__(self, setting: Setting, *, pairs: Sequence[tuple[Loop, Loop]], quiet_s: float) -> None:
        super().__init__(setting)
        self.pairs = tuple(pairs)
        ids = [loop.id for pair in self.pairs for loop in pair]  # stop, advance, stop, advance, ...
        self.backend.watch_detectors(loops=ids)
        travel = np.array(
            [
                (stop.pos_m - adv.pos_m) / max(lane.speed_limit_m_s, 0.1)
                for (stop, adv), lane in zip(self.pairs, self.lanes, strict=True)
            ]
        )
        self.io = InputOutput(travel, quiet_s, self.begin_s)
        self.last_seen = np.full(2 * len(self.pairs), -math.inf)

    def units(self) -> tuple[np.ndarray, list[str]]:
        """Two units per lane: its stop-line loop, then its advance loop."""
        return np.repeat(np.arange(len(self.lanes)), 2), ["stopline", "advance"] * len(self.lanes)

    def read(self, now_s: float) -> Frame:
        """Read the loops, apply their faults, run diagnostics and the input-output estimate."""
        assert self.plan is not None
        plan, elapsed = self.plan, now_s - self.begin_s
        read = self.backend.read_detectors()
        count = np.array(read.loops["count"], dtype=np.float64)
        raw_gap = np.array(read.loops["gap_s"], dtype=np.float64)
        off = plan.mask("stuck-off", elapsed) | plan.dropped(elapsed)
        on = plan.mask("stuck-on", elapsed)
        count = np.where(off | on, 0.0, np.maximum(0.0, count + plan.count_noise(elapsed)))
        seen = np.where(on, now_s, np.where(off, self.last_seen, now_s - raw_gap))
        self.last_seen = np.maximum(self.last_seen, seen) if (off | on).any() else seen
        gap = now_s - self.last_seen
        failed_units = np.zeros(len(count), dtype=bool)
        if self._diagnoser is not None:
            standing = gap <= 1e-9
            failed_units = self._diagnoser.update(now_s, standing | (count > 0), standing)
        stop, adv = slice(0, None, 2), slice(1, None, 2)
        between, queued = self.io.update(now_s, count[adv], count[stop], gap[stop], gap[adv])
        values = _empty_values(len(self.lanes))
        values["vehicle_count"] = between
        values["halting_count"] = queued
        values["gap_s"] = np.minimum(gap[stop], gap[adv])
        return Frame(time_s=now_s, values=values, vehicles=(), failed=failed_units[stop] | failed_units[adv])


def equipped(salt: int, penetration: float) -> Callable[[str], bool]:
    """Return a deterministic test of whether a vehicle is equipped: ``penetration`` of ids pass, by hash."""
    threshold = penetration * 2**32
    cache: dict[str, bool] = {}
    prefix = f"{salt}:".encode()

    def keep(vehicle_id: str) -> bool:
        got = cache.get(vehicle_id)
        if got is None:
            got = cache[vehicle_id] = zlib.crc32(prefix + vehicle_id.encode()) < threshold
        return got

    return keep


class Probes(LaneTruths):
    """Connected-vehicle messages: position, speed and waiting time of the equipped vehicles only.

    A seeded ``penetration`` share of vehicles is equipped (by a hash of the vehicle id, so a
    vehicle keeps its status all trip); the roadside unit hears them within ``range_m`` of the
    stop line. Counts are estimated (``estimate = "queue-tail"``): the queue reaches back to
    the last stopped probe (Comert & Cetin 2009), the vehicles are the probes scaled by
    1 / penetration (never fewer than the queue); ``"sample"`` gives the probes' own counts.
    Spoofed vehicles (an attack) join the messages before anything else sees them.
    """

    def __init__(
        self,
        setting: Setting,
        *,
        upstream_m: float,
        penetration: float,
        range_m: float,
        estimate: str,
        jam_spacing_m: float,
        salt: int,
        spoofs: Sequence[tuple[Attack, np.ndarray]] = (),
    ) -> None:
        self.penetration = penetration
        self.range_m = range_m
        self.estimate = estimate
        self.jam_spacing_m = jam_spacing_m
        self.spoofs = tuple(spoofs)
        super().__init__(
            replace(setting, fields=(*setting.fields, VEHICLES)),
            upstream_m=upstream_m,
            vehicle_filter=equipped(salt, penetration),
            lane_fields=False,
        )
        self._frozen: list[LaneVehicles] = [LaneVehicles() for _ in self.lanes]

    def read(self, now_s: float) -> Frame:
        """Hear the equipped vehicles, add spoofed ones, apply faults, estimate the counts."""
        assert self.plan is not None
        plan, elapsed = self.plan, now_s - self.begin_s
        lanes = [
            lane if not len(lane) or lane.dist_m[-1] <= self.range_m else _within(lane, self.range_m)
            for lane in self._lane_vehicles()
        ]
        self._spoof(lanes, now_s)
        off = plan.mask("stuck-off", elapsed)
        on = plan.mask("stuck-on", elapsed)
        rates = plan.drop_rates(elapsed)
        rng = plan.rng_of("dropout")
        for row in range(len(lanes)):
            if on[row]:  # a frozen feed: the last messages heard before the fault, again and again
                lanes[row] = self._frozen[row]
                continue
            if off[row]:
                lanes[row] = LaneVehicles()
            elif rates[row] > 0 and rng is not None and len(lanes[row]):
                lane = lanes[row]
                keep = np.flatnonzero(rng.random(len(lane)) >= rates[row])
                lanes[row] = LaneVehicles.build(
                    [lane.ids[i] for i in keep], lane.dist_m[keep], lane.speed_m_s[keep], lane.waiting_s[keep]
                )
            self._frozen[row] = lanes[row]
        vehicles = tuple(lanes)
        for units, sd_m, gen in plan.position_noise(elapsed):
            moved = list(vehicles)
            for noisy in np.flatnonzero(units & ~on & ~off):
                lane = moved[noisy]
                if len(lane):
                    moved[noisy] = LaneVehicles.build(
                        lane.ids,
                        np.maximum(0.0, lane.dist_m + gen.normal(0.0, sd_m, len(lane))),
                        lane.speed_m_s,
                        lane.waiting_s,
                    )
            vehicles = tuple(moved)
        values = self._estimate(vehicles)
        noise = plan.count_noise(elapsed)
        if noise.any():
            for name in ("vehicle_count", "halting_count"):
                values[name] = np.maximum(0.0, values[name] + noise)
            values["halting_count"] = np.fmin(values["halting_count"], values["vehicle_count"])
        frame = Frame(
            time_s=now_s,
            values=values,
            vehicles=vehicles,
            failed=np.zeros(len(self.lanes), dtype=bool),
        )
        if self._diagnoser is None:
            return frame
        presence = np.array([len(lane) > 0 for lane in vehicles])
        reading = np.vstack(
            [
                np.array([len(lane) for lane in vehicles], dtype=np.float64),
                np.array([lane.dist_m.sum() for lane in vehicles], dtype=np.float64),
                np.array([lane.speed_m_s.sum() for lane in vehicles], dtype=np.float64),
            ]
        )
        return self._diagnose(frame, now_s, presence, reading)

    def _spoof(self, lanes: list[LaneVehicles], now_s: float) -> None:
        elapsed = now_s - self.begin_s
        for k, (attack, mask) in enumerate(self.spoofs):
            if not attack.active(elapsed):
                continue
            rows = np.flatnonzero(mask)
            assert attack.vehicles is not None
            for j in range(attack.vehicles):
                row = int(rows[j % len(rows)])
                lane = lanes[row]
                dist = (
                    attack.dist_m
                    if attack.dist_m is not None
                    else min(self.range_m, self.lanes[row].length_m)
                )
                dist = dist + JAM_SPACING_M * (j // len(rows))
                waiting = (
                    now_s - (self.begin_s + attack.from_s) if attack.speed_m_s < HALTING_SPEED_M_S else 0.0
                )
                lanes[row] = LaneVehicles.build(
                    [*lane.ids, f"spoof:{k}:{j}"],
                    np.append(lane.dist_m, dist),
                    np.append(lane.speed_m_s, attack.speed_m_s),
                    np.append(lane.waiting_s, waiting),
                )

    def _estimate(self, vehicles: tuple[LaneVehicles, ...]) -> dict[str, np.ndarray]:
        n = len(vehicles)
        probes = np.array([len(lane) for lane in vehicles], dtype=np.float64)
        stopped = [lane.dist_m[lane.speed_m_s < HALTING_SPEED_M_S] for lane in vehicles]
        speeds = np.array([lane.speed_m_s.mean() if len(lane) else np.nan for lane in vehicles])
        values = _empty_values(n)
        values["mean_speed_m_s"] = _speed_or_limit(speeds, self.limits)
        if self.estimate == "sample":
            values["vehicle_count"] = probes
            values["halting_count"] = np.array([len(s) for s in stopped], dtype=np.float64)
            return values
        queue = np.array(
            [math.floor(max(float(s.max()), 0.0) / self.jam_spacing_m) + 1 if len(s) else 0 for s in stopped],
            dtype=np.float64,
        )
        values["halting_count"] = queue
        values["vehicle_count"] = np.maximum(queue, probes / self.penetration)
        return values


def _within(lane: LaneVehicles, max_dist_m: float) -> LaneVehicles:
    n = lane.within(max_dist_m)
    return LaneVehicles(
        ids=lane.ids[:n], dist_m=lane.dist_m[:n], speed_m_s=lane.speed_m_s[:n], waiting_s=lane.waiting_s[:n]
    )
