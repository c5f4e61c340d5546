"""Faults, attacks, diagnostics and latency: what happens to readings on their way to a controller.

Everything here is seeded and pure numpy on per-lane (or per-detector) arrays, so it is tested
without SUMO. A *unit* is what can fail on its own: a lane's detector (``cameras``, perfect lane
truths, a lane's connected-vehicle messages) or one induction loop (``loops``: two per lane).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from signalbench.networks import LaneSpec, NetworkModel
from signalbench.sensing._config import Attack, Diagnostics, Fault
from signalbench.sensing._frame import Frame
from signalbench.sim import LaneVehicles

__all__ = [
    "HALTING_SPEED_M_S",
    "JAM_SPACING_M",
    "AttackPlan",
    "Delay",
    "Diagnoser",
    "FaultPlan",
    "LostDecisions",
    "lane_mask",
    "spawn",
]

#: A vehicle slower than this is halting (SUMO's own waiting threshold) [m/s].
HALTING_SPEED_M_S = 0.1
#: Space a queued vehicle takes (length plus gap) when phantom vehicles are added [m].
JAM_SPACING_M = 7.5


def spawn(rng: np.random.Generator, n: int) -> list[np.random.Generator]:
    """``n`` independent generators drawn from ``rng`` (same seed, same generators)."""
    return [np.random.default_rng(int(s)) for s in rng.integers(0, 2**63 - 1, size=n)]


def lane_mask(item: Fault | Attack, lanes: Sequence[LaneSpec], model: NetworkModel) -> np.ndarray:
    """Per watched lane, True where ``item`` acts: its lanes, its edges' lanes, its lights' incoming lanes."""
    if not item.targeted:
        return np.ones(len(lanes), dtype=bool)
    named = set(item.lanes)
    edges = set(item.edges)
    for spec in model.intersections:
        if spec.id in item.lights:
            named |= {ln.id for ln in spec.incoming_lanes}
    return np.array([ln.id in named or ln.edge_id in edges for ln in lanes], dtype=bool)


@dataclass
class _Active:
    fault: Fault
    units: np.ndarray  # bool per unit
    rng: np.random.Generator


class FaultPlan:
    """The faults of a sensing configuration, bound to the watched units of one episode.

    Args:
        faults: the configured faults.
        unit_lane: for each unit, the row of its lane.
        unit_detector: for each unit, ``stopline`` / ``advance`` (loops) or ``both``.
        lane_masks: per fault, its watched-lane mask (see :func:`lane_mask`).
        rng: the episode's sensing generator (each fault gets its own stream).

    """

    def __init__(
        self,
        faults: Sequence[Fault],
        *,
        unit_lane: np.ndarray,
        unit_detector: Sequence[str],
        lane_masks: Sequence[np.ndarray],
        rng: np.random.Generator,
    ) -> None:
        self.n_units = len(unit_lane)
        self.n_lanes = len(lane_masks[0]) if lane_masks else 0
        self.unit_lane = unit_lane
        self.items: list[_Active] = []
        detectors = np.array(unit_detector)
        for fault, mask, gen in zip(faults, lane_masks, spawn(rng, len(faults)), strict=True):
            units = mask[unit_lane].copy()
            if fault.detector != "both":
                units &= detectors == fault.detector
            if fault.share < 1.0:  # a seeded share of the targeted units fails
                chosen = np.flatnonzero(units)
                keep = gen.permutation(chosen)[: round(fault.share * len(chosen))]
                units[:] = False
                units[keep] = True
            self.items.append(_Active(fault, units, gen))

    def _active(self, kind: str, elapsed_s: float) -> list[_Active]:
        return [a for a in self.items if a.fault.kind == kind and a.fault.active(elapsed_s)]

    def mask(self, kind: str, elapsed_s: float) -> np.ndarray:
        """Units under an active fault of ``kind`` (``stuck-off``, ``stuck-on``)."""
        out = np.zeros(self.n_units, dtype=bool)
        for a in self._active(kind, elapsed_s):
            out |= a.units
        return out

    def dropped(self, elapsed_s: float) -> np.ndarray:
        """Units whose reading is lost at this decision (each active dropout draws once per unit)."""
        out = np.zeros(self.n_units, dtype=bool)
        for a in self._active("dropout", elapsed_s):
            assert a.fault.rate is not None
            out |= a.units & (a.rng.random(self.n_units) < a.fault.rate)
        return out

    def drop_rates(self, elapsed_s: float) -> np.ndarray:
        """Per unit, the probability that one message is lost (active dropouts combined)."""
        keep = np.ones(self.n_units)
        for a in self._active("dropout", elapsed_s):
            assert a.fault.rate is not None
            keep *= np.where(a.units, 1.0 - a.fault.rate, 1.0)
        return 1.0 - keep

    def rng_of(self, kind: str) -> np.random.Generator | None:
        """Return the generator of the first fault of ``kind`` (per-vehicle draws), if there is one."""
        found = [a.rng for a in self.items if a.fault.kind == kind]
        return found[0] if found else None

    def count_noise(self, elapsed_s: float) -> np.ndarray:
        """Per unit, an integer count error for this decision (rounded normal draws, 0 elsewhere)."""
        out = np.zeros(self.n_units)
        for a in self._active("noise", elapsed_s):
            if a.fault.sd_veh is not None:
                out += np.where(a.units, a.rng.normal(0.0, a.fault.sd_veh, self.n_units), 0.0)
        return np.rint(out)

    def position_noise(self, elapsed_s: float) -> list[tuple[np.ndarray, float, np.random.Generator]]:
        """Return the active position-noise faults: (units, standard deviation [m], generator)."""
        return [
            (a.units, a.fault.sd_m, a.rng)
            for a in self._active("noise", elapsed_s)
            if a.fault.sd_m is not None
        ]

    def delays(self, elapsed_s: float) -> np.ndarray:
        """Per lane, the age of the data the controller sees [s] (the largest active latency)."""
        out = np.zeros(self.n_lanes)
        for a in self._active("latency", elapsed_s):
            assert a.fault.delay_s is not None
            lanes = np.zeros(self.n_lanes, dtype=bool)
            lanes[self.unit_lane[a.units]] = True
            out = np.maximum(out, np.where(lanes, a.fault.delay_s, 0.0))
        return out


class LostDecisions:
    """Requests that do not reach their signal: per light and decision, lost with probability q."""

    def __init__(self, faults: Sequence[Fault], lights: Sequence[str], rng: np.random.Generator) -> None:
        self.lights = tuple(lights)
        self.items = []
        for fault, gen in zip(faults, spawn(rng, len(faults)), strict=True):
            targets = np.array([not fault.lights or tls in fault.lights for tls in self.lights], dtype=bool)
            if fault.share < 1.0:
                chosen = np.flatnonzero(targets)
                keep = gen.permutation(chosen)[: round(fault.share * len(chosen))]
                targets[:] = False
                targets[keep] = True
            self.items.append((fault, targets, gen))

    def lost(self, elapsed_s: float) -> frozenset[str]:
        """Return the lights whose request of this decision is lost (one draw per light and fault)."""
        out = np.zeros(len(self.lights), dtype=bool)
        for fault, targets, gen in self.items:
            if fault.active(elapsed_s):
                assert fault.rate is not None
                out |= targets & (gen.random(len(self.lights)) < fault.rate)
        return frozenset(tls for tls, lost in zip(self.lights, out, strict=True) if lost)


class Diagnoser:
    """Detector diagnostics per unit: max presence (stuck on) and no activity (stuck off).

    Call :meth:`update` once per reading with the units' presence (a vehicle detected now)
    and, for zone detectors, whether the reading is unchanged since the previous one.
    """

    def __init__(self, settings: Diagnostics, n_units: int) -> None:
        self.settings = settings
        self.present_since = np.full(n_units, np.nan)
        self.absent_since = np.full(n_units, np.nan)
        self.ever_failed = np.zeros(n_units, dtype=bool)
        self.first_failure_s = math.nan
        self.failed_unit_s = 0.0  # unit-seconds reported failed (between readings)
        self._last: tuple[float, int] | None = None

    def update(self, now_s: float, presence: np.ndarray, steady: np.ndarray | None = None) -> np.ndarray:
        """Return the units reported failed now.

        Args:
            now_s: the reading's time [s].
            presence: per unit, True when a vehicle is detected now.
            steady: per unit, True when the reading did not change (None: presence alone counts,
                as for a loop, whose presence stays on only while a vehicle stands on it).

        """
        held = presence if steady is None else presence & steady
        self.present_since = np.where(
            held, np.where(np.isnan(self.present_since), now_s, self.present_since), np.nan
        )
        self.absent_since = np.where(
            presence, np.nan, np.where(np.isnan(self.absent_since), now_s, self.absent_since)
        )
        s = self.settings
        stuck_on = now_s - self.present_since >= s.max_presence_s
        stuck_off = now_s - self.absent_since >= s.no_activity_s
        failed = np.asarray(stuck_on | stuck_off, dtype=bool)
        if self._last is not None:
            self.failed_unit_s += (now_s - self._last[0]) * self._last[1]
        self._last = (now_s, int(failed.sum()))
        if failed.any() and math.isnan(self.first_failure_s):
            self.first_failure_s = now_s
        self.ever_failed |= failed
        return failed

    def summary(self) -> dict[str, float | None]:
        """Return what was reported: units ever failed, unit-seconds failed, the first report's time."""
        return {
            "units_reported_failed": float(self.ever_failed.sum()),
            "failed_unit_s": round(self.failed_unit_s, 3),
            "first_failure_s": None if math.isnan(self.first_failure_s) else self.first_failure_s,
        }


