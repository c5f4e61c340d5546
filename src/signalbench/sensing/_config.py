"""What a ``[[sensing]]`` entry says: a sensor model, its faults and attacks, its diagnostics.

Plain frozen data, validated on construction and read from TOML tables with every problem
named at once (``sensing[2].faults[0].rate: ...``). :func:`sensing_problems` checks a
configuration against a network (lanes, edges and lights that do not exist) and
:func:`field_set` against a controller (fields the model cannot give), both before any trial runs.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import Any

from signalbench._util import did_you_mean
from signalbench.controllers import Traits
from signalbench.errors import SpecError
from signalbench.networks import NetworkModel
from signalbench.sim import LANE_FIELDS, LANE_TRUTH_FIELDS, VEHICLES

__all__ = [
    "ATTACK_KINDS",
    "FAULT_KINDS",
    "MODELS",
    "Attack",
    "Diagnostics",
    "Fault",
    "SensingConfig",
    "field_set",
    "parse_sensing",
    "sensing_problems",
]

#: What each sensor model can measure (observation fields), and its parameters with defaults.
MODELS: dict[str, tuple[tuple[str, ...], dict[str, Any]]] = {
    "perfect": ((*LANE_FIELDS, VEHICLES), {}),
    "loops": (
        ("vehicle_count", "halting_count", "gap_s"),
        {"advance_m": 40.0, "stopline_m": 1.0, "quiet_s": 5.0},
    ),
    "cameras": ((*LANE_FIELDS, VEHICLES, "jam_length_m"), {"zone_m": 100.0, "halting_speed_m_s": 0.1}),
    "connected": (
        ("vehicle_count", "halting_count", "mean_speed_m_s", VEHICLES),
        {"penetration": 0.2, "range_m": 300.0, "estimate": "queue-tail", "jam_spacing_m": 7.5},
    ),
}

#: Faults, with the keys each takes besides the common ones (targets, share, window).
FAULT_KINDS: dict[str, tuple[str, ...]] = {
    "stuck-off": (),
    "stuck-on": (),
    "dropout": ("rate",),
    "noise": ("sd_veh", "sd_m"),
    "latency": ("delay_s",),
    "lost-decisions": ("rate",),
}
#: Attacks, with the keys each takes besides the common ones.
ATTACK_KINDS: dict[str, tuple[str, ...]] = {
    "phantom-queue": ("vehicles",),
    "hidden-queue": ("vehicles",),
    "spoof": ("vehicles", "dist_m", "speed_m_s"),
}
_COMMON = ("kind", "lanes", "edges", "lights", "from_s", "to_s")


class _Problems(SpecError):
    """Every problem of one value, each as ``key: message`` (joined with ``; `` in the message)."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


_DETECTORS = ("both", "stopline", "advance")
_ESTIMATES = ("queue-tail", "sample")


