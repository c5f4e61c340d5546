"""``max-pressure``: serve the green phase with the largest total movement pressure.

Varaiya (2013), "Max pressure control of a network of signalized intersections",
Transportation Research Part C 36: the pressure of a movement is its upstream queue minus its
downstream queue; the phase whose served movements have the largest summed pressure gets green.
Turning ratios are taken as 1 per movement, as in most open-source implementations.

Defaults (signalbench's own formulation): a movement is a signal link (lane to lane); a queue
is the number of halting vehicles (speed < 0.1 m/s) on the whole lane; the downstream queue is
the one on the movement's outgoing lane; every green phase is a candidate and ties keep the
current phase.

The options reproduce the RESCO benchmark's max-pressure (Ault & Sharon 2021, its
``states.mplight`` and ``agents/maxpressure.py``), one difference at a time:
``detection_m = 200`` (vehicles within 200 m of the stop line), ``queue = "stopped-2021"``
(its queue memory as it produced the published numbers), ``downstream = "signalised"`` (the
queue the next light sees on its approach from this side), ``groups = "direction"`` (the twelve
direction movements, a lane counted once per movement it serves, the downstream approach
subtracted once per movement leaving towards it), ``actions = "pairs"`` (only the phases that
serve one of the benchmark's phase pairs, valued by that pair) and ``ties = "first"`` (equal
pressures go to the first such phase). See ``experiments/resco/README.md``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

from signalbench.controllers._api import IntersectionObs, PhaseRequest
from signalbench.controllers._base import BaseController
from signalbench.controllers._batch import HOLD, NetworkObs, first_max
from signalbench.controllers._detection import QUEUE_RULES, QueueRule, QueueTracker
from signalbench.controllers._movements import (
    MOVEMENT_KEYS,
    PHASE_PAIRS,
    DirectionMovements,
    direction_movements,
)
from signalbench.controllers._phases import check_choice, check_flag, check_number
from signalbench.networks import IntersectionSpec
from signalbench.sim import LaneVehicles

__all__ = ["ACTIONS", "GROUPS", "TIES", "MaxPressure", "MaxPressureParams", "choose", "default_formulation"]

Downstream = Literal["out-lane", "signalised", "none"]
_DOWNSTREAM = ("out-lane", "signalised", "none")
Groups = Literal["links", "direction"]
#: ``links``: a movement is one signal link, so a lane counts once per link a phase gives it.
#: ``direction``: the twelve direction movements (arrival heading x turn); a lane counts once
#: per direction movement it serves.
GROUPS: tuple[str, ...] = ("links", "direction")
Actions = Literal["all", "pairs"]
#: ``all``: every green phase. ``pairs``: only the phases serving one of the benchmark's phase
#: pairs (one phase per pair), valued by the pair's two direction movements.
ACTIONS: tuple[str, ...] = ("all", "pairs")
Ties = Literal["hold", "first"]
#: ``hold``: the current phase wins ties. ``first``: the first candidate phase does.
TIES: tuple[str, ...] = ("hold", "first")


@dataclass(frozen=True, kw_only=True)
class MaxPressureParams:
    """Parameters of :class:`MaxPressure`.

    Attributes:
        detection_m: vehicles count only within this distance of the stop line [m]; None
            counts the whole lane (cheapest: no per-vehicle data needed).
        queue: ``halting`` (slower than 0.1 m/s now), ``stopped`` (stopped at some time
            since it was first detected, and still detected) or ``stopped-2021`` (RESCO's
            memory before its fix, see :data:`~signalbench.controllers._detection.QUEUE_RULES`).
        downstream: ``out-lane``: the queue on the movement's outgoing lane; ``signalised``:
            the queue on the next traffic light's incoming lanes that this movement feeds
            (all of that light's lanes on the edge it arrives on), and nothing when no
            controlled light follows; ``none``: no downstream term.
        upstream: count within ``detection_m`` also on the lanes feeding each incoming lane
            through unsignalised junctions (needs ``detection_m``): the detection zone
            follows the approach instead of stopping where SUMO split the road.
        groups: ``links`` or ``direction`` (see :data:`GROUPS`).
        actions: ``all`` or ``pairs`` (see :data:`ACTIONS`).
        ties: ``hold`` or ``first`` (see :data:`TIES`).

    """

    detection_m: float | None = None
    queue: QueueRule = "halting"
    downstream: Downstream = "out-lane"
    upstream: bool = False
    groups: Groups = "links"
    actions: Actions = "all"
    ties: Ties = "hold"

    def __post_init__(self) -> None:
        if self.detection_m is not None:
            check_number("detection_m", self.detection_m)
        check_choice("queue", self.queue, QUEUE_RULES)
        check_flag("upstream", self.upstream)
        if self.upstream and self.detection_m is None:
            raise ValueError("upstream = true needs detection_m (how far back along the approach)")
        check_choice("downstream", self.downstream, _DOWNSTREAM)
        check_choice("groups", self.groups, GROUPS)
        check_choice("actions", self.actions, ACTIONS)
        check_choice("ties", self.ties, TIES)

    @property
    def needs_vehicles(self) -> bool:
        """True when per-vehicle observations are needed (a range, a memory, lanes counted once)."""
        return self.detection_m is not None or self.queue != "halting" or self.groups == "direction"


def default_formulation(groups: str, actions: str, ties: str) -> bool:
    """Tell whether a formulation is signalbench's own (the one the vectorised deciders implement)."""
    return (groups, actions, ties) == (GROUPS[0], ACTIONS[0], TIES[0])


def choose(scores: np.ndarray, candidates: np.ndarray, current: int, ties: str) -> int:
    """Return the best candidate phase; ties go to the current phase (``hold``) or the first one."""
    best = float(np.max(scores[candidates]))
    if ties == "hold" and current in candidates and scores[current] >= best:
        return current
    return int(candidates[int(np.argmax(scores[candidates] >= best))])


class MaxPressure(BaseController):
    """Pick the phase with the largest pressure (ties: see ``ties``)."""

    Params = MaxPressureParams
    params: MaxPressureParams

    def __init__(self, params: MaxPressureParams | None = None) -> None:
        super().__init__(params)
        self.observed_lane_fields = ("vehicles",) if self.params.needs_vehicles else ("halting_count",)
        if self.params.upstream and self.params.detection_m is not None:
            self.observed_upstream_m = self.params.detection_m

    def reset(self, spec: IntersectionSpec, rng: np.random.Generator) -> None:
        """Start a new episode with an empty queue memory."""
        super().reset(spec, rng)
        p = self.params
        detect = p.detection_m if p.detection_m is not None else math.inf
        # One memory per group of lanes this light observes: its own approaches (RESCO keeps one
        # per signal), its outgoing lanes, and the approaches of the lights downstream.
        self._trackers = [QueueTracker(detect, p.queue) for _ in range(3)]
        self._phase_movements = spec.phase_movements.astype(np.float64)
        self._has_downstream = np.array([bool(ln.downstream_lanes) for ln in spec.outgoing_lanes])
        self._candidates = np.arange(spec.n_phases)
        self._direction: DirectionMovements | None = None
        if p.groups == "direction" or p.actions == "pairs":
            dm = direction_movements(spec)
            if p.actions == "pairs" and dm.actions:
                self._candidates = np.array(dm.actions)
            if p.groups == "direction":
                self._direction = dm
                sel = np.zeros((spec.n_phases, len(dm.lanes)))
                for k in range(spec.n_phases):
                    if p.actions == "pairs":
                        if dm.phase_pair[k] >= 0:
                            sel[k, list(PHASE_PAIRS[dm.phase_pair[k]])] = 1.0
                    else:
                        sel[k] = dm.phase_movements[k]
                self._phase_select = sel
                # As RESCO forms it: every movement leaving with the same heading subtracts the
                # same lanes, those all of them lead to (each lane once).
                by_exit: dict[str, set[int]] = {}
                for k, key in enumerate(MOVEMENT_KEYS):
                    by_exit.setdefault(key.split("-")[1], set()).update(dm.exit_lanes[k])
                self._exit_sets = [sorted(by_exit[key.split("-")[1]]) for key in MOVEMENT_KEYS]

    def _queues(self, obs: IntersectionObs) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, float]]:
        """Queues per incoming lane, outgoing lane, downstream of each outgoing lane, downstream lane."""
        spec, p = obs.spec, self.params
        if not p.needs_vehicles:
            q_down = obs.down_halting if obs.down_halting is not None else np.zeros(len(obs.out_halting))
            return obs.in_halting, obs.out_halting, q_down, {}
        (q_in,) = self._trackers[0].update(obs.in_lane_vehicles)
        (q_out,) = self._trackers[1].update(obs.out_lane_vehicles)
        # Each downstream lane once, as the next light observes it.
        lanes: dict[str, LaneVehicles] = {}
        for ln, vehicles in zip(spec.outgoing_lanes, obs.down_lane_vehicles, strict=False):
            if len(vehicles) == len(ln.downstream_lanes):
                lanes.update(zip(ln.downstream_lanes, vehicles, strict=True))
        ids = sorted(lanes)
        (q,) = self._trackers[2].update([lanes[i] for i in ids])
        per_lane = dict(zip(ids, (float(x) for x in q), strict=True))
        q_down = np.array(
            [sum(per_lane.get(d, 0.0) for d in ln.downstream_lanes) for ln in spec.outgoing_lanes],
            dtype=np.float64,
        )
        return q_in, q_out, q_down, per_lane

    def pressures(self, obs: IntersectionObs) -> np.ndarray:
        """Pressure of every green phase [veh]."""
        spec, p = obs.spec, self.params
        q_in, q_out, q_down, per_lane = self._queues(obs)
        if self._direction is None:
            if p.downstream == "out-lane":
                down = q_out
            elif p.downstream == "signalised":
                down = np.where(self._has_downstream, q_down, 0.0)
            else:
                down = np.zeros(len(spec.outgoing_lanes))
            movement = q_in[spec.movement_in_lane] - down[spec.movement_out_lane]
            return self._phase_movements @ movement  # type: ignore[no-any-return]
        dm = self._direction
        inbound = dm.lanes @ q_in
        outbound = np.zeros(len(inbound))
        for k, outs in enumerate(self._exit_sets):
            if not outs or p.downstream == "none":
                continue
            if p.downstream == "out-lane":
                outbound[k] = float(q_out[outs].sum())
            else:  # the downstream approaches, each lane once
                down_lanes = {d for o in outs for d in spec.outgoing_lanes[o].downstream_lanes}
                outbound[k] = sum(per_lane.get(d, 0.0) for d in down_lanes)
        return self._phase_select @ (inbound - outbound)  # type: ignore[no-any-return]

    def act(self, obs: IntersectionObs) -> PhaseRequest:
        """Request the max-pressure phase."""
        phase = choose(self.pressures(obs), self._candidates, obs.phase, self.params.ties)
        return PhaseRequest.hold() if phase == obs.phase else PhaseRequest.switch(phase)

    def batched(self) -> _MaxPressureBatch | None:
        """All lights at once from halting counts (None with a range or the stopped rule)."""
        if type(self) is not MaxPressure:  # a subclass may decide otherwise: it keeps the per-light path
            return None
        p = self.params
        if p.needs_vehicles or not default_formulation(p.groups, p.actions, p.ties):
            return None  # a range, the stopped rule or RESCO's formulation: the per-light path
        return _MaxPressureBatch(p.downstream)


class _MaxPressureBatch:
    """:meth:`MaxPressure.act` for every light in one call (halting counts on whole lanes)."""

    def __init__(self, downstream: Downstream) -> None:
        self.downstream = downstream

    def decide(self, obs: NetworkObs) -> np.ndarray:
        layout, halting = obs.layout, obs.lanes.halting_count
        q_in = halting[layout.in_rows]
        if self.downstream == "out-lane":
            down = halting[layout.out_rows]
        elif self.downstream == "signalised":
            out_idx, rows = layout.down_pairs
            q_down = np.bincount(
                out_idx, weights=np.nan_to_num(halting, nan=0.0)[rows], minlength=len(layout.out_rows)
            )
            down = np.where(layout.out_has_downstream, q_down, 0.0)
        else:
            down = np.zeros(len(layout.out_rows))
        movement = q_in[layout.mv_in] - down[layout.mv_out]
        table = layout.phase_sums(layout.pm_slot, movement[layout.pm_mv])
        _, pick = first_max(table, obs.phase)
        return np.where(pick == obs.phase, HOLD, pick)
