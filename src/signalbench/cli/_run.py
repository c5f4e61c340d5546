"""``signalbench run``: build the spec, launch, show progress, print the summary table."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import math
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from signalbench._util import output_dir
from signalbench.analysis import CONFIDENCE, CellStats, Comparison, SummaryRow, stored_trials, summarise
from signalbench.cli._console import error_console, make_console
from signalbench.cli._console import plural as _n
from signalbench.errors import SignalbenchError, SpecError
from signalbench.experiments import (
    LAUNCHERS,
    MAX_TRIALS,
    ExperimentPlan,
    ExperimentSpec,
    LaunchOptions,
    ResultStore,
    RunSettings,
    TrialResult,
    TrialSpec,
    check_ray_address,
    load_spec,
    needs_socket,
    plan_trials,
    prestart,
    run_experiment,
    spec_from_dict,
)
from signalbench.networks import looks_like_path, parse_generator_ref
from signalbench.sim import BACKENDS, normalize_version, resolve_sumo

__all__ = ["add_parser", "print_summary", "run"]

#: The metric of the terminal table; every other one is in ``results --summary`` and the report.
TABLE_METRIC = "mean_delay_s"


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser], epilog: str) -> None:
    """Add the ``run`` command."""
    p = sub.add_parser(
        "run",
        help="run an experiment spec or an ad-hoc comparison",
        description=(
            "Run every trial of an experiment (networks x demand x controllers x seeds) and print\n"
            "mean delay metrics per controller with 95 % confidence intervals over seeds.\n"
            "SPEC is a TOML file or the name of a bundled spec; without SPEC, --network and\n"
            "--controller describe an ad-hoc experiment."
        ),
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("spec", nargs="?", help="spec file (.toml) or bundled spec name, e.g. quickstart")
    what = p.add_argument_group("ad-hoc experiment (instead of SPEC)")
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
    over = p.add_argument_group("overrides (with SPEC or ad hoc)")
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
    how = p.add_argument_group("execution")
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
    how.add_argument(
        "--dry-run", action="store_true",
        help="print the trial table with each trial's status (complete, to run, stale: why) and stop",
    )  # fmt: skip
    how.add_argument(
        "--rerun", action="store_true",
        help="run every trial afresh, even those with a complete record of the same inputs",
    )  # fmt: skip


def _adhoc_network(ref: str, args: argparse.Namespace) -> dict[str, Any]:
    """Return the spec entry of one ``--network``: a generator line, a path or a catalog id."""
    generated = parse_generator_ref(ref)
    if generated is not None:
        if args.route_files or args.begin_s is not None or args.end_s is not None:
            raise SpecError(f"--network {ref}: a generated network brings its own demand and window")
        return generated
    return {
        ("path" if looks_like_path(ref) else "id"): ref,
        **({"route_files": args.route_files} if args.route_files else {}),
        **({"begin_s": args.begin_s} if args.begin_s is not None else {}),
        **({"end_s": args.end_s} if args.end_s is not None else {}),
    }


def _adhoc_name(networks: Sequence[str]) -> str:
    """``adhoc-<network names>``: each a plain name (a path's file stem), never a path."""
    parts = []
    for ref in networks:
        stem = Path(ref.split(":")[0]).name.split(".")[0]
        parts.append(
            "".join(c if c.isascii() and (c.isalnum() or c in "-_") else "-" for c in stem).strip("-")
        )
    return ("adhoc-" + "-".join(p for p in parts if p))[:100].rstrip("-")


def _adhoc_spec(args: argparse.Namespace) -> ExperimentSpec:
    if not args.network:
        raise SpecError("give a SPEC, or --network with at least one --controller (see --help)")
    if not args.controller:
        raise SpecError("ad-hoc runs need at least one --controller (e.g. --controller max-pressure)")
    data: dict[str, Any] = {
        "name": _adhoc_name(args.network),
        "seeds": 3 if args.seeds is None else args.seeds,
        "networks": [_adhoc_network(n, args) for n in args.network],
        "controllers": [{"id": c} for c in args.controller],
    }
    if args.backend:  # else libsumo, or traci for a SUMO release libsumo cannot run
        data["backend"] = args.backend
    if args.duration_s is not None:
        data.setdefault("sim", {})["duration_s"] = args.duration_s
    if args.sumo_version is not None:
        data.setdefault("sim", {})["sumo_version"] = args.sumo_version
    if args.demand:
        data["demand"] = args.demand
    return spec_from_dict(data, source="command line")


def _spec(args: argparse.Namespace) -> ExperimentSpec:
    _check_overrides(args)
    if not args.spec:
        return _adhoc_spec(args)
    if args.network or args.controller or args.route_files:
        raise SpecError("give either a SPEC or --network/--controller/--route-files, not both")
    spec = load_spec(args.spec)
    overrides: dict[str, Any] = {}
    if args.seeds is not None:
        if args.seeds < 1:
            raise SpecError(f"--seeds must be >= 1, got {args.seeds}")
        overrides["seeds"] = tuple(range(1, args.seeds + 1))
    if args.duration_s is not None:
        overrides["duration_s"] = args.duration_s
    if args.backend:
        overrides["backend"] = args.backend
    if args.sumo_version is not None:
        # The command line's release replaces the spec's SUMO choice; the spec's libsumo gives
        # way to the socket client unless --backend libsumo insists (then it is an error).
        overrides["sumo_version"] = normalize_version(args.sumo_version)
        overrides["sumo_binary"] = None
        if not args.backend and needs_socket(overrides["sumo_version"]):
            overrides["backend"] = "traci"
    if args.demand:
        overrides["demand"] = tuple(dict.fromkeys(args.demand))
    # replace() re-validates: e.g. --backend libsumo on a spec with a sumo_binary.
    return dataclasses.replace(spec, **overrides) if overrides else spec


def _check_overrides(args: argparse.Namespace) -> None:
    """Refuse command-line numbers that make no sense, before anything is built from them."""
    if args.seeds is not None and args.seeds > MAX_TRIALS:
        raise SpecError(f"--seeds {args.seeds:,} is more than one experiment runs (at most {MAX_TRIALS:,})")
    if args.duration_s is not None and not 0 < args.duration_s < math.inf:
        raise SpecError(f"--duration-s must be a finite number > 0, got {args.duration_s}")
    for flag, values in (
        ("--demand", args.demand or ()),
        ("--begin-s", [args.begin_s]),
        ("--end-s", [args.end_s]),
    ):
        for value in values:
            if value is not None and not math.isfinite(value):
                raise SpecError(f"{flag} must be a finite number, got {value}")
    if args.demand and any(not d > 0 for d in args.demand):
        raise SpecError(f"--demand must be > 0, got {args.demand}")


def _check_sumo(errors: Console, spec: ExperimentSpec) -> None:
    """Stop before any trial if the chosen SUMO release is missing; note the socket client."""
    if spec.sumo_version is None:
        return
    binary = resolve_sumo(spec.sumo_version)  # raises with the install command
    if binary is not None:
        errors.print(
            f"note: SUMO {spec.sumo_version} ({binary}) runs over the TraCI socket client; "
            "libsumo runs only the bundled SUMO",
            style="dim",
            highlight=False,
        )


def _settings(args: argparse.Namespace, spec: ExperimentSpec) -> RunSettings:
    """Return the spec's [run] table with the command line's flags on top (validated by RunSettings)."""
    given = {
        "launcher": args.launcher,
        "workers": args.workers,
        "retries": args.retries,
        "timeout_s": args.timeout_s,
        "address": args.address,
        "keep_sumo_output": True if args.keep_sumo_output else None,
    }
    return dataclasses.replace(spec.run, **{k: v for k, v in given.items() if v is not None})


def _dry_run(console: Console, spec: ExperimentSpec, plan: ExperimentPlan, out: Path) -> int:
    trials = plan.trials
    table = Table(title=f"{spec.name}: {_n(len(trials), 'trial')} (dry run)", title_justify="left")
    sensed = bool(spec.sensing)
    columns = ("trial id", "network", "demand", *(("sensing",) if sensed else ()), "controller", "label")
    for col in (*columns, "seed", "backend", "status"):
        table.add_column(col)
    for p in trials:
        t = p.spec
        table.add_row(
            t.trial_id, t.network, t.demand_label, *((t.sensing_label,) if sensed else ()), t.controller,
            t.display_label, str(t.seed), t.backend, p.status_text,
        )  # fmt: skip
    console.print(table)
    runs = len(plan.to_run)
    if plan.reused:
        console.print(
            f"{plan.reused} of {len(trials)} already complete in {out}: a run reuses them and runs {runs}",
            soft_wrap=True,
            highlight=False,
        )
    for reason, count in plan.stale_reasons().items():
        console.print(f"{count} stale (run again): {reason}", soft_wrap=True, highlight=False)
    return 0


def _rerun_notes(plan: ExperimentPlan | None) -> list[str]:
    """``3 rerun: controllers/my_policy.py changed`` per reason; forced reruns; restored records."""
    if plan is None:
        return []
    notes = [f"{count} rerun: {reason}" for reason, count in plan.stale_reasons().items()]
    if plan.count("rerun"):
        notes.append(f"{plan.count('rerun')} rerun (--rerun)")
    if plan.count("restore"):
        restored = plan.count("restore")
        notes.append(f"{restored} reused from trials/superseded/ (their inputs are current again)")
    return notes


class _Progress:
    """Trials done/failed, ETA and simulated seconds per wall second."""

    def __init__(self, console: Console, errors: Console, name: str, total: int, quiet: bool) -> None:
        self.errors = errors
        self.states: dict[str, str] = {}
        self.sim_s = 0.0
        self.skipped = 0
        self.started = time.perf_counter()
        self.bar: Any = None
        if quiet:
            console.print(f"{name}: {_n(total, 'trial')}")
            return
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self.bar = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[failed]} failed"),
            TextColumn("{task.fields[rate]}"),
            TimeRemainingColumn(),
            console=console,
            transient=True,
        )
        self.task = self.bar.add_task(name, total=total, failed=0, rate="")
        self.bar.start()

    def skip(self, n: int) -> None:
        if self.bar is not None:
            self.bar.update(self.task, completed=n)
        self.skipped = n

    def __call__(self, result: TrialResult) -> None:
        self.states[result.trial_id] = result.state
        self.sim_s += result.sim_time_s
        if result.state != "complete":
            retry = f" (attempt {result.attempt})" if result.attempt > 1 else ""
            self.errors.print(
                f"[red]trial {result.trial_id} failed{retry}[/red] ({result.spec.network}, "
                f"{result.spec.display_label}, seed {result.spec.seed}): {result.error}",
                markup=True,
                highlight=False,
            )
        if self.bar is not None:
            wall = max(time.perf_counter() - self.started, 1e-9)
            failed = sum(1 for s in self.states.values() if s != "complete")
            self.bar.update(
                self.task,
                completed=self.skipped + len(self.states),
                failed=failed,
                rate=f"{self.sim_s / wall:,.0f} sim-s/s",
            )

    def stop(self) -> None:
        if self.bar is not None:
            self.bar.stop()


