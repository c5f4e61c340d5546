"""Running SUMO as a plain process, for trials in which no Python controller acts."""

from __future__ import annotations

import subprocess
import sys

from signalbench.errors import SimulationError
from signalbench.sim._binaries import sumo_binary, sumo_env, sumo_release
from signalbench.sim._config import SimConfig
from signalbench.sim._preflight import preflight

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
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        env=sumo_env(config.sumo_binary),
        text=True,
        errors="replace",
    )
    try:
        _, stderr = proc.communicate(timeout=timeout_s)
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    if proc.returncode != 0:
        lines = [ln for ln in (stderr or "").splitlines() if ln.strip()]
        detail = " | ".join(lines[-3:]) or "no output"
        raise SimulationError(f"sumo exited with status {proc.returncode}: {detail}")
    if stderr and "Error" in stderr:  # pragma: no cover - SUMO reports errors with status != 0
        print(stderr, file=sys.stderr)
    return cmd
