"""The result store: one directory per experiment, one JSON record per trial, atomic writes.

Records are strict JSON (NaN and infinities are written as ``null``), so any JSON reader
takes them; every file gets the mode a plain ``open()`` would (the umask decides), so a
results folder shared by a team stays readable to the team.

Next to each record, the trial's intersection tables are Parquet files
(``trials/<id>.<table>.parquet``, table in :data:`TABLES`), written before the record so
that a record's presence means its tables are complete.

A record made from inputs that have changed since (a stale record) is moved to
``trials/superseded/`` with the reason, so that results and reports, which read ``trials/``,
never pool it with the records of the current inputs; it comes back if those inputs return.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from signalbench._util import atomic_path, atomic_write_text, strict_json
from signalbench.errors import SignalbenchError
from signalbench.experiments._trial import TrialResult, TrialSpec

__all__ = ["TABLES", "ResultStore", "StoredTrial", "atomic_write_parquet"]

#: Per-trial tables stored as Parquet.
TABLES = ("intersections", "approaches", "timeseries")


def atomic_write_parquet(path: Path, columns: dict[str, list[Any]]) -> None:
    """Write a column-oriented table as Parquet, atomically (temp file + rename)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    with atomic_path(path) as tmp:
        pq.write_table(pa.table(columns), tmp)


@dataclass(frozen=True, slots=True)
class StoredTrial:
    """What planning a run needs of one stored record, without reading the record.

    :meth:`of` takes it from a record; the consolidated dataset holds the same fields for
    every record it covers (``signalbench.analysis.stored_trials``), so a run of a large
    experiment plans without reading every record.

    Attributes:
        trial_id: the record's trial id.
        state: ``complete`` or ``failed``.
        seed: the spec's seed.
        cell_key: :attr:`TrialSpec.cell_key` of the record's spec.
        inputs: the spec's inputs as JSON (keys sorted).
        spec_json: the spec as JSON (:meth:`TrialSpec.to_dict`, keys sorted).

    """

    trial_id: str
    state: str
    seed: int
    cell_key: str
    inputs: str
    spec_json: str

    @classmethod
    def of(cls, result: TrialResult) -> StoredTrial:
        """Take the fields of one record."""
        spec = result.spec
        return cls(
            trial_id=result.trial_id,
            state=result.state,
            seed=int(spec.seed),
            cell_key=spec.cell_key,
            inputs=strict_json(dict(spec.inputs), sort_keys=True),
            spec_json=strict_json(spec.to_dict(), sort_keys=True),
        )

    def spec(self) -> TrialSpec:
        """Return the record's spec (equal to ``store.get(trial_id).spec``)."""
        return TrialSpec.from_dict(json.loads(self.spec_json))

    def input_digests(self) -> dict[str, str]:
        """Return the spec's inputs (equal to ``dict(store.get(trial_id).spec.inputs)``)."""
        return dict(json.loads(self.inputs))


