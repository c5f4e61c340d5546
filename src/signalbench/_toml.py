"""TOML reading with one-line errors (tomllib on 3.11+, tomli before)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from signalbench.errors import SpecError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = ["load_toml", "toml_value"]


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
