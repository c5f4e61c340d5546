"""Controller registry: versioned ids, user files and entry points, typed parameters and traits."""

from __future__ import annotations

import dataclasses
import importlib
import importlib.util
import math
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, cast

from signalbench._util import did_you_mean, file_sha256, text_sha256
from signalbench.controllers._api import BuiltController, ProgramWriter, Scope, Trainable, Traits
from signalbench.controllers._base import PerIntersection
from signalbench.errors import ControllerError
from signalbench.sim import LANE_FIELDS, check_fields

__all__ = ["ENTRY_POINT_GROUP", "ControllerEntry", "ControllerRegistry", "is_file_reference", "registry"]

ENTRY_POINT_GROUP = "signalbench.controllers"
_VERSIONED = re.compile(r"^(?P<name>[a-z0-9][a-z0-9_-]*)-v(?P<version>\d+)$")


def is_file_reference(name: str) -> bool:
    """Tell whether a controller name is a file reference (``path/file.py:Class``)."""
    target, colon, _ = name.rpartition(":")
    return bool(colon) and (target.endswith(".py") or "/" in target or "\\" in target)


@dataclass(frozen=True, kw_only=True)
class ControllerEntry:
    """A registered controller.

    Attributes:
        id: versioned id, e.g. ``max-pressure-v0``.
        cls: the controller class (per intersection unless ``scope == "network"``).
        summary: one line for ``signalbench controllers``.
        scope: ``"intersection"`` (one instance per signal) or ``"network"``.
        writes_programs: the class installs SUMO programs (``write_programs``) instead of deciding.

    """

    id: str
    cls: type[Any]
    summary: str
    scope: Scope = "intersection"
    writes_programs: bool = False

    @property
    def trainable(self) -> type[Trainable] | None:
        """The class as a :class:`Trainable` if it learns before evaluation, else None."""
        return cast("type[Trainable]", self.cls) if isinstance(self.cls, Trainable) else None


def _entry(id: str, cls: type[Any], *, summary: str = "", scope: str | None = None) -> ControllerEntry:
    """Make an entry, checking what the class offers (the registry's one look at a class)."""
    scope = scope or str(getattr(cls, "scope", "intersection"))
    if scope not in ("intersection", "network"):
        raise ControllerError(f"controller {id!r}: scope must be 'intersection' or 'network', got {scope!r}")
    decides = callable(getattr(cls, "act", None)) and callable(getattr(cls, "reset", None))
    writes = callable(getattr(cls, "write_programs", None))
    if not (decides or writes):
        raise ControllerError(
            f"{id}: class {cls.__name__!r} has no reset()/act() methods (nor write_programs())"
        )
    doc = (cls.__doc__ or "").strip().splitlines()
    return ControllerEntry(
        id=id,
        cls=cls,
        summary=summary or (doc[0] if doc else ""),
        scope=cast(Scope, scope),
        writes_programs=writes,
    )


