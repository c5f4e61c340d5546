"""A trial and its outcome.

:class:`TrialSpec` is frozen and hashed: the id policy lives here (:attr:`TrialSpec.trial_id`,
from :meth:`TrialSpec.key` and the input digests that
:mod:`signalbench.experiments._fingerprint` fills in); :class:`TrialResult` is the immutable
record the store keeps.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from signalbench.controllers import is_file_reference
from signalbench.networks import looks_like_path
from signalbench.signals import SignalTiming

__all__ = ["FILE_PARAM_ROLE", "TrialResult", "TrialSpec", "TrialState"]

TrialState = Literal["complete", "failed"]


@dataclass(frozen=True, kw_only=True)
class TrialSpec:
    """Everything that determines one trial's outcome; its content hash is the trial id.

    Attributes:
        network: catalog id (``cologne3-v0``) or a path to a ``.sumocfg`` / ``.net.xml``.
        route_files: demand files replacing the network's own (paths), if any.
        controller: controller id (``max-pressure-v0``) or reference (``file.py:Class``).
        params: the controller's parameters.
        label: the name shown in tables (defaults to the controller's name).
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
        queue_max: also measure ``queue_max_veh`` (E2 detectors on every signalised lane;
            costs SUMO ~1.1-1.2x CPU at city scale); ``NaN`` without.
        sumo_version: a SUMO release installed with ``signalbench sumo install`` (e.g.
            ``"1.9.2"``), or None for eclipse-sumo's.
        generator: recipe of a generated network (``{"generator": "grid", "rows": 2, ...}``,
            see :mod:`signalbench.networks.generate`); ``network`` is then its display name.
        flow_veh_h: demand level of a generated network: flow per approach [veh/h].
        sensing: how the controller senses the street: a ``[[sensing]]`` entry in canonical
            form (:meth:`signalbench.sensing.SensingConfig.to_dict`), or None for perfect lane
            truths. Its name is a label (left out of the id, like ``label``); perfect lane
            truths under any name leave the id as it is without sensing.
        inputs: digest of every input the outcome depends on, by role (``controller``,
            ``network``, ``routes``, ``sumo``, ``signalbench``, ...; see
            :mod:`signalbench.experiments._fingerprint`), filled in when a spec is expanded.

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
    queue_max: bool = False
    sumo_version: str | None = None
    generator: Mapping[str, Any] | None = None
    flow_veh_h: float | None = None
    sensing: Mapping[str, Any] | None = None
    inputs: Mapping[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict; :meth:`from_dict` inverts it."""
        data = {f.name: getattr(self, f.name) for f in _SPEC_FIELDS}
        data["params"] = copy.deepcopy(dict(self.params))
        data["timing"] = dataclasses.asdict(self.timing)
        data["route_files"] = list(self.route_files)
        data["generator"] = None if self.generator is None else copy.deepcopy(dict(self.generator))
        data["inputs"] = dict(self.inputs)
        data["sensing"] = None if self.sensing is None else copy.deepcopy(dict(self.sensing))
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TrialSpec:
        """Rebuild a spec written by :meth:`to_dict`."""
        values = dict(data)
        values["timing"] = SignalTiming(**values.get("timing", {}))
        values["route_files"] = tuple(values.get("route_files", ()))
        values["params"] = dict(values.get("params", {}))
        values["inputs"] = dict(values.get("inputs") or {})
        values["sensing"] = values.get("sensing")
        return cls(**values)

    def key(self) -> dict[str, Any]:
        """Return what the trial asks for, without paths: the part of the id that is not content.

        The label is left out (renaming a row reruns nothing), and so is every path: a network
        or route file, a controller file, a checkpoint or a SUMO binary given by path is
        represented by its content in :attr:`inputs` instead, so a moved or copied project
        keeps its trial ids. A generated network's display name is left out too (its recipe
        is the key), and so is the sensing's name; sensing enters only when it is not perfect
        lane truths, so trials without sensing keep their ids.
        """
        data = self.to_dict()
        sensing = data.pop("sensing")
        for name in ("label", "inputs", "route_files"):
            del data[name]
        if not self.queue_max:  # opt-in measurement: trials without it keep their ids
            del data["queue_max"]
        if not self.timing.yellow_on_every_switch:  # opt-in rule: trials without it keep their ids
            del data["timing"]["yellow_on_every_switch"]
        if sensing is not None and not _perfect(sensing):
            data["sensing"] = {k: v for k, v in sensing.items() if k != "name"}
        if self.generator is not None:
            data["network"] = None
        elif looks_like_path(self.network):
            data["network"] = _FILE
        if is_file_reference(self.controller):
            data["controller"] = f"{_FILE}:{self.controller.rpartition(':')[2]}"
        for role in self.inputs:  # parameters that name a file enter by their content
            if role.startswith(FILE_PARAM_ROLE) and role[len(FILE_PARAM_ROLE) :] in data["params"]:
                data["params"][role[len(FILE_PARAM_ROLE) :]] = _FILE
        if self.sumo_binary is not None:
            data["sumo_binary"] = _FILE
        return data

    @functools.cached_property
    def trial_id(self) -> str:
        """Hash of :meth:`key` and :attr:`inputs` (16 hex digits): the one id policy.

        Two trials have the same id exactly when they ask for the same thing and every input
        they read has the same content.
        """
        return _digest({"trial": self._key, "inputs": dict(self.inputs)})

    @functools.cached_property
    def cell_key(self) -> str:
        """Hash of :meth:`key` without the seed: the trials of one table row share it.

        A stored record with this cell key but other :attr:`inputs` was made from inputs that
        have changed since (it is stale).
        """
        return _digest({k: v for k, v in self._key.items() if k != "seed"})

    @functools.cached_property
    def _key(self) -> dict[str, Any]:
        return self.key()

    @property
    def demand_label(self) -> str:
        """Demand level for tables: ``600 veh/h`` for a generated network, else the scale."""
        if self.flow_veh_h is None:
            return f"{self.scale:g}"
        return f"{self.flow_veh_h:g} veh/h" + (f" x{self.scale:g}" if self.scale != 1.0 else "")

    @property
    def sensing_label(self) -> str:
        """Sensing scenario for tables: its name, ``perfect`` without one."""
        return str(self.sensing.get("name", "perfect")) if self.sensing else "perfect"

    @property
    def display_label(self) -> str:
        """Label for tables: the explicit label, else the controller id."""
        return self.label or self.controller


_SPEC_FIELDS = dataclasses.fields(TrialSpec)

#: Role prefix of a parameter that names a file (``param checkpoint``): it enters the id by content.
FILE_PARAM_ROLE = "param "
_FILE = "<file>"


def _perfect(sensing: Mapping[str, Any]) -> bool:
    """Perfect lane truths with nothing added (what a trial without sensing sees)."""
    plain = not sensing.get("faults") and not sensing.get("attacks")
    return sensing.get("model", "perfect") == "perfect" and plain


def _digest(data: Mapping[str, Any]) -> str:
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


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