class AttackPlan:
    """Falsified readings (phantom and hidden queues) written over a frame's target lanes.

    The attacker writes the values the controller receives, downstream of the detectors and
    their diagnostics (the data feed to the controller is what is falsified).
    """

    def __init__(
        self, attacks: Sequence[Attack], masks: Sequence[np.ndarray], coverage_m: np.ndarray, begin_s: float
    ) -> None:
        self.items = [(a, m) for a, m in zip(attacks, masks, strict=True) if a.kind != "spoof"]
        self.coverage_m = coverage_m
        self.begin_s = begin_s

    def apply(self, frame: Frame) -> Frame:
        """Return ``frame`` with the active attacks' falsified values (a copy if any acts)."""
        elapsed = frame.time_s - self.begin_s
        active = [(a, m) for a, m in self.items if a.active(elapsed)]
        if not active:
            return frame
        out = frame.copy()
        vehicles = list(out.vehicles)
        for attack, mask in active:
            since = self.begin_s + attack.from_s
            if attack.kind == "phantom-queue":
                assert attack.vehicles is not None
                _phantom(out, vehicles, mask, attack.vehicles, self.coverage_m, frame.time_s - since)
            else:
                _hidden(out, vehicles, mask, attack.vehicles, frame.time_s - since)
        return replace(out, vehicles=tuple(vehicles))


