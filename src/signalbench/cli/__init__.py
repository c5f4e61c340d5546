"""The ``signalbench`` command line: one module per command, :func:`main` the entry point."""

from signalbench.cli._main import main

__all__ = ["main"]
