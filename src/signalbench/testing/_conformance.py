"""The controller conformance kit: drive a controller on tiny networks and check the contract.

Checks, in order, for every (network, seed):

1. **builds**: the controller class accepts its parameters (the same check as an experiment).
2. **runs**: a whole short episode finishes without an exception in ``reset`` or ``act``.
3. **valid requests**: every answer is a mapping of known intersection ids to ``PhaseRequest``
   (or None); every requested phase is a Python ``int`` in ``0..n_phases-1``. The first bad
   answer is named with its intersection and simulation time.
4. **safe signals**: the signal timeline the harness set passes the independent safety audit
   (:func:`signalbench.signals.audit_timeline`): yellow, all-red, min and max green.
5. **compute time**: the 95th percentile of the wall time per intersection-decision stays
   under ``max_p95_ms`` (default 50 ms, generous: the built-ins take well under 1 ms).
6. **deterministic**: the same seed run twice gives identical signal timelines, control
   statistics and (with SUMO) trip metrics. Randomness must come from the ``rng`` given to
   ``reset``; Python's ``random`` or ``np.random``'s global state breaks this check.

The kit stops at the first failing run and raises :class:`AssertionError` with every
problem of that run, so a failing pytest shows what to fix.
"""

from __future__ import annotations

import dataclasses
import math
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from signalbench.controllers import BuiltController, NetworkController, PhaseRequest, registry
from signalbench.errors import SignalbenchError
from signalbench.metrics import read_trip_metrics
from signalbench.networks import NetworkModel, resolve_network
from signalbench.runtime import Session, SimOptions
from signalbench.signals import SignalTiming, audit_timeline
from signalbench.sim import SimConfig
from signalbench.testing._fake import FakeBackend

__all__ = [
    "DEFAULT_DURATION_S",
    "DEFAULT_MAX_P95_MS",
    "DEFAULT_NETWORKS",
    "DEFAULT_SEEDS",
    "ConformanceReport",
    "RunCheck",
    "check_controller",
]

#: Small catalog networks: one signal, and three signals with different phase counts.
DEFAULT_NETWORKS: tuple[str, ...] = ("cologne1-v0", "cologne3-v0")
DEFAULT_SEEDS: tuple[int, ...] = (1, 2)
DEFAULT_DURATION_S = 300.0  # [s] simulated per run; every run is done twice (determinism)
DEFAULT_MAX_P95_MS = 50.0  # [ms] per intersection-decision, 95th percentile

BackendName = Literal["libsumo", "traci", "fake"]


@dataclass(frozen=True, kw_only=True)
class RunCheck:
    """One checked run.

    Attributes:
        network: catalog id or path.
        seed: the seed of both runs.
        intersections: intersections under control.
        decisions: decision times (each asks every intersection once).
        switches: phase changes started.
        overrides: requests the actuator did not follow, by reason.
        metrics: trip metrics of the first run (empty on the fake backend).
        problems: what failed in this run (empty if it conforms).

    """

    network: str
    seed: int
    intersections: int
    decisions: int
    switches: int
    overrides: dict[str, int] = field(default_factory=dict)
    metrics: dict[str, float | int] = field(default_factory=dict)
    problems: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class ConformanceReport:
    """What :func:`check_controller` found.

    Attributes:
        controller: the controller reference or class name checked.
        backend: ``libsumo``, ``traci`` or ``fake``.
        runs: the runs done (the last one failed if ``problems``).
        decision_ms_mean: mean wall time per intersection-decision [ms].
        decision_ms_p95: its 95th percentile [ms].
        decision_ms_max: its maximum [ms].
        max_p95_ms: the limit the 95th percentile was held to [ms], or None.
        problems: every problem found; empty when the controller conforms.
        notes: remarks that are not failures.

    """

    controller: str
    backend: str
    runs: tuple[RunCheck, ...]
    decision_ms_mean: float
    decision_ms_p95: float
    decision_ms_max: float
    max_p95_ms: float | None
    problems: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """True when no check failed."""
        return not self.problems

    def summary(self) -> str:
        """Return a few readable lines: verdict, runs, decision times, problems."""
        verdict = "conforms" if self.ok else f"does NOT conform ({len(self.problems)} problem(s))"
        lines = [f"controller {self.controller}: {verdict} [{self.backend} backend]"]
        for run in self.runs:
            delay = run.metrics.get("mean_delay_s")
            extra = f", mean delay {delay:.1f} s/veh" if isinstance(delay, float) else ""
            lines.append(
                f"  {run.network} seed {run.seed}: {run.intersections} signal(s), {run.decisions} decisions, "
                f"{run.switches} switches{extra}" + (" -- FAILED" if run.problems else "")
            )
        limit = f" (limit {self.max_p95_ms:g} ms)" if self.max_p95_ms is not None else ""
        lines.append(
            f"  decision time per intersection: mean {self.decision_ms_mean:.3f} ms, "
            f"p95 {self.decision_ms_p95:.3f} ms{limit}, max {self.decision_ms_max:.3f} ms"
        )
        lines += [f"  note: {n}" for n in self.notes]
        lines += [f"  - {p}" for p in self.problems]
        return "\n".join(lines)