class ControllerRegistry:
    """Maps ids to controller classes; also loads ``path.py:Class`` and ``module:Class``."""

    def __init__(self) -> None:
        self._entries: dict[str, ControllerEntry] = {}
        self._entry_points_loaded = False

    def register(self, id: str, cls: type[Any], *, summary: str = "", scope: str | None = None) -> None:
        """Register ``cls`` under a versioned id such as ``my-policy-v0``."""
        if not _VERSIONED.match(id):
            raise ValueError(f"controller id {id!r} must look like 'name-v0'")
        if id in self._entries and self._entries[id].cls is not cls:
            raise ValueError(f"controller id {id!r} is already registered")
        try:
            self._entries[id] = _entry(id, cls, summary=summary, scope=scope)
        except ControllerError as exc:
            raise ValueError(str(exc)) from exc

    def entries(self) -> list[ControllerEntry]:
        """All registered controllers (built-ins and entry points), sorted by id."""
        self._load_entry_points()
        return [self._entries[k] for k in sorted(self._entries)]

    def resolve(self, name: str) -> ControllerEntry:
        """Find a controller by id (``max-pressure-v0``), bare name (latest version) or path.

        Raises:
            ControllerError: nothing matches; the message suggests close ids.

        """
        if ":" in name:
            return self._load_reference(name)
        self._load_entry_points()
        if name in self._entries:
            return self._entries[name]
        versions = [
            (int(m.group("version")), eid)
            for eid in self._entries
            if (m := _VERSIONED.match(eid)) and m.group("name") == name
        ]
        if versions:
            return self._entries[max(versions)[1]]
        names = set(self._entries) | {_VERSIONED.sub(r"\g<name>", e) for e in self._entries}
        hint = did_you_mean(
            name, names, n=3, quote=False, otherwise=f"; known: {', '.join(sorted(self._entries))}"
        )
        raise ControllerError(f"unknown controller {name!r}{hint}")

    def canonical_id(self, name: str) -> str:
        """Return the id a name resolves to (a versioned id, or the reference as given)."""
        return self.resolve(name).id

    def build(self, controller: str | type[Any], params: Mapping[str, Any] | None = None) -> BuiltController:
        """Build a controller from an id, a reference or a class, with its parameters.

        Parameters are checked against the class's ``Params`` dataclass. A per-intersection
        controller becomes a network-level policy that gives each intersection its own
        instance. The traits (decision interval, observed fields, ...) are read and checked
        here, once.

        Raises:
            ControllerError: unknown controller, bad parameters, or invalid traits.

        """
        if isinstance(controller, str):
            entry = self.resolve(controller)
        elif isinstance(controller, type):
            entry = _entry(f"{controller.__module__}.{controller.__qualname__}", controller)
        else:
            raise ControllerError(f"expected a controller id, reference or class, got {controller!r}")
        factory = _factory(entry, dict(params or {}))
        probe = factory()
        if isinstance(probe, ProgramWriter):
            traits = Traits(scope="network", writes_programs=True, trainable=entry.trainable is not None)
            return BuiltController(name=entry.id, traits=traits, programs=probe)
        traits = _traits(entry, probe)
        if entry.scope == "network":
            return BuiltController(name=entry.id, traits=traits, policy=probe)
        return BuiltController(name=entry.id, traits=traits, policy=PerIntersection(factory, name=entry.id))

    def check_params(self, name: str, params: Mapping[str, Any]) -> None:
        """Raise :class:`ControllerError` if ``params`` do not fit the controller."""
        _factory(self.resolve(name), dict(params))

    def trainable(self, name: str) -> type[Trainable] | None:
        """Return the controller's class as a :class:`Trainable` if it learns, else None."""
        return self.resolve(name).trainable

    # -- loading --------------------------------------------------------------------------
    def _load_entry_points(self) -> None:
        if self._entry_points_loaded:
            return
        self._entry_points_loaded = True
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            try:
                cls = ep.load()
            except Exception as exc:
                raise ControllerError(
                    f"entry point {ep.name!r} ({ep.value}) in group {ENTRY_POINT_GROUP} failed to load: {exc}"
                ) from exc
            self.register(ep.name, cls)

    def _load_reference(self, ref: str) -> ControllerEntry:
        target, _, attr = ref.rpartition(":")
        if not target or not attr:
            raise ControllerError(
                f"controller reference {ref!r} must look like 'file.py:Class' or 'module:Class'"
            )
        if is_file_reference(ref):
            path = Path(target).expanduser().resolve()
            if not path.is_file():
                raise ControllerError(f"controller file not found: {target}")
            # Named by path and content: a file edited since it was loaded loads afresh.
            mod_name = f"signalbench_user_{text_sha256(str(path))[:12]}_{file_sha256(path)[:12]}"
            module = sys.modules.get(mod_name)
            if module is None:
                spec = importlib.util.spec_from_file_location(mod_name, path)
                if spec is None or spec.loader is None:
                    raise ControllerError(f"cannot load controller file {target}")
                module = importlib.util.module_from_spec(spec)
                sys.modules[mod_name] = module
                # Its folder goes on the import path, as for a script run by Python: a
                # controller may import helper modules that sit next to it.
                if str(path.parent) not in sys.path:
                    sys.path.insert(0, str(path.parent))
                try:
                    spec.loader.exec_module(module)
                except Exception as exc:
                    del sys.modules[mod_name]
                    raise ControllerError(
                        f"controller file {target} failed to import: {type(exc).__name__}: {exc}"
                    ) from exc
        else:
            try:
                module = importlib.import_module(target)
            except ImportError as exc:
                raise ControllerError(f"controller module {target!r} cannot be imported: {exc}") from exc
        cls = getattr(module, attr, None)
        if cls is None or not isinstance(cls, type):
            raise ControllerError(f"{target} has no controller class {attr!r}")
        return _entry(ref, cls)


