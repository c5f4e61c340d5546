"""One trial: a network, a demand, a controller and a seed, run to a result record."""

from __future__ import annotations

import dataclasses
import datetime as _dt
import hashlib
import importlib.metadata
import json
import math
import platform
import resource
import shutil
import socket
import sys
import time
import traceback
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from signalbench._util import file_sha256
from signalbench._version import __version__
from signalbench.controllers import ProgramWriter, registry
from signalbench.errors import SignalbenchError
from signalbench.experiments._episode import Episode
from signalbench.metrics import read_intersection_tables, read_trip_metrics, write_measurement_file
from signalbench.networks import Scenario, generated_scenario, load_network_model, resolve_network
from signalbench.signals import SignalTiming
from signalbench.sim import SimConfig, make_backend, resolve_sumo, run_sumo, sumo_release, sumo_version

__all__ = [
    "TrialResult",
    "TrialSpec",
    "TrialState",
    "run_trial",
    "trial_config",
    "trial_scenario",
    "trial_sumo_binary",
]

TrialState = Literal["complete", "failed"]


@dataclass(frozen=True, kw_only=True)
class TrialSpec:
    """Everything that determines one trial's outcome; its content hash is the trial id.

    Attributes:
        network: catalog id (``cologne3-v0``) or a path to a ``.sumocfg`` / ``.net.xml``.
        route_files: demand files replacing the network's own (paths), if any.
        controller: controller id (``max-pressure-v0``) or reference (``file.py:Class``).
        params: the controller's parameters.
        label: the name shown in tables (defaults to the controller id).
        seed: integer seed for SUMO and the controller.
        timing: the actuator's timing rules.
        decision_interval_s: overrides the controller's own decision interval, if set.
        begin_s: simulation begin [s]; None takes the network's time window.
        end_s: simulation end [s]; None takes the network's time window.
        duration_s: run only this long from the begin [s] (a shorter window), if set.
        warmup_s: vehicles inserted before begin + warmup_s are left out of the trip
            metrics (they still load the network) [s].
        step_length_s: SUMO step length [s].
        time_to_teleport_s: SUMO ``--time-to-teleport`` [s]; -1 disables teleports.
        scale: demand scale factor (SUMO ``--scale``).
        backend: ``libsumo`` or ``traci``.
        sumo_binary: a specific SUMO binary (traci backend), or None for eclipse-sumo's.
        emissions: equip vehicles with SUMO's emissions device (CO2, NOx, fuel metrics).
        interval_s: interval of the intersection time series [s].
        sumo_version: a SUMO release installed with ``signalbench sumo install`` (e.g.
            ``"1.9.2"``), or None for eclipse-sumo's; left out of the trial id when None.
        generator: recipe of a generated network (``{"generator": "grid", "rows": 2, ...}``,
            see :mod:`signalbench.networks._generate`); ``network`` is then its display name.
        flow_veh_h: demand level of a generated network: flow per approach [veh/h].

    Fields added after the first release (``generator``, ``flow_veh_h``) are left out of
    :meth:`to_dict` while unset, so trial ids of existing specs do not change.

    """

    network: str
    controller: str
    seed: int
    label: str = ""
    route_files: tuple[str, ...] = ()
    params: Mapping[str, Any] = field(default_factory=dict)
    timing: SignalTiming = field(default_factory=SignalTiming)
    decision_interval_s: float | None = None
    begin_s: float | None = None
    end_s: float | None = None
    duration_s: float | None = None
    warmup_s: float = 0.0
    step_length_s: float = 1.0
    time_to_teleport_s: float = -1.0
    scale: float = 1.0
    backend: str = "libsumo"
    sumo_binary: str | None = None
    emissions: bool = False
    interval_s: float = 60.0
    sumo_version: str | None = None
    generator: Mapping[str, Any] | None = None
    flow_veh_h: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict; :meth:`from_dict` inverts it."""
        data = dataclasses.asdict(self)
        data["params"] = dict(self.params)
        data["route_files"] = list(self.route_files)
        for key in ("generator", "flow_veh_h"):  # omitted while unset: trial ids stay stable
            if data[key] is None:
                del data[key]
        if self.generator is not None:
            data["generator"] = dict(self.generator)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TrialSpec:
        """Rebuild a spec written by :meth:`to_dict`."""
        values = dict(data)
        values["timing"] = SignalTiming(**values.get("timing", {}))
        values["route_files"] = tuple(values.get("route_files", ()))
        values["params"] = dict(values.get("params", {}))
        return cls(**values)

    @property
    def trial_id(self) -> str:
        """Content hash of what determines the outcome (16 hex digits).

        The label is left out: renaming a controller in a table does not rerun its trials.
        """
        data = self.to_dict()
        del data["label"]
        # Measurement options added later enter the hash only when set, so the ids of
        # existing stores stay valid.
        for key, default in _MEASUREMENT_DEFAULTS.items():
            if data[key] == default:
                del data[key]
        if data["sumo_version"] is None:  # added later: ids of trials without it stay as they were
            del data["sumo_version"]
        canonical = json.dumps(data, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]

    @property
    def demand_label(self) -> str:
        """Demand level for tables: ``600 veh/h`` for a generated network, else the scale."""
        if self.flow_veh_h is None:
            return f"{self.scale:g}"
        return f"{self.flow_veh_h:g} veh/h" + (f" x{self.scale:g}" if self.scale != 1.0 else "")

    @property
    def display_label(self) -> str:
        """Label for tables: the explicit label, else the controller id."""
        return self.label or self.controller


_MEASUREMENT_DEFAULTS: dict[str, Any] = {"emissions": False, "interval_s": 60.0}


@dataclass(frozen=True, kw_only=True)
class TrialResult:
    """The immutable outcome of one trial, as stored on disk.

    Attributes:
        trial_id: :attr:`TrialSpec.trial_id`.
        spec: what was run.
        state: ``complete`` or ``failed``.
        metrics: trip metrics (see :data:`signalbench.metrics.TRIP_METRICS`).
        control: controller-side statistics (decisions, overrides, compute time).
        error: one-line reason when failed.
        sumo_command: the SUMO command line of the run; it reruns as is with plain ``sumo``
            (outputs go to ``tripinfo.xml`` and ``statistics.xml`` in the current folder; the
            harness itself also sent SUMO's warnings to a log file).
        versions: signalbench, SUMO, Python versions.
        scenario_hash: hash of the network and demand files.
        sumo_warnings: how many warnings SUMO reported, and the first ones (emergency
            braking, unsafe programs, ...): ``{"count": n, "first": [...]}``.
        wall_time_s: wall time of the whole trial [s].
        started_at: UTC start time (ISO 8601).
        host: machine name.
        traceback: full traceback of a failure, for ``--debug``.
        file_sha256: SHA-256 of every network and demand file, by path.
        sim_time_s: simulated time of the trial [s].
        attempt: 1 for the first run of this trial, 2 for the first retry, ...
        peak_rss_mib: peak resident memory of the trial's process or of its SUMO child,
            whichever is larger [MiB] (with the process launcher, one process per trial).
        provenance: experiment name, spec hash, host, git commits of the working folder
            and of signalbench (see ``experiments._provenance``).
        tables: per-intersection tables (``timeseries``, ``approaches``, ``intersections``),
            column-oriented; the result store writes them as Parquet next to the JSON record
            and leaves them out of it.
        notes: remarks on how the trial ran (e.g. another SUMO over the TraCI socket).

    """

    trial_id: str
    spec: TrialSpec
    state: TrialState
    metrics: dict[str, float | int] = field(default_factory=dict)
    control: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    sumo_command: list[str] = field(default_factory=list)
    versions: dict[str, str] = field(default_factory=dict)
    scenario_hash: str = ""
    sumo_warnings: dict[str, Any] = field(default_factory=dict)
    wall_time_s: float = 0.0
    started_at: str = ""
    host: str = ""
    traceback: str | None = None
    file_sha256: dict[str, str] = field(default_factory=dict)
    sim_time_s: float = 0.0
    attempt: int = 1
    peak_rss_mib: float = 0.0
    provenance: dict[str, Any] = field(default_factory=dict)
    tables: dict[str, dict[str, list[Any]]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (NaN metrics become null)."""
        data = dataclasses.asdict(self)
        data["spec"] = self.spec.to_dict()
        data["metrics"] = {
            k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in self.metrics.items()
        }
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TrialResult:
        """Rebuild a result written by :meth:`to_dict`."""
        values = dict(data)
        values["spec"] = TrialSpec.from_dict(values["spec"])
        values["metrics"] = {k: (math.nan if v is None else v) for k, v in values.get("metrics", {}).items()}
        return cls(**values)


_FIRST_WARNINGS = 10


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


def trial_config(
    spec: TrialSpec, scenario: Scenario, outdir: Path, *, seed: int | None = None, statistics: bool = True
) -> SimConfig:
    """Return the SUMO run of ``spec`` on ``scenario``, writing its outputs into ``outdir``.

    ``seed`` replaces the trial's seed (training episodes); ``statistics`` False leaves out
    SUMO's statistics output.
    """
    return SimConfig.for_scenario(
        scenario,
        step_length_s=spec.step_length_s,
        seed=spec.seed if seed is None else seed,
        time_to_teleport_s=spec.time_to_teleport_s,
        scale=spec.scale,
        tripinfo_file=outdir / "tripinfo.xml",
        statistics_file=outdir / "statistics.xml" if statistics else None,
        message_file=outdir / "sumo-messages.log",
        sumo_binary=trial_sumo_binary(spec),
        emissions=spec.emissions,
    )


def run_trial(spec: TrialSpec, workdir: Path, *, keep_outputs: bool = False) -> TrialResult:
    """Run one trial; every failure becomes a ``failed`` result, never an exception.

    SUMO writes its outputs under ``workdir/<trial id>/``; they are deleted after reading
    unless ``keep_outputs``. KeyboardInterrupt still propagates (after SUMO is stopped).
    """
    started = time.perf_counter()
    started_at = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    trial_id = spec.trial_id
    outdir = Path(workdir) / trial_id
    common: dict[str, Any] = {
        "trial_id": trial_id,
        "spec": spec,
        "started_at": started_at,
        "host": socket.gethostname(),
    }
    command: list[str] = []
    versions: dict[str, str] = {"signalbench": __version__, "python": platform.python_version()}
    try:
        scenario = trial_scenario(spec)
        binary = trial_sumo_binary(spec)
        versions["sumo"] = sumo_version(binary)
        notes = _sumo_notes(versions, binary, spec.backend)
        outdir.mkdir(parents=True, exist_ok=True)
        config = trial_config(spec, scenario, outdir)
        model = load_network_model(scenario.net_file)
        params = dict(spec.params)
        if "train" in params:  # a learning controller: train (or find the cached training) first
            from signalbench.experiments._training import ensure_trained

            params.pop("train")
            params["checkpoint"] = str(ensure_trained(spec))
        controller = registry.build(spec.controller, params)
        programs: dict[str, Any] | None = None
        if isinstance(controller, ProgramWriter) and not getattr(controller, "controls_signals", True):
            # The controller installs SUMO programs (programs.add.xml, loaded last, so active).
            programs_file = outdir / "programs.add.xml"
            programs = {
                "programs": dict(
                    controller.write_programs(
                        model,
                        scenario,
                        programs_file,
                        scale=spec.scale,
                        seed=spec.seed,
                        sumo_binary=binary,
                    )
                ),
                "uncontrolled": list(model.problems),
            }
            config = dataclasses.replace(config, additional_files=(*config.additional_files, programs_file))
        # Recorded with bare output names, so it reruns as is in any folder (without the
        # intersection detectors, which live in the trial's output folder).
        command = dataclasses.replace(
            config,
            tripinfo_file=Path("tripinfo.xml"),
            statistics_file=Path("statistics.xml"),
            message_file=None,
            additional_files=tuple(
                Path(f.name) if f.parent == outdir else f for f in config.additional_files
            ),
        ).command(binary or "sumo", version=sumo_release(binary))
        if model.intersections:
            measures = write_measurement_file(model, outdir, interval_s=spec.interval_s)
            config = dataclasses.replace(config, additional_files=(*config.additional_files, measures))
        if not getattr(controller, "controls_signals", True):
            # No Python decisions: plain SUMO, no TraCI round trips at all.
            versions["sumo_client"] = "none (plain sumo)"
            run_sumo(config)
            control: dict[str, Any] = {"decisions": 0, "controlled_intersections": 0}
            if programs is not None:
                control.update(programs)
        else:
            backend = make_backend(spec.backend)
            stats = Episode(
                backend=backend,
                config=config,
                model=model,
                controller=controller,
                timing=spec.timing,
                decision_interval_s=spec.decision_interval_s,
            ).run()
            control = stats.as_dict()
            control["uncontrolled"] = list(model.problems)
        metrics = read_trip_metrics(
            config.tripinfo_file,  # type: ignore[arg-type]
            config.statistics_file,
            min_depart_s=scenario.begin_s + spec.warmup_s if spec.warmup_s else None,
        )
        tables = (
            read_intersection_tables(
                outdir,
                model,
                begin_s=scenario.begin_s,
                end_s=scenario.end_s,
                interval_s=spec.interval_s,
                step_length_s=spec.step_length_s,
                measure_from_s=scenario.begin_s + spec.warmup_s,
            ).as_columns()
            if model.intersections
            else {}
        )
        return TrialResult(
            **common,
            state="complete",
            metrics=metrics.as_dict(),
            control=control,
            sumo_warnings=_warnings(config.message_file),
            sumo_command=command,
            versions=versions,
            scenario_hash=scenario.content_hash(),
            file_sha256={str(f): file_sha256(f) for f in scenario.files()},
            sim_time_s=scenario.end_s - scenario.begin_s,
            peak_rss_mib=_peak_rss_mib(),
            wall_time_s=time.perf_counter() - started,
            tables=tables,
            notes=notes,
        )
    except Exception as exc:
        message = str(exc) if isinstance(exc, SignalbenchError) else f"{type(exc).__name__}: {exc}"
        return TrialResult(
            **common,
            state="failed",
            error=message.splitlines()[0] if message else type(exc).__name__,
            sumo_command=command,
            versions=versions,
            wall_time_s=time.perf_counter() - started,
            traceback=traceback.format_exc(),
        )
    finally:
        if not keep_outputs:
            shutil.rmtree(outdir, ignore_errors=True)
