"""Running an experiment: expand, skip what is complete, launch, store, retry."""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from signalbench._util import atomic_write_text
from signalbench.errors import SignalbenchError
from signalbench.experiments._execute import training_request
from signalbench.experiments._launchers import LAUNCHERS, LaunchOptions, launch
from signalbench.experiments._provenance import provenance
from signalbench.experiments._spec import ExperimentSpec
from signalbench.experiments._store import ResultStore
from signalbench.experiments._trial import TrialResult, TrialSpec
from signalbench.learning import ensure_trained

__all__ = ["LAUNCHERS", "run_experiment"]

ResultFn = Callable[[TrialResult], None]


def run_experiment(
    spec: ExperimentSpec,
    out_dir: Path,
    *,
    launcher: str = "process",
    options: LaunchOptions | None = None,
    retries: int = 0,
    on_result: ResultFn | None = None,
    on_training: TrainingFn | None = None,
) -> list[TrialResult]:
    """Run every trial of ``spec`` not already complete in ``out_dir``; return all results.

    Trials run seed by seed (every cell's first seed, then every cell's second, ...),
    and each result is stored (atomically) as soon as its trial ends, so an interrupted
    batch resumes where it stopped and meanwhile has the same seeds in every cell. Failed
    trials are run again up to ``retries`` times; the record keeps the last attempt and its
    number. Learning controllers with a ``train`` recipe are trained first, once per network
    (``on_training`` hears of every episode); a copy of each checkpoint goes to
    ``out_dir/checkpoints/``.
    """
    options = options or LaunchOptions()
    store = ResultStore(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    store.remove_stale_temp_files()  # only a runner killed mid-write leaves them
    spec_text = spec.to_toml()
    atomic_write_text(out_dir / "experiment.toml", spec_text)
    shared = provenance(experiment=spec.name, spec_text=spec_text)
    trials = spec.trials()
    done = store.completed_ids()
    # Seed by seed: every cell's first seed before any cell's second, so a batch stopped
    # half-way leaves the same seeds in every network x controller cell.
    rank = {seed: k for k, seed in enumerate(spec.seeds)}
    todo = sorted((t for t in trials if t.trial_id not in done), key=lambda t: rank.get(t.seed, len(rank)))
    _train_first(todo, out_dir, on_training)
    scratch = (
        out_dir / "sumo-output" if options.keep_outputs else Path(tempfile.mkdtemp(prefix="signalbench-"))
    )
    options = dataclasses.replace(options, scratch=scratch)
    attempts = {t.trial_id: 0 for t in todo}
    try:
        for _ in range(retries + 1):
            if not todo:
                break
            failed = []
            for result in launch(launcher, todo, options):
                attempts[result.trial_id] += 1
                result = dataclasses.replace(result, attempt=attempts[result.trial_id], provenance=shared)
                store.put(result)
                if on_result is not None:
                    on_result(result)
                if result.state != "complete":
                    failed.append(result.spec)
            todo = failed
    finally:
        if not options.keep_outputs:
            shutil.rmtree(scratch, ignore_errors=True)
    by_id = {r.trial_id: r for r in store}
    return [by_id[t.trial_id] for t in trials if t.trial_id in by_id]


TrainingFn = Callable[[TrialSpec, int, dict[str, float]], None]


def _train_first(todo: list[TrialSpec], out_dir: Path, on_training: TrainingFn | None) -> None:
    """Train every checkpoint the pending trials need, before any trial starts."""
    seen: set[str] = set()
    for trial in todo:
        try:
            request = training_request(trial)
            if request is None:
                continue
            key = request.key()
        except SignalbenchError:
            continue  # the trial itself will fail with the reason
        if key in seen:
            continue
        seen.add(key)

        def report(episode: int, record: dict[str, float], trial: TrialSpec = trial) -> None:
            if on_training is not None:
                on_training(trial, episode, record)

        try:
            path = ensure_trained(request, on_episode=report)
        except SignalbenchError:
            continue  # recorded as the trial's failure when it runs
        copy = out_dir / "checkpoints" / f"{trial.display_label}-{trial.network.replace('/', '_')}-{key}.json"
        copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, copy)
