"""The ``signalbench`` command: a table of commands, one module each, and the one error boundary."""

from __future__ import annotations

import argparse
import contextlib
import errno
import importlib
import os
import signal
import sys
from collections.abc import Callable, Sequence
from types import ModuleType

from signalbench._util import signals_as_interrupts
from signalbench._version import __version__
from signalbench.errors import Interrupted, SignalbenchError

__all__ = ["COMMANDS", "command_module", "main", "parser"]

_EPILOG = """\
examples:
  signalbench run quickstart                      run the bundled quickstart spec
  signalbench run experiments/quickstart.toml     run a spec file
  signalbench run --network cologne3 --controller fixed-time --controller max-pressure --seeds 3
  signalbench run --network my.sumocfg --controller controllers/my_policy.py:MyPolicy
  signalbench run quickstart --launcher ray --address auto
  signalbench train q-learning --network cologne1 --out q.json   train a learning controller
  signalbench controllers                         list the registered controllers
  signalbench networks                            list the catalogued networks
  signalbench networks show cologne1              intersections, green phases, movements
  signalbench networks check my.net.xml           lint a network (exit 1 if it cannot be controlled)
  signalbench results runs/quickstart --format csv  one row per trial, for scripts and spreadsheets
  signalbench report runs/quickstart              medians, means, paired comparisons (Holm), plots
  signalbench plan runs/pilot --change -10        seeds needed to detect a 10 % change, from a pilot
  signalbench sumo install 1.9.2                  install another SUMO release (then --sumo-version 1.9.2)
  signalbench new-controller queue-hero           controllers/queue_hero.py + tests/test_queue_hero.py
  signalbench watch --network cologne3 --controller max-pressure   live in sumo-gui

Results go to runs/<spec name>/ (one JSON record per trial); running the same spec again
skips trials that are already complete. Exit status: 0 all trials complete, 1 some trial
failed, 2 bad input (nothing run), 130 interrupted by Ctrl-C (SIGINT), 143 by SIGTERM, 129 by
SIGHUP; when interrupted, no process is left behind and completed trials are kept.
"""

#: Every command: its name and the module with its ``add_parser(sub, epilog)`` and ``run(args)``.
#: A command imports only its own module (and what that needs): ``signalbench results`` does
#: not pay for the runner, nor ``signalbench run`` for the report's plots.
COMMANDS: dict[str, str] = {
    "run": "signalbench.cli._run",
    "results": "signalbench.cli._results",
    "report": "signalbench.cli._report",
    "plan": "signalbench.cli._plan",
    "controllers": "signalbench.cli._controllers",
    "networks": "signalbench.cli._networks",
    "train": "signalbench.cli._train",
    "sumo": "signalbench.cli._sumo",
    "new-controller": "signalbench.cli._new_controller",
    "watch": "signalbench.cli._watch",
}


def command_module(name: str) -> ModuleType:
    """Import and return the module of command ``name`` (a key of :data:`COMMANDS`)."""
    return importlib.import_module(COMMANDS[name])


def parser(command: str | None = None) -> argparse.ArgumentParser:
    """Return the argument parser of ``signalbench`` with every command of :data:`COMMANDS`.

    With ``command`` (one of them, or ``""`` for none), only that command's module is imported
    and its arguments registered; the others are there by name (so a mistyped name is still
    refused with the list of commands).
    """
    top = argparse.ArgumentParser(
        prog="signalbench",
        description="Adaptive traffic-signal experiments on SUMO networks.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    top.add_argument("--version", action="version", version=f"signalbench {__version__}")
    top.add_argument("--debug", action="store_true", help="show tracebacks of errors")
    sub = top.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        if command is None or name == command:  # "" registers every command by name only
            command_module(name).add_parser(sub, _EPILOG)
        else:
            sub.add_parser(name, add_help=False)
    return top


def _chosen(argv: Sequence[str]) -> str | None:
    """Return the command named on the command line, if any (the top level's options take no values)."""
    for arg in argv:
        if arg == "--":
            return None
        if not arg.startswith("-"):
            return arg if arg in COMMANDS else None
    return None


#: OSErrors that the user's environment causes (a path, a permission, a full disk), not a bug.
_USER_ERRNOS = frozenset(
    {
        errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOSPC, errno.EDQUOT, errno.ENAMETOOLONG,
        errno.ENOENT, errno.ENOTDIR, errno.EISDIR, errno.EEXIST, errno.ELOOP, errno.EMFILE,
    }
)  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``signalbench`` console script; returns the exit status.

    The one error boundary of every command: a :class:`SignalbenchError` (bad input) or an
    operating-system error the user's environment caused (permission, read-only or full
    file system) is one line on stderr and exit status 2. Ctrl-C, SIGTERM and SIGHUP stop the
    command the same way (no process left behind, completed trials kept): one line, and exit
    status 128 + the signal's number (130, 143, 129).
    """
    words = list(sys.argv[1:] if argv is None else argv)
    chosen = _chosen(words)
    # The full parser (every command's module) only to print the top-level help.
    lean = chosen is not None or bool(words and not {"-h", "--help"} & set(words))
    top = parser((chosen or "") if lean else None)
    args = top.parse_args(argv)
    command: Callable[[argparse.Namespace], int] | None = (
        command_module(args.command).run if args.command in COMMANDS else None
    )
    if command is None:
        (top if not lean else parser()).print_help()
        return 2
    try:
        with signals_as_interrupts():
            return command(args)
    except SignalbenchError as exc:
        if args.debug:
            raise
        return _error(str(exc))
    except BrokenPipeError:  # e.g. signalbench results DIR | head: the reader has gone
        with contextlib.suppress(OSError):
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - Python flushes stdout at exit
        if args.command != "run":
            return 0
        with contextlib.suppress(OSError):
            print(
                "signalbench: the output was closed (broken pipe); stopped, completed trials are saved, "
                "run again to resume",
                file=sys.stderr,
            )
        return 128 + int(signal.SIGPIPE)
    except OSError as exc:
        if args.debug or exc.errno not in _USER_ERRNOS:
            raise
        where = f"{exc.filename}: " if exc.filename else ""
        return _error(f"{where}{exc.strerror or exc}")
    except KeyboardInterrupt as exc:
        signum = exc.signum if isinstance(exc, Interrupted) else signal.SIGINT
        how = "" if signum == signal.SIGINT else f" by {signal.Signals(signum).name}"
        saved = "; completed trials are saved, run again to resume" if args.command == "run" else ""
        with contextlib.suppress(OSError):  # SIGHUP: the terminal may be gone
            print(f"signalbench: interrupted{how}{saved}", file=sys.stderr)
        return 128 + int(signum)


def _error(message: str) -> int:
    """Print ``message`` as one line (line breaks and runs of blanks become one space); return 2."""
    line = " ".join(message.split()) or "unknown error"
    print(f"signalbench: error: {line}", file=sys.stderr)
    return 2
