"""The SUMO seam: the only package that imports libsumo or traci.

Backends: ``libsumo`` (default: in-process, fastest, opens no port) and ``traci`` (socket: needed
for sumo-gui, another SUMO binary, or a remote SUMO); the fake backend of the unit tests lives
in :mod:`signalbench.testing`. Also here: the SUMO binaries and releases, and running SUMO's
programs and tools (:func:`run_tool`) with one error policy.
"""

from __future__ import annotations

from signalbench.errors import SimulationError
from signalbench.sim._backend import (
    DETECTOR_FIELDS,
    LANE_FIELDS,
    LANE_TRUTH_FIELDS,
    LOOP_FIELDS,
    OBSERVABLE_FIELDS,
    VEHICLES,
    ZONE_FIELDS,
    Backend,
    BackendKind,
    Closing,
    DetectorReadings,
    LaneReadings,
    LaneVehicles,
    VehicleFilter,
    check_fields,
)
from signalbench.sim._binaries import sumo_binary, sumo_env, sumo_home, sumo_release, sumo_version
from signalbench.sim._config import SimConfig
from signalbench.sim._install import (
    InstalledSumo,
    bundled_sumo,
    find_sumo,
    install_sumo,
    installed_sumos,
    normalize_version,
    remove_sumo,
    resolve_sumo,
    sumo_cache_dir,
)
from signalbench.sim._libsumo import LibsumoBackend
from signalbench.sim._process import run_sumo
from signalbench.sim._tools import ToolError, ToolResult, run_tool, tool_command
from signalbench.sim._traci import TraciBackend
from signalbench.sim._versions import SumoVersion

__all__ = [
    "BACKENDS",
    "DETECTOR_FIELDS",
    "LANE_FIELDS",
    "LANE_TRUTH_FIELDS",
    "LOOP_FIELDS",
    "OBSERVABLE_FIELDS",
    "VEHICLES",
    "ZONE_FIELDS",
    "Backend",
    "BackendKind",
    "Closing",
    "DetectorReadings",
    "InstalledSumo",
    "LaneReadings",
    "LaneVehicles",
    "LibsumoBackend",
    "SimConfig",
    "SumoVersion",
    "ToolError",
    "ToolResult",
    "TraciBackend",
    "VehicleFilter",
    "bundled_sumo",
    "check_fields",
    "find_sumo",
    "install_sumo",
    "installed_sumos",
    "make_backend",
    "normalize_version",
    "remove_sumo",
    "resolve_sumo",
    "run_sumo",
    "run_tool",
    "sumo_binary",
    "sumo_cache_dir",
    "sumo_env",
    "sumo_home",
    "sumo_release",
    "sumo_version",
    "tool_command",
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