def _traits(entry: ControllerEntry, probe: Any) -> Traits:
    """Read a Python policy's optional attributes once, with their defaults, and check them."""
    interval = getattr(probe, "decision_interval_s", 5.0)
    if isinstance(interval, bool) or not isinstance(interval, (int, float)) or not 0 < interval < math.inf:
        raise ControllerError(f"controller {entry.id!r}: decision_interval_s must be > 0 s, got {interval!r}")
    fields = tuple(getattr(probe, "observed_lane_fields", LANE_FIELDS))
    try:
        check_fields(fields)
    except ValueError as exc:
        raise ControllerError(f"controller {entry.id!r}: observed_lane_fields: {exc}") from exc
    alternatives = []
    for alt in getattr(probe, "alternative_lane_fields", ()) or ():
        try:
            check_fields(tuple(alt))
        except (TypeError, ValueError) as exc:
            raise ControllerError(f"controller {entry.id!r}: alternative_lane_fields: {exc}") from exc
        alternatives.append(tuple(alt))
    fallback = getattr(probe, "detector_fallback", "") or ""
    if not isinstance(fallback, str):
        raise ControllerError(
            f"controller {entry.id!r}: detector_fallback must be a string, got {fallback!r}"
        )
    upstream = getattr(probe, "observed_upstream_m", 0.0) or 0.0
    if isinstance(upstream, bool) or not isinstance(upstream, (int, float)) or not 0 <= upstream < math.inf:
        raise ControllerError(
            f"controller {entry.id!r}: observed_upstream_m must be >= 0 m, got {upstream!r}"
        )
    return Traits(
        scope=entry.scope,
        decision_interval_s=float(interval),
        observed_fields=fields,
        observed_upstream_m=float(upstream),
        trainable=entry.trainable is not None,
        alternative_fields=tuple(alternatives),
        detector_fallback=fallback,
    )


def _non_finite(value: Any) -> bool:
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, (list, tuple)):
        return any(_non_finite(v) for v in value)
    if isinstance(value, Mapping):
        return any(_non_finite(v) for v in value.values())
    return False


def _every_problem(make: Callable[..., Any], params: dict[str, Any], first: Exception) -> list[str]:
    """Every parameter the ``Params`` class rejects, each tried alone on the defaults.

    A ``Params`` check raises at its first problem; trying each given value on its own finds
    them all (``actuated`` with two bad values names both). A problem only the combination has
    (min above max) is ``first`` itself.
    """
    problems: list[str] = []
    for key, value in params.items():
        try:
            make(**{key: value})
        except TypeError:
            return [str(first)]  # the class needs other values too: report what it said
        except ValueError as exc:
            if str(exc) not in problems:
                problems.append(str(exc))
    return problems or [str(first)]