def _phantom(
    frame: Frame, vehicles: list[LaneVehicles], mask: np.ndarray, n: int, coverage_m: np.ndarray, for_s: float
) -> None:
    v = frame.values
    before = v["vehicle_count"].copy()
    after = np.where(mask, before + n, before)
    v["mean_speed_m_s"][:] = np.where(
        mask & (after > 0),
        np.nan_to_num(v["mean_speed_m_s"]) * np.nan_to_num(before) / np.maximum(after, 1),
        v["mean_speed_m_s"],
    )
    v["vehicle_count"][:] = after
    v["halting_count"][:] = np.where(mask, v["halting_count"] + n, v["halting_count"])
    v["occupancy"][:] = np.where(
        mask,
        np.minimum(1.0, v["occupancy"] + n * JAM_SPACING_M / np.maximum(coverage_m, 1.0)),
        v["occupancy"],
    )
    v["jam_length_m"][:] = np.where(mask, v["jam_length_m"] + n * JAM_SPACING_M, v["jam_length_m"])
    v["gap_s"][:] = np.where(mask, 0.0, v["gap_s"])
    for row in np.flatnonzero(mask) if vehicles else ():
        lane = vehicles[row]
        tail = float(lane.dist_m[-1]) + JAM_SPACING_M if len(lane) else 0.0
        vehicles[row] = LaneVehicles.build(
            [*lane.ids, *(f"phantom:{row}:{k}" for k in range(n))],
            np.concatenate([lane.dist_m, tail + JAM_SPACING_M * np.arange(n)]),
            np.concatenate([lane.speed_m_s, np.zeros(n)]),
            np.concatenate([lane.waiting_s, np.full(n, max(for_s, 0.0))]),
        )


