"""Reading experiment specs: TOML or plain data, validated with every error reported at once.

Two passes. First every table is validated as data, one validator per table (types, numbers,
unknown keys with suggestions) into drafts; no file is touched. Then the drafts are resolved
against the world (catalog ids and paths, controller classes and files, checkpoints, demand
in the window), and the checks across tables run (warm-up against each window, a zero yellow
where phases conflict). Every problem of both passes is reported in one error.

The layout of a spec is documented in :mod:`signalbench.experiments._spec`.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from signalbench._util import close_matches, data_dir, did_you_mean, load_toml
from signalbench.controllers import registry
from signalbench.errors import SignalbenchError, SpecError
from signalbench.experiments._spec import (
    MAX_SEED,
    MAX_TIME_S,
    MAX_TRIALS,
    MIN_STEP_S,
    ControllerRef,
    ExperimentSpec,
    NetworkRef,
    RunSettings,
    binary_problem,
    name_problem,
    needs_socket,
    run_problems,
)
from signalbench.networks import (
    PRESETS,
    RECIPE_KEYS,
    Scenario,
    canonical_network,
    catalog,
    count_traffic_lights,
    count_vehicles,
    load_scenario_model,
    looks_like_path,
    recipe_from_dict,
    resolve_network,
)
from signalbench.sensing import SensingConfig, field_set, parse_sensing, sensing_problems
from signalbench.signals import SignalTiming, loses_green
from signalbench.sim import BACKENDS, normalize_version

__all__ = ["bundled_specs", "load_spec", "spec_from_dict"]

_TOP_KEYS = (
    "name", "description", "seeds", "demand", "backend", "sim", "timing", "run", "networks", "controllers",
    "metrics", "sensing",
)  # fmt: skip
_METRICS_KEYS = ("emissions", "interval_s", "queue_max")
_SIM_KEYS = ("step_length_s", "time_to_teleport_s", "duration_s", "warmup_s", "sumo_binary", "sumo_version")
_RUN_KEYS = ("launcher", "workers", "retries", "timeout_s", "address", "keep_sumo_output")
_TIMING_KEYS = (
    "yellow_s", "all_red_s", "min_green_s", "max_green_s", "yellow_on_every_switch", "decision_interval_s",
)  # fmt: skip
_NETWORK_KEYS = ("id", "path", "route_files", "begin_s", "end_s", "timing")
_CONTROLLER_KEYS = ("id", "label", "params", "decision_interval_s", "train")

#: Keys of the sub-tables, to suggest ``[run] workers`` for a top-level ``workerz``.
_NESTED_KEYS: dict[str, tuple[str, ...]] = {
    "sim": _SIM_KEYS,
    "timing": _TIMING_KEYS,
    "run": _RUN_KEYS,
    "metrics": _METRICS_KEYS,
}


def bundled_specs() -> dict[str, Path]:
    """Return the ready-to-run specs shipped in ``experiments/``, by name."""
    return {p.stem: p for p in sorted(data_dir("experiments").glob("*.toml"))}


def load_spec(ref: str | Path) -> ExperimentSpec:
    """Load a spec from a TOML path or the name of a bundled spec (``quickstart``)."""
    path = Path(ref)
    if "\x00" in str(ref):
        raise SpecError(f"spec {str(ref)!r}: a path cannot contain a NUL byte")
    if path.is_dir():
        raise SpecError(f"{ref} is a folder, not a spec file (give the .toml file inside it)")
    if not path.is_file():
        bundled = bundled_specs()
        if str(ref) in bundled:
            path = bundled[str(ref)]
        elif str(ref).endswith(".toml") or "/" in str(ref):
            raise SpecError(f"spec file not found: {ref}")
        else:
            hint = did_you_mean(
                str(ref), bundled, n=2, quote=False, otherwise=f"; bundled specs: {', '.join(bundled)}"
            )
            raise SpecError(f"no spec file or bundled spec named {str(ref)!r}{hint}")
    data = load_toml(path)
    return spec_from_dict(data, source=str(path), base_dir=path.resolve().parent)


class _Errors:
    def __init__(self, source: str) -> None:
        self.source = source
        self.items: list[str] = []

    def add(self, where: str, message: str) -> None:
        self.items.append(f"{where}: {message}")

    def unknown_keys(
        self,
        where: str,
        table: Mapping[str, Any],
        known: tuple[str, ...],
        *,
        nested: Mapping[str, tuple[str, ...]] | None = None,
    ) -> None:
        """Report keys not in ``known``; ``nested`` (table -> keys) also suggests ``[table] key``."""
        for key in table:
            if key in known:
                continue
            close = close_matches(key, known)
            if not close and nested:
                by_leaf = {k: f"[{table_name}] {k}" for table_name, keys in nested.items() for k in keys}
                close = [by_leaf[c] for c in close_matches(key, by_leaf)]
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            self.add(f"{where}{key}" if where else key, f"unknown key{hint}")

    def raise_if_any(self) -> None:
        if self.items:
            count = f"{len(self.items)} errors: " if len(self.items) > 1 else ""
            raise SpecError(f"{self.source}: {count}{'; '.join(self.items)}")


def _flag(errors: _Errors, where: str, value: Any) -> bool:
    """Read a true/false setting; anything else is recorded as an error (and read as false)."""
    if isinstance(value, bool):
        return value
    errors.add(where, f"expected true or false, got {value!r}")
    return False


def _number(
    errors: _Errors,
    where: str,
    value: Any,
    *,
    minimum: float | None = None,
    positive: bool = False,
    allow_none: bool = False,
    maximum: float | None = None,
) -> float | None:
    if allow_none and (value is None or value == "none"):
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        errors.add(where, f"expected a number, got {value!r}")
        return None
    if positive and not value > 0:
        errors.add(where, f"must be > 0, got {value!r}")
    elif minimum is not None and value < minimum:
        errors.add(where, f"must be >= {minimum:g}, got {value!r}")
    elif maximum is not None and value > maximum:
        errors.add(where, f"must be <= {maximum:g}, got {value!r}")
    else:
        return float(value)
    return None  # reported: later checks must not build on it (one error per mistake)


def _time(errors: _Errors, where: str, value: Any, *, positive: bool = False) -> float | None:
    """Read a simulation time or duration [s]: finite, >= 0 (or > 0), at most :data:`MAX_TIME_S`."""
    return _number(errors, where, value, minimum=0, positive=positive, maximum=MAX_TIME_S)


def _interval(errors: _Errors, where: str, value: Any) -> float | None:
    """Read a decision interval [s]: at least SUMO's time resolution, at most :data:`MAX_TIME_S`."""
    return _number(errors, where, value, minimum=MIN_STEP_S, maximum=MAX_TIME_S)


