"""Detection helpers shared by controllers: which vehicles count as queued near a stop line."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np

from signalbench.sim import LaneVehicles

__all__ = ["QUEUE_RULES", "QueueRule", "QueueTracker"]

QueueRule = Literal["halting", "stopped", "stopped-2021"]

#: ``halting``: slower than 0.1 m/s now. ``stopped``: has stopped since it was first
#: detected and is still detected (RESCO's rule since its fix bc0f5c8, Nov 2022: a vehicle
#: that creeps forward in a queue stays queued). ``stopped-2021``: the rule of RESCO's code
#: as it produced the published 2021 numbers: the memory is one per signal, keyed by vehicle,
#: and a vehicle *new* to the detection set is forgotten right after it is counted, so it
#: counts as queued at its first observation only if it is halting then, and becomes queued
#: for good (while detected) at the first later observation that sees it halting; a vehicle
#: that leaves keeps its memory until it is seen again.
QUEUE_RULES: tuple[str, ...] = ("halting", "stopped", "stopped-2021")

_HALTING_SPEED_M_S = 0.1  # SUMO's own threshold for a halting vehicle


class QueueTracker:
    """Counts queued and approaching vehicles within a detection range of each lane's end.

    Args:
        detection_m: only vehicles at most this far from the lane's end are detected [m].
        rule: what makes a detected vehicle queued (see :data:`QUEUE_RULES`).


    One tracker serves one intersection for one episode; call :meth:`update` once per
    decision with every lane it should know about, so that vehicles no longer detected are
    forgotten.

    """

    def __init__(self, detection_m: float = float("inf"), rule: QueueRule = "halting") -> None:
        if rule not in QUEUE_RULES:
            raise ValueError(f"queue rule must be one of {', '.join(QUEUE_RULES)}, got {rule!r}")
        if not detection_m > 0:
            raise ValueError(f"detection distance must be > 0 m, got {detection_m!r}")
        self.detection_m = float(detection_m)
        self.rule = rule
        self._queued: set[tuple[int, int, str]] = set()
        self._memory: set[str] = set()  # stopped-2021: vehicle ids, one memory for all groups
        self._last_seen: set[str] | None = None

    def update(self, *groups: Sequence[LaneVehicles]) -> tuple[np.ndarray, ...]:
        """Return, per group, the queued vehicles on each lane [veh]; also refreshes the state.

        Pass the same groups of lanes, in the same order, at every call: the ``stopped``
        memory is kept per lane. :attr:`approaching` holds the matching counts of detected
        vehicles not queued.
        """
        seen: set[tuple[int, int, str]] = set()
        seen_ids: set[str] = set()
        queues: list[np.ndarray] = []
        approaching: list[np.ndarray] = []
        for g, lanes in enumerate(groups):
            q = np.zeros(len(lanes), dtype=np.float64)
            a = np.zeros(len(lanes), dtype=np.float64)
            for i, lane in enumerate(lanes):
                n = lane.within(self.detection_m)
                for vid, speed, wait in zip(
                    lane.ids[:n], lane.speed_m_s[:n], lane.waiting_s[:n], strict=True
                ):
                    if self.rule == "halting":
                        queued = speed < _HALTING_SPEED_M_S
                    elif self.rule == "stopped-2021":
                        seen_ids.add(vid)
                        queued = vid in self._memory or wait > 0
                        if queued:
                            self._memory.add(vid)
                    else:
                        # Memory per lane (group and position), as RESCO keeps it per signal and
                        # lane: a vehicle that stopped here is not queued on the next lane.
                        key = (g, i, vid)
                        seen.add(key)
                        queued = key in self._queued or wait > 0
                        if queued:
                            self._queued.add(key)
                    if queued:
                        q[i] += 1
                    else:
                        a[i] += 1
            queues.append(q)
            approaching.append(a)
        self._queued &= seen
        if self.rule == "stopped-2021":
            if self._last_seen is not None:
                self._memory -= seen_ids - self._last_seen  # new to the detection set: forgotten
            self._last_seen = seen_ids
        self.approaching: tuple[np.ndarray, ...] = tuple(approaching)
        return tuple(queues)
