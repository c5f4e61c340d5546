"""``signalbench controllers``: the registered controllers."""

from __future__ import annotations

import argparse

__all__ = ["add_parser", "run"]


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser], epilog: str) -> None:
    """Add the ``controllers`` command."""
    sub.add_parser("controllers", help="list the registered controllers")


def run(args: argparse.Namespace) -> int:
    """List every registered controller with its scope and summary."""
    from rich.table import Table

    from signalbench.cli._console import make_console
    from signalbench.controllers import registry

    table = Table(title="controllers")
    table.add_column("id")
    table.add_column("scope")
    table.add_column("summary")
    for entry in registry.entries():
        table.add_row(entry.id, entry.scope, entry.summary)
    console = make_console()
    console.print(table)
    console.print("Your own: --controller path/to/file.py:ClassName (see controllers/my_policy.py)")
    return 0