def _table(errors: _Errors, where: str, raw: Any) -> dict[str, Any]:
    if not isinstance(raw, dict):
        errors.add(where, "expected a table")
        return {}
    return raw


# -- first pass: every table as data --------------------------------------------------------
@dataclass
class _Top:
    name: str = "experiment"
    description: str = ""
    seeds: tuple[int, ...] = ()
    demand: tuple[float, ...] = (1.0,)


def _read_top(errors: _Errors, data: Mapping[str, Any]) -> _Top:
    """Read the name, description, seeds and demand levels."""
    description = data.get("description", "")
    if not isinstance(description, str):
        errors.add("description", f"expected a string, got {description!r}")
        description = ""
    top = _Top(description=description)
    name = data.get("name")
    if (problem := name_problem(name)) is not None:
        errors.add("name", problem)
    else:
        top.name = str(name)
    top.seeds = _read_seeds(errors, "seeds", data.get("seeds", 3))
    demand_raw = data.get("demand", [1.0])
    if not isinstance(demand_raw, list) or not demand_raw:
        errors.add("demand", f"expected a non-empty list of scale factors, got {demand_raw!r}")
    else:
        levels = [_number(errors, f"demand[{i}]", v, positive=True) for i, v in enumerate(demand_raw)]
        if all(v is not None for v in levels):
            top.demand = tuple(float(v) for v in levels if v is not None)
            if len(set(top.demand)) != len(top.demand):
                errors.add("demand", "demand levels repeat")
    return top


def _read_seeds(errors: _Errors, where: str, raw: Any) -> tuple[int, ...]:
    """Seeds: a count N (seeds 1..N) or a list of distinct integers in SUMO's range."""
    if isinstance(raw, int) and not isinstance(raw, bool):
        if raw < 1:
            errors.add(where, f"a count must be >= 1, got {raw}")
            return ()
        if raw > MAX_TRIALS:
            errors.add(
                where, f"a count of {raw:,} seeds is more than one experiment runs (at most {MAX_TRIALS:,})"
            )
            return ()
        return tuple(range(1, raw + 1))
    if not isinstance(raw, list) or not raw:
        errors.add(where, f"expected a list of integers or a count, got {raw!r}")
        return ()
    bad = [s for s in raw if isinstance(s, bool) or not isinstance(s, int)]
    if bad:
        errors.add(where, f"seeds must be integers, got {bad[0]!r}")
        return ()
    if len(set(raw)) != len(raw):
        errors.add(where, "seeds repeat")
    elif any(s < 0 for s in raw):
        errors.add(where, "seeds must be >= 0")
    elif any(s > MAX_SEED for s in raw):
        errors.add(where, f"seed {max(raw)} is beyond SUMO's range (at most {MAX_SEED}, a 32-bit integer)")
    return tuple(int(s) for s in raw)


