"""The vectorised path: every light of a large network decided in one numpy call.

A per-intersection controller may offer a :class:`BatchDecider` (``batched()``) that answers
for all lights at once from a :class:`NetworkObs` (arrays over the watched lanes) instead of
one :class:`IntersectionObs` and one ``act`` call per light. It must give exactly the
requests of the per-light path, which stays the reference (tests compare both).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np

from signalbench.sim import LaneReadings

if TYPE_CHECKING:
    from signalbench.networks import IntersectionSpec

__all__ = ["HOLD", "BatchDecider", "Batchable", "NetworkLayout", "NetworkObs", "first_max"]

#: A decider's answer for a light that holds its phase (``PhaseRequest.hold()``).
HOLD = -1


def _concat(parts: Sequence[np.ndarray], dtype: type = np.intp) -> np.ndarray:
    return np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype=dtype)


@dataclass(frozen=True, eq=False)
class NetworkLayout:
    """Where every light's lanes, movements and phases sit in the flat arrays (built once).

    A light's green phases occupy the slots ``light * max_phases + k``; slots past a light's
    own phase count are padding (``phase_valid`` False).

    Attributes:
        ids: light ids, in the network model's order.
        n_phases: green phases per light.
        max_phases: the largest phase count (width of a padded phase table).
        phase_valid: (lights, max_phases) True where the phase exists.
        in_rows: reading row of every incoming lane, lights concatenated.
        in_light: the light owning each entry of ``in_rows``.
        out_rows: reading row of every outgoing lane, lights concatenated.
        out_has_downstream: per entry of ``out_rows``: a controlled light follows.
        down_pairs: (outgoing entry, reading row) pairs: the downstream lanes of each outgoing lane.
        mv_in: per movement (lights concatenated): its entry in ``in_rows``.
        mv_out: per movement: its entry in ``out_rows``.
        pm_slot, pm_mv: (phase slot, movement) pairs: the movements each phase serves.
        pl_slot, pl_in: (phase slot, incoming entry) pairs: the lanes each phase serves (unique).

    """

    ids: tuple[str, ...]
    n_phases: np.ndarray
    max_phases: int
    phase_valid: np.ndarray
    in_rows: np.ndarray
    in_light: np.ndarray
    out_rows: np.ndarray
    out_has_downstream: np.ndarray
    down_pairs: tuple[np.ndarray, np.ndarray]
    mv_in: np.ndarray
    mv_out: np.ndarray
    pm_slot: np.ndarray
    pm_mv: np.ndarray
    pl_slot: np.ndarray
    pl_in: np.ndarray

    @classmethod
    def build(cls, specs: Sequence[IntersectionSpec], lane_row: Mapping[str, int]) -> NetworkLayout:
        """Lay out ``specs`` over readings whose rows are given by ``lane_row`` (lane id -> row)."""
        n_phases = np.array([s.n_phases for s in specs], dtype=np.intp)
        width = int(n_phases.max()) if len(specs) else 1
        in_rows, in_light, out_rows, out_down = [], [], [], []
        down_out, down_row = [], []
        mv_in, mv_out, pm_slot, pm_mv, pl_slot, pl_in = [], [], [], [], [], []
        n_in = n_out = n_mv = 0
        for k, spec in enumerate(specs):
            in_rows.append(np.array([lane_row[ln.id] for ln in spec.incoming_lanes], dtype=np.intp))
            in_light.append(np.full(len(spec.incoming_lanes), k, dtype=np.intp))
            out_rows.append(np.array([lane_row[ln.id] for ln in spec.outgoing_lanes], dtype=np.intp))
            out_down.append(np.array([bool(ln.downstream_lanes) for ln in spec.outgoing_lanes], dtype=bool))
            for j, ln in enumerate(spec.outgoing_lanes):
                for d in ln.downstream_lanes:
                    if d in lane_row:
                        down_out.append(n_out + j)
                        down_row.append(lane_row[d])
            mv_in.append(np.asarray(spec.movement_in_lane, dtype=np.intp) + n_in)
            mv_out.append(np.asarray(spec.movement_out_lane, dtype=np.intp) + n_out)
            for p, phase in enumerate(spec.green_phases):
                slot = k * width + p
                movements = np.unique(np.asarray(phase.movements, dtype=np.intp))
                pm_slot.append(np.full(len(movements), slot, dtype=np.intp))
                pm_mv.append(movements + n_mv)
                lanes = np.unique(np.asarray(spec.movement_in_lane, dtype=np.intp)[movements])
                pl_slot.append(np.full(len(lanes), slot, dtype=np.intp))
                pl_in.append(lanes + n_in)
            n_in += len(spec.incoming_lanes)
            n_out += len(spec.outgoing_lanes)
            n_mv += len(spec.movement_in_lane)
        valid = np.arange(width)[None, :] < n_phases[:, None]
        return cls(
            ids=tuple(s.id for s in specs),
            n_phases=n_phases,
            max_phases=width,
            phase_valid=valid,
            in_rows=_concat(in_rows),
            in_light=_concat(in_light),
            out_rows=_concat(out_rows),
            out_has_downstream=_concat(out_down, bool),
            down_pairs=(np.asarray(down_out, dtype=np.intp), np.asarray(down_row, dtype=np.intp)),
            mv_in=_concat(mv_in),
            mv_out=_concat(mv_out),
            pm_slot=_concat(pm_slot),
            pm_mv=_concat(pm_mv),
            pl_slot=_concat(pl_slot),
            pl_in=_concat(pl_in),
        )

    def __len__(self) -> int:
        return len(self.ids)

    def phase_sums(self, slot: np.ndarray, values: np.ndarray) -> np.ndarray:
        """Sum ``values`` per phase slot; a (lights, max_phases) table, padding -inf."""
        sums = np.bincount(slot, weights=values, minlength=len(self) * self.max_phases)
        table = sums.reshape(len(self), self.max_phases)
        return np.where(self.phase_valid, table, -np.inf)

    def phase_max(self, slot: np.ndarray, values: np.ndarray) -> np.ndarray:
        """Maximum of ``values`` per phase slot (0 for a phase with no entries), padding -inf."""
        table = np.zeros(len(self) * self.max_phases, dtype=np.float64)
        np.maximum.at(table, slot, values)
        return np.where(self.phase_valid, table.reshape(len(self), self.max_phases), -np.inf)


@dataclass(frozen=True, kw_only=True, eq=False)
class NetworkObs:
    """Every controlled light at one decision, as arrays (what a :class:`BatchDecider` reads).

    Attributes:
        layout: where each light's lanes and phases are.
        time_s: simulation time [s].
        phase: current green phase per light (the target during a transition).
        in_transition: True where yellow or all-red is shown.
        time_in_phase_s: time since the current green started, per light [s].
        lanes: the watched fields of every watched lane, in reading rows.
        within: vehicles at most a distance [m] from each row's lane end (the stop line of an
            incoming lane, its approach included when the controller observes upstream
            lanes), per reading row; None unless ``vehicles`` is observed.

    """

    layout: NetworkLayout
    time_s: float
    phase: np.ndarray
    in_transition: np.ndarray
    time_in_phase_s: np.ndarray
    lanes: LaneReadings
    within: Callable[[float], np.ndarray] | None = None


@runtime_checkable
class BatchDecider(Protocol):
    """Decides for every light at once; the answer per light is a phase index or :data:`HOLD`."""

    def decide(self, obs: NetworkObs) -> np.ndarray:
        """Return the requested phase per light (``HOLD`` for ``PhaseRequest.hold()``)."""


def first_max(table: np.ndarray, current: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row: the largest value, and the index ``pick_max`` would choose (current wins ties).

    Returns (best value, chosen index); the chosen index is ``current`` where it is among the best.
    """
    best = table.max(axis=1)
    rows = np.arange(len(table))
    keep = table[rows, current] >= best
    return best, np.where(keep, current, table.argmax(axis=1))


@runtime_checkable
class Batchable(Protocol):
    """A per-intersection controller that can also decide for every light in one call."""

    def batched(self) -> BatchDecider | None:
        """Return a decider for all lights with this controller's parameters (None: not vectorised)."""