@dataclass(frozen=True, kw_only=True)
class _Targeted:
    """Where and when a fault or attack acts: lanes, approaches (edges) or whole lights.

    No target means every lane the sensing watches. ``from_s`` / ``to_s`` count seconds
    from the simulation's begin; ``to_s`` None lasts to the end.
    """

    kind: str
    lanes: tuple[str, ...] = ()
    edges: tuple[str, ...] = ()
    lights: tuple[str, ...] = ()
    from_s: float = 0.0
    to_s: float | None = None

    @property
    def targeted(self) -> bool:
        """True when lanes, edges or lights are named (else every watched lane)."""
        return bool(self.lanes or self.edges or self.lights)

    def active(self, elapsed_s: float) -> bool:
        """Tell whether it acts ``elapsed_s`` seconds after the begin."""
        return self.from_s <= elapsed_s and (self.to_s is None or elapsed_s < self.to_s)

    def _check_common(self) -> list[str]:
        problems = []
        for name in ("lanes", "edges", "lights"):
            value = getattr(self, name)
            if not isinstance(value, tuple) or not all(isinstance(v, str) and v for v in value):
                problems.append(f"{name}: expected a list of ids, got {value!r}")
        if not _finite(self.from_s) or self.from_s < 0:
            problems.append(f"from_s: must be a number >= 0 (seconds after the begin), got {self.from_s!r}")
        if self.to_s is not None and (not _finite(self.to_s) or not self.to_s > _num(self.from_s)):
            problems.append(f"to_s: must be a number > from_s ({self.from_s}), got {self.to_s!r}")
        return problems

    def to_dict(self) -> dict[str, Any]:
        """Return the canonical form: every field, tuples as lists, None left out."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is None or (isinstance(value, tuple) and not value):
                continue
            out[f.name] = list(value) if isinstance(value, tuple) else value
        return out


@dataclass(frozen=True, kw_only=True)
class Fault(_Targeted):
    """A detector or communication fault.

    Attributes:
        kind: ``stuck-off`` (reads nothing), ``stuck-on`` (reads occupied), ``dropout`` (each
            reading lost with probability ``rate``), ``noise`` (count noise ``sd_veh``, position
            noise ``sd_m``), ``latency`` (the controller sees data ``delay_s`` old),
            ``lost-decisions`` (a request does not reach the signal with probability ``rate``).
        share: the share of the targeted detectors (or lights) that fail, chosen with the
            trial's seed (1: all of them).
        detector: with ``loops``: which loop of a lane fails (``stopline``, ``advance``, ``both``).
        rate: probability per reading / per decision [0..1].
        sd_veh: standard deviation of the count noise [veh].
        sd_m: standard deviation of the position noise of reported vehicles [m].
        delay_s: age of the data the controller sees [s].

    """

    share: float = 1.0
    detector: str = "both"
    rate: float | None = None
    sd_veh: float | None = None
    sd_m: float | None = None
    delay_s: float | None = None

    def __post_init__(self) -> None:
        problems = self.problems()
        if problems:
            raise _Problems(problems)

    def problems(self) -> list[str]:
        """Every problem of this fault, as ``key: message``."""
        if self.kind not in FAULT_KINDS:
            hint = did_you_mean(self.kind, FAULT_KINDS, otherwise=_known(FAULT_KINDS))
            return [f"kind: unknown fault {self.kind!r}{hint}"]
        problems = self._check_common()
        if not _finite(self.share) or not 0 < self.share <= 1:
            problems.append(f"share: must be in (0, 1], got {self.share!r}")
        if self.detector not in _DETECTORS:
            problems.append(f"detector: must be one of {', '.join(_DETECTORS)}, got {self.detector!r}")
        takes = FAULT_KINDS[self.kind]
        for key in ("rate", "sd_veh", "sd_m", "delay_s"):
            value = getattr(self, key)
            if value is not None and key not in takes:
                problems.append(f"{key}: a {self.kind} fault takes {_takes(takes)}")
        if self.kind in ("dropout", "lost-decisions"):
            if self.rate is None:
                problems.append(f"rate: required for a {self.kind} fault (probability, e.g. 0.1)")
            elif not _finite(self.rate) or not 0 < self.rate <= 1:
                problems.append(f"rate: must be in (0, 1], got {self.rate!r}")
        if self.kind == "noise":
            if self.sd_veh is None and self.sd_m is None:
                problems.append("sd_veh: a noise fault needs sd_veh (counts) or sd_m (positions)")
            for key in ("sd_veh", "sd_m"):
                value = getattr(self, key)
                if value is not None and (not _finite(value) or value <= 0):
                    problems.append(f"{key}: must be a number > 0, got {value!r}")
        if self.kind == "latency":
            if self.delay_s is None:
                problems.append("delay_s: required for a latency fault (seconds, e.g. 20)")
            elif not _finite(self.delay_s) or self.delay_s <= 0:
                problems.append(f"delay_s: must be a number > 0, got {self.delay_s!r}")
        if self.kind == "lost-decisions" and (self.lanes or self.edges):
            problems.append("lanes: lost decisions act per light: name lights (or none for all)")
        return problems


@dataclass(frozen=True, kw_only=True)
class Attack(_Targeted):
    """A falsified-data attack (threat models of Chen et al. 2018 and Huang et al. 2020).

    Attributes:
        kind: ``phantom-queue`` (the readings of the target lanes report ``vehicles`` more
            queued vehicles), ``hidden-queue`` (they hide up to ``vehicles`` queued vehicles;
            None: all), ``spoof`` (``vehicles`` fake connected vehicles report a position
            ``dist_m`` from the stop line and a speed ``speed_m_s`` on the target lanes).
        vehicles: the attacker's budget: fake or hidden vehicles at any time [veh].
        dist_m: where spoofed vehicles say they are, from the stop line [m]; None: at the far
            end of what the roadside unit hears (the queue-tail attack).
        speed_m_s: the speed spoofed vehicles report [m/s] (0: queued).

    """

    vehicles: int | None = None
    dist_m: float | None = None
    speed_m_s: float = 0.0

    def __post_init__(self) -> None:
        problems = self.problems()
        if problems:
            raise _Problems(problems)
        if self.vehicles is None and self.kind in ("phantom-queue", "spoof"):
            object.__setattr__(self, "vehicles", 10 if self.kind == "phantom-queue" else 1)

    def problems(self) -> list[str]:
        """Every problem of this attack, as ``key: message``."""
        if self.kind not in ATTACK_KINDS:
            return [
                f"kind: unknown attack {self.kind!r}"
                f"{did_you_mean(self.kind, ATTACK_KINDS, otherwise=_known(ATTACK_KINDS))}"
            ]
        problems = self._check_common()
        if not self.targeted:
            problems.append(f"lanes: a {self.kind} attack needs targets: lanes, edges (approaches) or lights")
        if self.vehicles is not None and (
            isinstance(self.vehicles, bool) or not isinstance(self.vehicles, int) or self.vehicles < 1
        ):
            problems.append(f"vehicles: must be a whole number >= 1, got {self.vehicles!r}")
        if self.kind != "spoof":
            for key, unset in (("dist_m", None), ("speed_m_s", 0.0)):
                if getattr(self, key) != unset:
                    problems.append(f"{key}: only a spoof attack takes it")
        else:
            if self.dist_m is not None and (not _finite(self.dist_m) or self.dist_m < 0):
                problems.append(f"dist_m: must be a number >= 0, got {self.dist_m!r}")
            if not _finite(self.speed_m_s) or self.speed_m_s < 0:
                problems.append(f"speed_m_s: must be a number >= 0, got {self.speed_m_s!r}")
        return problems


@dataclass(frozen=True, kw_only=True)
class Diagnostics:
    """The detection system's own failure monitoring (NEMA TS 2 style detector diagnostics).

    A detector is reported failed while it shows continuous, unchanging presence for
    ``max_presence_s`` (stuck on), or no detection at all for ``no_activity_s`` (stuck off);
    the report ends when the condition does. Controllers with a fallback act on it. The
    no-activity time must exceed the quiet periods of a healthy lane at the network's lowest
    demand, as an engineer sets it per detector: 30 minutes by default (at 10 minutes, healthy
    low-volume lanes of grid4x4 were reported failed and put ``actuated`` on recall).
    """

    max_presence_s: float = 300.0
    no_activity_s: float = 1800.0

    def __post_init__(self) -> None:
        for name in ("max_presence_s", "no_activity_s"):
            value = getattr(self, name)
            if not _finite(value) or value <= 0:
                raise SpecError(f"diagnostics.{name}: must be a number > 0, got {value!r}")


@dataclass(frozen=True, kw_only=True)
class SensingConfig:
    """One sensing scenario: a model, its parameters, faults, attacks and diagnostics.

    Attributes:
        name: the label in tables (``loops``, ``cameras-20s-latency``).
        model: ``perfect``, ``loops``, ``cameras`` or ``connected`` (see :data:`MODELS`).
        params: the model's parameters, defaults filled in.
        faults: faults, applied in order.
        attacks: attacks, applied in order.
        diagnostics: detector diagnostics, or None (no failure reports).

    """

    name: str
    model: str = "perfect"
    params: Mapping[str, Any] = field(default_factory=dict)
    faults: tuple[Fault, ...] = ()
    attacks: tuple[Attack, ...] = ()
    diagnostics: Diagnostics | None = None

    def __post_init__(self) -> None:
        if self.model not in MODELS:
            hint = did_you_mean(self.model, MODELS, otherwise=_known(MODELS))
            raise _Problems([f"model: unknown sensing model {self.model!r}{hint}"])
        defaults = MODELS[self.model][1]
        unknown = sorted(set(self.params) - set(defaults))
        if unknown:
            hint = did_you_mean(
                unknown[0], defaults, otherwise=f"; {self.model} takes {_takes(tuple(defaults))}"
            )
            raise _Problems([f"params: unknown parameter {unknown[0]!r}{hint}"])
        object.__setattr__(self, "params", {**defaults, **self.params})
        problems = _param_problems(self.model, self.params)
        if self.model != "connected" and any(a.kind == "spoof" for a in self.attacks):
            problems.append(
                "attacks: a spoof attack fakes connected-vehicle messages: it needs the connected "
                f"model, not {self.model}"
            )
        problems += [
            f"faults: sd_m (position noise) needs reported vehicle positions; {self.model} gives none"
            for f in self.faults
            if f.sd_m is not None and VEHICLES not in self.provides
        ]
        problems += [
            "faults: detector = stopline/advance applies to the loops model only"
            for f in self.faults
            if f.detector != "both" and self.model != "loops"
        ]
        if problems:
            raise _Problems(list(dict.fromkeys(problems)))

    @property
    def provides(self) -> tuple[str, ...]:
        """The observation fields this model can fill (lane truths, e.g. waiting time: bare perfect only)."""
        return MODELS[self.model][0] + (LANE_TRUTH_FIELDS if self.is_perfect else ())

    @property
    def is_perfect(self) -> bool:
        """True for the simulator's own lane truths with nothing added (today's default)."""
        return self.model == "perfect" and not self.faults and not self.attacks

    def to_dict(self) -> dict[str, Any]:
        """Return the canonical, JSON-ready form (it enters the trial id); :meth:`from_dict` inverts it."""
        out: dict[str, Any] = {"name": self.name, "model": self.model, "params": dict(self.params)}
        if self.faults:
            out["faults"] = [f.to_dict() for f in self.faults]
        if self.attacks:
            out["attacks"] = [a.to_dict() for a in self.attacks]
        if self.diagnostics is not None:
            out["diagnostics"] = {
                "max_presence_s": self.diagnostics.max_presence_s,
                "no_activity_s": self.diagnostics.no_activity_s,
            }
        elif not self.is_perfect:  # off: said, or from_dict would turn the default back on
            out["diagnostics"] = False
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SensingConfig:
        """Rebuild a configuration written by :meth:`to_dict` (or read from a spec)."""
        config, problems = parse_sensing(data, where="sensing")
        if config is None:
            raise SpecError("; ".join(problems))
        return config


# -- reading TOML tables ------------------------------------------------------------------
def parse_sensing(raw: Mapping[str, Any], *, where: str) -> tuple[SensingConfig | None, list[str]]:
    """Read one ``[[sensing]]`` table; return the configuration, or None and every problem.

    Problems are ``where.key: message`` (``sensing[1].faults[0].rate: must be in (0, 1]``).
    Diagnostics are on by default for every model but perfect lane truths without faults or
    attacks; ``diagnostics = false`` turns them off.
    """
    problems: list[str] = []
    if not isinstance(raw, Mapping):
        return None, [f"{where}: expected a table, got {type(raw).__name__}"]
    known = ("name", "model", "params", "faults", "attacks", "diagnostics")
    for key in raw:
        if key not in known:
            hint = did_you_mean(str(key), known, otherwise=f"; known: {_takes(known)}")
            problems.append(f"{where}.{key}: unknown key{hint}")
    name = raw.get("name", raw.get("model", "perfect"))
    if not isinstance(name, str) or not name.strip():
        problems.append(f"{where}.name: required: a non-empty label")
    model = raw.get("model", "perfect")
    if not isinstance(model, str):
        problems.append(f"{where}.model: expected a name ({_takes(tuple(MODELS))}), got {model!r}")
    params = raw.get("params", {})
    if not isinstance(params, Mapping):
        problems.append(f"{where}.params: expected a table, got {params!r}")
    faults = _items(raw.get("faults", []), f"{where}.faults", Fault, FAULT_KINDS, problems)
    attacks = _items(raw.get("attacks", []), f"{where}.attacks", Attack, ATTACK_KINDS, problems)
    diagnostics = _diagnostics(raw.get("diagnostics", True), f"{where}.diagnostics", problems)
    if problems:
        return None, problems
    try:
        config = SensingConfig(
            name=str(name),
            model=str(model),
            params=dict(params),
            faults=tuple(faults),
            attacks=tuple(attacks),
        )
    except _Problems as exc:
        return None, [f"{where}.{p}" for p in exc.problems]
    if diagnostics is not None and not config.is_perfect:
        config = replace(config, diagnostics=diagnostics)
    return config, []


def _items(
    raw: Any,
    where: str,
    cls: type[Fault] | type[Attack],
    kinds: Mapping[str, tuple[str, ...]],
    problems: list[str],
) -> list[Any]:
    if not isinstance(raw, Sequence) or isinstance(raw, str):
        problems.append(f"{where}: expected a list of tables, got {raw!r}")
        return []
    out = []
    allowed = {*_COMMON, *(k for ks in kinds.values() for k in ks)}
    if cls is Fault:
        allowed |= {"share", "detector"}
    for i, item in enumerate(raw):
        at = f"{where}[{i}]"
        if not isinstance(item, Mapping):
            problems.append(f"{at}: expected a table, got {item!r}")
            continue
        unknown = [k for k in item if k not in allowed]
        if unknown:
            problems.append(f"{at}.{unknown[0]}: unknown key{did_you_mean(str(unknown[0]), allowed)}")
            continue
        values: dict[str, Any] = {k: (tuple(v) if isinstance(v, list) else v) for k, v in item.items()}
        if "kind" not in values:
            problems.append(f"{at}.kind: required: one of {_takes(tuple(kinds))}")
            continue
        for key in ("lanes", "edges", "lights"):
            if isinstance(values.get(key), str):
                values[key] = (values[key],)
        try:
            out.append(cls(**values))
        except _Problems as exc:
            problems += [f"{at}.{p}" for p in exc.problems]
        except TypeError as exc:  # a value of the wrong kind where a number is compared
            problems.append(f"{at}: {exc}")
    return out


def _diagnostics(raw: Any, where: str, problems: list[str]) -> Diagnostics | None:
    if raw is False:
        return None
    if raw is True:
        return Diagnostics()
    if not isinstance(raw, Mapping):
        problems.append(
            f"{where}: expected true, false or a table (max_presence_s, no_activity_s), got {raw!r}"
        )
        return None
    unknown = [k for k in raw if k not in ("max_presence_s", "no_activity_s")]
    if unknown:
        problems.append(f"{where}.{unknown[0]}: unknown key; known: max_presence_s, no_activity_s")
        return None
    try:
        return Diagnostics(**raw)
    except (SpecError, TypeError) as exc:
        problems.append(f"{where}: {exc}".replace("diagnostics.diagnostics.", "diagnostics."))
        return None


def _param_problems(model: str, params: Mapping[str, Any]) -> list[str]:
    problems = []
    for key, value in params.items():
        if key == "estimate":
            if value not in _ESTIMATES:
                problems.append(f"params.estimate: must be one of {', '.join(_ESTIMATES)}, got {value!r}")
        elif key == "penetration":
            if not _finite(value) or not 0 < value <= 1:
                problems.append(f"params.penetration: must be in (0, 1] (the equipped share), got {value!r}")
        elif key == "quiet_s" or key == "stopline_m":
            if not _finite(value) or value < 0:
                problems.append(f"params.{key}: must be a number >= 0, got {value!r}")
        elif not _finite(value) or value <= 0:
            problems.append(f"params.{key}: must be a number > 0, got {value!r}")
    if model == "loops" and not problems and params["advance_m"] <= params["stopline_m"]:
        problems.append(
            f"params.advance_m: the advance loop ({params['advance_m']} m) must lie upstream of the "
            f"stop-line loop ({params['stopline_m']} m)"
        )
    return problems


# -- checks against a network and a controller --------------------------------------------
def sensing_problems(config: SensingConfig, models: NetworkModel | Sequence[NetworkModel]) -> list[str]:
    """Every target of a fault or attack that the networks' controlled lights do not have.

    With several networks (an experiment's), targets are looked up in each: a target must
    exist in at least one of them, and a targeted fault or attack must find at least one of
    its targets in every network (elsewhere it acts on the targets the network has), so one
    entry can name, say, one approach of each network.
    """
    nets = [models] if isinstance(models, NetworkModel) else list(models)
    known = [_targets(m) for m in nets]
    problems: list[str] = []
    for kind, items in (("faults", config.faults), ("attacks", config.attacks)):
        for i, item in enumerate(items):
            at = f"sensing {config.name!r}: {kind}[{i}] ({item.kind})"
            before = len(problems)
            for key, what in (
                ("lanes", "lane of a controlled light"),
                ("edges", "approach (incoming edge) of a controlled light"),
                ("lights", "controlled traffic light"),
            ):
                for name in getattr(item, key):
                    if not any(name in k[key] for k in known):
                        hint = did_you_mean(name, set().union(*(k[key] for k in known)), otherwise="")
                        where = " or ".join(m.net_file.name for m in nets)
                        problems.append(f"{at}: {key}: {name!r} is no {what} of {where}{hint}")
            if item.targeted and len(nets) > 1 and len(problems) == before:
                for m, k in zip(nets, known, strict=True):
                    keys = ("lanes", "edges", "lights")
                    if not any(name in k[key] for key in keys for name in getattr(item, key)):
                        problems.append(
                            f"{at}: none of its targets is in {m.net_file.name}: name one there too"
                        )
    return problems


def _targets(model: NetworkModel) -> dict[str, set[str]]:
    return {
        "lanes": {
            ln.id for spec in model.intersections for ln in (*spec.incoming_lanes, *spec.outgoing_lanes)
        },
        "edges": {ln.edge_id for spec in model.intersections for ln in spec.incoming_lanes},
        "lights": set(model.ids),
    }


def field_set(config: SensingConfig, traits: Traits, controller: str) -> tuple[str, ...]:
    """Return the controller's first field set the model can fill; else raise SpecError naming both."""
    if traits.writes_programs:
        return ()
    for wanted in traits.field_sets:
        if set(wanted) <= set(config.provides):
            return wanted
    first = traits.field_sets[0]
    missing = [f for f in first if f not in config.provides]
    others = (
        f" (nor its alternatives {' / '.join(', '.join(s) for s in traits.alternative_fields)})"
        if traits.alternative_fields
        else ""
    )
    raise SpecError(
        f"controller {controller!r} needs {', '.join(missing)}{others}, which sensing "
        f"{config.name!r} (model {config.model}) cannot give; it measures {', '.join(config.provides)}"
    )


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _num(value: Any) -> float:
    return float(value) if _finite(value) else 0.0


def _takes(keys: Sequence[str]) -> str:
    return ", ".join(keys) if keys else "no further keys"


def _known(names: Mapping[str, Any]) -> str:
    return f"; known: {', '.join(names)}"
