"""The SUMO seam: the only package that imports libsumo or traci.

Backends: ``libsumo`` (default: in-process, fastest, opens no port), ``traci`` (socket: needed
for sumo-gui, another SUMO binary, or a remote SUMO) and ``fake`` (unit tests).
"""

from __future__ import annotations

from signalbench.errors import SimulationError
from signalbench.sim._backend import (
    LANE_FIELDS,
    OBSERVABLE_FIELDS,
    VEHICLES,
    Backend,
    BackendKind,
    LaneVehicles,
    check_fields,
)
from signalbench.sim._binaries import sumo_binary, sumo_env, sumo_home, sumo_version
from signalbench.sim._config import SimConfig
from signalbench.sim._fake import FakeBackend
from signalbench.sim._libsumo import LibsumoBackend
from signalbench.sim._process import run_sumo
from signalbench.sim._traci import TraciBackend

__all__ = [
    "BACKENDS",
    "LANE_FIELDS",
    "OBSERVABLE_FIELDS",
    "VEHICLES",
    "Backend",
    "BackendKind",
    "FakeBackend",
    "LaneVehicles",
    "LibsumoBackend",
    "SimConfig",
    "TraciBackend",
    "check_fields",
    "make_backend",
    "run_sumo",
    "sumo_binary",
    "sumo_env",
    "sumo_home",
    "sumo_version",
]

#: Backends that run a real SUMO, by name.
BACKENDS: tuple[str, ...] = ("libsumo", "traci")


def make_backend(kind: str) -> Backend:
    """Return a new, unstarted backend of the given kind (``"libsumo"`` or ``"traci"``)."""
    if kind == "libsumo":
        return LibsumoBackend()
    if kind == "traci":
        return TraciBackend()
    raise SimulationError(f"unknown backend {kind!r}; choose one of {', '.join(BACKENDS)}")
