"""Experiment specs: a TOML file (or CLI arguments) expanded into frozen trials.

Layout of a spec file (every key optional unless marked)::

    name = "quickstart"                 # required; a label, also the default folder runs/<name>
    description = "..."
    seeds = [1, 2, 3]                   # or a count: seeds = 3 means [1, 2, 3]
    demand = [1.0, 1.5]                 # demand levels: SUMO --scale factors (default [1.0])
    backend = "libsumo"                 # or "traci"

    [sim]                               # SUMO options for every trial
    step_length_s = 1.0
    time_to_teleport_s = -1             # -1 disables teleports
    duration_s = 900                    # run only the first 900 s of each network's window
    warmup_s = 300                      # vehicles inserted before begin + 300 s not counted
    sumo_binary = "/path/to/sumo"       # another SUMO (needs backend = "traci")
    sumo_version = "1.9.2"              # or a SUMO release from `signalbench sumo install 1.9.2`

    [metrics]                           # what is measured besides the trip metrics
    emissions = false                   # CO2, NOx, fuel through SUMO's emissions device
    interval_s = 60                     # interval of the intersection time series
    queue_max = false                   # longest lane queue (E2 detectors: SUMO ~1.15x CPU)

    [run]                               # execution; command-line flags override these
    launcher = "process"                # "process", "serial" or "ray"
    workers = 2                         # trials at once (default: cores)
    retries = 1                         # run failed trials again
    timeout_s = 600                     # wall-time limit per trial
    address = "auto"                    # Ray cluster address (launcher = "ray")
    keep_sumo_output = false            # keep SUMO's own output files

    [timing]                            # safety actuator rules for Python controllers
    yellow_s = 3.0
    all_red_s = 0.0
    min_green_s = 5.0
    max_green_s = 60.0                  # or "none"
    yellow_on_every_switch = false      # true: the old green is held for yellow_s where no link loses it
    decision_interval_s = 5.0           # overrides each controller's own interval

    [[networks]]                        # required, one or more
    id = "cologne3-v0"                  # or: path = "my.sumocfg" / "my.net.xml"
    route_files = []                    # demand replacing the network's own
    begin_s = 25200                     # window override
    end_s = 28800

    [[networks]]                        # a generated network (docs/networks.md#generated-networks)
    generator = "grid"                  # "intersection", "grid" or "arterial"
    name = "grid2x3"                    # shown in tables (default from the recipe)
    rows = 2
    cols = 3
    flow_veh_h = [300, 600, 900]        # demand levels: veh/h per approach

    [[controllers]]                     # required, one or more
    id = "max-pressure"                 # registry id, or "controllers/my_policy.py:MyPolicy"
    label = "max-pressure"
    params = {}

    [[sensing]]                         # optional: sensing scenarios, an axis like demand
    name = "loops-dropout"              # (none: perfect lane truths; docs/sensing.md)
    model = "loops"                     # "perfect", "loops", "cameras" or "connected"
    params = { advance_m = 40 }
    faults = [{ kind = "dropout", rate = 0.1 }]
    attacks = []
"""

from __future__ import annotations

import dataclasses
import importlib.util
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import tomli_w

from signalbench.errors import SignalbenchError, SpecError
from signalbench.experiments._fingerprint import Fingerprinter
from signalbench.experiments._launchers import LAUNCHERS
from signalbench.experiments._trial import TrialSpec
from signalbench.networks import looks_like_path
from signalbench.sensing import SensingConfig
from signalbench.signals import SignalTiming
from signalbench.sim import SumoVersion, normalize_version
from signalbench.sim import sumo_version as sumo_version_of

__all__ = [
    "MAX_SEED",
    "MAX_TIME_S",
    "MAX_TRIALS",
    "MIN_STEP_S",
    "ControllerRef",
    "ExperimentSpec",
    "NetworkRef",
    "RunSettings",
    "binary_problem",
    "name_problem",
    "needs_socket",
    "run_problems",
]

#: The largest seed SUMO takes (``--seed`` is a 32-bit signed integer).
MAX_SEED = 2**31 - 1
#: The most trials one experiment expands to; more is a typo (``seeds = 1000000000``), not a plan.
MAX_TRIALS = 100_000
#: Simulation times (begin, end, durations) beyond this [s] (about 31 years) are refused: SUMO
#: counts milliseconds, and a decision loop in seconds loses its precision far beyond it.
MAX_TIME_S = 1e9
#: SUMO's time resolution [s]: a step length or decision interval below it cannot be run.
MIN_STEP_S = 0.001
#: The longest name [bytes of UTF-8]: it becomes a folder name (255 bytes on most systems).
_MAX_NAME_BYTES = 128


