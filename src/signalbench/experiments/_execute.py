"""Running one trial, as named steps.

The steps: what the trial runs on, its controller, SUMO's configuration, the simulation, and
the record read from SUMO's outputs.

Every failure becomes a ``failed`` :class:`TrialResult` naming its reason (a ``SystemExit`` raised
by a controller too); nothing raises out of :func:`run_trial` but KeyboardInterrupt (after SUMO
is stopped).
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import importlib.metadata
import platform
import resource
import shutil
import socket
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from signalbench._util import file_sha256
from signalbench._version import __version__
from signalbench.controllers import BuiltController, registry
from signalbench.errors import SignalbenchError, SpecError
from signalbench.experiments._fingerprint import check_inputs
from signalbench.experiments._trial import FILE_PARAM_ROLE, TrialResult, TrialSpec
from signalbench.learning import TrainingRequest, ensure_trained
from signalbench.metrics import read_intersection_tables, read_trip_metrics, write_measurement_file
from signalbench.networks import Scenario, generated_scenario, recipe_from_dict, resolve_network
from signalbench.runtime import OUTPUT_NAMES, Session, SimOptions
from signalbench.sensing import PERFECT, SensingConfig, SensingModel, sensing_model, sensing_problems
from signalbench.sim import SimConfig, resolve_sumo, run_sumo, sumo_release, sumo_version

__all__ = [
    "raised_at",
    "run_trial",
    "training_request",
    "trial_scenario",
    "trial_session",
    "trial_sumo_binary",
    "trial_window_s",
]

_FIRST_WARNINGS = 10


# -- what a trial runs on -------------------------------------------------------------------
def trial_sumo_binary(spec: TrialSpec) -> Path | None:
    """Return the SUMO binary a trial runs, or None for the bundled SUMO.

    Raises:
        SimulationError: ``spec.sumo_version`` is not installed (the message says how to).

    """
    if spec.sumo_version is not None:
        return resolve_sumo(spec.sumo_version)  # None: the bundled SUMO is that release
    return Path(spec.sumo_binary) if spec.sumo_binary else None


def trial_scenario(spec: TrialSpec) -> Scenario:
    """Return the files and time window a trial runs on (shortened to ``duration_s``).

    A generated network (``spec.generator``) is built, or taken from the cache, here.
    """
    if spec.generator is not None:
        scenario = generated_scenario(
            spec.generator, flow_veh_h=spec.flow_veh_h or 0.0, seed=spec.seed, name=spec.network
        )
        if spec.begin_s is not None or spec.end_s is not None:
            scenario = dataclasses.replace(
                scenario,
                begin_s=scenario.begin_s if spec.begin_s is None else spec.begin_s,
                end_s=scenario.end_s if spec.end_s is None else spec.end_s,
            )
    else:
        scenario = resolve_network(
            spec.network, route_files=spec.route_files, begin_s=spec.begin_s, end_s=spec.end_s
        )
    return scenario.shortened(spec.duration_s)


def trial_window_s(spec: TrialSpec) -> float:
    """Return the simulated seconds of a trial, found without building anything [s].

    A generated network's window comes from its recipe; a network that cannot be resolved
    (the trial will fail and say why) counts as one hour.
    """
    try:
        if spec.generator is not None:
            _, flow, _ = recipe_from_dict(spec.generator, spec.flow_veh_h or 0.0)
            begin = 0.0 if spec.begin_s is None else spec.begin_s
            end = flow.duration_s if spec.end_s is None else spec.end_s
        else:
            scenario = resolve_network(
                spec.network, route_files=spec.route_files, begin_s=spec.begin_s, end_s=spec.end_s
            )
            begin, end = scenario.begin_s, scenario.end_s
    except SignalbenchError:
        begin, end = 0.0, 3600.0
    window = end - begin
    return window if spec.duration_s is None else min(window, spec.duration_s)


def trial_session(spec: TrialSpec) -> Session:
    """Return the session of a trial: its scenario, and SUMO's options from the spec."""
    options = SimOptions(
        backend=spec.backend,
        step_length_s=spec.step_length_s,
        time_to_teleport_s=spec.time_to_teleport_s,
        scale=spec.scale,
        emissions=spec.emissions,
        sumo_binary=trial_sumo_binary(spec),
    )
    return Session(trial_scenario(spec), options)


