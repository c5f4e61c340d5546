"""Locating SUMO's binaries and data from the installed ``eclipse-sumo`` package."""

from __future__ import annotations

import contextlib
import functools
import importlib.metadata
import importlib.util
import os
import re
import subprocess
from pathlib import Path

from signalbench.errors import SimulationError

__all__ = ["sumo_binary", "sumo_env", "sumo_home", "sumo_version"]


@functools.lru_cache(maxsize=1)
def sumo_home() -> Path:
    """Return the SUMO installation directory shipped by the ``eclipse-sumo`` wheel.

    An explicit ``SUMO_HOME`` environment variable wins, so a user can point at a system SUMO.
    """
    env_home = os.environ.get("SUMO_HOME")
    if env_home and (Path(env_home) / "bin").is_dir():
        return Path(env_home)
    try:
        import sumo  # the eclipse-sumo package; importing it only sets two env variables
    except ImportError as exc:  # pragma: no cover - dependency of the project
        raise SimulationError(
            "eclipse-sumo is not installed: pip install eclipse-sumo (or set SUMO_HOME)"
        ) from exc
    return Path(sumo.SUMO_HOME)


def sumo_binary(name: str = "sumo", *, override: Path | None = None) -> Path:
    """Return the path of a SUMO executable (``sumo``, ``sumo-gui``, ``netconvert`` ...).

    The real binary under the package's ``bin/`` is used, not the Python wrapper on PATH,
    which costs an extra interpreter start per run.
    """
    if override is not None:
        if not Path(override).is_file():
            raise SimulationError(f"SUMO binary not found: {override}")
        return Path(override)
    path = sumo_home() / "bin" / name
    if not path.is_file():
        raise SimulationError(f"SUMO binary {name!r} not found in {path.parent}")
    return path


def sumo_env() -> dict[str, str]:
    """Return the environment for a SUMO child process: SUMO_HOME and PROJ_DATA set.

    Without SUMO_HOME, SUMO skips XML validation with a warning; without PROJ_DATA it
    prints "Cannot find proj.db" for networks with geo-references.
    """
    env = dict(os.environ)
    home = sumo_home()
    env.setdefault("SUMO_HOME", str(home))
    proj = home / "data" / "proj"
    if proj.is_dir():
        # SUMO 1.28's PROJ reads PROJ_LIB (newer PROJ releases read PROJ_DATA): set both.
        env.setdefault("PROJ_LIB", str(proj))
        env.setdefault("PROJ_DATA", env["PROJ_LIB"])
    return env


def prepare_process_env() -> None:
    """Set SUMO_HOME/PROJ_DATA in this process (needed before ``import libsumo``)."""
    for key, value in sumo_env().items():
        if key in ("SUMO_HOME", "PROJ_DATA", "PROJ_LIB"):
            os.environ.setdefault(key, value)


@functools.lru_cache(maxsize=8)
def sumo_version(binary: Path | None = None) -> str:
    """Return the version of a SUMO binary, e.g. ``"1.28.0"``."""
    path = sumo_binary(override=binary)
    wheel = importlib.util.find_spec("sumo")
    if wheel is not None and wheel.submodule_search_locations:
        # The eclipse-sumo wheel's own binary: its package version, without starting SUMO.
        package_dir = Path(next(iter(wheel.submodule_search_locations))).resolve()
        if path.resolve().is_relative_to(package_dir):
            with contextlib.suppress(importlib.metadata.PackageNotFoundError):
                return importlib.metadata.version("eclipse-sumo")
    try:
        out = subprocess.run(
            [str(path), "--version"],
            capture_output=True,
            text=True,
            timeout=30,
            env=sumo_env(),
            check=False,
        ).stdout
    except OSError as exc:
        raise SimulationError(f"cannot run {path}: {exc}") from exc
    # "Eclipse SUMO sumo 1.28.0" (recent) or "Eclipse SUMO sumo Version 1.9.2" (older)
    match = re.search(r"sumo(?:-gui)?(?: Version)? v?([0-9]+\.[0-9]+[0-9A-Za-z._+-]*)", out)
    return match.group(1) if match else "unknown"