def name_problem(name: object) -> str | None:
    """Return why ``name`` is not a usable experiment name, or None.

    A name is a label: it becomes the folder ``runs/<name>``, so it is one plain folder name
    and never a path (no ``/``, ``..`` or absolute path: a shared spec cannot write where the
    user did not ask). Letters of any script, digits, blanks inside, ``-``, ``_``, ``.``,
    ``+``, ``,``, ``=``, ``@``, ``(`` and ``)`` are allowed.
    """
    if not isinstance(name, str) or not name.strip():
        return "required: a non-empty string"
    bad = sorted({c for c in name if not (c.isalnum() or c in " -_.+,=@()")})
    if bad:
        shown = ", ".join(repr(c) for c in bad[:5])
        return (
            f"{name!r} contains {shown}: a name is a label, not a path; use letters, digits, "
            "blanks, '-', '_', '.' (choose the output folder with --out)"
        )
    if name != name.strip() or name.startswith((".", "-")):
        return f"{name!r} must not start with '.', '-' or a blank, nor end with a blank"
    if len(name.encode()) > _MAX_NAME_BYTES:
        return f"{len(name.encode())} bytes is too long for a folder name (at most {_MAX_NAME_BYTES})"
    return None


@dataclass(frozen=True, kw_only=True)
class NetworkRef:
    """A network in a spec: catalog id or path, optional demand, window and timing overrides.

    ``timing`` overrides the experiment's ``[timing]`` for this network (e.g. a shorter
    yellow where the network's own programs use one); it may set ``decision_interval_s``.
    A generated network has ``generator`` (its recipe, without the flow) and ``flows_veh_h``
    (its demand levels); ``ref`` is then its display name.
    """

    ref: str
    route_files: tuple[str, ...] = ()
    begin_s: float | None = None
    end_s: float | None = None
    timing: Mapping[str, Any] = field(default_factory=dict)
    generator: Mapping[str, Any] | None = None
    flows_veh_h: tuple[float, ...] = ()


@dataclass(frozen=True, kw_only=True)
class ControllerRef:
    """A controller in a spec, with its parameters and the label shown in tables.

    ``decision_interval_s``, if set, overrides the network's and the experiment's interval.
    ``train``, for a learning controller, is its training recipe: each network's checkpoint
    is trained on the training seeds before the controller is evaluated on the experiment's.
    """

    id: str
    label: str
    params: Mapping[str, Any] = field(default_factory=dict)
    decision_interval_s: float | None = None
    train: Mapping[str, Any] | None = None


@dataclass(frozen=True, kw_only=True)
class RunSettings:
    """How a spec is run by default (the command line overrides); not part of trial ids.

    Attributes:
        launcher: ``process`` (default), ``serial`` or ``ray``.
        workers: trials at once; None for the number of cores.
        retries: how many times a failed trial is run again.
        timeout_s: wall-time limit per trial [s], or None.
        address: Ray cluster address, or None to start Ray locally.
        keep_sumo_output: keep SUMO's own output files in the experiment folder.

    """

    launcher: str = "process"
    workers: int | None = None
    retries: int = 0
    timeout_s: float | None = None
    address: str | None = None
    keep_sumo_output: bool = False

    def __post_init__(self) -> None:
        problems = run_problems(dataclasses.asdict(self))
        if problems:
            raise SpecError("; ".join(problems))


def run_problems(values: Mapping[str, Any]) -> list[str]:
    """Every problem of a [run] table (or of command-line overrides), as ``field: message``."""
    problems: list[str] = []
    launcher = values.get("launcher", "process")
    if launcher not in LAUNCHERS:
        problems.append(f"run.launcher: unknown launcher {launcher!r}; choose one of {', '.join(LAUNCHERS)}")
    elif launcher == "ray" and importlib.util.find_spec("ray") is None:
        problems.append("run.launcher: the ray launcher needs Ray: pip install 'signalbench[ray]'")
    workers = values.get("workers")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        problems.append(f"run.workers: expected an integer >= 1, got {workers!r}")
    retries = values.get("retries", 0)
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        problems.append(f"run.retries: expected an integer >= 0, got {retries!r}")
    timeout = values.get("timeout_s")
    if timeout is not None and (
        isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0 < timeout < math.inf
    ):
        problems.append(f"run.timeout_s: must be > 0 (seconds), got {timeout!r}")
    address = values.get("address")
    if address is not None and not isinstance(address, str):
        problems.append(f"run.address: expected a string, got {address!r}")
    elif address is not None and launcher != "ray":
        problems.append("run.address: an address is for launcher = 'ray'")
    if not isinstance(values.get("keep_sumo_output", False), bool):
        problems.append(f"run.keep_sumo_output: expected true or false, got {values['keep_sumo_output']!r}")
    return problems