def _hidden(
    frame: Frame, vehicles: list[LaneVehicles], mask: np.ndarray, n: int | None, for_s: float
) -> None:
    v = frame.values
    halting = v["halting_count"]
    hide = np.where(mask, halting if n is None else np.minimum(halting, n), 0.0)
    count = v["vehicle_count"]
    left = count - np.nan_to_num(hide)
    share = np.where(count > 0, left / np.where(count > 0, count, 1.0), 1.0)
    v["occupancy"][:] = np.where(mask, v["occupancy"] * share, v["occupancy"])
    v["vehicle_count"][:] = np.where(mask, left, count)
    v["halting_count"][:] = np.where(mask, halting - hide, halting)
    v["jam_length_m"][:] = np.where(
        mask, np.maximum(0.0, v["jam_length_m"] - np.nan_to_num(hide) * JAM_SPACING_M), v["jam_length_m"]
    )
    if n is None:  # nothing stands on the lane's detectors any more
        v["gap_s"][:] = np.where(mask, np.maximum(v["gap_s"], for_s), v["gap_s"])
    for row in np.flatnonzero(mask) if vehicles else ():
        lane = vehicles[row]
        stopped = np.flatnonzero(lane.speed_m_s < HALTING_SPEED_M_S)
        gone = set((stopped if n is None else stopped[:n]).tolist())
        keep = [i for i in range(len(lane)) if i not in gone]
        vehicles[row] = LaneVehicles.build(
            [lane.ids[i] for i in keep], lane.dist_m[keep], lane.speed_m_s[keep], lane.waiting_s[keep]
        )


class Delay:
    """Latency: the controller sees, lane by lane, the newest frame at least ``delay`` seconds old.

    Before the first old-enough frame exists the oldest one is given (nothing older was measured).
    """

    def __init__(self, max_delay_s: float) -> None:
        self.max_delay_s = max_delay_s
        self.frames: deque[Frame] = deque()

    def apply(self, frame: Frame, delays: np.ndarray) -> Frame:
        """Return what the controller sees now, given the newest ``frame`` and per-lane delays."""
        self.frames.append(frame)
        while len(self.frames) > 1 and self.frames[1].time_s <= frame.time_s - self.max_delay_s:
            self.frames.popleft()
        if not delays.any():
            return frame
        out = frame
        for delay in np.unique(delays[delays > 0]):
            old = self._at(frame.time_s - float(delay))
            out = out.mixed(old, delays == delay)
        return out

    def _at(self, time_s: float) -> Frame:
        found = self.frames[0]
        for f in self.frames:
            if f.time_s <= time_s + 1e-9:
                found = f
            else:
                break
        return found
