"""Plumbing shared by every package, one copy of each.

Atomic writes and file locks, the one cache root, "did you mean" hints, hashing, TOML reading
and the bundled data folders. Standard library (and ``filelock``) only; every other package may import it.
"""

from __future__ import annotations

import contextlib
import difflib
import functools
import hashlib
import os
import sys
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import filelock

from signalbench.errors import SpecError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = [
    "CACHE_ENV",
    "atomic_path",
    "atomic_write_bytes",
    "atomic_write_text",
    "cache_dir",
    "close_matches",
    "data_dir",
    "did_you_mean",
    "file_lock",
    "file_sha256",
    "load_toml",
    "text_sha256",
    "toml_value",
    "umask_mode",
]


# -- Atomic writes and file locks ----------------------------------------------------------
# A reader sees either the old file or the whole new one: content goes to a temporary file in
# the same folder, is flushed to disk, and is renamed over the target. The file gets the mode
# a plain open() would give it (0666 minus the umask), so a results folder shared by a team
# stays readable to the team; mkstemp's private 0600 is not kept.


def umask_mode(base: int = 0o666) -> int:
    """Return ``base`` minus this process's umask (the mode ``open()`` gives a new file)."""
    mask = os.umask(0)
    os.umask(mask)
    return base & ~mask


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; on success it replaces ``path`` atomically.

    The caller writes the temporary file (any writer: text, Parquet, ...). On an exception,
    including KeyboardInterrupt, the temporary file is removed and ``path`` is untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        with tmp.open("rb+") as fh:  # flush to disk before the rename makes it visible
            os.fsync(fh.fileno())
        os.chmod(tmp, umask_mode())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_path`)."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` (UTF-8, Unix line ends) to ``path`` atomically (see :func:`atomic_path`)."""
    with atomic_path(path) as tmp, tmp.open("w", encoding="utf-8", newline="\n") as fh:
        fh.write(text)


@contextlib.contextmanager
def file_lock(path: Path, *, timeout_s: float = -1.0) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (created if missing) for the ``with`` block.

    Serialises work between processes (two terminals, or workers sharing a home folder).
    ``timeout_s`` < 0 waits as long as it takes.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with filelock.FileLock(str(path), timeout=timeout_s, mode=umask_mode()):
        yield


# -- The cache root ------------------------------------------------------------------------

#: Environment variable naming the cache root (read at every call, never at import).
CACHE_ENV = "SIGNALBENCH_CACHE"


def cache_dir(kind: str) -> Path:
    """Return the cache folder for ``kind`` (``sumo``, ``generated``, ``demand``, ``checkpoints``).

    The root is ``$SIGNALBENCH_CACHE``, else ``$XDG_CACHE_HOME/signalbench``, else
    ``~/.cache/signalbench``. The folder may not exist yet.
    """
    explicit = os.environ.get(CACHE_ENV)
    if explicit:
        root = Path(explicit).expanduser()
    else:
        xdg = os.environ.get("XDG_CACHE_HOME")
        root = (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "signalbench"
    return root / kind


# -- Did you mean --------------------------------------------------------------------------


def close_matches(name: str, candidates: Iterable[str], *, n: int = 1) -> list[str]:
    """Return up to ``n`` candidates close to ``name``, closest first."""
    return difflib.get_close_matches(name, sorted(set(candidates)), n=n)


def did_you_mean(
    name: str, candidates: Iterable[str], *, n: int = 1, quote: bool = True, otherwise: str = ""
) -> str:
    """Return ``"; did you mean 'x'?"`` for the names close to ``name``, else ``otherwise``.

    ``quote`` False lists ids bare (``did you mean cologne3, cologne8?``), as ids are typed.
    """
    close = close_matches(name, candidates, n=n)
    if not close:
        return otherwise
    return "; did you mean " + ", ".join(repr(c) if quote else c for c in close) + "?"


# -- Hashing -------------------------------------------------------------------------------
# File hashes are cached per process by path, size and modification time.


@functools.lru_cache(maxsize=256)
def _sha256(path: Path, _mtime_ns: int, _size: int) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def file_sha256(path: Path) -> str:
    """SHA-256 (hex) of a file's bytes."""
    stat = path.stat()
    return _sha256(path.resolve(), stat.st_mtime_ns, stat.st_size)


def text_sha256(text: str) -> str:
    """SHA-256 (hex) of a text's UTF-8 bytes."""
    return hashlib.sha256(text.encode()).hexdigest()


# -- TOML ----------------------------------------------------------------------------------

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def load_toml(path: Path) -> dict[str, Any]:
    """Read a TOML file; a missing file or a syntax error becomes one clear SpecError."""
    try:
        with Path(path).open("rb") as fh:
            data: dict[str, Any] = tomllib.load(fh)
            return data
    except FileNotFoundError as exc:
        raise SpecError(f"file not found: {path}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"{path}: invalid TOML: {exc}") from exc


def toml_value(raw: str) -> Any:
    """Read one value written on a command line.

    A TOML literal (``2``, ``1.5``, ``true``, ``"x"``, ``[300, 600]``) gives its value; anything
    else is the text itself as a string (``peak``).
    """
    try:
        return tomllib.loads(f"v = {raw.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        return raw.strip()


# -- Bundled data --------------------------------------------------------------------------

_PACKAGE_DIR = Path(__file__).resolve().parent  # the signalbench package


def data_dir(name: str) -> Path:
    """Return the folder of bundled data ``name`` (``"networks"`` or ``"experiments"``).

    A wheel carries them as ``signalbench/_data/<name>``; a source checkout (editable
    install, or tests run from the repository) reads the top-level folder directly.
    """
    candidates = (_PACKAGE_DIR / "_data" / name, _PACKAGE_DIR.parents[1] / name)
    for path in candidates:
        if path.is_dir():
            return path
    return candidates[0]
