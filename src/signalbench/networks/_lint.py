"""``signalbench networks check``: what the network model found and what it could not use."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Literal

from signalbench.networks._catalog import Scenario
from signalbench.networks._demand import count_vehicles
from signalbench.networks._model import NetworkModel, load_scenario_model
from signalbench.signals import GREEN

__all__ = ["Finding", "LintReport", "lint_model", "lint_scenario"]

Severity = Literal["error", "warning", "note"]

_GREEN = GREEN
_STOP = frozenset("rs")


@dataclass(frozen=True, kw_only=True)
class Finding:
    """One thing the lint found.

    Attributes:
        severity: ``error`` (the network cannot be used for control experiments: no
            controllable traffic light, or no vehicle in its window), ``warning`` (something a
            user should know: a light left on its own program, a movement never green, ...),
            ``note`` (harmless, for information).
        where: traffic light id, or ``network``/``demand``.
        code: short stable name of the check (``no-green-phase``, ``yellowless-transition``...).
        message: one line.

    """

    severity: Severity
    where: str
    code: str
    message: str

    def __str__(self) -> str:
        return f"{self.severity}: {self.where}: {self.message} [{self.code}]"


@dataclass(frozen=True, kw_only=True)
class LintReport:
    """Result of checking one network.

    Attributes:
        model: the network model.
        findings: everything found, errors first.
        vehicles: vehicles in the demand inside the window, if demand was given.

    """

    model: NetworkModel
    findings: tuple[Finding, ...]
    vehicles: int | None = None

    @property
    def ok(self) -> bool:
        """True if the network can be used for control experiments (no error finding)."""
        return self.count("error") == 0

    def count(self, severity: Severity) -> int:
        """Return the number of findings of a severity."""
        return sum(1 for f in self.findings if f.severity == severity)


#: Incoming lanes shorter than this hold at most two queued cars (7.5 m each with the gap).
SHORT_LANE_M = 15.0


def lint_model(model: NetworkModel) -> list[Finding]:
    """Check the signal programs and movements of a network model."""
    out: list[Finding] = []

    def add(severity: Severity, where: str, code: str, message: str) -> None:
        out.append(Finding(severity=severity, where=where, code=code, message=message))

    if not model.intersections and not model.problems:
        add("error", "network", "no-traffic-light", "has no traffic light: nothing to control")
    elif not model.intersections:
        add(
            "error",
            "network",
            "nothing-controllable",
            f"none of its {len(model.problems)} traffic lights can be controlled",
        )
    for problem in model.problems:
        # "traffic light 'X': reason"
        head, _, reason = problem.partition(": ")
        tls = head.removeprefix("traffic light ").strip("'")
        code = "no-green-phase" if "no green phase" in reason else "unusable-signal"
        add("warning", tls, code, f"left on its own program: {reason}")

    lane_owners: dict[str, set[str]] = defaultdict(set)
    for spec in model.intersections:
        for lane in spec.incoming_lanes:
            lane_owners[lane.id].add(spec.id)
        linked = {m.link_index for m in spec.movements}
        for k, (state, _) in enumerate(spec.program):
            green_links = {i for i, c in enumerate(state) if c in _GREEN}
            if green_links and not any(c in "yYu" for c in state) and not green_links & linked:
                add(
                    "note",
                    spec.id,
                    "phase-serves-nothing",
                    f"phase {k} ({state}) gives green to no vehicle movement "
                    "(pedestrians only?); controllers cannot choose it",
                )
        served = set().union(*(p.movements for p in spec.green_phases))
        never = [m for i, m in enumerate(spec.movements) if i not in served]
        if never:
            links = _first([f"{m.link_index} ({m.from_lane}->{m.to_lane})" for m in never], 4)
            add(
                "warning",
                spec.id,
                "movement-never-green",
                f"{len(never)} movement(s) get green in no phase: link {links}",
            )
        dead = sorted(set(range(spec.n_links)) - linked)
        if dead:
            add(
                "note",
                spec.id,
                "links-without-vehicles",
                f"{len(dead)} of {spec.n_links} signal links control no vehicle "
                "connection (pedestrian crossings or removed lanes)",
            )
        yellowless = _yellowless(spec.program, linked)
        if yellowless:
            k, nxt, link = yellowless[0]
            add(
                "warning",
                spec.id,
                "yellowless-transition",
                f"original program goes from green to red without yellow "
                f"{len(yellowless)} time(s) (first: phase {k} -> {nxt}, link {link}); "
                "Python controllers get yellow from the actuator, fixed-time runs the "
                "program as it is",
            )
        if len(spec.green_phases) == 1:
            add(
                "warning",
                spec.id,
                "single-green-phase",
                "only one green phase: a controller has no choice to make",
            )
        short = [ln for ln in spec.incoming_lanes if ln.length_m < SHORT_LANE_M]
        if short:
            names = _first([f"{ln.id} ({ln.length_m:.1f} m)" for ln in short], 3)
            add(
                "note",
                spec.id,
                "short-approach",
                f"{len(short)} incoming lane(s) shorter than {SHORT_LANE_M:g} m: {names}; "
                "controllers that count vehicles on incoming lanes see at most two there, "
                "the queue behind stands on the upstream lane",
            )
    for lane_id, owners in sorted(lane_owners.items()):
        if len(owners) > 1:
            add(
                "warning",
                lane_id,
                "lane-shared",
                f"incoming lane of {len(owners)} signals: {', '.join(sorted(owners))}; "
                "their queue is counted by each",
            )
    order = {"error": 0, "warning": 1, "note": 2}
    return sorted(out, key=lambda f: order[f.severity])


def _first(items: list[str], n: int) -> str:
    """Join the first ``n`` items by commas and say how many more there are."""
    more = f" and {len(items) - n} more" if len(items) > n else ""
    return ", ".join(items[:n]) + more


def _yellowless(program: tuple[tuple[str, float], ...], linked: set[int]) -> list[tuple[int, int, int]]:
    """(phase, next phase, link) where a vehicle link goes straight from green to red/stop."""
    hits: list[tuple[int, int, int]] = []
    n = len(program)
    if n < 2:
        return hits
    for k in range(n):
        nxt = (k + 1) % n
        a, b = program[k][0], program[nxt][0]
        for i in sorted(linked):
            if i < len(a) and i < len(b) and a[i] in _GREEN and b[i] in _STOP:
                hits.append((k, nxt, i))
                break
    return hits


def lint_scenario(scenario: Scenario) -> LintReport:
    """Check a scenario: its network model and, if it has demand, the vehicles in its window."""
    model = load_scenario_model(scenario)
    findings = lint_model(model)
    vehicles = None
    if scenario.route_files:
        count = count_vehicles(scenario.route_files, begin_s=scenario.begin_s, end_s=scenario.end_s)
        vehicles = count.in_window
        if count.in_window == 0:
            findings.append(Finding(severity="error", where="demand", code="no-vehicles-in-window",
                                    message=f"no vehicle departs in the window {scenario.begin_s:g}-"
                                    f"{scenario.end_s:g} s ({count.total} in the files)"))  # fmt: skip
    return LintReport(model=model, findings=tuple(findings), vehicles=vehicles)