class _BadRequest(Exception):
    """A controller answer that breaks the contract (message names where and when)."""


class _Checked:
    """Wraps a network-level policy: times each call and validates every answer."""

    def __init__(self, inner: NetworkController) -> None:
        self.inner = inner
        self.times_ms: list[float] = []

    def reset(self, network: NetworkModel, rng: np.random.Generator) -> None:
        self.inner.reset(network, rng)

    def act(self, obs: Mapping[str, Any]) -> Any:
        started = time.perf_counter()
        answer = self.inner.act(obs)
        elapsed_ms = 1000.0 * (time.perf_counter() - started)
        self.times_ms.append(elapsed_ms / max(len(obs), 1))
        _validate(answer, obs)
        return answer


def _validate(answer: object, obs: Mapping[str, Any]) -> None:
    t = next(iter(obs.values())).time_s if obs else math.nan
    if not isinstance(answer, Mapping):
        raise _BadRequest(
            f"at t={t:g} s act() returned {type(answer).__name__} {answer!r:.60}, "
            "expected a mapping of intersection id to PhaseRequest"
        )
    for tls, request in answer.items():
        where = f"intersection {tls!r} at t={t:g} s"
        if tls not in obs:
            raise _BadRequest(f"{where}: request for an intersection that was not asked (known: {list(obs)})")
        if request is None:
            continue
        if not isinstance(request, PhaseRequest):
            raise _BadRequest(
                f"{where}: returned {type(request).__name__} {request!r:.60}, expected a PhaseRequest "
                "(PhaseRequest.hold() or PhaseRequest.switch(k))"
            )
        phase = request.phase
        if phase is None:
            continue
        if isinstance(phase, bool) or not isinstance(phase, int):
            raise _BadRequest(
                f"{where}: PhaseRequest.switch({phase!r}) has a {type(phase).__name__} phase; "
                "use a Python int (e.g. int(np.argmax(...)))"
            )
        n = obs[tls].n_phases
        if not 0 <= phase < n:
            raise _BadRequest(f"{where}: PhaseRequest.switch({phase}) but valid phases are 0..{n - 1}")


def _builder(
    controller: str | type[Any], params: Mapping[str, Any] | None
) -> tuple[str, Callable[[], BuiltController]]:
    """Return (display name, maker of a freshly built controller); raise on build errors."""
    if not isinstance(controller, (str, type)):
        raise TypeError(f"expected a controller reference or class, got {controller!r}")
    first = registry.build(controller, params)  # raises ControllerError with a clear message
    name = controller if isinstance(controller, str) else first.name
    return name, lambda: registry.build(controller, params)


def _first_difference(a: dict[str, list[tuple[float, str]]], b: dict[str, list[tuple[float, str]]]) -> str:
    for tls in sorted(set(a) | set(b)):
        ta, tb = a.get(tls, []), b.get(tls, [])
        for i in range(max(len(ta), len(tb))):
            ea = ta[i] if i < len(ta) else None
            eb = tb[i] if i < len(tb) else None
            if ea != eb:
                return f"intersection {tls!r}, change #{i}: first run {ea}, second run {eb}"
    return ""


@dataclass
class _Run:
    timelines: dict[str, list[tuple[float, str]]]
    stats: dict[str, Any]
    metrics: dict[str, float | int]
    times_ms: list[float]
    intersections: int
    decisions: int
    switches: int
    overrides: dict[str, int]