def binary_problem(backend: str, sumo_binary: str | None, sumo_version: str | None = None) -> str | None:
    """Return the problem, if any, of a SUMO binary or release with a backend.

    libsumo runs only the bundled SUMO; a release number must be a plain ``X.Y.Z``.
    """
    if sumo_binary is not None and sumo_version is not None:
        return "sim.sumo_binary and sim.sumo_version both choose the SUMO: give only one"
    if sumo_binary is not None and backend == "libsumo":
        return f"sim.sumo_binary ({sumo_binary}) needs backend = 'traci': libsumo runs only its own SUMO"
    if sumo_version is not None:
        try:
            wanted = normalize_version(sumo_version)
        except SignalbenchError as exc:
            return f"sim.sumo_version: {exc}"
        if backend == "libsumo" and needs_socket(wanted):
            return (
                f"sim.sumo_version ({wanted}) needs backend = 'traci': libsumo runs only the bundled "
                f"SUMO {sumo_version_of()}"
            )
    return None


def needs_socket(sumo_version: str | None, sumo_binary: str | None = None) -> bool:
    """Return True if this SUMO choice cannot run under libsumo (a binary, or a release not bundled)."""
    if sumo_binary is not None:
        return True
    if sumo_version is None:
        return False
    try:
        return SumoVersion.parse(sumo_version) != SumoVersion.parse(sumo_version_of())
    except SignalbenchError:
        return True


