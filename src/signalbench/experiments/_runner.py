"""Launching an experiment's trials: serially or on a local process pool, with resume."""

from __future__ import annotations

import multiprocessing
import os
import tempfile
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from signalbench.experiments._spec import ExperimentSpec
from signalbench.experiments._store import ResultStore, atomic_write_text
from signalbench.experiments._trial import TrialResult, TrialSpec, run_trial

__all__ = ["LAUNCHERS", "run_experiment"]

LAUNCHERS = ("process", "serial")

ProgressFn = Callable[[TrialResult], None]


def run_experiment(
    spec: ExperimentSpec,
    out_dir: Path,
    *,
    launcher: str = "process",
    workers: int | None = None,
    keep_outputs: bool = False,
    on_result: ProgressFn | None = None,
) -> list[TrialResult]:
    """Run every trial of ``spec`` not already complete in ``out_dir``; return all results.

    Each result is stored as soon as its trial ends, so an interrupted batch resumes where
    it stopped. Trials run one SUMO per worker process (libsumo holds one per process).
    """
    store = ResultStore(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out_dir / "experiment.toml", spec.to_toml())
    trials = spec.trials()
    done = store.completed_ids()
    todo = [t for t in trials if t.trial_id not in done]
    scratch = out_dir / "sumo-output" if keep_outputs else Path(tempfile.mkdtemp(prefix="signalbench-"))
    try:
        if launcher == "serial" or (workers == 1 and launcher != "process"):
            runner: Iterable[TrialResult] = (run_trial(t, scratch, keep_outputs=keep_outputs) for t in todo)
        elif launcher == "process":
            runner = _pool(todo, scratch, workers=workers, keep_outputs=keep_outputs)
        else:
            raise ValueError(f"unknown launcher {launcher!r}")
        for result in runner:
            store.put(result)
            if on_result is not None:
                on_result(result)
    finally:
        if not keep_outputs:
            import shutil

            shutil.rmtree(scratch, ignore_errors=True)
    by_id = {r.trial_id: r for r in store}
    return [by_id[t.trial_id] for t in trials if t.trial_id in by_id]


def _pool(
    todo: list[TrialSpec], scratch: Path, *, workers: int | None, keep_outputs: bool
) -> Iterable[TrialResult]:
    if not todo:
        return
    n = max(1, min(workers or os.cpu_count() or 1, len(todo)))
    # spawn: workers start clean (no inherited SUMO state); each worker runs SUMO serially.
    ctx = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(max_workers=n, mp_context=ctx)
    futures: dict[Future[TrialResult], TrialSpec] = {}
    try:
        for trial in todo:
            futures[pool.submit(run_trial, trial, scratch, keep_outputs=keep_outputs)] = trial
        pending = set(futures)
        while pending:
            finished, pending = wait(pending, return_when=FIRST_COMPLETED)
            for fut in finished:
                trial = futures[fut]
                try:
                    yield fut.result()
                except BrokenProcessPool:
                    yield _failed(trial, "worker process died (SUMO crashed or was killed)")
                except Exception as exc:  # pragma: no cover - run_trial catches its own errors
                    yield _failed(trial, f"{type(exc).__name__}: {exc}")
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _failed(trial: TrialSpec, reason: str) -> TrialResult:
    return TrialResult(trial_id=trial.trial_id, spec=trial, state="failed", error=reason)