class _Consolidate:
    """Keep the experiment's consolidated dataset (what results and reports read) up to date.

    Every :data:`EVERY` results or :data:`EVERY_S` seconds, and when the run ends; each time
    only the records stored since are read. The dataset is a cache rebuilt from the records
    on read, so a failure here never fails the run.
    """

    EVERY = 500
    EVERY_S = 300.0

    def __init__(self, out: Path) -> None:
        self.out = out
        self.pending = 0
        self.last = time.monotonic()

    def after(self, progress: Callable[[TrialResult], None]) -> Callable[[TrialResult], None]:
        """Return ``progress`` followed by this, for ``run_experiment``'s ``on_result``."""

        def both(result: TrialResult) -> None:
            progress(result)
            self.pending += 1
            if self.pending >= self.EVERY or time.monotonic() - self.last >= self.EVERY_S:
                self.now()

        return both

    def now(self) -> None:
        from signalbench.analysis import consolidate

        self.pending, self.last = 0, time.monotonic()
        with contextlib.suppress(SignalbenchError, OSError):
            if (self.out / "trials").is_dir():
                consolidate(self.out)


def run(args: argparse.Namespace) -> int:
    """Run the ``run`` command; return the exit status (1 if any trial failed)."""
    console = make_console()
    errors = error_console()
    if args.launcher in (None, "process") and not args.dry_run:
        prestart()  # the fork server imports SUMO on the other core meanwhile
    spec = _spec(args)
    settings = _settings(args, spec)
    options = LaunchOptions(
        workers=settings.workers,
        timeout_s=settings.timeout_s,
        keep_outputs=settings.keep_sumo_output,
        ray_address=settings.address,
    )
    # The one place the output folder is decided and checked, before any work: the name is a
    # label (validated), so runs/<name> is one folder under runs/.
    out: Path = output_dir(args.out or Path("runs") / spec.name, create=False)
    store = ResultStore(out)
    # From the consolidated dataset where it is fresh: a large experiment plans in seconds.
    plan = plan_trials(spec.trials(), store, rerun=args.rerun, index=stored_trials(store))
    if args.dry_run:
        return _dry_run(console, spec, plan, out)
    _check_sumo(errors, spec)
    if settings.launcher == "ray":
        check_ray_address(settings.address)  # seconds, not Ray's minutes of retries
    output_dir(out)  # made and probed (a read-only or full file system) before the header
    resumed = plan.count("complete")
    progress = _Progress(console, errors, spec.name, len(plan.trials), args.quiet or not console.is_terminal)
    progress.skip(plan.reused)
    started = time.perf_counter()
    dataset = _Consolidate(out)
    try:
        results = run_experiment(
            spec,
            out,
            launcher=settings.launcher,
            options=options,
            retries=settings.retries,
            on_result=dataset.after(progress),
            on_training=None if args.quiet else _training_line(errors),
            plan=plan,
        )
    finally:
        progress.stop()
        dataset.now()
    wall = time.perf_counter() - started
    print_summary(console, spec.name, results, out, wall, resumed, sim_s=progress.sim_s, plan=plan)
    failures = [r for r in results if r.state != "complete"]
    if failures:
        errors.print(f"{_n(len(failures), 'trial')} failed:", style="red", highlight=False)
        for r in failures:
            errors.print(
                f"  {r.trial_id}  {r.spec.network}  {r.spec.display_label}  seed {r.spec.seed}: {r.error}",
                highlight=False,
                markup=False,
            )
        if args.debug:
            for r in failures:
                if r.traceback:
                    errors.print(r.traceback, markup=False, highlight=False)
    return 1 if failures else 0


