"""What a run of an experiment will do with each trial, given what its folder holds.

Each trial of the spec is reused (a complete record with its id exists), restored (a
superseded record with its id exists: its inputs are current again), run because it is new,
failed before, stale (a record of the same trial made from inputs that have changed since:
the reason says which) or forced (``--rerun``). Records of a stale cell are superseded all at
once, seeds outside the current spec included, so a table never mixes records of two versions
of an input.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from signalbench.errors import SpecError
from signalbench.experiments._fingerprint import Fingerprinter, describe_changes, group_reasons
from signalbench.experiments._store import ResultStore, StoredTrial
from signalbench.experiments._trial import TrialSpec

__all__ = ["ExperimentPlan", "PlannedTrial", "TrialStatus", "plan_trials"]

TrialStatus = Literal["complete", "restore", "new", "failed before", "stale", "rerun"]


@dataclass(frozen=True, kw_only=True)
class PlannedTrial:
    """One trial of the spec and what the run does with it.

    Attributes:
        spec: the trial, with its inputs.
        status: ``complete`` (reused), ``restore`` (a superseded record with this id comes
            back), ``new``, ``failed before``, ``stale`` (runs again: ``reasons`` says what
            changed) or ``rerun`` (forced).
        reasons: for a stale trial, what changed since its record was made.

    """

    spec: TrialSpec
    status: TrialStatus
    reasons: tuple[str, ...] = ()

    @property
    def runs(self) -> bool:
        """True if the trial is run (not reused or restored)."""
        return self.status not in ("complete", "restore")

    @property
    def status_text(self) -> str:
        """The status as the dry run shows it: ``complete``, ``to run``, ``stale: ...``."""
        if self.status == "stale":
            return "stale: " + ", ".join(self.reasons)
        return {
            "complete": "complete",
            "restore": "complete (restored)",
            "new": "to run",
            "failed before": "to run (failed before)",
            "rerun": "to run (--rerun)",
        }[self.status]


@dataclass(frozen=True, kw_only=True)
class ExperimentPlan:
    """The trials of a spec with their status, and the stored records they supersede.

    Attributes:
        trials: every trial of the spec, in expansion order.
        superseded: ids of stored records to move aside, with the reason.
        renamed: ids of reused records whose spec names differ from the spec's (a new label,
            or the paths of a moved project): the run rewrites them with the spec's.

    """

    trials: tuple[PlannedTrial, ...]
    superseded: dict[str, str] = field(default_factory=dict)
    renamed: tuple[str, ...] = ()

    @property
    def to_run(self) -> list[TrialSpec]:
        """The trials that run."""
        return [t.spec for t in self.trials if t.runs]

    @property
    def reused(self) -> int:
        """How many trials reuse a stored record."""
        return sum(1 for t in self.trials if not t.runs)

    def count(self, *statuses: TrialStatus) -> int:
        """How many trials have one of ``statuses``."""
        return sum(1 for t in self.trials if t.status in statuses)

    def stale_reasons(self) -> dict[str, int]:
        """Trials run again because an input changed, counted by reason, most frequent first."""
        return group_reasons(", ".join(t.reasons) for t in self.trials if t.status == "stale")


def plan_trials(
    trials: Sequence[TrialSpec],
    store: ResultStore,
    *,
    rerun: bool = False,
    index: Sequence[StoredTrial] | None = None,
) -> ExperimentPlan:
    """Decide, for every trial, whether a run reuses, restores or runs it, and why.

    ``index``: the store's records as :class:`StoredTrial` (the consolidated dataset has them,
    see ``signalbench.analysis.stored_trials``); without it every record is read. The plan is
    the same either way.

    Raises:
        SpecError: two trials of the spec are the same trial (e.g. two copies of one
            controller file with the same parameters).

    """
    _check_distinct(trials)
    records = store.index() if index is None else index
    by_id = {r.trial_id: r for r in records}
    current: dict[str, TrialSpec] = {}  # cell -> a current trial of it (inputs do not vary by seed)
    for t in trials:
        current.setdefault(t.cell_key, t)
    differs: dict[tuple[str, str], bool] = {}  # (cell, record's inputs) -> not the cell's inputs
    stale: dict[str, list[StoredTrial]] = {}
    for r in records:
        mine = current.get(r.cell_key)
        if mine is None:
            continue
        known = differs.get((r.cell_key, r.inputs))
        if known is None:
            known = differs[(r.cell_key, r.inputs)] = r.input_digests() != dict(mine.inputs)
        if known:
            stale.setdefault(r.cell_key, []).append(r)
    stale_seeds = {(cell, r.seed) for cell, old in stale.items() for r in old}
    fingerprints = Fingerprinter()
    reasons: dict[str, tuple[str, ...]] = {}
    for cell, old in stale.items():
        trial = current[cell]
        paths = fingerprints.inputs(trial).paths
        reasons[cell] = tuple(describe_changes(old[0].input_digests(), trial.inputs, paths))
    restorable = _restorable_ids(store)
    planned: list[PlannedTrial] = []
    renamed: list[str] = []
    for t in trials:
        record = by_id.get(t.trial_id)
        status: TrialStatus
        if rerun:
            status = "rerun"
        elif record is not None:
            status = "complete" if record.state == "complete" else "failed before"
            if record.state == "complete" and record.spec() != t:
                renamed.append(t.trial_id)
        elif t.trial_id in restorable and _restorable(store, t.trial_id):
            status = "restore"
        elif (t.cell_key, t.seed) in stale_seeds:
            status = "stale"
        else:
            status = "new"
        why = reasons[t.cell_key] if status == "stale" else ()
        planned.append(PlannedTrial(spec=t, status=status, reasons=why))
    superseded = {r.trial_id: ", ".join(reasons[cell]) for cell, old in stale.items() for r in old}
    return ExperimentPlan(trials=tuple(planned), superseded=superseded, renamed=tuple(renamed))


def _check_distinct(trials: Sequence[TrialSpec]) -> None:
    seen: dict[str, TrialSpec] = {}
    for t in trials:
        other = seen.setdefault(t.trial_id, t)
        if other is t:
            continue
        if other.network != t.network:
            what = f"networks {other.network!r} and {t.network!r} have the same files and settings"
        else:
            labels = f"{other.display_label!r} and {t.display_label!r}"
            what = f"controllers {labels} run the same code with the same parameters"
        raise SpecError(f"{what}: their trials would be identical (keep one)")


def _restorable_ids(store: ResultStore) -> set[str]:
    """Ids with a superseded record (one directory scan; :func:`_restorable` reads the few that matter)."""
    try:
        with os.scandir(store.superseded_dir) as entries:
            names = [e.name for e in entries]
    except (FileNotFoundError, NotADirectoryError):
        return set()
    return {n[:-5] for n in names if n.endswith(".json") and not n.endswith(".why.json")}


def _restorable(store: ResultStore, trial_id: str) -> bool:
    old = store.superseded(trial_id)
    return old is not None and old.state == "complete"