def training_request(spec: TrialSpec) -> TrainingRequest | None:
    """Return what the trial's controller must be trained on first (None: nothing to train)."""
    train = spec.params.get("train")
    if train is None:
        return None
    session = trial_session(spec)
    return TrainingRequest(
        controller=registry.canonical_id(spec.controller),
        train=train,
        network=spec.network,
        scenario=session.scenario,
        options=session.options,
        timing=spec.timing,
        decision_interval_s=spec.decision_interval_s,
        warmup_s=spec.warmup_s,
        sumo_binary=spec.sumo_binary,
        sumo_version=spec.sumo_version,
        inputs={k: v for k, v in spec.inputs.items() if not k.startswith(FILE_PARAM_ROLE)},
    )


# -- the steps ------------------------------------------------------------------------------
@dataclass
class _Run:
    """What one trial has gathered so far (a failure keeps what there is)."""

    spec: TrialSpec
    outdir: Path
    started: float = field(default_factory=time.perf_counter)
    started_at: str = field(
        default_factory=lambda: _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    )
    versions: dict[str, str] = field(
        default_factory=lambda: {"signalbench": __version__, "python": platform.python_version()}
    )
    notes: list[str] = field(default_factory=list)
    command: list[str] = field(default_factory=list)
    control: dict[str, Any] = field(default_factory=dict)

    def common(self) -> dict[str, Any]:
        return {
            "trial_id": self.spec.trial_id,
            "spec": self.spec,
            "started_at": self.started_at,
            "host": socket.gethostname(),
            "sumo_command": self.command,
            "versions": self.versions,
            "wall_time_s": time.perf_counter() - self.started,
        }


def _prepare(run: _Run) -> Session:
    """Check the inputs are those the trial id names; resolve the scenario and SUMO release."""
    check_inputs(run.spec)
    session = trial_session(run.spec)
    binary = session.options.sumo_binary
    run.versions["sumo"] = sumo_version(binary)
    run.notes += _sumo_notes(run.versions, binary, run.spec.backend)
    run.outdir.mkdir(parents=True, exist_ok=True)
    return session


def _controller(spec: TrialSpec) -> BuiltController:
    """Build the trial's controller; a learning one is trained first (or found in the cache)."""
    params = dict(spec.params)
    request = training_request(spec)
    if request is not None:
        params.pop("train")
        params[request.trainable().checkpoint_param] = str(ensure_trained(request))
    return registry.build(spec.controller, params)


def _configure(run: _Run, session: Session, controller: BuiltController) -> SimConfig:
    """SUMO's configuration: installed programs, the recorded command, the measurement detectors."""
    spec, outdir = run.spec, run.outdir
    config = session.config(seed=spec.seed, outdir=outdir)
    if controller.programs is not None:
        # Installed programs load after the scenario's files, so they are the ones that run.
        programs_file = outdir / "programs.add.xml"
        described = controller.programs.write_programs(
            session.model,
            session.scenario,
            programs_file,
            scale=spec.scale,
            seed=spec.seed,
            sumo_binary=session.options.sumo_binary,
        )
        if described is not None:
            run.control = {"programs": dict(described), "uncontrolled": list(session.model.problems)}
            config = config.with_additional((programs_file,))
    # Recorded with bare output names, so it reruns as is in any folder (without the
    # intersection detectors, which live in the trial's output folder).
    binary = session.options.sumo_binary
    run.command = dataclasses.replace(
        config,
        tripinfo_file=Path(OUTPUT_NAMES["tripinfo"]),
        statistics_file=Path(OUTPUT_NAMES["statistics"]),
        message_file=None,
        additional_files=tuple(Path(f.name) if f.parent == outdir else f for f in config.additional_files),
    ).command(binary or "sumo", version=sumo_release(binary))
    if session.model.intersections:
        measures = write_measurement_file(
            session.model, outdir, interval_s=spec.interval_s, queue_max=spec.queue_max
        )
        config = config.with_additional((measures,))
    return config


def trial_sensing(spec: TrialSpec, session: Session) -> SensingModel:
    """Return the trial's sensing model; a generated network's targets are checked here (built only now)."""
    if spec.sensing is None:
        return PERFECT
    config = SensingConfig.from_dict(spec.sensing)
    if spec.generator is not None:
        problems = sensing_problems(config, session.model)
        if problems:
            raise SpecError(problems[0])
    return sensing_model(config)


def _simulate(run: _Run, session: Session, controller: BuiltController, config: SimConfig) -> None:
    """Run SUMO: plain ``sumo`` when no Python controller decides, else the decision loop."""
    spec = run.spec
    sensing = trial_sensing(spec, session)
    if controller.policy is None:
        if sensing is not PERFECT:
            run.notes.append(
                f"sensing {spec.sensing_label!r} not applied: the controller installs SUMO programs "
                "(SUMO's own detectors decide)"
            )
        run.versions["sumo_client"] = "none (plain sumo)"
        run_sumo(config)
        run.control = {"decisions": 0, "controlled_intersections": 0, **run.control}
        return
    stats = session.episode(
        controller,
        config=config,
        timing=spec.timing,
        decision_interval_s=spec.decision_interval_s,
        sensing=sensing,
        sensing_dir=run.outdir,
    ).run()
    run.control = stats.as_dict()
    run.control["uncontrolled"] = list(session.model.problems)


