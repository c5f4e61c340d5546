"""Plumbing shared by every package, one copy of each.

Atomic writes, strict JSON and file locks, output destinations checked before work starts, the
process-tree and signal policy, the one cache root, "did you mean" hints, hashing, TOML reading
and the bundled data folders. Standard library (and ``filelock``) only; every other package may
import it.
"""

from __future__ import annotations

import contextlib
import difflib
import errno
import functools
import hashlib
import io
import json
import math
import os
import signal
import stat
import sys
import tempfile
import threading
import token
import tokenize
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import filelock

from signalbench.errors import Interrupted, SignalbenchError, SpecError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = [
    "CACHE_ENV",
    "INTERRUPT_SIGNALS",
    "atomic_path",
    "atomic_write_bytes",
    "atomic_write_text",
    "cache_dir",
    "close_matches",
    "data_dir",
    "did_you_mean",
    "die_with_parent",
    "file_lock",
    "file_sha256",
    "interrupts_deferred",
    "load_toml",
    "output_dir",
    "output_file",
    "python_source_sha256",
    "safe_name",
    "signals_as_interrupts",
    "strict_json",
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


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def strict_json(data: Any, **dumps_options: Any) -> str:
    """Return ``data`` as strict JSON (RFC 8259): NaN and infinities become ``null``.

    Python's ``json`` writes a bare ``NaN`` by default, which other JSON readers (jq, browsers,
    most languages) reject; every record, checkpoint and cache file goes through here.
    """
    return json.dumps(_finite(data), allow_nan=False, **dumps_options)


# -- Output destinations -------------------------------------------------------------------
# Every place a command writes to (run/report --out folders, train --out files) is checked here,
# before any work starts, so a bad destination is one line and not a traceback after the work.


def _destination_problem(path: Path, what: str, exc: OSError) -> SignalbenchError:
    reasons = {
        errno.EACCES: "permission denied",
        errno.EPERM: "permission denied",
        errno.EROFS: "read-only file system",
        errno.ENAMETOOLONG: "name too long",
        errno.ENOSPC: "no space left on device",
        errno.EDQUOT: "disk quota exceeded",
    }
    reason = reasons.get(exc.errno or 0, exc.strerror or type(exc).__name__)
    return SignalbenchError(f"{what} {path}: cannot write there ({reason})")


def _check_path_text(path: Path, what: str) -> None:
    text = str(path)
    if "\x00" in text:
        raise SignalbenchError(f"{what} {text!r}: a path cannot contain a NUL byte")
    if not text.strip():
        raise SignalbenchError(f"{what}: an empty path")


def _file_parent(path: Path, what: str) -> None:
    """Raise if an existing ancestor of ``path`` is not a folder (``out/x`` where ``out`` is a file)."""
    for parent in path.parents:
        try:
            mode = parent.stat().st_mode
        except (FileNotFoundError, NotADirectoryError):
            continue
        except OSError as exc:
            raise _destination_problem(path, what, exc) from exc
        if not stat.S_ISDIR(mode):
            raise SignalbenchError(f"{what} {path}: {parent} is a file, not a folder")
        return


def output_dir(path: Path, *, what: str = "--out", create: bool = True) -> Path:
    """Check that ``path`` is, or can become, a folder this process can write to; return it.

    With ``create`` the folder is made and a probe file is written and removed in it (the only
    test a read-only file system, a full disk or an ACL cannot fool); without it only what
    exists is looked at (``--dry-run`` writes nothing).

    Raises:
        SignalbenchError: one line naming the destination and what is wrong with it.

    """
    path = Path(path)
    _check_path_text(path, what)
    try:
        mode: int | None = path.stat().st_mode
    except (FileNotFoundError, NotADirectoryError):
        mode = None  # a missing part, or a part that is a file (named below)
    except OSError as exc:
        raise _destination_problem(path, what, exc) from exc
    if mode is not None and not stat.S_ISDIR(mode):
        kind = "a file" if stat.S_ISREG(mode) else "a device or another special file"
        raise SignalbenchError(f"{what} {path}: is {kind}, not a folder")
    _file_parent(path, what)
    if not create:
        existing = next((p for p in (path, *path.parents) if p.exists()), Path("."))
        if not os.access(existing, os.W_OK | os.X_OK):
            raise SignalbenchError(f"{what} {path}: cannot write there (permission denied)")
        return path
    try:
        path.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".signalbench-probe-", dir=path)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise _destination_problem(path, what, exc) from exc
    return path


