"""The ``signalbench`` command: argument parsing and dispatch."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from signalbench._cli_sumo import add_sumo_parser, cmd_sumo
from signalbench._version import __version__
from signalbench.errors import SignalbenchError
from signalbench.experiments._launchers import LAUNCHERS
from signalbench.sim import BACKENDS

__all__ = ["main"]

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
  signalbench report runs/quickstart              tables with 95 % CIs, paired comparisons, plots
  signalbench sumo install 1.9.2                  install another SUMO release (then --sumo-version 1.9.2)
  signalbench new-controller queue-hero           controllers/queue_hero.py + tests/test_queue_hero.py
  signalbench watch --network cologne3 --controller max-pressure   live in sumo-gui

Results go to runs/<spec name>/ (one JSON record per trial); running the same spec again
skips trials that are already complete. Exit status: 0 all trials complete, 1 some trial
failed, 2 bad input (nothing run), 130 interrupted (completed trials kept).
"""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="signalbench",
        description="Adaptive traffic-signal experiments on SUMO networks.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"signalbench {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks of errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = sub.add_parser(
        "run",
        help="run an experiment spec or an ad-hoc comparison",
        description=(
            "Run every trial of an experiment (networks x demand x controllers x seeds) and print\n"
            "mean delay metrics per controller with 95 % confidence intervals over seeds.\n"
            "SPEC is a TOML file or the name of a bundled spec; without SPEC, --network and\n"
            "--controller describe an ad-hoc experiment."
        ),
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run.add_argument("spec", nargs="?", help="spec file (.toml) or bundled spec name, e.g. quickstart")
    what = run.add_argument_group("ad-hoc experiment (instead of SPEC)")
    what.add_argument(
        "--network", action="append", default=[], metavar="ID|PATH|GEN",
        help="catalog id, .sumocfg/.net.xml path, or a generated network such as "
        "grid:rows=2,cols=3,flow_veh_h=[300,600] (repeatable)",
    )  # fmt: skip
    what.add_argument(
        "--route-files", action="append", default=[], metavar="PATH",
        help="demand files for a .net.xml network (repeatable)",
    )  # fmt: skip
    what.add_argument(
        "--begin-s", type=float, metavar="S",
        help="simulation begin of path-given networks (default: the .sumocfg's, else 0)",
    )  # fmt: skip
    what.add_argument(
        "--end-s",
        type=float,
        metavar="S",
        help="simulation end of path-given networks (default begin + 3600)",
    )
    what.add_argument(
        "--controller", action="append", default=[], metavar="ID",
        help="controller id or file.py:Class (repeatable)",
    )  # fmt: skip
    over = run.add_argument_group("overrides (with SPEC or ad hoc)")
    over.add_argument("--seeds", type=int, metavar="N", help="run seeds 1..N (default 3)")
    over.add_argument(
        "--demand", type=float, action="append", metavar="SCALE",
        help="demand level as a SUMO --scale factor (repeatable: --demand 1 --demand 1.5)",
    )  # fmt: skip
    over.add_argument(
        "--duration-s", type=float, metavar="S", help="simulate only the first S seconds of each window"
    )
    over.add_argument("--backend", choices=BACKENDS, help="SUMO client (default libsumo)")
    over.add_argument(
        "--sumo-version", metavar="X.Y.Z",
        help="run this SUMO release (install it first: signalbench sumo install X.Y.Z); "
        "implies --backend traci unless it is the bundled release",
    )  # fmt: skip
    how = run.add_argument_group("execution")
    how.add_argument("--out", type=Path, metavar="DIR", help="experiment directory (default runs/<name>)")
    how.add_argument(
        "--launcher", choices=LAUNCHERS,
        help="process: a fresh local process per trial, --workers at a time (default); "
        "serial: in this process, for debugging; ray: Ray tasks (pip install 'signalbench[ray]')",
    )  # fmt: skip
    how.add_argument("--workers", type=int, metavar="N", help="trials at once (default: cores)")
    how.add_argument("--address", metavar="ADDR", help="Ray cluster address (default: start Ray locally)")
    how.add_argument("--retries", type=int, metavar="N", help="run failed trials again, N times")
    how.add_argument("--timeout-s", type=float, metavar="S", help="wall-time limit per trial")
    how.add_argument(
        "--keep-sumo-output", action="store_true",
        help="keep SUMO's tripinfo/statistics files under DIR/sumo-output",
    )  # fmt: skip
    how.add_argument("--quiet", action="store_true", help="no progress bar (CI logs)")
    how.add_argument("--dry-run", action="store_true", help="print the trial table and stop")

    results = sub.add_parser(
        "results",
        help="print an experiment's trials as CSV or JSON (one row per trial)",
        description="One row (csv) or object (json) per trial: trial id, network, demand, controller,\n"
        "label, seed, state, error, every metric under its documented name (docs/metrics.md),\n"
        "controller statistics, SUMO version and the SUMO command line.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    results.add_argument("dir", type=Path, metavar="DIR", help="experiment directory, e.g. runs/quickstart")
    results.add_argument(
        "--format", choices=("csv", "json"), default="csv", help="output format (default csv)"
    )
    report = sub.add_parser(
        "report",
        help="write a report (tables with 95 %% CIs, paired comparisons, plots) for an experiment",
        description="Tables per network x demand (mean, 95 % CI over seeds, median, change versus a\n"
        "baseline paired over seeds) and PNG plots, as report.md and a self-contained report.html.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    report.add_argument(
        "dir", type=Path, nargs="+", metavar="EXPERIMENT_DIR",
        help="experiment directory; several are reported together (e.g. one per SUMO version)",
    )  # fmt: skip
    report.add_argument(
        "--baseline", metavar="LABEL", help="controller label to compare with (default fixed-time)"
    )
    report.add_argument(
        "--out", type=Path, metavar="DIR", help="output folder (default: the first EXPERIMENT_DIR/report)"
    )
    report.add_argument(
        "--metric", action="append", metavar="NAME",
        help="metric in the tables (repeatable; the first is plotted; default: delay, trip time, waiting)",
    )  # fmt: skip
    report.add_argument(
        "--intersection", action="append", metavar="TLS",
        help="traffic light whose queue is plotted over time (repeatable; default the 3 longest queues)",
    )  # fmt: skip
    report.add_argument("--title", help="report title")

    sub.add_parser("controllers", help="list the registered controllers")
    from signalbench._cli_networks import add_networks_parser

    add_networks_parser(sub)
    from signalbench._cli_train import add_train_parser

    add_train_parser(sub)
    add_sumo_parser(sub)
    _add_dev_commands(sub)
    return parser


def _add_dev_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    new = sub.add_parser(
        "new-controller",
        help="write a documented controller skeleton and a test using the conformance kit",
        description="Write DIR/NAME.py (a working, documented controller) and TESTS/test_NAME.py.",
    )
    new.add_argument("name", metavar="NAME", help="controller name, e.g. my-policy (file my_policy.py)")
    new.add_argument("--dir", type=Path, default=Path("controllers"), help="where the controller goes")
    new.add_argument("--tests-dir", type=Path, default=Path("tests"), help="where its test goes")
    watch = sub.add_parser(
        "watch",
        help="watch a controller drive sumo-gui live, its decisions shown at each light",
        description="Open sumo-gui (traci backend) on a network, controlled live by a controller.",
    )
    watch.add_argument("--network", required=True, metavar="ID|PATH", help="catalog id or .sumocfg path")
    watch.add_argument("--controller", required=True, metavar="ID", help="controller id or file.py:Class")
    watch.add_argument("--seed", type=int, default=1, metavar="N", help="seed for SUMO and the controller")
    watch.add_argument(
        "--param", action="append", default=[], metavar="K=V", help="controller parameter (repeatable)"
    )
    watch.add_argument(
        "--delay-ms", type=float, default=100.0, metavar="MS", help="sumo-gui delay per step (default 100)"
    )
    watch.add_argument("--duration-s", type=float, metavar="S", help="watch only the first S seconds")


def _cmd_controllers() -> int:
    from rich.table import Table

    from signalbench._cli_run import make_console
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


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``signalbench`` console script; returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "run":
            from signalbench._cli_run import cmd_run

            return cmd_run(args)
        if args.command == "train":
            from signalbench._cli_train import cmd_train

            return cmd_train(args)
        if args.command in ("results", "report"):
            from signalbench._cli_results import cmd_report, cmd_results

            return cmd_results(args) if args.command == "results" else cmd_report(args)
        if args.command == "controllers":
            return _cmd_controllers()
        if args.command == "networks":
            from signalbench._cli_networks import cmd_networks

            return cmd_networks(args)
        if args.command == "sumo":
            return cmd_sumo(args)
        if args.command == "new-controller":
            from signalbench._cli_watch import cmd_new_controller

            return cmd_new_controller(args)
        if args.command == "watch":
            from signalbench._cli_watch import cmd_watch

            return cmd_watch(args)
        parser.print_help()
        return 2
    except SignalbenchError as exc:
        if args.debug:
            raise
        print(f"signalbench: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # e.g. signalbench results DIR | head: the reader has gone
        with contextlib.suppress(OSError):
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - Python flushes stdout at exit
        return 0
    except KeyboardInterrupt:
        print("signalbench: interrupted; completed trials are saved, run again to resume", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