def _record(run: _Run, session: Session, config: SimConfig) -> TrialResult:
    """Read SUMO's outputs into the complete record."""
    spec, scenario, model = run.spec, session.scenario, session.model
    assert config.tripinfo_file is not None
    metrics = read_trip_metrics(
        config.tripinfo_file,
        config.statistics_file,
        min_depart_s=scenario.begin_s + spec.warmup_s if spec.warmup_s else None,
    )
    tables = (
        read_intersection_tables(
            run.outdir,
            model,
            begin_s=scenario.begin_s,
            end_s=scenario.end_s,
            interval_s=spec.interval_s,
            step_length_s=spec.step_length_s,
            measure_from_s=scenario.begin_s + spec.warmup_s,
            queue_max=spec.queue_max,
        ).as_columns()
        if model.intersections
        else {}
    )
    return TrialResult(
        **run.common(),
        state="complete",
        metrics=metrics.as_dict(),
        control=run.control,
        sumo_warnings=_warnings(config.message_file),
        scenario_hash=scenario.content_hash(),
        file_sha256={str(f): file_sha256(f) for f in scenario.files()},
        sim_time_s=scenario.end_s - scenario.begin_s,
        peak_rss_mib=_peak_rss_mib(),
        tables=tables,
        notes=run.notes,
    )


def run_trial(spec: TrialSpec, workdir: Path, *, keep_outputs: bool = False) -> TrialResult:
    """Run one trial; every failure becomes a ``failed`` result, never an exception.

    SUMO writes its outputs under ``workdir/<trial id>/``; they are deleted after reading
    unless ``keep_outputs``. KeyboardInterrupt still propagates (after SUMO is stopped).
    """
    run = _Run(spec=spec, outdir=Path(workdir) / spec.trial_id)
    try:
        session = _prepare(run)
        controller = _controller(spec)
        config = _configure(run, session, controller)
        _simulate(run, session, controller, config)
        return _record(run, session, config)
    except Exception as exc:
        message = str(exc) if isinstance(exc, SignalbenchError) else f"{type(exc).__name__}: {exc}"
        return TrialResult(
            **run.common(),
            state="failed",
            error=message.splitlines()[0] if message else type(exc).__name__,
            traceback=traceback.format_exc(),
        )
    except SystemExit as exc:  # sys.exit() in a controller ends its trial, not the batch
        return TrialResult(
            **run.common(),
            state="failed",
            error=f"SystemExit({exc.code!r}) raised by the trial's code at {raised_at(exc)}: "
            "a controller cannot exit the process",
            traceback=traceback.format_exc(),
        )
    finally:
        if not keep_outputs:
            shutil.rmtree(run.outdir, ignore_errors=True)


# -- helpers --------------------------------------------------------------------------------
def raised_at(exc: BaseException) -> str:
    """Where ``exc`` was raised: ``file.py:12 (act)``, for one-line failure messages."""
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return "an unknown place"
    last = frames[-1]
    return f"{last.filename}:{last.lineno} ({last.name})"


def _peak_rss_mib() -> float:
    scale = 1024.0 * 1024.0 if sys.platform == "darwin" else 1024.0  # bytes on macOS, KiB on Linux
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, child) / scale


def _warnings(path: Path | None) -> dict[str, Any]:
    if path is None or not path.is_file():
        return {"count": 0, "first": []}
    lines = [ln.strip() for ln in path.read_text(errors="replace").splitlines() if ln.startswith("Warning:")]
    return {"count": len(lines), "first": lines[:_FIRST_WARNINGS]}


def _client_version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def _sumo_notes(versions: dict[str, str], binary: Path | None, backend: str) -> list[str]:
    """Record the SUMO binary and client in ``versions``; return a note for another SUMO."""
    versions["sumo_client"] = f"{backend} {_client_version(backend)}"
    if binary is None:
        return []
    versions["sumo_binary"] = str(binary)
    return [
        f"SUMO {versions['sumo']} ({binary}) is not the bundled eclipse-sumo {sumo_version()}: libsumo "
        "runs only the bundled SUMO, so this one ran as a child process (driven over the TraCI socket "
        f"client, traci {_client_version('traci')}, when Python controllers act)"
    ]