def output_file(path: Path, *, what: str = "--out", overwrite: bool = True) -> Path:
    """Check that a file can be written at ``path`` (its folder is made); return the path.

    The file itself is not created: the caller writes it atomically when its work is done.
    ``overwrite`` False refuses an existing file.

    Raises:
        SignalbenchError: ``path`` is a folder or a device, its folder cannot be written, or
            it exists and ``overwrite`` is False.

    """
    path = Path(path)
    _check_path_text(path, what)
    if path.is_dir():
        raise SignalbenchError(f"{what} {path}: is a folder; give a file name (e.g. {path / 'out.json'})")
    if path.exists() and not path.is_file():
        raise SignalbenchError(f"{what} {path}: is not a regular file (a device or a socket)")
    if path.exists() and not overwrite:
        raise SignalbenchError(f"{what} {path}: already exists; not overwritten")
    if len(path.name.encode()) > 255:
        raise SignalbenchError(f"{what} {path}: cannot write there (name too long)")
    output_dir(path.parent, what=f"{what} {path}: folder")
    return path


_UNSAFE_IN_NAMES = set('/\\:*?"<>|')


def safe_name(text: str, *, fallback: str = "unnamed") -> str:
    """Map a label to a name that is safe as one file or folder name on any system.

    Path separators, characters Windows forbids, control characters and blanks become ``-``;
    leading dots and dashes go (no hidden files, no options); at most 100 characters.
    """
    chars = ["-" if (c in _UNSAFE_IN_NAMES or not c.isprintable() or c.isspace()) else c for c in text]
    name = "".join(chars).lstrip(".-")
    while "--" in name:
        name = name.replace("--", "-")
    return name[:100].rstrip(".-") or fallback


# -- Process tree and signals --------------------------------------------------------------
# One policy for every process signalbench starts: a child dies with its parent (on Linux the
# kernel sends it SIGKILL when the parent exits for any reason, kill -9 included), and in the
# main process SIGTERM and SIGHUP interrupt like Ctrl-C, so a scheduler's signal (Slurm, a CI
# timeout, timeout(1), Kubernetes) cleans up exactly as Ctrl-C does.

#: Signals that interrupt a command like Ctrl-C (exit status 128 + the signal's number).
INTERRUPT_SIGNALS: tuple[signal.Signals, ...] = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)
)

_PR_SET_PDEATHSIG = 1


def die_with_parent(watch_pid: int | None = None, *, signum: int = signal.SIGKILL) -> None:
    """Ask the kernel to send ``signum`` (SIGKILL) to this process when its parent exits.

    Linux only; elsewhere nothing. ``watch_pid`` closes the race with a death before the
    request: the process whose exit takes the parent down (the parent itself, or the runner for
    a trial process forked by the fork server). If it is gone already, this process is killed at
    once. Safe to call between fork and exec (a ``preexec_fn``).
    """
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, int(signum))
    except (OSError, AttributeError):  # pragma: no cover - no prctl: nothing to ask for
        return
    if watch_pid is not None and not _running(watch_pid):
        os.kill(os.getpid(), signal.SIGKILL)


def _running(pid: int) -> bool:
    """Tell whether process ``pid`` exists and has not exited (a zombie has; Linux /proc)."""
    try:
        stat_line = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    state = stat_line.rpartition(")")[2].split()[:1]
    return bool(state) and state[0] not in ("Z", "X", "x")


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


@contextlib.contextmanager
def signals_as_interrupts() -> Iterator[None]:
    """In the block, SIGTERM and SIGHUP raise :class:`~signalbench.errors.Interrupted` like Ctrl-C.

    Only in the main thread (elsewhere signals cannot be handled); the previous handlers are
    restored after the block.
    """
    if not _main_thread():
        yield
        return

    def interrupt(signum: int, _frame: Any) -> None:
        raise Interrupted(signum)

    previous = {s: signal.signal(s, interrupt) for s in INTERRUPT_SIGNALS if s != signal.SIGINT}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


