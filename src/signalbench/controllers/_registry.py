"""Controller registry: versioned ids, user files and entry points, typed parameters."""

from __future__ import annotations

import dataclasses
import difflib
import importlib
import importlib.util
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from signalbench.controllers._base import PerIntersection
from signalbench.errors import ControllerError

__all__ = ["ENTRY_POINT_GROUP", "ControllerEntry", "ControllerRegistry", "registry"]

ENTRY_POINT_GROUP = "signalbench.controllers"
_VERSIONED = re.compile(r"^(?P<name>[a-z0-9][a-z0-9_-]*)-v(?P<version>\d+)$")


@dataclass(frozen=True, kw_only=True)
class ControllerEntry:
    """A registered controller.

    Attributes:
        id: versioned id, e.g. ``max-pressure-v0``.
        cls: the controller class (per intersection unless ``scope == "network"``).
        summary: one line for ``signalbench controllers``.
        scope: ``"intersection"`` (one instance per signal) or ``"network"``.

    """

    id: str
    cls: type[Any]
    summary: str
    scope: str = "intersection"


class ControllerRegistry:
    """Maps ids to controller classes; also loads ``path.py:Class`` and ``module:Class``."""

    def __init__(self) -> None:
        self._entries: dict[str, ControllerEntry] = {}
        self._entry_points_loaded = False

    def register(self, id: str, cls: type[Any], *, summary: str = "", scope: str = "intersection") -> None:
        """Register ``cls`` under a versioned id such as ``my-policy-v0``."""
        if not _VERSIONED.match(id):
            raise ValueError(f"controller id {id!r} must look like 'name-v0'")
        if scope not in ("intersection", "network"):
            raise ValueError(f"scope must be 'intersection' or 'network', got {scope!r}")
        if id in self._entries and self._entries[id].cls is not cls:
            raise ValueError(f"controller id {id!r} is already registered")
        doc = (cls.__doc__ or "").strip().splitlines()
        self._entries[id] = ControllerEntry(
            id=id, cls=cls, summary=summary or (doc[0] if doc else ""), scope=scope
        )

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
        names = sorted(set(self._entries) | {_VERSIONED.sub(r"\g<name>", e) for e in self._entries})
        close = difflib.get_close_matches(name, names, n=3)
        hint = (
            f"; did you mean {', '.join(close)}?" if close else f"; known: {', '.join(sorted(self._entries))}"
        )
        raise ControllerError(f"unknown controller {name!r}{hint}")

    def canonical_id(self, name: str) -> str:
        """Return the id a name resolves to (a versioned id, or the reference as given)."""
        entry = self.resolve(name)
        return entry.id

    def build(self, name: str, params: Mapping[str, Any] | None = None) -> Any:
        """Build a network-level controller from a name and its parameters.

        Per-intersection controllers are wrapped so that each intersection gets its own
        instance; parameters are checked against the class's ``Params`` dataclass.
        """
        entry = self.resolve(name)
        factory = _factory(entry, dict(params or {}))
        if entry.scope == "network":
            return factory()
        return PerIntersection(factory, name=entry.id)

    def check_params(self, name: str, params: Mapping[str, Any]) -> None:
        """Raise :class:`ControllerError` if ``params`` do not fit the controller."""
        _factory(self.resolve(name), dict(params))

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
            self.register(ep.name, cls, scope=getattr(cls, "scope", "intersection"))

    def _load_reference(self, ref: str) -> ControllerEntry:
        target, _, attr = ref.rpartition(":")
        if not target or not attr:
            raise ControllerError(
                f"controller reference {ref!r} must look like 'file.py:Class' or 'module:Class'"
            )
        if target.endswith(".py") or "/" in target or "\\" in target:
            path = Path(target).expanduser().resolve()
            if not path.is_file():
                raise ControllerError(f"controller file not found: {target}")
            mod_name = f"signalbench_user_{abs(hash(str(path)))}"
            module = sys.modules.get(mod_name)
            if module is None:
                spec = importlib.util.spec_from_file_location(mod_name, path)
                if spec is None or spec.loader is None:
                    raise ControllerError(f"cannot load controller file {target}")
                module = importlib.util.module_from_spec(spec)
                sys.modules[mod_name] = module
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
        if not (callable(getattr(cls, "act", None)) and callable(getattr(cls, "reset", None))):
            raise ControllerError(f"{ref}: class {attr!r} has no reset()/act() methods")
        return ControllerEntry(
            id=ref,
            cls=cls,
            summary=(cls.__doc__ or "").strip().split("\n")[0],
            scope=getattr(cls, "scope", "intersection"),
        )


def _factory(entry: ControllerEntry, params: dict[str, Any]) -> Callable[[], Any]:
    cls = entry.cls
    params_cls: Any = getattr(cls, "Params", None)
    if params_cls is not None and dataclasses.is_dataclass(params_cls):
        known = {f.name for f in dataclasses.fields(params_cls) if f.init}
        unknown = sorted(set(params) - known)
        if unknown:
            close = difflib.get_close_matches(unknown[0], sorted(known), n=1)
            hint = (
                f"; did you mean {close[0]!r}?"
                if close
                else (f"; known: {', '.join(sorted(known))}" if known else "; it takes no parameters")
            )
            raise ControllerError(f"controller {entry.id!r}: unknown parameter {unknown[0]!r}{hint}")
        make_params: Callable[..., Any] = params_cls  # type: ignore[assignment]
        try:
            built = make_params(**params)
        except (TypeError, ValueError) as exc:
            raise ControllerError(f"controller {entry.id!r}: {exc}") from exc
        return lambda: cls(built)
    if params:
        try:
            cls(**params)
        except TypeError as exc:
            raise ControllerError(f"controller {entry.id!r}: bad parameters: {exc}") from exc
    return lambda: cls(**params)


def _default_registry() -> ControllerRegistry:
    from signalbench.controllers.actuated import Actuated
    from signalbench.controllers.fixed_time import FixedTime
    from signalbench.controllers.greedy import Greedy
    from signalbench.controllers.green_wave import GreenWave
    from signalbench.controllers.longest_queue import LongestQueueFirst
    from signalbench.controllers.max_pressure import MaxPressure
    from signalbench.controllers.q_learning import QLearning
    from signalbench.controllers.random_phase import RandomPhase
    from signalbench.controllers.sotl import Sotl
    from signalbench.controllers.sumo_actuated import SumoActuated
    from signalbench.controllers.sumo_delay_based import SumoDelayBased
    from signalbench.controllers.webster import Webster

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
        scope="network",
    )
    reg.register(
        "green-wave-v0",
        GreenWave,
        summary="common cycle, Webster splits, offsets from travel times along the main direction",
        scope="network",
    )
    reg.register(
        "sumo-actuated-v0",
        SumoActuated,
        summary="SUMO's gap-based actuated control on the network's own phases",
        scope="network",
    )
    reg.register(
        "sumo-delay-based-v0",
        SumoDelayBased,
        summary="SUMO's delay-based actuated control on the network's own phases (Oertel & Wagner 2011)",
        scope="network",
    )
    return reg


#: The process-wide registry with the built-in controllers.
registry = _default_registry()