def _training_line(console: Console) -> Callable[[TrialSpec, int, dict[str, float]], None]:
    """One line per training episode of a learning controller (on stderr)."""

    def show(trial: TrialSpec, episode: int, record: dict[str, float]) -> None:
        total = trial.params["train"].get("episodes", "?")
        console.print(
            f"training {trial.display_label} on {trial.network}: episode {episode + 1}/{total} "
            f"(seed {record['seed']:.0f}, epsilon {record['epsilon']:.2f}): "
            f"mean delay {record['mean_delay_s']:.1f} s/veh",
            highlight=False,
        )

    return show


def _num(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.1f}"


def _median_cell(st: CellStats) -> str:
    if math.isnan(st.median_low):
        return _num(st.median)
    mark = "" if st.median_level >= CONFIDENCE - 1e-9 else " †"
    return f"{_num(st.median)} [{_num(st.median_low)}, {_num(st.median_high)}]{mark}"


def _mean_cell(st: CellStats) -> str:
    return _num(st.mean) + ("" if math.isnan(st.mean_half) else f" ± {_num(st.mean_half)}")


def _change_cell(comp: Comparison | None) -> str:
    if comp is None or math.isnan(comp.change_pct):
        return "-" if comp is not None else ""
    return f"{comp.change_pct:+.0f} %" + (" *" if comp.significant else "")


