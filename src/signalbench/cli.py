"""The ``signalbench`` command."""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from signalbench._version import __version__
from signalbench.errors import SignalbenchError, SpecError

if TYPE_CHECKING:
    from signalbench.experiments import ExperimentSpec

__all__ = ["main"]

_TABLE_METRICS = (
    ("mean_delay_s", "delay s/veh"),
    ("mean_travel_time_s", "travel time s"),
    ("mean_waiting_time_s", "waiting s"),
    ("vehicles_arrived", "arrived"),
    ("vehicles_unfinished", "in network"),
    ("vehicles_not_inserted", "not inserted"),
)

_EPILOG = """\
examples:
  signalbench run quickstart                      run the bundled quickstart spec
  signalbench run experiments/quickstart.toml     run a spec file
  signalbench run --network cologne3 --controller fixed-time --controller max-pressure --seeds 3
  signalbench run --network my.sumocfg --controller controllers/my_policy.py:MyPolicy
  signalbench controllers                         list the registered controllers
  signalbench networks                            list the catalogued networks

Results go to runs/<spec name>/ (one JSON record per trial); running the same spec again
skips trials that are already complete.
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
            "Run every trial of an experiment (networks x controllers x seeds) and print mean "
            "delay metrics per controller with 95 %% confidence intervals over seeds. SPEC is a "
            "TOML file or the name of a bundled spec; without SPEC, --network and --controller "
            "describe an ad-hoc experiment."
        ),
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run.add_argument("spec", nargs="?", help="spec file (.toml) or bundled spec name, e.g. quickstart")
    run.add_argument(
        "--network",
        action="append",
        default=[],
        metavar="ID|PATH",
        help="catalog id or .sumocfg/.net.xml path (repeatable; ad-hoc mode)",
    )
    run.add_argument(
        "--route-files",
        action="append",
        default=[],
        metavar="PATH",
        help="demand files for a .net.xml network (repeatable)",
    )
    run.add_argument(
        "--controller",
        action="append",
        default=[],
        metavar="ID",
        help="controller id or file.py:Class (repeatable; ad-hoc mode)",
    )
    run.add_argument("--seeds", type=int, metavar="N", help="run seeds 1..N (default 3)")
    run.add_argument(
        "--duration-s",
        type=float,
        metavar="S",
        help="simulate only the first S seconds of each network's window",
    )
    run.add_argument("--backend", choices=("libsumo", "traci"), help="SUMO client (default libsumo)")
    run.add_argument("--out", type=Path, metavar="DIR", help="experiment directory (default runs/<name>)")
    run.add_argument("--workers", type=int, metavar="N", help="parallel trials (default: cores)")
    run.add_argument(
        "--launcher",
        choices=("process", "serial"),
        default="process",
        help="process pool (default) or serial in this process (debugging)",
    )
    run.add_argument(
        "--keep-sumo-output",
        action="store_true",
        help="keep SUMO's tripinfo/statistics files under DIR/sumo-output",
    )
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    run.add_argument("--dry-run", action="store_true", help="print the trial table and stop")

    sub.add_parser("controllers", help="list the registered controllers")
    sub.add_parser("networks", help="list the catalogued networks")
    return parser


def _adhoc_spec(args: argparse.Namespace) -> ExperimentSpec:
    from signalbench.experiments import spec_from_dict

    if not args.network:
        raise SpecError("give a SPEC, or --network with at least one --controller (see --help)")
    if not args.controller:
        raise SpecError("ad-hoc runs need at least one --controller (e.g. --controller max-pressure)")
    data: dict[str, object] = {
        "name": "adhoc-" + "-".join(Path(n).name.split(".")[0] for n in args.network),
        "seeds": args.seeds or 3,
        "backend": args.backend or "libsumo",
        "networks": [
            {
                ("path" if ("/" in n or n.endswith((".xml", ".sumocfg"))) else "id"): n,
                **({"route_files": args.route_files} if args.route_files else {}),
            }
            for n in args.network
        ],
        "controllers": [{"id": c} for c in args.controller],
    }
    if args.duration_s is not None:
        data["sim"] = {"duration_s": args.duration_s}
    return spec_from_dict(data, source="command line")


def _cmd_run(args: argparse.Namespace) -> int:
    import dataclasses

    from rich.console import Console

    from signalbench.experiments import load_spec, run_experiment

    console = _console()
    assert isinstance(console, Console)
    errc = Console(stderr=True, soft_wrap=True)
    if args.spec:
        if args.network or args.controller:
            raise SpecError("give either a SPEC or --network/--controller, not both")
        spec = load_spec(args.spec)
        overrides: dict[str, object] = {}
        if args.seeds is not None:
            if args.seeds < 1:
                raise SpecError(f"--seeds must be >= 1, got {args.seeds}")
            overrides["seeds"] = tuple(range(1, args.seeds + 1))
        if args.duration_s is not None:
            overrides["duration_s"] = args.duration_s
        if args.backend:
            overrides["backend"] = args.backend
        if overrides:
            spec = dataclasses.replace(spec, **overrides)  # type: ignore[arg-type]
    else:
        spec = _adhoc_spec(args)
    if args.workers is not None and args.workers < 1:
        raise SpecError(f"--workers must be >= 1, got {args.workers}")
    trials = spec.trials()
    out = args.out or Path("runs") / spec.name

    if args.dry_run:
        from rich.table import Table

        table = Table(title=f"{spec.name}: {len(trials)} trials (dry run)")
        for col in ("trial id", "network", "controller", "label", "seed", "backend"):
            table.add_column(col)
        for t in trials:
            table.add_row(t.trial_id, t.network, t.controller, t.display_label, str(t.seed), t.backend)
        console.print(table)
        return 0

    started = time.perf_counter()
    quiet = args.quiet or not console.is_terminal
    progress = None
    task = None
    counts = {"done": 0, "failed": 0}
    if not quiet:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[failed]} failed"),
            TimeRemainingColumn(),
            console=console,
            transient=True,
        )
        progress.start()
        task = progress.add_task(spec.name, total=len(trials), failed=0)
    else:
        console.print(f"{spec.name}: {len(trials)} trials -> {out}")

    def on_result(result: object) -> None:
        from signalbench.experiments import TrialResult

        assert isinstance(result, TrialResult)
        counts["done"] += 1
        if result.state != "complete":
            counts["failed"] += 1
            errc.print(
                f"[red]trial {result.trial_id} failed[/red] ({result.spec.network}, "
                f"{result.spec.display_label}, seed {result.spec.seed}): {result.error}",
                markup=True,
                highlight=False,
            )
        if progress is not None and task is not None:
            progress.update(task, completed=counts["done"], failed=counts["failed"])

    already = 0
    try:
        from signalbench.experiments import ResultStore

        done_ids = ResultStore(out).completed_ids()
        already = sum(1 for t in trials if t.trial_id in done_ids)
        counts["done"] = already
        if progress is not None and task is not None:
            progress.update(task, completed=already)
        results = run_experiment(
            spec,
            out,
            launcher=args.launcher,
            workers=args.workers,
            keep_outputs=args.keep_sumo_output,
            on_result=on_result,
        )
    finally:
        if progress is not None:
            progress.stop()
    _print_summary(console, spec.name, results, out, time.perf_counter() - started, already)
    if args.debug:
        for r in results:
            if r.state != "complete" and r.traceback:
                errc.print(r.traceback, markup=False, highlight=False)
    return 1 if any(r.state != "complete" for r in results) else 0


def _console() -> object:
    from rich.console import Console

    console = Console()
    if not console.is_terminal:  # logs and pipes: wide enough that tables never wrap
        console = Console(width=160)
    return console


def _fmt(mean: float, ci: float, integer: bool) -> str:
    if math.isnan(mean):
        return "-"
    text = f"{mean:.0f}" if integer else f"{mean:.1f}"
    if not math.isnan(ci):
        text += f" ± {ci:.0f}" if integer else f" ± {ci:.1f}"
    return text


def _print_summary(
    console: object, name: str, results: Sequence[object], out: Path, wall_s: float, resumed: int
) -> None:
    from rich.console import Console
    from rich.table import Table

    from signalbench.experiments import summarise

    assert isinstance(console, Console)
    rows = summarise(results, [m for m, _ in _TABLE_METRICS])  # type: ignore[arg-type]
    table = Table(title=f"{name}: mean over seeds ± 95 % CI", title_justify="left")
    table.add_column("network")
    table.add_column("controller")
    table.add_column("seeds", justify="right")
    for _, header in _TABLE_METRICS:
        table.add_column(header, justify="right")
    for row in rows:
        cells = [
            _fmt(row.metrics[m][0], math.nan, True)
            if m.startswith("vehicles")
            else _fmt(*row.metrics[m], False)
            for m, _ in _TABLE_METRICS
        ]
        seeds = f"{row.trials - row.failed}" + (f" ({row.failed} failed)" if row.failed else "")
        table.add_row(row.network, row.label, seeds, *cells)
    console.print(table)
    uncontrolled = sorted({p for r in results for p in getattr(r, "control", {}).get("uncontrolled", [])})
    for problem in uncontrolled:
        console.print(f"note: left on its own program: {problem}", style="yellow", highlight=False)
    warned = [r for r in results if getattr(r, "sumo_warnings", {}).get("count")]
    if warned:
        total = sum(r.sumo_warnings["count"] for r in warned)  # type: ignore[attr-defined]
        console.print(
            f"note: SUMO reported {total} warnings in {len(warned)} trials "
            "(emergency braking, unsafe programs, ...); see sumo_warnings in the trial records",
            style="dim",
            highlight=False,
        )
    failed = sum(1 for r in results if getattr(r, "state", "") != "complete")
    note = f", {resumed} reused from an earlier run" if resumed else ""
    console.print(
        f"{len(results)} trials ({failed} failed{note}) in {wall_s:.1f} s; records in {out}/trials/"
    )
    console.print(
        "delay = timeLoss + departDelay per vehicle (SUMO tripinfo, unfinished trips included)", style="dim"
    )


def _cmd_controllers() -> int:
    from rich.console import Console
    from rich.table import Table

    from signalbench.controllers import registry

    table = Table(title="controllers")
    table.add_column("id")
    table.add_column("scope")
    table.add_column("summary")
    for entry in registry.entries():
        table.add_row(entry.id, entry.scope, entry.summary)
    console = _console()
    assert isinstance(console, Console)
    console.print(table)
    console.print("Your own: --controller path/to/file.py:ClassName (see controllers/my_policy.py)")
    return 0


def _cmd_networks() -> int:
    from rich.console import Console
    from rich.table import Table

    from signalbench.networks import catalog, load_network_model

    table = Table(title="networks")
    for col in ("id", "signals", "window s", "title", "source"):
        table.add_column(col)
    for entry in catalog().values():
        try:
            sc = entry.scenario()
            n = str(len(load_network_model(sc.net_file).intersections))
        except SignalbenchError as exc:
            n = f"unavailable: {exc}"
        table.add_row(entry.id, n, f"{entry.begin_s:g}-{entry.end_s:g}", entry.title, entry.source_package)
    console = _console()
    assert isinstance(console, Console)
    console.print(table)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``signalbench`` console script; returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "run":
            return _cmd_run(args)
        if args.command == "controllers":
            return _cmd_controllers()
        if args.command == "networks":
            return _cmd_networks()
        parser.print_help()
        return 2
    except SignalbenchError as exc:
        if args.debug:
            raise
        print(f"signalbench: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("signalbench: interrupted; completed trials are saved, run again to resume", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
