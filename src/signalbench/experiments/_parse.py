"""Reading experiment specs: TOML or plain data, validated with every error reported at once.

The layout of a spec is documented in :mod:`signalbench.experiments._spec`.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from signalbench._util import data_dir, file_sha256, load_toml
from signalbench.controllers import registry
from signalbench.errors import SignalbenchError, SpecError
from signalbench.experiments._spec import (
    ControllerRef,
    ExperimentSpec,
    NetworkRef,
    RunSettings,
    binary_problem,
    needs_socket,
    run_problems,
)
from signalbench.networks import (
    RECIPE_KEYS,
    canonical_network,
    catalog,
    count_vehicles,
    has_traffic_lights,
    load_network_model,
    looks_like_path,
    recipe_from_dict,
    resolve_network,
)
from signalbench.signals import SignalTiming, loses_green
from signalbench.sim import BACKENDS, normalize_version

__all__ = ["bundled_specs", "load_spec", "spec_from_dict"]

_TOP_KEYS = (
    "name", "description", "seeds", "demand", "backend", "sim", "timing", "run", "networks", "controllers",
    "metrics",
)  # fmt: skip
_METRICS_KEYS = ("emissions", "interval_s")
_SIM_KEYS = ("step_length_s", "time_to_teleport_s", "duration_s", "warmup_s", "sumo_binary", "sumo_version")
_RUN_KEYS = ("launcher", "workers", "retries", "timeout_s", "address", "keep_sumo_output")
_TIMING_KEYS = ("yellow_s", "all_red_s", "min_green_s", "max_green_s", "decision_interval_s")
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
    if not path.is_file():
        bundled = bundled_specs()
        if str(ref) in bundled:
            path = bundled[str(ref)]
        elif str(ref).endswith(".toml") or "/" in str(ref):
            raise SpecError(f"spec file not found: {ref}")
        else:
            close = difflib.get_close_matches(str(ref), list(bundled), n=2)
            hint = (
                f"; did you mean {', '.join(close)}?" if close else f"; bundled specs: {', '.join(bundled)}"
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
        candidates = dict.fromkeys(known, "")
        for table_name, keys in (nested or {}).items():
            for k in keys:
                candidates.setdefault(f"{table_name}.{k}", "")
        for key in table:
            if key not in known:
                close = difflib.get_close_matches(key, known, n=1)
                if not close and nested:
                    by_leaf = {c.rpartition(".")[2]: c for c in candidates if "." in c}
                    leaf = difflib.get_close_matches(key, list(by_leaf), n=1)
                    close = [f"[{by_leaf[leaf[0]].replace('.', '] ')}"] if leaf else []
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                self.add(f"{where}{key}" if where else key, f"unknown key{hint}")

    def raise_if_any(self) -> None:
        if self.items:
            count = f"{len(self.items)} errors: " if len(self.items) > 1 else ""
            raise SpecError(f"{self.source}: {count}{'; '.join(self.items)}")


def _number(
    errors: _Errors,
    where: str,
    value: Any,
    *,
    minimum: float | None = None,
    positive: bool = False,
    allow_none: bool = False,
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
    return float(value)


def spec_from_dict(
    data: Mapping[str, Any], *, source: str = "spec", base_dir: Path | None = None
) -> ExperimentSpec:
    """Validate raw spec data and build an :class:`ExperimentSpec`; every error at once."""
    errors = _Errors(source)
    errors.unknown_keys("", data, _TOP_KEYS, nested=_NESTED_KEYS)

    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        errors.add("name", "required: a non-empty string")
        name = "experiment"

    seeds_raw = data.get("seeds", 3)
    seeds: tuple[int, ...] = ()
    if isinstance(seeds_raw, int) and not isinstance(seeds_raw, bool):
        if seeds_raw < 1:
            errors.add("seeds", f"a count must be >= 1, got {seeds_raw}")
        seeds = tuple(range(1, max(seeds_raw, 0) + 1))
    elif isinstance(seeds_raw, list) and seeds_raw:
        bad = [s for s in seeds_raw if isinstance(s, bool) or not isinstance(s, int)]
        if bad:
            errors.add("seeds", f"seeds must be integers, got {bad[0]!r}")
        elif len(set(seeds_raw)) != len(seeds_raw):
            errors.add("seeds", "seeds repeat")
        elif any(s < 0 for s in seeds_raw):
            errors.add("seeds", "seeds must be >= 0")
        seeds = tuple(int(s) for s in seeds_raw if isinstance(s, int))
    else:
        errors.add("seeds", f"expected a list of integers or a count, got {seeds_raw!r}")

    demand_raw = data.get("demand", [1.0])
    demand: tuple[float, ...] = (1.0,)
    if not isinstance(demand_raw, list) or not demand_raw:
        errors.add("demand", f"expected a non-empty list of scale factors, got {demand_raw!r}")
    else:
        levels = [_number(errors, f"demand[{i}]", v, positive=True) for i, v in enumerate(demand_raw)]
        if all(v is not None for v in levels):
            demand = tuple(float(v) for v in levels if v is not None)
            if len(set(demand)) != len(demand):
                errors.add("demand", "demand levels repeat")

    backend = data.get("backend", "libsumo")
    if backend not in BACKENDS:
        errors.add("backend", f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")

    sim = data.get("sim", {})
    if not isinstance(sim, dict):
        errors.add("sim", "expected a table")
        sim = {}
    errors.unknown_keys("sim.", sim, _SIM_KEYS)
    step = _number(errors, "sim.step_length_s", sim.get("step_length_s", 1.0), positive=True)
    teleport = _number(errors, "sim.time_to_teleport_s", sim.get("time_to_teleport_s", -1.0), minimum=-1)
    warmup = _number(errors, "sim.warmup_s", sim.get("warmup_s", 0.0), minimum=0)
    duration = (
        _number(errors, "sim.duration_s", sim["duration_s"], positive=True) if "duration_s" in sim else None
    )
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

    run = _run_settings(errors, data.get("run", {}))

    metrics_raw = data.get("metrics", {})
    if not isinstance(metrics_raw, dict):
        errors.add("metrics", "expected a table")
        metrics_raw = {}
    errors.unknown_keys("metrics.", metrics_raw, _METRICS_KEYS)
    emissions = metrics_raw.get("emissions", False)
    if not isinstance(emissions, bool):
        errors.add("metrics.emissions", f"expected true or false, got {emissions!r}")
        emissions = False
    interval_s = _number(errors, "metrics.interval_s", metrics_raw.get("interval_s", 60.0), positive=True)

    timing_raw = data.get("timing", {})
    timing_kwargs, interval = _timing_table(errors, "timing", timing_raw)
    timing = SignalTiming()
    if not any(v is None and k != "max_green_s" for k, v in timing_kwargs.items()):
        try:
            timing = SignalTiming(**timing_kwargs)
        except SignalbenchError as exc:
            errors.add("timing", str(exc).removeprefix("timing."))

    networks: list[NetworkRef] = []
    no_yellow: list[tuple[str, str, SignalTiming]] = []
    raw_networks = data.get("networks")
    if not isinstance(raw_networks, list) or not raw_networks:
        errors.add("networks", "required: at least one [[networks]] entry")
        raw_networks = []
    for i, net in enumerate(raw_networks):
        where = f"networks[{i}]"
        if isinstance(net, str):
            net = {"id": net}
        if not isinstance(net, dict):
            errors.add(where, "expected a table with id or path")
            continue
        if "generator" in net:
            generated = _generated_network(errors, where, net, duration, warmup)
            gen_timing, gen_interval = _timing_table(errors, f"{where}.timing", net.get("timing", {}))
            try:
                dataclasses.replace(timing, **gen_timing)
            except SignalbenchError as exc:
                errors.add(f"{where}.timing", str(exc).removeprefix("timing."))
            if gen_interval is not None:
                gen_timing["decision_interval_s"] = gen_interval
            if generated is not None:
                generated = dataclasses.replace(generated, timing=gen_timing)
                if any(n.ref == generated.ref for n in networks):
                    errors.add(
                        f"{where}.name", f"name {generated.ref!r} is used twice; give each its own name"
                    )
                networks.append(generated)
            continue
        errors.unknown_keys(f"{where}.", net, _NETWORK_KEYS)
        ref = net.get("id") or net.get("path")
        if not isinstance(ref, str) or ("id" in net and "path" in net):
            errors.add(where, "needs exactly one of id (catalog) or path (file)")
            continue
        if "path" in net and base_dir is not None and not Path(ref).is_absolute():
            candidate = base_dir / ref
            ref = str(candidate) if candidate.exists() or not Path(ref).exists() else ref
        routes = net.get("route_files", [])
        if not isinstance(routes, list) or not all(isinstance(r, str) for r in routes):
            errors.add(f"{where}.route_files", "expected a list of paths")
            routes = []
        if base_dir is not None:
            routes = [
                str(base_dir / r) if not Path(r).is_absolute() and (base_dir / r).exists() else r
                for r in routes
            ]
        nb = _number(errors, f"{where}.begin_s", net["begin_s"], minimum=0) if "begin_s" in net else None
        ne = _number(errors, f"{where}.end_s", net["end_s"], positive=True) if "end_s" in net else None
        try:
            scenario = resolve_network(ref, route_files=tuple(routes), begin_s=nb, end_s=ne)
            ref = canonical_network(ref)
            if not has_traffic_lights(scenario.net_file):
                errors.add(where, f"{ref}: the network has no traffic light, nothing to control")
            elif looks_like_path(ref) and scenario.route_files:
                _check_demand_in_window(errors, where, scenario, duration)
            window = scenario.end_s - scenario.begin_s
            if duration is not None:
                window = min(window, duration)
            if warmup and warmup >= window:
                errors.add(
                    "sim.warmup_s",
                    f"{warmup:g} s leaves nothing of the {window:g} s window of {ref!r} to measure",
                )
        except SignalbenchError as exc:
            errors.add(where, str(exc))
        net_timing, net_interval = _timing_table(errors, f"{where}.timing", net.get("timing", {}))
        overrides: dict[str, Any] = dict(net_timing)
        if net_interval is not None:
            overrides["decision_interval_s"] = net_interval
        try:
            effective = dataclasses.replace(timing, **net_timing)
            if effective.yellow_s == 0:
                no_yellow.append((where, ref, effective))
        except SignalbenchError as exc:
            errors.add(f"{where}.timing", str(exc).removeprefix("timing."))
        entry = NetworkRef(ref=ref, route_files=tuple(routes), begin_s=nb, end_s=ne, timing=overrides)
        if entry in networks:
            errors.add(
                where, f"same network as networks[{networks.index(entry)}]: the trials would be identical"
            )
        networks.append(entry)

    controllers: list[ControllerRef] = []
    raw_ctrls = data.get("controllers")
    if not isinstance(raw_ctrls, list) or not raw_ctrls:
        errors.add("controllers", "required: at least one [[controllers]] entry")
        raw_ctrls = []
    labels: set[str] = set()
    configs: dict[tuple[str, str], str] = {}
    for i, ctrl in enumerate(raw_ctrls):
        where = f"controllers[{i}]"
        if isinstance(ctrl, str):
            ctrl = {"id": ctrl}
        if not isinstance(ctrl, dict):
            errors.add(where, "expected a table with id")
            continue
        errors.unknown_keys(f"{where}.", ctrl, _CONTROLLER_KEYS)
        cid = ctrl.get("id")
        if not isinstance(cid, str) or not cid:
            errors.add(f"{where}.id", "required: a controller id or file.py:Class")
            continue
        if ":" in cid and base_dir is not None:
            file_part, _, cls_part = cid.rpartition(":")
            if (
                file_part.endswith(".py")
                and not Path(file_part).is_absolute()
                and (base_dir / file_part).exists()
            ):
                cid = f"{base_dir / file_part}:{cls_part}"
        params = ctrl.get("params", {})
        if not isinstance(params, dict):
            errors.add(f"{where}.params", "expected a table")
            params = {}
        try:
            canonical = registry.canonical_id(cid)
            registry.check_params(canonical, params)
        except SignalbenchError as exc:
            errors.add(where, str(exc))
            canonical = cid
        label = ctrl.get("label") or (canonical if ":" not in canonical else cid.rpartition(":")[2])
        if not isinstance(label, str):
            errors.add(f"{where}.label", "expected a string")
            label = canonical
        if label in labels:
            errors.add(f"{where}.label", f"label {label!r} is used twice; give each entry its own label")
        labels.add(label)
        config = (canonical, json.dumps(params, sort_keys=True, default=str))
        if config in configs:
            errors.add(
                where, f"same controller and parameters as {configs[config]!r}: the trials would be identical"
            )
        configs.setdefault(config, label)
        ctrl_interval = (
            _number(errors, f"{where}.decision_interval_s", ctrl["decision_interval_s"], positive=True)
            if "decision_interval_s" in ctrl
            else None
        )
        train = ctrl.get("train")
        if train is not None:
            train = _train_table(errors, where, canonical, train, seeds)
            if params.get("checkpoint"):
                errors.add(where, "give either params.checkpoint (trained already) or train, not both")
        elif canonical == "q-learning-v0" and not params.get("checkpoint"):
            errors.add(where, "q-learning needs params.checkpoint (a trained checkpoint) or a train table")
        if "checkpoint" in params and isinstance(params["checkpoint"], str):
            params = _with_checkpoint_hash(params, base_dir)
        controllers.append(
            ControllerRef(
                id=canonical, label=label, params=dict(params), decision_interval_s=ctrl_interval, train=train
            )
        )

    if no_yellow and any(_controls_signals(c.id) for c in controllers):
        for where, ref, _ in no_yellow:
            if (problem := _conflict_without_yellow(ref)) is not None:
                errors.add(f"{where}: timing.yellow_s", f"is 0, but {problem}; a yellow interval is required")

    errors.raise_if_any()
    return ExperimentSpec(
        name=str(name),
        description=str(data.get("description", "")),
        networks=tuple(networks),
        controllers=tuple(controllers),
        seeds=seeds,
        demand=demand,
        backend=str(backend),
        timing=timing,
        decision_interval_s=interval,
        step_length_s=step or 1.0,
        time_to_teleport_s=-1.0 if teleport is None else teleport,
        duration_s=duration,
        warmup_s=warmup or 0.0,
        sumo_binary=binary,
        sumo_version=version,
        run=run,
        emissions=emissions,
        interval_s=interval_s or 60.0,
    )


def _generated_network(
    errors: _Errors, where: str, net: Mapping[str, Any], duration: float | None, warmup: float | None
) -> NetworkRef | None:
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
    window = flow.duration_s if duration is None else min(flow.duration_s, duration)
    if warmup and warmup >= window:
        errors.add(
            "sim.warmup_s", f"{warmup:g} s leaves nothing of the {window:g} s window of {name!r} to measure"
        )
    return NetworkRef(ref=name, generator=recipe, flows_veh_h=tuple(float(f or 0.0) for f in flows))


def _timing_table(errors: _Errors, where: str, raw: Any) -> tuple[dict[str, Any], float | None]:
    """Read a timing table: the SignalTiming fields it sets, and its decision interval."""
    if not isinstance(raw, dict):
        errors.add(where, "expected a table")
        return {}, None
    errors.unknown_keys(f"{where}.", raw, _TIMING_KEYS)
    kwargs: dict[str, Any] = {}
    for key in ("yellow_s", "all_red_s", "min_green_s"):
        if key in raw:
            kwargs[key] = _number(errors, f"{where}.{key}", raw[key], minimum=0)
    if "max_green_s" in raw:
        kwargs["max_green_s"] = _number(
            errors, f"{where}.max_green_s", raw["max_green_s"], positive=True, allow_none=True
        )
    interval = None
    if "decision_interval_s" in raw:
        interval = _number(errors, f"{where}.decision_interval_s", raw["decision_interval_s"], positive=True)
    return kwargs, interval


def _train_table(
    errors: _Errors, where: str, controller: str, raw: Any, seeds: tuple[int, ...]
) -> dict[str, Any] | None:
    """Check a ``train`` table: a trainable controller, known settings, seeds apart from evaluation."""
    if controller != "q-learning-v0":
        errors.add(f"{where}.train", f"controller {controller!r} does not learn; only q-learning takes train")
        return None
    if not isinstance(raw, dict):
        errors.add(f"{where}.train", "expected a table of training settings")
        return None
    from signalbench.controllers.q_learning import settings_from

    try:
        settings = settings_from(raw)
    except (TypeError, ValueError) as exc:
        errors.add(f"{where}.train", str(exc).removeprefix("train."))
        return None
    shared = sorted(set(settings.seeds) & set(seeds))
    if shared:
        errors.add(
            f"{where}.train.seeds",
            f"seed {shared[0]} is also an evaluation seed; training and evaluation seeds must not overlap",
        )
    return settings.to_dict()


def _with_checkpoint_hash(params: dict[str, Any], base_dir: Path | None) -> dict[str, Any]:
    """Resolve a checkpoint path against the spec's folder and record its SHA-256."""
    path = Path(params["checkpoint"]).expanduser()
    if not path.is_absolute() and base_dir is not None and (base_dir / path).is_file():
        path = base_dir / path
    out = dict(params, checkpoint=str(path))
    if path.is_file() and "checkpoint_sha256" not in out:
        out["checkpoint_sha256"] = file_sha256(path)
    return out


def _check_demand_in_window(errors: _Errors, where: str, scenario: Any, duration: float | None) -> None:
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


def _controls_signals(controller_id: str) -> bool:
    try:
        return bool(getattr(registry.resolve(controller_id).cls, "controls_signals", True))
    except SignalbenchError:
        return False


def _conflict_without_yellow(ref: str) -> str | None:
    """Describe a light of network ``ref`` where a phase change takes green away, if any."""
    try:
        model = load_network_model(resolve_network(ref).net_file)
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


def _run_settings(errors: _Errors, raw: Any) -> RunSettings:
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
