"""The result store: one directory per experiment, one JSON record per trial, atomic writes."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from signalbench.errors import SignalbenchError
from signalbench.experiments._trial import TrialResult

__all__ = ["ResultStore", "atomic_write_text"]


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so that readers see the old file or the whole new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class ResultStore:
    """Trial records under ``<root>/trials/<trial id>.json``.

    A record appears all at once (temp file + rename), so killing a batch at any moment
    never leaves a half-written record, and resuming skips every complete trial.
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.trials_dir = self.root / "trials"

    def put(self, result: TrialResult) -> Path:
        """Store (or replace) the record of one trial."""
        path = self.trials_dir / f"{result.trial_id}.json"
        atomic_write_text(path, json.dumps(result.to_dict(), indent=1, sort_keys=True))
        return path

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

    def completed_ids(self) -> set[str]:
        """Ids of the trials whose record says complete."""
        return {r.trial_id for r in self if r.state == "complete"}


def _read(path: Path) -> TrialResult:
    try:
        return TrialResult.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError, KeyError) as exc:
        raise SignalbenchError(f"{path}: not a signalbench trial record ({exc})") from exc
