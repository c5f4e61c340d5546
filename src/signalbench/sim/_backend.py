"""The backend contract: the only way the rest of signalbench touches a running SUMO."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal, Protocol, TypeVar, runtime_checkable

import numpy as np

if TYPE_CHECKING:
    from signalbench.sim._config import SimConfig

__all__ = ["LANE_FIELDS", "Backend", "BackendKind", "Closing", "check_fields"]

BackendKind = Literal["libsumo", "traci", "fake"]

#: Columns of :meth:`Backend.read_lanes`, in order, with their units.
LANE_FIELDS: tuple[str, ...] = (
    "vehicle_count",  # vehicles on the lane in the last step [veh]
    "halting_count",  # vehicles slower than 0.1 m/s [veh]
    "occupancy",  # share of the lane length covered by vehicles [0..1]
    "mean_speed_m_s",  # mean speed of vehicles on the lane, lane speed limit if empty [m/s]
)


def check_fields(fields: Sequence[str]) -> tuple[int, ...]:
    """Column indices of ``fields`` in :data:`LANE_FIELDS`; unknown names raise ValueError."""
    unknown = [f for f in fields if f not in LANE_FIELDS]
    if unknown:
        raise ValueError(f"unknown lane field {unknown[0]!r}; known: {', '.join(LANE_FIELDS)}")
    return tuple(sorted({LANE_FIELDS.index(f) for f in fields}))


@runtime_checkable
class Backend(Protocol):
    """One SUMO simulation, owned by one object (no module-level "current connection").

    Lifecycle: ``start(config)`` once, then any number of reads and ``step_until`` calls,
    then ``close()`` (idempotent; also called by ``__exit__``). A backend is single-use.
    """

    kind: BackendKind

    def start(self, config: SimConfig) -> None:
        """Start SUMO with ``config``; raise :class:`SimulationError` if it cannot start."""

    def close(self) -> None:
        """Stop SUMO, flush its outputs and release every resource. Safe to call twice."""

    def time_s(self) -> float:
        """Return the current simulation time [s]."""

    def step_until(self, time_s: float) -> None:
        """Advance the simulation to ``time_s`` in one call (no per-step Python round trip)."""

    def watch_lanes(self, lane_ids: Sequence[str], fields: Sequence[str] = LANE_FIELDS) -> None:
        """Declare the lanes :meth:`read_lanes` returns, in this order, and which fields.

        Reading fewer fields is cheaper, above all over a socket: a controller that needs
        only queues should not pay for speeds and occupancies.
        """

    def read_lanes(self) -> np.ndarray:
        """Return a float array of shape (len(watched lanes), len(LANE_FIELDS)).

        Columns of fields that are not watched hold NaN.
        """

    def set_signal_state(self, tls_id: str, state: str) -> None:
        """Set a traffic light's full signal string; the program's own timers stop."""

    def signal_state(self, tls_id: str) -> str:
        """Return a traffic light's current signal string."""

    def __enter__(self) -> Backend: ...

    def __exit__(self, *exc: object) -> None: ...


_B = TypeVar("_B", bound="Closing")


class Closing:
    """Context-manager plumbing shared by the backends: every exit path calls ``close()``."""

    def close(self) -> None:  # pragma: no cover - every backend defines it
        """Release the simulation."""
        raise NotImplementedError

    def __enter__(self: _B) -> _B:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        with contextlib.suppress(Exception):  # interpreter shutdown: nothing left to report to
            self.close()
