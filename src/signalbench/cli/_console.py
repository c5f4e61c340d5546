"""Consoles for the commands: stdout for tables, stderr for progress and errors."""

from __future__ import annotations

import os
import sys
from typing import Any

from rich.console import Console

__all__ = ["error_console", "make_console", "plural"]


class _Console(Console):
    """A rich console whose closed pipe reaches the command's error boundary.

    Rich's own answer to ``signalbench ... | head`` is a silent ``SystemExit(1)`` from wherever
    the print happened; here it is the BrokenPipeError that ``cli._main`` turns into the exit
    status (0, or for ``run`` a line saying the batch stopped).
    """

    def on_broken_pipe(self) -> None:
        self.quiet = True
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # Python's own flush at exit must not fail again
        raise BrokenPipeError


def make_console(**options: Any) -> Console:
    """Return a console for stdout; logs and pipes get a width at which tables never wrap."""
    console = _Console(**options)
    return console if console.is_terminal else _Console(width=160, **options)


def error_console() -> Console:
    """Return a console for stderr (progress, failures, notes)."""
    return Console(stderr=True, soft_wrap=True)


def plural(count: int, noun: str) -> str:
    """``1 trial``, ``2 trials``."""
    return f"{count} {noun}{'' if count == 1 else 's'}"