@contextlib.contextmanager
def interrupts_deferred() -> Iterator[None]:
    """Hold Ctrl-C, SIGTERM and SIGHUP during the block and deliver the first one after it.

    For the few milliseconds in which a finished trial is stored: an interrupt then would lose
    a result that has already been received. A no-op outside the main thread.
    """
    if not _main_thread():
        yield
        return
    held: list[int] = []

    def hold(signum: int, _frame: Any) -> None:
        if not held:
            held.append(signum)

    previous = {s: signal.signal(s, hold) for s in INTERRUPT_SIGNALS}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        if held:
            signal.raise_signal(held[0])  # through the handler that was there before


@contextlib.contextmanager
def file_lock(path: Path, *, timeout_s: float = -1.0, busy: str | None = None) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (created if missing) for the ``with`` block.

    Serialises work between processes (two terminals, or workers sharing a home folder); the
    kernel releases it when the holder dies, even by kill -9. ``timeout_s`` < 0 waits as long
    as it takes; when the wait runs out, :class:`SignalbenchError` with ``busy`` is raised
    (or filelock's Timeout without ``busy``).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = filelock.FileLock(str(path), timeout=timeout_s, mode=umask_mode())
    try:
        lock.acquire()
    except filelock.Timeout:
        if busy is None:
            raise
        raise SignalbenchError(busy) from None
    try:
        yield
    finally:
        lock.release()


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


# Python source is hashed by its tokens: comments, blank lines, line breaks inside brackets and
# statements that are a bare string (docstrings) change nothing a program does, so editing them
# must not count as a change of the code. Anything the tokenizer refuses is hashed by its bytes.
_SKIPPED_TOKENS = frozenset({tokenize.COMMENT, tokenize.NL, tokenize.ENCODING})
_STATEMENT_START = frozenset({token.NEWLINE, token.INDENT, token.DEDENT})


@functools.lru_cache(maxsize=1024)
def _python_sha256(path: Path, _mtime_ns: int, _size: int) -> str:
    data = path.read_bytes()
    try:
        tokens = [t for t in tokenize.tokenize(io.BytesIO(data).readline) if t.type not in _SKIPPED_TOKENS]
    except (tokenize.TokenError, SyntaxError, UnicodeDecodeError):
        return hashlib.sha256(data).hexdigest()
    digest = hashlib.sha256()
    skip_newline = False
    for i, tok in enumerate(tokens):
        if skip_newline and tok.type == token.NEWLINE:
            skip_newline = False
            continue
        before = tokens[i - 1].type if i else token.NEWLINE
        after = tokens[i + 1].type if i + 1 < len(tokens) else token.ENDMARKER
        bare = before in _STATEMENT_START and after in (token.NEWLINE, token.ENDMARKER)
        if tok.type == token.STRING and bare:
            skip_newline = True  # a docstring (or any bare string statement): no effect on behaviour
            continue
        # Indentation by its token type only: re-indenting with other whitespace is no change.
        text = "" if tok.type in (token.INDENT, token.DEDENT) else tok.string
        digest.update(f"{tok.type}:{text}\n".encode())
    return digest.hexdigest()


def python_source_sha256(path: Path) -> str:
    """SHA-256 (hex) of a Python file's code: comments, blank lines and docstrings left out.

    Two files that differ only in comments, docstrings, blank lines or indentation whitespace
    have the same digest; any other edit changes it. A file Python cannot tokenize is hashed
    by its bytes. Cached per process by path, size and modification time.
    """
    stat = path.stat()
    return _python_sha256(path.resolve(), stat.st_mtime_ns, stat.st_size)


# -- TOML ----------------------------------------------------------------------------------

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def load_toml(path: Path) -> dict[str, Any]:
    """Read a TOML file; every way the file can be unusable becomes one clear SpecError.

    A UTF-8 byte-order mark (Windows editors write one) is accepted; other encodings are named.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError as exc:
        raise SpecError(f"file not found: {path}") from exc
    except IsADirectoryError as exc:
        raise SpecError(f"{path} is a folder, not a TOML file") from exc
    except OSError as exc:
        raise SpecError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise SpecError(f"{path}: the file is UTF-16 text; TOML files are UTF-8 (save it as UTF-8)")
    try:
        text = raw.removeprefix(b"\xef\xbb\xbf").decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SpecError(
            f"{path}: not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start}); "
            "TOML files are UTF-8 (save it as UTF-8)"
        ) from exc
    try:
        data: dict[str, Any] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"{path}: invalid TOML: {exc}") from exc
    return data


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
