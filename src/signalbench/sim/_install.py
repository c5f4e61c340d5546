"""Other SUMO releases: eclipse-sumo wheels from PyPI, installed into a per-user cache.

Layout: ``<cache>/<version>/`` is a ``pip install --target`` of ``eclipse-sumo==<version>``,
so the binary is ``<cache>/<version>/sumo/bin/sumo``. The cache is the ``sumo`` folder of
signalbench's cache root (``$SIGNALBENCH_CACHE``, else ``$XDG_CACHE_HOME/signalbench``, else
``~/.cache/signalbench``).

An install goes to a temporary folder next to its final place and is renamed into place only
after its binary has answered ``--version`` with the version asked for, so a version folder is
either complete or absent. A lock file per version serialises concurrent installs (two
terminals, or two workers of a cluster sharing a home folder): the second one waits and then
finds the version installed.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from signalbench._util import cache_dir, file_lock
from signalbench.errors import SimulationError
from signalbench.sim._binaries import sumo_binary, sumo_env, sumo_version
from signalbench.sim._versions import SumoVersion, version_in_output

__all__ = [
    "InstalledSumo",
    "bundled_sumo",
    "find_sumo",
    "install_sumo",
    "installed_sumos",
    "normalize_version",
    "remove_sumo",
    "resolve_sumo",
    "sumo_cache_dir",
]

_RELEASE = re.compile(r"\d+\.\d+(\.\d+)?")


@dataclass(frozen=True, kw_only=True)
class InstalledSumo:
    """One SUMO release available to experiments.

    Attributes:
        version: release number, e.g. ``"1.9.2"``.
        binary: path of its ``sumo`` executable.
        bundled: True for the eclipse-sumo installed with signalbench (libsumo's SUMO).

    """

    version: str
    binary: Path
    bundled: bool


def sumo_cache_dir() -> Path:
    """Return the folder holding the installed SUMO releases (it may not exist yet)."""
    return cache_dir("sumo")


def normalize_version(text: str) -> str:
    """Return a release number in its canonical ``X.Y.Z`` form (``"1.9"`` -> ``"1.9.0"``).

    Raises:
        SimulationError: ``text`` is not a plain release number.

    """
    if not isinstance(text, str) or not _RELEASE.fullmatch(text.strip()):
        raise SimulationError(f"not a SUMO release number: {text!r} (expected e.g. 1.9.2)")
    return str(SumoVersion.parse(text))


def bundled_sumo() -> InstalledSumo:
    """Return the SUMO installed with signalbench (eclipse-sumo, or ``SUMO_HOME``)."""
    return InstalledSumo(version=sumo_version(), binary=sumo_binary(), bundled=True)


def _version_dir(version: str, cache: Path | None) -> Path:
    return (cache or sumo_cache_dir()) / normalize_version(version)


def _binary_in(folder: Path) -> Path:
    name = "sumo.exe" if sys.platform == "win32" else "sumo"
    return folder / "sumo" / "bin" / name


def installed_sumos(cache: Path | None = None) -> list[InstalledSumo]:
    """Return the bundled SUMO, then every release in the cache, oldest first."""
    found: list[InstalledSumo] = []
    root = cache or sumo_cache_dir()
    if root.is_dir():
        for folder in root.iterdir():
            if folder.name.startswith(".") or not _RELEASE.fullmatch(folder.name):
                continue
            if _binary_in(folder).is_file():
                found.append(InstalledSumo(version=folder.name, binary=_binary_in(folder), bundled=False))
    found.sort(key=lambda s: SumoVersion.parse(s.version))
    return [bundled_sumo(), *found]


def find_sumo(version: str, cache: Path | None = None) -> InstalledSumo | None:
    """Return the installed release ``version`` (the bundled one if it is that version), or None."""
    wanted = normalize_version(version)
    bundled = bundled_sumo()
    if _same_release(bundled.version, wanted):
        return bundled
    binary = _binary_in(_version_dir(wanted, cache))
    return InstalledSumo(version=wanted, binary=binary, bundled=False) if binary.is_file() else None


def _same_release(found: str, wanted: str) -> bool:
    try:
        return SumoVersion.parse(found) == SumoVersion.parse(wanted)
    except SimulationError:
        return False


def resolve_sumo(version: str, cache: Path | None = None) -> Path | None:
    """Return the binary of release ``version``: None when the bundled SUMO is that release.

    Raises:
        SimulationError: the release is not installed; the message gives the command that
            installs it.

    """
    found = find_sumo(version, cache)
    if found is None:
        wanted = normalize_version(version)
        raise SimulationError(
            f"SUMO {wanted} is not installed (the bundled SUMO is {bundled_sumo().version}); "
            f"install it with: signalbench sumo install {wanted}"
        )
    return None if found.bundled else found.binary


def pip_command(version: str, target: Path) -> list[str]:
    """Return the pip command that installs eclipse-sumo ``version`` into ``target``."""
    return [
        sys.executable, "-m", "pip", "install",
        "--target", str(target),
        "--no-deps",  # only the binaries; Python clients come from signalbench's own environment
        "--only-binary", ":all:",  # never build SUMO from source
        "--no-compile",  # the bundled tools' .pyc files are not needed
        "--disable-pip-version-check",
        "--no-warn-script-location",
        f"eclipse-sumo=={version}",
    ]  # fmt: skip


def install_sumo(
    version: str,
    *,
    cache: Path | None = None,
    force: bool = False,
    quiet: bool = False,
    command: list[str] | None = None,
) -> InstalledSumo:
    """Install eclipse-sumo ``version`` into the cache (a no-op when it is there already).

    Args:
        version: release number, e.g. ``"1.9.2"``.
        cache: cache folder (default :func:`sumo_cache_dir`).
        force: reinstall even if present.
        quiet: capture pip's output (shown only on failure) instead of passing it through.
        command: the installer command, for tests; ``{target}`` in it is replaced by the
            temporary folder. Default: :func:`pip_command`.

    Raises:
        SimulationError: pip failed, or the installed binary does not report ``version``.

    """
    wanted = normalize_version(version)
    root = cache or sumo_cache_dir()
    try:
        return _install(wanted, root, force=force, quiet=quiet, command=command)
    except OSError as exc:  # a read-only or full cache folder
        raise SimulationError(f"cannot install SUMO {wanted} into {root}: {exc}") from exc


def _install(
    wanted: str, root: Path, *, force: bool, quiet: bool, command: list[str] | None
) -> InstalledSumo:
    final = root / wanted
    with file_lock(root / f".{wanted}.lock"):
        if _binary_in(final).is_file() and not force:
            return InstalledSumo(version=wanted, binary=_binary_in(final), bundled=False)
        for stale in root.glob(f".tmp-{wanted}-*"):  # left by an install that was killed
            shutil.rmtree(stale, ignore_errors=True)
        tmp = root / f".tmp-{wanted}-{os.getpid()}"
        try:
            cmd = [a.replace("{target}", str(tmp)) for a in command] if command else pip_command(wanted, tmp)
            proc = subprocess.run(
                cmd,
                stdin=subprocess.DEVNULL,
                capture_output=quiet,
                text=True,
                errors="replace",
                check=False,
            )
            if proc.returncode != 0:
                lines = [ln for ln in (proc.stderr or "").splitlines() if ln.strip()] if quiet else []
                detail = f": {lines[-1].strip()}" if lines else " (see pip's output above)"
                raise SimulationError(f"pip could not install eclipse-sumo=={wanted}{detail}")
            _check_binary(_binary_in(tmp), wanted)
            if final.exists():
                old = root / f".tmp-{wanted}-{os.getpid()}-old"
                final.rename(old)
                shutil.rmtree(old, ignore_errors=True)
            tmp.rename(final)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return InstalledSumo(version=wanted, binary=_binary_in(final), bundled=False)


def _check_binary(binary: Path, wanted: str) -> None:
    if not binary.is_file():
        raise SimulationError(f"the eclipse-sumo {wanted} package has no SUMO binary at {binary}")
    try:
        out = subprocess.run(
            [str(binary), "--version"],
            capture_output=True,
            text=True,
            errors="replace",
            timeout=60,
            env=sumo_env(binary),
            check=False,
        ).stdout
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SimulationError(f"the installed SUMO {wanted} does not run: {exc}") from exc
    found = version_in_output(out)
    if found is None or not _same_release(found, wanted):
        raise SimulationError(f"the installed SUMO reports version {found or 'unknown'}, not {wanted}")


def remove_sumo(version: str, *, cache: Path | None = None) -> bool:
    """Remove release ``version`` from the cache; return False if it was not installed."""
    wanted = normalize_version(version)
    root = cache or sumo_cache_dir()
    final = root / wanted
    with file_lock(root / f".{wanted}.lock"):
        if not final.exists():
            return False
        doomed = root / f".tmp-{wanted}-{os.getpid()}-removed"
        final.rename(doomed)  # gone at once for readers; the deletion may take a while
        shutil.rmtree(doomed, ignore_errors=True)
    return True
