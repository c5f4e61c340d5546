"""Consoles for the commands: stdout for tables, stderr for progress and errors."""

from __future__ import annotations

from rich.console import Console

__all__ = ["error_console", "make_console", "plural"]


def make_console() -> Console:
    """Return a console for stdout; logs and pipes get a width at which tables never wrap."""
    console = Console()
    return console if console.is_terminal else Console(width=160)


def error_console() -> Console:
    """Return a console for stderr (progress, failures, notes)."""
    return Console(stderr=True, soft_wrap=True)


def plural(count: int, noun: str) -> str:
    """``1 trial``, ``2 trials``."""
    return f"{count} {noun}{'' if count == 1 else 's'}"
