"""Running SUMO as a plain process, for trials in which no Python controller acts."""

from __future__ import annotations

from signalbench.errors import SimulationError
from signalbench.sim._binaries import sumo_binary, sumo_release
from signalbench.sim._config import SimConfig
from signalbench.sim._preflight import preflight
from signalbench.sim._tools import run_tool

__all__ = ["run_sumo"]


def run_sumo(config: SimConfig, *, timeout_s: float | None = None) -> list[str]:
    """Run ``sumo`` to the end of ``config`` without TraCI; return the command line used.

    The child is killed on any exit path (exception, KeyboardInterrupt, timeout).
    """
    if config.gui:
        raise SimulationError("run_sumo runs the console binary; use the traci backend for sumo-gui")
    preflight(config)
    binary = sumo_binary(override=config.sumo_binary)
    cmd = config.command(binary, version=sumo_release(config.sumo_binary))
    run_tool(
        "sumo", (), binary=config.sumo_binary, timeout_s=timeout_s, capture_stdout=False, full_command=cmd
    )
    return cmd
