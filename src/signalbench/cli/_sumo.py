"""``signalbench sumo``: list, install and remove SUMO releases for experiments."""

from __future__ import annotations

import argparse
import sys
import time

__all__ = ["add_parser", "run"]


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser], epilog: str) -> None:
    """Add the ``sumo`` command and its subcommands to the CLI."""
    sumo = sub.add_parser(
        "sumo",
        help="list, install or remove SUMO releases (for [sim] sumo_version)",
        description=(
            "SUMO releases an experiment can choose with [sim] sumo_version or --sumo-version.\n"
            "Releases are eclipse-sumo wheels from PyPI (1.8.0 and later), installed with pip into\n"
            "a per-user cache ($SIGNALBENCH_SUMO_CACHE, else ~/.cache/signalbench/sumo)."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    action = sumo.add_subparsers(dest="sumo_command", metavar="ACTION")
    action.add_parser("list", help="the bundled SUMO and the installed releases")
    install = action.add_parser("install", help="install a release, e.g. 1.9.2 (~50 MB download)")
    install.add_argument("version", help="release number, e.g. 1.9.2")
    install.add_argument("--force", action="store_true", help="reinstall if present")
    remove = action.add_parser("remove", help="remove an installed release")
    remove.add_argument("version", help="release number, e.g. 1.9.2")


def run(args: argparse.Namespace) -> int:
    """Run the ``sumo`` subcommand; return the exit status."""
    from signalbench.sim import (
        bundled_sumo,
        install_sumo,
        installed_sumos,
        normalize_version,
        remove_sumo,
        sumo_cache_dir,
    )

    if args.sumo_command == "install":
        bundled = bundled_sumo()
        if normalize_version(args.version) == bundled.version and not args.force:
            print(f"SUMO {bundled.version} is the bundled SUMO ({bundled.binary}): nothing to install")
            return 0
        started = time.perf_counter()
        found = install_sumo(args.version, force=args.force)
        print(f"SUMO {found.version}: {found.binary} ({time.perf_counter() - started:.0f} s)")
        print(f'use it with [sim] sumo_version = "{found.version}" or --sumo-version {found.version}')
        return 0
    if args.sumo_command == "remove":
        version = normalize_version(args.version)
        if remove_sumo(version):
            print(f"removed SUMO {version}")
            return 0
        print(f"SUMO {version} is not installed in {sumo_cache_dir()}")
        return 1
    if args.sumo_command == "list":
        from rich.table import Table

        from signalbench.cli._console import make_console

        table = Table(title="SUMO releases")
        for col in ("version", "client", "binary"):
            table.add_column(col)
        for entry in installed_sumos():
            client = "libsumo or traci (bundled)" if entry.bundled else "traci"
            table.add_row(entry.version, client, str(entry.binary))
        console = make_console()
        console.print(table)
        console.print(f"cache: {sumo_cache_dir()}; add one with: signalbench sumo install VERSION")
        return 0
    print("usage: signalbench sumo {list,install,remove} ... (see signalbench sumo --help)", file=sys.stderr)
    return 2
