"""Where the data folders shipped with signalbench (networks/, experiments/) live."""

from __future__ import annotations

from pathlib import Path

__all__ = ["data_dir"]

_PACKAGE_DIR = Path(__file__).resolve().parent


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