def _factory(entry: ControllerEntry, params: dict[str, Any]) -> Callable[[], Any]:
    cls = entry.cls
    problems = [f"{k} must be a finite number, got {v!r}" for k, v in params.items() if _non_finite(v)]
    valid = {k: v for k, v in params.items() if not _non_finite(v)}
    params_cls: Any = getattr(cls, "Params", None)
    if params_cls is not None and dataclasses.is_dataclass(params_cls):
        known = {f.name for f in dataclasses.fields(params_cls) if f.init}
        unknown = sorted(set(params) - known)
        if unknown:
            otherwise = f"; known: {', '.join(sorted(known))}" if known else "; it takes no parameters"
            hint = did_you_mean(unknown[0], known, otherwise=otherwise)
            raise ControllerError(f"controller {entry.id!r}: unknown parameter {unknown[0]!r}{hint}")
        make_params: Callable[..., Any] = params_cls  # type: ignore[assignment]
        try:
            built = make_params(**valid)
        except (TypeError, ValueError) as exc:
            problems += _every_problem(make_params, valid, exc)
        except Exception as exc:  # a user's Params check (an assert, a bug) is still about its values
            problems.append(f"{type(exc).__name__}: {exc}")
        if problems:
            count = f"{len(problems)} errors: " if len(problems) > 1 else ""
            raise ControllerError(f"controller {entry.id!r}: {count}{'; '.join(problems)}")
        return lambda: cls(built)
    if problems:
        raise ControllerError(f"controller {entry.id!r}: {'; '.join(problems)}")
    if params:
        try:
            cls(**params)
        except TypeError as exc:
            raise ControllerError(f"controller {entry.id!r}: bad parameters: {exc}") from exc
    return lambda: cls(**params)


def _default_registry() -> ControllerRegistry:
    from signalbench.controllers.actuated import Actuated
    from signalbench.controllers.greedy import Greedy
    from signalbench.controllers.longest_queue import LongestQueueFirst
    from signalbench.controllers.max_pressure import MaxPressure
    from signalbench.controllers.programs import (
        FixedTime,
        GreenWave,
        SumoActuated,
        SumoDelayBased,
        Webster,
    )
    from signalbench.controllers.q_learning import QLearning
    from signalbench.controllers.random_phase import RandomPhase
    from signalbench.controllers.sotl import Sotl

    reg = ControllerRegistry()
    reg.register("fixed-time-v0", FixedTime, summary="the network's own signal programs, untouched")
    reg.register(
        "max-pressure-v0",
        MaxPressure,
        summary="serve the phase with the largest upstream-minus-downstream queue (Varaiya 2013)",
    )
    reg.register(
        "greedy-v0", Greedy, summary="serve the phase with most queued + approaching vehicles (max-wave)"
    )
    reg.register(
        "longest-queue-first-v0", LongestQueueFirst, summary="serve the phase with the longest single queue"
    )
    reg.register("random-v0", RandomPhase, summary="a random green phase every decision (sanity baseline)")
    reg.register(
        "sotl-v0", Sotl, summary="self-organising: switch when red-lane demand x time passes a threshold"
    )
    reg.register(
        "actuated-v0", Actuated, summary="vehicle-actuated: gap-out / max-out, skip phases without calls"
    )
    reg.register(
        "q-learning-v0", QLearning, summary="tabular Q-learning per light (numpy), from a trained checkpoint"
    )
    reg.register(
        "webster-v0",
        Webster,
        summary="fixed-time plans from Webster's formulas and the trial's measured flows (Webster 1958)",
    )
    reg.register(
        "green-wave-v0",
        GreenWave,
        summary="common cycle, Webster splits, offsets from travel times along the main direction",
    )
    reg.register(
        "sumo-actuated-v0",
        SumoActuated,
        summary="SUMO's gap-based actuated control on the network's own phases",
    )
    reg.register(
        "sumo-delay-based-v0",
        SumoDelayBased,
        summary="SUMO's delay-based actuated control on the network's own phases (Oertel & Wagner 2011)",
    )
    return reg


#: The process-wide registry with the built-in controllers.
registry = _default_registry()