@dataclass
class _Sim:
    backend: str = "libsumo"
    step_length_s: float = 1.0
    time_to_teleport_s: float = -1.0
    warmup_s: float = 0.0
    duration_s: float | None = None
    sumo_binary: str | None = None
    sumo_version: str | None = None


def _read_sim(errors: _Errors, data: Mapping[str, Any]) -> _Sim:
    """Read the ``[sim]`` table, and the backend it implies."""
    sim = _table(errors, "sim", data.get("sim", {}))
    errors.unknown_keys("sim.", sim, _SIM_KEYS)
    out = _Sim()
    backend = data.get("backend", "libsumo")
    if backend not in BACKENDS:
        errors.add("backend", f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    step = _number(
        errors, "sim.step_length_s", sim.get("step_length_s", 1.0), minimum=MIN_STEP_S, maximum=3600.0
    )
    teleport = _number(
        errors, "sim.time_to_teleport_s", sim.get("time_to_teleport_s", -1.0), minimum=-1, maximum=MAX_TIME_S
    )
    warmup = _time(errors, "sim.warmup_s", sim.get("warmup_s", 0.0))
    if "duration_s" in sim:
        out.duration_s = _time(errors, "sim.duration_s", sim["duration_s"], positive=True)
    out.step_length_s = step or 1.0
    out.time_to_teleport_s = -1.0 if teleport is None else teleport
    out.warmup_s = warmup or 0.0
    binary = sim.get("sumo_binary")
    if binary is not None and not isinstance(binary, str):
        errors.add("sim.sumo_binary", "expected a path string")
        binary = None
    version = sim.get("sumo_version")
    if version is not None and not isinstance(version, str):
        errors.add("sim.sumo_version", f'expected a release number string such as "1.9.2", got {version!r}')
        version = None
    if "backend" not in data and needs_socket(version, binary):
        backend = "traci"  # libsumo runs only the bundled SUMO: another one needs the socket client
    if (problem := binary_problem(str(backend), binary, version)) is not None:
        errors.items.append(problem)
    elif version is not None:
        version = normalize_version(version)
    out.backend, out.sumo_binary, out.sumo_version = str(backend), binary, version
    return out


def _read_metrics(errors: _Errors, raw: Any) -> tuple[bool, float, bool]:
    """Read the ``[metrics]`` table: emissions, the interval of the time series, queue_max."""
    metrics = _table(errors, "metrics", raw)
    errors.unknown_keys("metrics.", metrics, _METRICS_KEYS)
    emissions = _flag(errors, "metrics.emissions", metrics.get("emissions", False))
    queue_max = _flag(errors, "metrics.queue_max", metrics.get("queue_max", False))
    interval_s = _number(
        errors, "metrics.interval_s", metrics.get("interval_s", 60.0), minimum=MIN_STEP_S, maximum=MAX_TIME_S
    )
    return emissions, interval_s or 60.0, queue_max


def _timing_table(errors: _Errors, where: str, raw: Any) -> tuple[dict[str, Any], float | None]:
    """Read a timing table: the SignalTiming fields it sets, and its decision interval."""
    if not isinstance(raw, dict):
        errors.add(where, "expected a table")
        return {}, None
    errors.unknown_keys(f"{where}.", raw, _TIMING_KEYS)
    kwargs: dict[str, Any] = {}
    for key in ("yellow_s", "all_red_s", "min_green_s"):
        if key in raw:
            kwargs[key] = _time(errors, f"{where}.{key}", raw[key])
    if "max_green_s" in raw:
        kwargs["max_green_s"] = _number(
            errors,
            f"{where}.max_green_s",
            raw["max_green_s"],
            positive=True,
            allow_none=True,
            maximum=MAX_TIME_S,
        )
    if "yellow_on_every_switch" in raw:
        flag = raw["yellow_on_every_switch"]
        kwargs["yellow_on_every_switch"] = _flag(errors, f"{where}.yellow_on_every_switch", flag)
    interval = None
    if "decision_interval_s" in raw:
        interval = _interval(errors, f"{where}.decision_interval_s", raw["decision_interval_s"])
    return kwargs, interval


def _read_timing(errors: _Errors, raw: Any) -> tuple[SignalTiming, float | None]:
    """Read the experiment's ``[timing]``: the actuator's rules and the decision interval."""
    kwargs, interval = _timing_table(errors, "timing", raw)
    timing = SignalTiming()
    if not any(v is None and k != "max_green_s" for k, v in kwargs.items()):
        try:
            timing = SignalTiming(**kwargs)
        except SignalbenchError as exc:
            errors.add("timing", str(exc).removeprefix("timing."))
    return timing, interval


def _run_settings(errors: _Errors, raw: Any) -> RunSettings:
    """Read the ``[run]`` table."""
    if not isinstance(raw, dict):
        errors.add("run", "expected a table")
        return RunSettings()
    errors.unknown_keys("run.", raw, _RUN_KEYS)
    values = {k: v for k, v in raw.items() if k in _RUN_KEYS}
    problems = run_problems(values)
    errors.items.extend(problems)
    if problems:
        return RunSettings()
    if "timeout_s" in values:
        values["timeout_s"] = float(values["timeout_s"])
    return RunSettings(**values)


@dataclass
class _NetworkDraft:
    """A ``[[networks]]`` entry checked as data; ``ref`` not yet resolved to files."""

    where: str
    ref: str
    route_files: tuple[str, ...] = ()
    begin_s: float | None = None
    end_s: float | None = None
    timing: dict[str, Any] = field(default_factory=dict)  # SignalTiming fields it overrides
    interval: float | None = None
    is_path: bool = False  # given as ``path`` (relative paths are taken from the spec's folder)
    generated: NetworkRef | None = None  # a generated network, complete already


def _entries(errors: _Errors, raw: Any, table: str, expected: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """Yield ``(where, entry)`` for each entry of a ``[[table]]`` list; a bare string is its id."""
    if isinstance(raw, str):
        errors.add(table, f"expected a list of entries, got the string {raw!r}; write {table} = [{raw!r}]")
        return
    if isinstance(raw, dict):
        errors.add(table, f"expected a list of entries, got one table; write [[{table}]] (two brackets)")
        return
    if not isinstance(raw, list) or not raw:
        errors.add(table, f"required: at least one [[{table}]] entry")
        return
    for i, entry in enumerate(raw):
        where = f"{table}[{i}]"
        if isinstance(entry, str):
            entry = {"id": entry}
        if not isinstance(entry, dict):
            errors.add(where, f"expected a table with {expected}")
            continue
        yield where, entry


def _read_networks(errors: _Errors, raw: Any, sim: _Sim, timing: SignalTiming) -> list[_NetworkDraft]:
    """Read every ``[[networks]]`` entry, as data (nothing is read from disk)."""
    drafts = []
    for where, net in _entries(errors, raw, "networks", "id or path"):
        if isinstance(net.get("id"), str) and net["id"] in PRESETS:  # a named generator preset
            net = {**PRESETS[net["id"]], **{k: v for k, v in net.items() if k != "id"}}
        draft = (
            _read_generated(errors, where, net, sim)
            if "generator" in net
            else _read_network(errors, where, net)
        )
        overrides, interval = _timing_table(errors, f"{where}.timing", net.get("timing", {}))
        try:
            dataclasses.replace(timing, **overrides)
        except SignalbenchError as exc:
            errors.add(f"{where}.timing", str(exc).removeprefix("timing."))
        if draft is not None:
            draft.timing, draft.interval = overrides, interval
            drafts.append(draft)
    return drafts


def _read_network(errors: _Errors, where: str, net: Mapping[str, Any]) -> _NetworkDraft | None:
    errors.unknown_keys(f"{where}.", net, _NETWORK_KEYS)
    ref = net.get("id") or net.get("path")
    if not isinstance(ref, str) or ("id" in net and "path" in net):
        errors.add(where, "needs exactly one of id (catalog) or path (file)")
        return None
    routes = net.get("route_files", [])
    if not isinstance(routes, list) or not all(isinstance(r, str) for r in routes):
        errors.add(f"{where}.route_files", "expected a list of paths")
        routes = []
    begin = _time(errors, f"{where}.begin_s", net["begin_s"]) if "begin_s" in net else None
    end = _time(errors, f"{where}.end_s", net["end_s"], positive=True) if "end_s" in net else None
    return _NetworkDraft(
        where=where, ref=ref, route_files=tuple(routes), begin_s=begin, end_s=end, is_path="path" in net
    )


def _read_generated(errors: _Errors, where: str, net: Mapping[str, Any], sim: _Sim) -> _NetworkDraft | None:
    """Validate a ``generator = ...`` network entry (nothing is built until a trial runs)."""
    errors.unknown_keys(f"{where}.", net, (*sorted(RECIPE_KEYS), "generator", "name", "flow_veh_h", "timing"))
    recipe = {k: v for k, v in net.items() if k in RECIPE_KEYS or k == "generator"}
    raw_flows = net.get("flow_veh_h")
    if raw_flows is None:
        errors.add(
            f"{where}.flow_veh_h", "required: demand levels in veh/h per approach, e.g. [300, 600, 900]"
        )
        return None
    flows_list = raw_flows if isinstance(raw_flows, list) else [raw_flows]
    flows = [_number(errors, f"{where}.flow_veh_h", v, minimum=0) for v in flows_list]
    if not flows or any(f is None for f in flows):
        return None
    if len(set(flows)) != len(flows):
        errors.add(f"{where}.flow_veh_h", "demand levels repeat")
    try:
        net_recipe, flow, _ = recipe_from_dict(recipe, float(flows[0] or 0.0))
    except SignalbenchError as exc:
        errors.add(where, str(exc))
        return None
    name = net.get("name", net_recipe.default_name())
    if not isinstance(name, str) or not name or looks_like_path(name) or name in catalog():
        errors.add(f"{where}.name", f"expected a plain name that is not a catalog id or a path, got {name!r}")
        return None
    window = flow.duration_s if sim.duration_s is None else min(flow.duration_s, sim.duration_s)
    if sim.step_length_s > window:
        errors.add(
            "sim.step_length_s", f"{sim.step_length_s:g} s is longer than the {window:g} s window of {name!r}"
        )
    if sim.warmup_s and sim.warmup_s >= window:
        errors.add(
            "sim.warmup_s",
            f"{sim.warmup_s:g} s leaves nothing of the {window:g} s window of {name!r} to measure",
        )
    generated = NetworkRef(ref=name, generator=recipe, flows_veh_h=tuple(float(f or 0.0) for f in flows))
    return _NetworkDraft(where=where, ref=name, generated=generated)


@dataclass
class _ControllerDraft:
    """A ``[[controllers]]`` entry checked as data; its id not yet resolved."""

    where: str
    id: str
    label: Any
    params: dict[str, Any]
    interval: float | None
    train: Any


def _read_controllers(errors: _Errors, raw: Any) -> list[_ControllerDraft]:
    """Read every ``[[controllers]]`` entry, as data (no class is loaded)."""
    drafts = []
    for where, ctrl in _entries(errors, raw, "controllers", "id"):
        errors.unknown_keys(f"{where}.", ctrl, _CONTROLLER_KEYS)
        cid = ctrl.get("id")
        if not isinstance(cid, str) or not cid:
            errors.add(f"{where}.id", "required: a controller id or file.py:Class")
            continue
        params = ctrl.get("params", {})
        if not isinstance(params, dict):
            errors.add(f"{where}.params", "expected a table")
            params = {}
        interval = (
            _interval(errors, f"{where}.decision_interval_s", ctrl["decision_interval_s"])
            if "decision_interval_s" in ctrl
            else None
        )
        drafts.append(
            _ControllerDraft(
                where=where,
                id=cid,
                label=ctrl.get("label"),
                params=params,
                interval=interval,
                train=ctrl.get("train"),
            )
        )
    return drafts


# -- second pass: what the entries name ------------------------------------------------------
def _resolve_networks(
    errors: _Errors, drafts: list[_NetworkDraft], sim: _Sim, timing: SignalTiming, base_dir: Path | None
) -> list[NetworkRef]:
    """Resolve every network entry to its files; check demand and warm-up against its window."""
    networks: list[NetworkRef] = []
    for draft in drafts:
        overrides: dict[str, Any] = dict(draft.timing)
        if draft.interval is not None:
            overrides["decision_interval_s"] = draft.interval
        if draft.generated is not None:
            entry = dataclasses.replace(draft.generated, timing=overrides)
            if any(n.ref == entry.ref for n in networks):
                errors.add(f"{draft.where}.name", f"name {entry.ref!r} is used twice; give each its own name")
        else:
            entry = _resolve_network(errors, draft, sim, base_dir, overrides)
            if entry in networks:
                errors.add(
                    draft.where,
                    f"same network as networks[{networks.index(entry)}]: the trials would be identical",
                )
        networks.append(entry)
    return networks


def _resolve_network(
    errors: _Errors, draft: _NetworkDraft, sim: _Sim, base_dir: Path | None, overrides: dict[str, Any]
) -> NetworkRef:
    ref, where = draft.ref, draft.where
    routes = list(draft.route_files)
    if base_dir is not None:
        if draft.is_path and not Path(ref).is_absolute():
            candidate = base_dir / ref
            ref = str(candidate) if candidate.exists() or not Path(ref).exists() else ref
        routes = [
            str(base_dir / r) if not Path(r).is_absolute() and (base_dir / r).exists() else r for r in routes
        ]
    try:
        scenario = resolve_network(ref, route_files=tuple(routes), begin_s=draft.begin_s, end_s=draft.end_s)
        ref = canonical_network(ref)
        if not count_traffic_lights(scenario.net_file):
            errors.add(where, f"{ref}: the network has no traffic light, nothing to control")
        elif looks_like_path(ref) and scenario.route_files:
            _check_demand_in_window(errors, where, scenario, sim.duration_s)
        window = scenario.end_s - scenario.begin_s
        if sim.duration_s is not None:
            window = min(window, sim.duration_s)
        if scenario.end_s > MAX_TIME_S:
            errors.add(where, f"{ref}: the window ends at {scenario.end_s:g} s, beyond {MAX_TIME_S:g} s")
        if sim.step_length_s > window:
            errors.add(
                "sim.step_length_s",
                f"{sim.step_length_s:g} s is longer than the {window:g} s window of {ref!r}",
            )
        if sim.warmup_s and sim.warmup_s >= window:
            errors.add(
                "sim.warmup_s",
                f"{sim.warmup_s:g} s leaves nothing of the {window:g} s window of {ref!r} to measure",
            )
    except SignalbenchError as exc:
        errors.add(where, str(exc))
    return NetworkRef(
        ref=ref, route_files=tuple(routes), begin_s=draft.begin_s, end_s=draft.end_s, timing=overrides
    )


def _check_demand_in_window(errors: _Errors, where: str, scenario: Scenario, duration: float | None) -> None:
    """Reject a path-given network whose vehicles all depart outside the window (it would run empty)."""
    end = scenario.end_s if duration is None else min(scenario.end_s, scenario.begin_s + duration)
    count = count_vehicles(scenario.route_files, begin_s=scenario.begin_s, end_s=end)
    if count.total and not count.in_window:
        errors.add(
            where,
            f"no vehicle of its route files departs in the window {scenario.begin_s:g}-{end:g} s "
            f"({count.total} in the files): set begin_s/end_s in the [[networks]] entry "
            "(or --begin-s/--end-s)",
        )


def _resolve_controllers(
    errors: _Errors, drafts: list[_ControllerDraft], seeds: tuple[int, ...], base_dir: Path | None
) -> list[ControllerRef]:
    """Resolve every controller entry: its class, parameters, training recipe and checkpoint."""
    controllers: list[ControllerRef] = []
    labels: set[str] = set()
    configs: dict[tuple[str, str], str] = {}
    for draft in drafts:
        where, cid, params = draft.where, draft.id, draft.params
        if ":" in cid and base_dir is not None:
            file_part, _, cls_part = cid.rpartition(":")
            if (
                file_part.endswith(".py")
                and not Path(file_part).is_absolute()
                and (base_dir / file_part).exists()
            ):
                cid = f"{base_dir / file_part}:{cls_part}"
        trainable = None
        try:
            canonical = registry.canonical_id(cid)
            trainable = registry.trainable(canonical)
            registry.check_params(canonical, params)
        except SignalbenchError as exc:
            errors.add(where, str(exc))
            canonical = cid
        label = draft.label or _default_label(canonical, cid)
        if not isinstance(label, str):
            errors.add(f"{where}.label", "expected a string")
            label = canonical
        if label in labels:
            errors.add(f"{where}.label", f"label {label!r} is used twice; give each entry its own label")
        labels.add(label)
        # The training recipe is part of what a trial runs: two recipes are two configurations.
        config = (canonical, json.dumps([params, draft.train], sort_keys=True, default=str))
        if config in configs:
            errors.add(
                where, f"same controller and parameters as {configs[config]!r}: the trials would be identical"
            )
        configs.setdefault(config, label)
        train = None
        checkpoint_param = trainable.checkpoint_param if trainable is not None else "checkpoint"
        if draft.train is not None:
            train = _train_table(errors, where, canonical, draft.train, seeds)
            if params.get(checkpoint_param):
                errors.add(
                    where, f"give either params.{checkpoint_param} (trained already) or train, not both"
                )
        elif trainable is not None and not params.get(checkpoint_param):
            name = canonical if ":" in canonical else canonical.rsplit("-v", 1)[0]
            errors.add(
                where, f"{name} needs params.{checkpoint_param} (a trained checkpoint) or a train table"
            )
        if isinstance(params.get(checkpoint_param), str) and params[checkpoint_param]:
            params = _with_checkpoint_path(params, checkpoint_param, base_dir)
            if trainable is not None:
                try:
                    trainable.check_checkpoint(Path(params[checkpoint_param]))
                except SignalbenchError as exc:
                    errors.add(f"{where}.params.{checkpoint_param}", str(exc))
        controllers.append(
            ControllerRef(
                id=canonical,
                label=label,
                params=dict(params),
                decision_interval_s=draft.interval,
                train=train,
            )
        )
    return controllers


def _read_sensing(errors: _Errors, raw: Any) -> list[SensingConfig]:
    """Read the ``[[sensing]]`` entries (none: perfect lane truths only); names and configurations unique."""
    if raw is None:
        return []
    if not isinstance(raw, list) or not raw:
        errors.add("sensing", f"expected [[sensing]] tables (name, model, faults, attacks), got {raw!r}")
        return []
    configs: list[SensingConfig] = []
    names: dict[str, str] = {}
    seen: dict[str, str] = {}
    for i, entry in enumerate(raw):
        where = f"sensing[{i}]"
        config, problems = parse_sensing(entry, where=where)
        errors.items += problems
        if config is None:
            continue
        if config.name in names:
            errors.add(
                f"{where}.name", f"{config.name!r} names {names[config.name]} already: give each its own"
            )
            continue
        names[config.name] = where
        content = {**config.to_dict(), "name": ""}
        same = "perfect" if config.is_perfect else json.dumps(content, sort_keys=True)
        if same in seen:
            errors.add(where, f"same sensing as {seen[same]!r}: the trials would be identical")
        seen.setdefault(same, config.name)
        configs.append(config)
    return configs


def _check_sensing(
    errors: _Errors,
    sensing: list[SensingConfig],
    networks: list[NetworkRef],
    controllers: list[ControllerRef],
    duration_s: float | None,
) -> None:
    """Targets against the networks, fields against the controllers: before any trial runs.

    Generated networks are built when their trials run; their targets are checked then.
    """
    if not sensing:
        return
    if any(c.faults or c.attacks for c in sensing):
        scenarios = [
            resolve_network(n.ref, route_files=n.route_files, begin_s=n.begin_s, end_s=n.end_s)
            for n in networks
            if n.generator is None
        ]
        models = [load_scenario_model(sc) for sc in scenarios]
        windows = [sc.end_s - sc.begin_s for sc in scenarios]
        if duration_s is not None:
            windows = [min(w, duration_s) for w in windows] or [duration_s]
        for i, config in enumerate(sensing):
            if models:
                errors.items += [f"sensing[{i}]: {p}" for p in sensing_problems(config, models)]
            if not windows:
                continue
            longest = max(windows)
            for kind, items in (("faults", config.faults), ("attacks", config.attacks)):
                for j, item in enumerate(items):
                    at = f"sensing[{i}].{kind}[{j}]"
                    delay = getattr(item, "delay_s", None)
                    if delay is not None and delay >= longest:
                        errors.add(
                            f"{at}.delay_s",
                            f"{delay:g} s is as long as the trials ({longest:g} s): "
                            "the controller would see nothing",
                        )
                    if item.from_s >= longest:
                        errors.add(
                            f"{at}.from_s", f"{item.from_s:g} s is after the trials end ({longest:g} s)"
                        )
    for ctrl in controllers:
        try:
            traits = registry.build(ctrl.id, {k: v for k, v in ctrl.params.items() if k != "train"}).traits
        except SignalbenchError:
            continue  # a controller that cannot be built fails its trials with its own message
        for i, config in enumerate(sensing):
            try:
                field_set(config, traits, ctrl.label)
            except SpecError as exc:
                errors.add(f"sensing[{i}]", str(exc))


def _default_label(canonical: str, given: str) -> str:
    """Return a controller's name for tables: its class for a reference, else its id without -vN.

    Every label then reads the same way whether given or not (``max-pressure``, not
    ``max-pressure-v0`` next to a labelled ``greedy``).
    """
    if ":" in canonical:
        return given.rpartition(":")[2]
    name, _, version = canonical.rpartition("-v")
    return name if name and version.isdigit() else canonical


def _train_table(
    errors: _Errors, where: str, controller: str, raw: Any, seeds: tuple[int, ...]
) -> dict[str, Any] | None:
    """Check a ``train`` table: a trainable controller, known settings, seeds apart from evaluation."""
    try:
        trainable = registry.trainable(controller)
    except SignalbenchError:
        return None  # the unknown controller is reported already
    if trainable is None:
        errors.add(f"{where}.train", f"controller {controller!r} does not learn; it takes no train table")
        return None
    if not isinstance(raw, dict):
        errors.add(f"{where}.train", "expected a table of training settings")
        return None
    try:
        settings = trainable.training_settings(raw)
    except (TypeError, ValueError) as exc:
        errors.add(f"{where}.train", str(exc).removeprefix("train."))
        return None
    if any(s < 0 or s > MAX_SEED for s in settings.seeds):
        errors.add(f"{where}.train.seeds", f"seeds must be in 0..{MAX_SEED} (SUMO's 32-bit range)")
    shared = sorted(set(settings.seeds) & set(seeds))
    if shared:
        errors.add(
            f"{where}.train.seeds",
            f"seed {shared[0]} is also an evaluation seed; training and evaluation seeds must not overlap",
        )
    return settings.to_dict()


def _with_checkpoint_path(params: dict[str, Any], key: str, base_dir: Path | None) -> dict[str, Any]:
    """Resolve a checkpoint path against the spec's folder (its content enters the trial id)."""
    path = Path(params[key]).expanduser()
    if not path.is_absolute() and base_dir is not None and (base_dir / path).exists():
        path = base_dir / path
    return dict(params, **{key: str(path)})


def _check_yellow(
    errors: _Errors,
    networks: list[NetworkRef],
    drafts: list[_NetworkDraft],
    timing: SignalTiming,
    controllers: list[ControllerRef],
) -> None:
    """Refuse a zero yellow where a Python controller would switch conflicting phases."""
    decides = []
    for c in controllers:
        try:
            decides.append(not registry.resolve(c.id).writes_programs)
        except SignalbenchError:
            decides.append(False)
    if not any(decides):
        return
    for net, draft in zip(networks, drafts, strict=True):
        if net.generator is not None:
            continue
        try:
            effective = dataclasses.replace(timing, **draft.timing)
        except SignalbenchError:
            continue  # reported already
        if effective.yellow_s == 0 and (problem := _conflict_without_yellow(net.ref)) is not None:
            errors.add(
                f"{draft.where}: timing.yellow_s", f"is 0, but {problem}; a yellow interval is required"
            )


def _conflict_without_yellow(ref: str) -> str | None:
    """Describe a light of network ``ref`` where a phase change takes green away, if any."""
    try:
        model = load_scenario_model(resolve_network(ref))
    except SignalbenchError:
        return None
    for spec in model.intersections:
        states = [p.state for p in spec.green_phases]
        for a in states:
            for b in states:
                if loses_green(a, b):
                    return (
                        f"traffic light {spec.id!r} of {ref!r} has conflicting phases "
                        "(links lose green when it switches)"
                    )
    return None


def _nul_bytes(value: Any, where: str = "") -> Iterator[str]:
    """Field paths of every string (key or value) holding a NUL byte: no file name can."""
    if isinstance(value, str):
        if "\x00" in value:
            yield where or "spec"
    elif isinstance(value, Mapping):
        for key, item in value.items():
            path = f"{where}.{key}" if where else str(key)
            if "\x00" in str(key):
                yield path
            yield from _nul_bytes(item, path)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _nul_bytes(item, f"{where}[{i}]")


def spec_from_dict(
    data: Mapping[str, Any], *, source: str = "spec", base_dir: Path | None = None
) -> ExperimentSpec:
    """Validate raw spec data and build an :class:`ExperimentSpec`; every error at once."""
    errors = _Errors(source)
    if not isinstance(data, Mapping):
        raise SpecError(f"{source}: expected a table of spec keys, got {type(data).__name__}")
    for where in _nul_bytes(data):
        errors.add(where, "contains a NUL byte")
    errors.raise_if_any()
    errors.unknown_keys("", data, _TOP_KEYS, nested=_NESTED_KEYS)
    top = _read_top(errors, data)
    sim = _read_sim(errors, data)
    run = _run_settings(errors, data.get("run", {}))
    emissions, interval_s, queue_max = _read_metrics(errors, data.get("metrics", {}))
    timing, interval = _read_timing(errors, data.get("timing", {}))
    network_drafts = _read_networks(errors, data.get("networks"), sim, timing)
    controller_drafts = _read_controllers(errors, data.get("controllers"))
    sensing = _read_sensing(errors, data.get("sensing"))

    networks = _resolve_networks(errors, network_drafts, sim, timing, base_dir)
    controllers = _resolve_controllers(errors, controller_drafts, top.seeds, base_dir)
    _check_yellow(errors, networks, network_drafts, timing, controllers)
    errors.raise_if_any()
    _check_sensing(errors, sensing, networks, controllers, sim.duration_s)
    errors.raise_if_any()
    levels = sum(len(n.flows_veh_h) if n.generator is not None else 1 for n in networks)
    count = levels * len(top.demand) * max(1, len(sensing)) * len(controllers) * len(top.seeds)
    if count > MAX_TRIALS:
        errors.add(
            "seeds",
            f"{count:,} trials (networks x demand x sensing x controllers x seeds) is more than one "
            "experiment runs "
            f"(at most {MAX_TRIALS:,}); split it",
        )
        errors.raise_if_any()
    return ExperimentSpec(
        name=top.name,
        description=top.description,
        networks=tuple(networks),
        controllers=tuple(controllers),
        seeds=top.seeds,
        demand=top.demand,
        backend=sim.backend,
        timing=timing,
        decision_interval_s=interval,
        step_length_s=sim.step_length_s,
        time_to_teleport_s=sim.time_to_teleport_s,
        duration_s=sim.duration_s,
        warmup_s=sim.warmup_s,
        sumo_binary=sim.sumo_binary,
        sumo_version=sim.sumo_version,
        run=run,
        emissions=emissions,
        interval_s=interval_s,
        queue_max=queue_max,
        sensing=tuple(sensing),
    )