def _table_notes(rows: Sequence[SummaryRow]) -> list[str]:
    """How to read the statistics of the table, in as few lines as it needs."""
    notes = []
    short = [
        r.metrics[TABLE_METRIC] for r in rows if r.metrics[TABLE_METRIC].median_level < CONFIDENCE - 1e-9
    ]
    if any(not math.isnan(st.median_low) for st in short):
        levels = sorted({f"{100 * st.median_level:.0f} %" for st in short if not math.isnan(st.median_low)})
        notes.append(
            f"† min to max of the seeds: a {' or '.join(levels)} interval for the median "
            "(6 seeds or more give 95 %)"
        )
    compared = [(r, c) for r in rows for c in r.vs_baseline.values()]
    if compared:
        family = sum(1 for _, c in compared if not math.isnan(c.p_value))
        few = min(c.n_pairs for _, c in compared) < 6
        notes.append(
            "vs: typical change per seed (Hodges-Lehmann); * significant (Wilcoxon signed-rank, "
            f"Holm over {family} comparison{'s' if family != 1 else ''})"
            + ("; with fewer than 6 seeds none can be significant" if few else "")
        )
    unserved = [r for r in rows if r.metrics["vehicles_unserved"].mean >= 1]
    if unserved:
        several = len({(r.network, r.demand_label) for r in rows}) > len({r.network for r in rows})
        cells = ", ".join(
            " ".join([r.network, *([f"demand {r.demand_label}"] if several else []), r.label])
            + f" {r.metrics['vehicles_unserved'].mean:.0f}"
            for r in unserved[:6]
        )
        more = f" and {len(unserved) - 6} more" if len(unserved) > 6 else ""
        notes.append(
            f"note: vehicles never inserted, mean per seed: {cells}{more}; their wait is not in the delay "
            "(compare mean_delay_incl_unserved_s: signalbench results DIR --summary --metric ...)"
        )
    for r in rows:
        st = r.metrics[TABLE_METRIC]
        if st.heavy_tail:
            pulled = (
                f"{_n(r.gridlocked, 'gridlocked seed')} pull{'s' if r.gridlocked == 1 else ''}"
                if r.gridlocked
                else "a few seeds pull"
            )
            notes.append(
                f"note: {r.network} {r.label}: mean {_num(st.mean)} but median {_num(st.median)} s/veh: "
                f"{pulled} the mean; quote the median"
            )
    return notes