@dataclass(frozen=True, kw_only=True)
class ExperimentSpec:
    """A validated batch: networks x demand x sensing x controllers x seeds, with shared options.

    ``sensing`` empty means perfect lane truths only (trials without sensing).
    """

    name: str
    networks: tuple[NetworkRef, ...]
    controllers: tuple[ControllerRef, ...]
    seeds: tuple[int, ...]
    demand: tuple[float, ...] = (1.0,)
    description: str = ""
    backend: str = "libsumo"
    timing: SignalTiming = field(default_factory=SignalTiming)
    decision_interval_s: float | None = None
    step_length_s: float = 1.0
    time_to_teleport_s: float = -1.0
    duration_s: float | None = None
    warmup_s: float = 0.0
    sumo_binary: str | None = None
    run: RunSettings = field(default_factory=RunSettings)
    emissions: bool = False
    interval_s: float = 60.0
    queue_max: bool = False
    sumo_version: str | None = None
    sensing: tuple[SensingConfig, ...] = ()

    def __post_init__(self) -> None:
        problem = binary_problem(self.backend, self.sumo_binary, self.sumo_version)
        if problem:
            raise SpecError(problem)
        if (problem := name_problem(self.name)) is not None:
            raise SpecError(f"name: {problem}")
        if self.trial_count() > MAX_TRIALS:
            raise SpecError(
                f"{self.trial_count():,} trials (networks x demand x sensing x controllers x seeds) is more "
                f"than one experiment runs (at most {MAX_TRIALS:,}); split it"
            )

    def trial_count(self) -> int:
        """How many trials :meth:`trials` expands to (without expanding them)."""
        levels = sum(len(n.flows_veh_h) if n.generator is not None else 1 for n in self.networks)
        return levels * len(self.demand) * max(1, len(self.sensing)) * len(self.controllers) * len(self.seeds)

    def trials(self) -> list[TrialSpec]:
        """Expand into frozen trials: network, then demand, then sensing, then controller, then seed.

        Each trial carries the digests of its inputs (controller source, network files, SUMO
        release, ...; see :mod:`signalbench.experiments._fingerprint`), read now: its id says
        what it runs on today.
        """
        fingerprints = Fingerprinter()
        out: list[TrialSpec] = []
        for net in self.networks:
            overrides = dict(net.timing)
            net_interval = overrides.pop("decision_interval_s", None)
            timing = dataclasses.replace(self.timing, **overrides) if overrides else self.timing
            flows: tuple[float | None, ...] = net.flows_veh_h if net.generator is not None else (None,)
            sensing: tuple[SensingConfig | None, ...] = self.sensing or (None,)
            for flow, scale, sens in ((f, s, x) for f in flows for s in self.demand for x in sensing):
                for ctrl in self.controllers:
                    for seed in self.seeds:
                        out.append(
                            TrialSpec(
                                generator=None if net.generator is None else dict(net.generator),
                                flow_veh_h=flow,
                                network=net.ref,
                                route_files=net.route_files,
                                controller=ctrl.id,
                                params=dict(ctrl.params)
                                | ({"train": dict(ctrl.train)} if ctrl.train else {}),
                                label=ctrl.label,
                                seed=seed,
                                timing=timing,
                                decision_interval_s=(
                                    ctrl.decision_interval_s or net_interval or self.decision_interval_s
                                ),
                                begin_s=net.begin_s,
                                end_s=net.end_s,
                                duration_s=self.duration_s,
                                warmup_s=self.warmup_s,
                                step_length_s=self.step_length_s,
                                time_to_teleport_s=self.time_to_teleport_s,
                                scale=scale,
                                backend=self.backend,
                                sumo_binary=self.sumo_binary,
                                emissions=self.emissions,
                                interval_s=self.interval_s,
                                queue_max=self.queue_max,
                                sumo_version=self.sumo_version,
                                sensing=None if sens is None else sens.to_dict(),
                            )
                        )
        return [fingerprints.fingerprinted(t) for t in out]

    def to_dict(self) -> dict[str, Any]:
        """Return the spec as TOML-ready data; :func:`spec_from_dict` reads it back."""
        sim: dict[str, Any] = {
            "step_length_s": self.step_length_s,
            "time_to_teleport_s": self.time_to_teleport_s,
            "warmup_s": self.warmup_s,
        }
        for key in ("duration_s", "sumo_binary", "sumo_version"):
            if getattr(self, key) is not None:
                sim[key] = getattr(self, key)
        timing: dict[str, Any] = {
            "yellow_s": self.timing.yellow_s,
            "all_red_s": self.timing.all_red_s,
            "min_green_s": self.timing.min_green_s,
            "max_green_s": "none" if self.timing.max_green_s is None else self.timing.max_green_s,
        }
        if self.timing.yellow_on_every_switch:
            timing["yellow_on_every_switch"] = True
        if self.decision_interval_s is not None:
            timing["decision_interval_s"] = self.decision_interval_s
        networks = []
        for net in self.networks:
            if net.generator is not None:
                gen: dict[str, Any] = {**net.generator, "name": net.ref, "flow_veh_h": list(net.flows_veh_h)}
                if net.timing:
                    gen["timing"] = {k: "none" if v is None else v for k, v in net.timing.items()}
                networks.append(gen)
                continue
            entry: dict[str, Any] = {"path" if looks_like_path(net.ref) else "id": net.ref}
            if net.route_files:
                entry["route_files"] = list(net.route_files)
            for key in ("begin_s", "end_s"):
                if getattr(net, key) is not None:
                    entry[key] = getattr(net, key)
            if net.timing:
                entry["timing"] = {k: "none" if v is None else v for k, v in net.timing.items()}
            networks.append(entry)
        return {
            "name": self.name,
            "description": self.description,
            "seeds": list(self.seeds),
            "demand": list(self.demand),
            "backend": self.backend,
            "sim": sim,
            "timing": timing,
            "run": {k: v for k, v in dataclasses.asdict(self.run).items() if v is not None},
            "metrics": {
                "emissions": self.emissions,
                "interval_s": self.interval_s,
                **({"queue_max": True} if self.queue_max else {}),
            },
            "networks": networks,
            "controllers": [
                {"id": c.id, "label": c.label, "params": dict(c.params)}
                | ({"decision_interval_s": c.decision_interval_s} if c.decision_interval_s else {})
                | ({"train": dict(c.train)} if c.train else {})
                for c in self.controllers
            ],
        } | ({"sensing": [_sensing_toml(s) for s in self.sensing]} if self.sensing else {})

    def to_toml(self) -> str:
        """TOML text that :func:`load_spec` reads back to an equal spec."""
        return tomli_w.dumps(self.to_dict())


def _sensing_toml(config: SensingConfig) -> dict[str, Any]:
    """Return a sensing entry as a spec file writes it (``diagnostics = false`` when off)."""
    data = config.to_dict()
    if config.diagnostics is None and not config.is_perfect:
        data["diagnostics"] = False
    return data