class ResultStore:
    """Trial records under ``<root>/trials/<trial id>.json``.

    A record appears all at once (temp file + rename), so killing a batch at any moment
    never leaves a half-written record, and resuming skips every complete trial.
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.trials_dir = self.root / "trials"
        self.superseded_dir = self.trials_dir / "superseded"

    def put(self, result: TrialResult) -> Path:
        """Store (or replace) the record of one trial."""
        for name in TABLES:
            table_path = self.table_path(result.trial_id, name)
            if name in result.tables:
                atomic_write_parquet(table_path, result.tables[name])
            else:
                table_path.unlink(missing_ok=True)  # a failed retry leaves no stale table
        path = self.trials_dir / f"{result.trial_id}.json"
        record = result.to_dict()
        record.pop("tables", None)
        atomic_write_text(path, strict_json(record, indent=1, sort_keys=True))
        return path

    def table_path(self, trial_id: str, table: str) -> Path:
        """Where a trial's table (one of :data:`TABLES`) is stored."""
        return self.trials_dir / f"{trial_id}.{table}.parquet"

    def get(self, trial_id: str) -> TrialResult | None:
        """Return one stored record, or None."""
        path = self.trials_dir / f"{trial_id}.json"
        return _read(path) if path.is_file() else None

    def __iter__(self) -> Iterator[TrialResult]:
        if not self.trials_dir.is_dir():
            return
        for path in sorted(self.trials_dir.glob("*.json")):
            yield _read(path)

    def results(self) -> list[TrialResult]:
        """Every stored record."""
        return list(self)

    def remove_stale_temp_files(self) -> int:
        """Delete temp files left by a writer that was killed mid-write; return how many."""
        if not self.trials_dir.is_dir():
            return 0
        stale = list(self.trials_dir.glob(".*.tmp"))
        for path in stale:
            path.unlink(missing_ok=True)
        return len(stale)

    def completed_ids(self, index: Iterable[StoredTrial] | None = None) -> set[str]:
        """Ids of the trials whose record says complete.

        ``index``: the records as :class:`StoredTrial` (e.g. from the consolidated dataset),
        instead of reading every record.
        """
        if index is not None:
            return {t.trial_id for t in index if t.state == "complete"}
        return {r.trial_id for r in self if r.state == "complete"}

    def index(self) -> list[StoredTrial]:
        """Every stored record as a :class:`StoredTrial` (reads every record)."""
        return [StoredTrial.of(r) for r in self]

    def _files(self, folder: Path, trial_id: str) -> list[tuple[Path, str]]:
        return [(folder / f"{trial_id}.{t}.parquet", f"{trial_id}.{t}.parquet") for t in TABLES] + [
            (folder / f"{trial_id}.json", f"{trial_id}.json")
        ]

    def supersede(self, trial_id: str, reason: str) -> None:
        """Move a record (and its tables) to ``trials/superseded/``, noting why and when.

        The record goes last, so an interrupted move leaves it in ``trials/`` (and it is moved
        again by the next run).
        """
        record = self.trials_dir / f"{trial_id}.json"
        if not record.is_file():
            return
        self.superseded_dir.mkdir(parents=True, exist_ok=True)
        note = {"reason": reason, "at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")}
        atomic_write_text(self.superseded_dir / f"{trial_id}.why.json", json.dumps(note) + "\n")
        for path, name in self._files(self.trials_dir, trial_id):
            if path.is_file():
                os.replace(path, self.superseded_dir / name)

    def superseded(self, trial_id: str) -> TrialResult | None:
        """Return a superseded record, or None."""
        path = self.superseded_dir / f"{trial_id}.json"
        return _read(path) if path.is_file() else None

    def restore(self, trial_id: str) -> None:
        """Move a superseded record (and its tables) back into ``trials/``: its inputs are current again."""
        for path, name in self._files(self.superseded_dir, trial_id):
            if path.is_file():
                os.replace(path, self.trials_dir / name)
        (self.superseded_dir / f"{trial_id}.why.json").unlink(missing_ok=True)

    def update_spec(self, trial_id: str, spec: TrialSpec) -> None:
        """Rewrite a record's spec (same trial id: a new label, or paths of a moved project)."""
        result = self.get(trial_id)
        if result is None or result.spec.trial_id != spec.trial_id:
            raise SignalbenchError(f"trial {trial_id}: cannot give a record the spec of another trial")
        record = result.to_dict() | {"spec": spec.to_dict()}
        record.pop("tables", None)
        atomic_write_text(self.trials_dir / f"{trial_id}.json", json.dumps(record, indent=1, sort_keys=True))


def _read(path: Path) -> TrialResult:
    try:
        return TrialResult.from_dict(json.loads(path.read_bytes()))
    except (OSError, ValueError, TypeError, KeyError, AttributeError) as exc:
        raise SignalbenchError(
            f"{path}: not a signalbench trial record ({type(exc).__name__}: {exc})"
        ) from exc