def _run_once(
    make: Callable[[], BuiltController],
    session: Session,
    config: SimConfig,
    backend: BackendName,
    timing: SignalTiming,
    decision_interval_s: float | None,
) -> _Run:
    built = make()
    assert built.policy is not None
    checked = _Checked(built.policy)
    stats = session.episode(
        dataclasses.replace(built, policy=checked),
        config=config,
        timing=timing,
        decision_interval_s=decision_interval_s,
        backend=FakeBackend(session.model) if backend == "fake" else None,
        record_timelines=True,
    ).run()
    metrics: dict[str, float | int] = {}
    if backend != "fake" and config.tripinfo_file is not None:
        metrics = read_trip_metrics(config.tripinfo_file, config.statistics_file).as_dict()
    control = stats.as_dict()
    for key in ("controller_time_s", "controller_ms_per_decision"):
        control.pop(key)
    return _Run(
        timelines=stats.timelines,
        stats=control,
        metrics=metrics,
        times_ms=checked.times_ms,
        intersections=len(stats.intersections),
        decisions=stats.decisions,
        switches=stats.switches,
        overrides=dict(stats.overrides),
    )


def _same(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b


def check_controller(
    controller: str | type[Any],
    params: Mapping[str, Any] | None = None,
    *,
    networks: Sequence[str] = DEFAULT_NETWORKS,
    seeds: Sequence[int] = DEFAULT_SEEDS,
    duration_s: float = DEFAULT_DURATION_S,
    backend: BackendName = "libsumo",
    timing: SignalTiming | None = None,
    decision_interval_s: float | None = None,
    max_p95_ms: float | None = DEFAULT_MAX_P95_MS,
    raise_on_failure: bool = True,
) -> ConformanceReport:
    """Check that a controller keeps the contract; raise AssertionError naming what broke.

    Args:
        controller: a registered id (``max-pressure``), a reference (``controllers/x.py:X``,
            ``package.module:X``) or the controller class itself.
        params: the controller's parameters, as an experiment spec would give them.
        networks: catalog ids (or scenario paths) to drive it on; keep them small.
        seeds: seeds; each (network, seed) is run twice to check determinism.
        duration_s: simulated seconds per run, from the start of each network's window.
        backend: ``libsumo`` (default), ``traci``, or ``fake``: the in-memory fake traffic
            model, milliseconds per run, for fast unit tests (no trip metrics).
        timing: the actuator's rules (default :class:`SignalTiming`'s defaults).
        decision_interval_s: overrides the controller's own decision interval.
        max_p95_ms: limit on the 95th percentile of the wall time per intersection-decision
            [ms]; None disables the check (e.g. on a loaded CI machine).
        raise_on_failure: raise :class:`AssertionError` on a problem (default); with False,
            return the report and let the caller look at ``report.ok``.

    Returns:
        The report (``print(report.summary())`` for a readable form).

    Raises:
        AssertionError: the controller does not conform; the message is the report's summary.

    Example (in a pytest file)::

        from signalbench.testing import check_controller

        def test_my_policy_conforms():
            check_controller("controllers/my_policy.py:MyPolicy", {"switch_margin_veh": 1.0})

    """
    __tracebackhide__ = True  # pytest: show the failure at the caller's line
    if not seeds:
        raise ValueError("check_controller needs at least one seed")
    if not networks:
        raise ValueError("check_controller needs at least one network")
    if not duration_s > 0:
        raise ValueError(f"duration_s must be > 0, got {duration_s!r}")
    timing = timing or SignalTiming()
    label = controller if isinstance(controller, str) else str(getattr(controller, "__qualname__", "?"))
    problems: list[str] = []
    notes: list[str] = []
    runs: list[RunCheck] = []
    times_ms: list[float] = []
    make: Callable[[], BuiltController] | None = None
    try:
        label, make = _builder(controller, params)
        probe = make()
    except SignalbenchError as exc:
        problems.append(f"does not build with params {dict(params or {})}: {exc}")
        make = None
    except Exception as exc:
        problems.append(f"does not build with params {dict(params or {})}: {type(exc).__name__}: {exc}")
        make = None
    else:
        if not probe.controls_signals:
            notes.append("it installs SUMO programs (no Python decisions): only the build was checked")
            make = None

    if make is not None:
        found = _Checks(
            make=make,
            backend=backend,
            timing=timing,
            decision_interval_s=decision_interval_s,
            max_p95_ms=max_p95_ms,
        )
        found.run(networks, seeds, duration_s)
        runs, times_ms = found.runs, found.times_ms
        problems += found.problems
        notes += found.notes

    report = ConformanceReport(
        controller=label,
        backend=backend,
        runs=tuple(runs),
        decision_ms_mean=float(np.mean(times_ms)) if times_ms else 0.0,
        decision_ms_p95=_percentile(times_ms, 95),
        decision_ms_max=max(times_ms, default=0.0),
        max_p95_ms=max_p95_ms,
        problems=tuple(problems),
        notes=tuple(notes),
    )
    if raise_on_failure and not report.ok:
        raise AssertionError(report.summary())
    return report


@dataclass
class _Checks:
    """The runs of the kit: each (network, seed) twice; stops at the first failing run."""

    make: Callable[[], BuiltController]
    backend: BackendName
    timing: SignalTiming
    decision_interval_s: float | None
    max_p95_ms: float | None
    runs: list[RunCheck] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    times_ms: list[float] = field(default_factory=list)

    def run(self, networks: Sequence[str], seeds: Sequence[int], duration_s: float) -> None:
        sumo_backend = "libsumo" if self.backend == "fake" else self.backend
        with tempfile.TemporaryDirectory(prefix="signalbench-conformance-") as tmp:
            for network in networks:
                scenario = resolve_network(network).shortened(duration_s)
                session = Session(scenario, SimOptions(backend=sumo_backend))
                if not session.model.intersections:
                    self.notes.append(f"{network}: no controllable traffic light; skipped")
                    continue
                for seed in seeds:
                    self._network_seed(session, network, int(seed), Path(tmp))
                    if self.problems:
                        return

    def _network_seed(self, session: Session, network: str, seed: int, tmp: Path) -> None:
        """Run one (network, seed) twice: contract, audit and speed on the first, determinism on both."""
        problems: list[str] = []
        where = f"{network} seed {seed}"
        outs: list[_Run] = []
        for attempt in ("first", "second"):
            folder = tmp / f"{len(self.runs)}-{attempt}"
            folder.mkdir()
            config = session.config(seed=seed, outdir=folder if self.backend != "fake" else None)
            try:
                out = _run_once(
                    self.make, session, config, self.backend, self.timing, self.decision_interval_s
                )
            except _BadRequest as exc:
                problems.append(f"{where}: invalid request: {exc}")
                break
            except SignalbenchError as exc:
                problems.append(f"{where}: {exc}")
                break
            except Exception as exc:
                problems.append(f"{where}: raised {type(exc).__name__}: {exc}")
                break
            outs.append(out)
            self.times_ms += out.times_ms
            if attempt == "first":
                problems += _audit(out, session.model, self.timing, config.end_s, where)
                p95 = _percentile(self.times_ms, 95)
                if self.max_p95_ms is not None and p95 > self.max_p95_ms:
                    problems.append(
                        f"{where}: too slow: p95 decision time {p95:.1f} ms per intersection "
                        f"> limit {self.max_p95_ms:g} ms (mean {float(np.mean(self.times_ms)):.1f} ms)"
                    )
                if problems:
                    break
        if len(outs) == 2:
            problems += _compare(outs[0], outs[1], where)
        first = outs[0] if outs else None
        self.runs.append(
            RunCheck(
                network=network,
                seed=seed,
                intersections=first.intersections if first else len(session.model.intersections),
                decisions=first.decisions if first else 0,
                switches=first.switches if first else 0,
                overrides=first.overrides if first else {},
                metrics=first.metrics if first else {},
                problems=tuple(problems),
            )
        )
        self.problems += problems


def _percentile(values: Sequence[float], q: float) -> float:
    return float(np.percentile(values, q)) if len(values) else 0.0


def _audit(out: _Run, model: NetworkModel, timing: SignalTiming, end_s: float, where: str) -> list[str]:
    problems: list[str] = []
    for spec in model.intersections:
        phases = [p.state for p in spec.green_phases]
        found = audit_timeline(out.timelines.get(spec.id, []), timing, end_s=end_s, phases=phases)
        if found:
            problems.append(
                f"{where}: unsafe signal timeline at intersection {spec.id!r}: {found[0]}"
                + (f" (+{len(found) - 1} more)" if len(found) > 1 else "")
            )
    return problems


def _compare(a: _Run, b: _Run, where: str) -> list[str]:
    hint = "use only the rng given to reset(), not random / np.random / time"
    diff = _first_difference(a.timelines, b.timelines)
    if diff:
        return [f"{where}: not deterministic: the same seed gave different signal timelines ({diff}); {hint}"]
    for key in sorted(set(a.stats) | set(b.stats)):
        if not _same(a.stats.get(key), b.stats.get(key)):
            return [
                f"{where}: not deterministic: {key} was {a.stats.get(key)} then {b.stats.get(key)}; {hint}"
            ]
    for key in sorted(set(a.metrics) | set(b.metrics)):
        if not _same(a.metrics.get(key), b.metrics.get(key)):
            return [
                f"{where}: not deterministic: metric {key} was {a.metrics.get(key)} then "
                f"{b.metrics.get(key)}; {hint}"
            ]
    return []
