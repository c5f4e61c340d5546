"""Locating SUMO's binaries and data from the installed ``eclipse-sumo`` package."""

from __future__ import annotations

import contextlib
import functools
import importlib.metadata
import importlib.util
import os
import subprocess
from pathlib import Path

from signalbench.errors import SimulationError
from signalbench.sim._versions import SumoVersion, version_in_output

__all__ = ["binary_home", "sumo_binary", "sumo_env", "sumo_home", "sumo_release", "sumo_version"]


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


def binary_home(binary: Path) -> Path | None:
    """Return the SUMO installation a binary belongs to (``<home>/bin/sumo``), if it has its data.

    An installation counts when it ships the XML schemas (``data/xsd``): eclipse-sumo 1.9
    and later do, 1.8.0 does not.
    """
    home = Path(binary).resolve().parent.parent
    return home if (home / "data" / "xsd").is_dir() else None


def sumo_env(binary: Path | None = None) -> dict[str, str]:
    """Return the environment for a SUMO child process: SUMO_HOME and PROJ_DATA set.

    Without SUMO_HOME, SUMO skips XML validation with a warning; without PROJ_DATA it
    prints "Cannot find proj.db" for networks with geo-references. For another ``binary``
    (another version), SUMO_HOME is that binary's own installation, so it validates its
    inputs against its own schemas; an installation without schemas (eclipse-sumo 1.8.0)
    gets the default one's, whose newer schemas accept older files (an old SUMO with no
    schemas at all would try to download them and fail offline).
    """
    env = dict(os.environ)
    home = sumo_home()
    own = binary_home(binary) if binary is not None else None
    if own is not None and own != home.resolve():
        env["SUMO_HOME"] = str(own)
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
    env = sumo_env(path if binary is not None else None)
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
            env=env,
            check=False,
        ).stdout
    except OSError as exc:
        raise SimulationError(f"cannot run {path}: {exc}") from exc
    return version_in_output(out) or "unknown"


def sumo_release(binary: Path | None = None) -> SumoVersion | None:
    """Return :func:`sumo_version` as a :class:`SumoVersion`, or None if it cannot be read."""
    try:
        return SumoVersion.parse(sumo_version(binary))
    except SimulationError:
        return None