def print_summary(
    console: Console,
    name: str,
    results: Sequence[TrialResult],
    out: Path,
    wall_s: float,
    resumed: int,
    *,
    sim_s: float = 0.0,
    plan: ExperimentPlan | None = None,
) -> None:
    """Print the per network x demand x sensing x controller table and notes (``plan``: why trials reran).

    The delay per cell: median with its distribution-free interval, mean with its t interval,
    the typical change versus the baseline (paired by seed, Holm-corrected marks) and the
    gridlocked runs; the other metrics are in ``signalbench results DIR --summary``.
    """
    rows = summarise(results, [TABLE_METRIC, "vehicles_unserved"], compare=[TABLE_METRIC])
    demands = {row.demand_label or f"{row.demand:g}" for row in rows}
    one_demand = len(demands) == 1  # then the title says it, and the table is narrower
    title = f"{name}: delay over seeds" + (f", demand {next(iter(demands))}" if one_demand and rows else "")
    table = Table(title=title, title_justify="left")
    table.add_column("network")
    if not one_demand:
        table.add_column("demand")
    sensed = any(row.sensing != "perfect" for row in rows)  # a sensing axis: its column
    if sensed:
        table.add_column("sensing")
    table.add_column("controller")
    table.add_column("seeds", justify="right")
    table.add_column("delay s/veh\nmedian [95 % CI]", justify="right")
    table.add_column("mean\n± 95 % CI", justify="right")
    baselines = sorted({r.baseline for r in rows if r.baseline})
    if baselines:  # a column of comparisons only when there is something to compare
        table.add_column(f"vs\n{baselines[0] if len(baselines) == 1 else 'baseline'}", justify="right")
    table.add_column("grid-\nlocked", justify="right")
    for row in rows:
        st = row.metrics[TABLE_METRIC]
        seeds = f"{row.trials - row.failed}" + (f" ({row.failed} failed)" if row.failed else "")
        change = "baseline" if row.baseline is None else _change_cell(row.vs_baseline.get(TABLE_METRIC))
        cells = [row.network, *([] if one_demand else [row.demand_label or f"{row.demand:g}"])]
        cells += [*([row.sensing] if sensed else []), row.label]
        cells += [seeds, _median_cell(st), _mean_cell(st), *([change] if baselines else [])]
        table.add_row(*cells, str(row.gridlocked) if st.n else "-")
    console.print(table)
    for line in _table_notes(rows):
        console.print(line, style="dim", highlight=False, soft_wrap=True)
    uncontrolled = sorted({p for r in results for p in r.control.get("uncontrolled", [])})
    for problem in uncontrolled:
        console.print(f"note: left on its own program: {problem}", style="yellow", highlight=False)
    warned = [r for r in results if r.sumo_warnings.get("count")]
    if warned:
        total = sum(int(r.sumo_warnings["count"]) for r in warned)
        console.print(
            f"note: SUMO reported {total} warnings in {len(warned)} trials "
            "(emergency braking, unsafe programs, ...); see sumo_warnings in the trial records",
            style="dim",
            highlight=False,
        )
    failed = sum(1 for r in results if r.state != "complete")
    notes = ([f"{resumed} reused from an earlier run"] if resumed else []) + _rerun_notes(plan)
    note = "".join(f", {n}" for n in notes)
    rate = f", {sim_s / wall_s:,.0f} simulated s per s" if sim_s and wall_s > 0 else ""
    console.print(
        f"{_n(len(results), 'trial')} ({failed} failed{note}) in {wall_s:.1f} s{rate}; "
        f"records in {out}/trials/"
    )
    console.print(
        f"trip and waiting times, arrivals: signalbench results {out} --summary; "
        f"full report: signalbench report {out}",
        style="dim",
        highlight=False,
        soft_wrap=True,
    )
    sumos = sorted({r.versions["sumo"] for r in results if r.versions.get("sumo")})
    console.print(
        "delay = timeLoss + departDelay per vehicle (SUMO tripinfo, unfinished trips included)"
        + (f"; SUMO {', '.join(sumos)}" if sumos else ""),
        style="dim",
    )
