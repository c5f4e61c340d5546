"""Running an experiment: expand, skip what is complete, launch, store, retry."""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import shutil
import threading
from collections import deque
from collections.abc import Callable
from pathlib import Path

from signalbench._util import atomic_write_bytes, atomic_write_text, file_lock, output_dir, safe_name
from signalbench.errors import SignalbenchError
from signalbench.experiments._execute import training_request
from signalbench.experiments._launchers import LAUNCHERS, LaunchOptions, TrainedFn, launch
from signalbench.experiments._plan import ExperimentPlan, plan_trials
from signalbench.experiments._provenance import provenance
from signalbench.experiments._spec import ExperimentSpec
from signalbench.experiments._store import ResultStore
from signalbench.experiments._trial import TrialResult, TrialSpec
from signalbench.learning import TrainingRequest, ensure_trained

__all__ = ["LAUNCHERS", "SCRATCH_DIR", "run_experiment"]

#: SUMO's outputs while trials run, under the experiment folder; removed when the run ends,
#: and at the next launch if the runner was killed (kill -9) before it could remove it.
SCRATCH_DIR = ".scratch"
_LOCK = ".signalbench.lock"

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
    rerun: bool = False,
    plan: ExperimentPlan | None = None,
) -> list[TrialResult]:
    """Run every trial of ``spec`` not already complete in ``out_dir``; return all results.

    A trial is reused only if a complete record with its id exists: the id covers the content
    of every input (see :mod:`signalbench.experiments._fingerprint`). Records made from inputs
    that have changed since are moved to ``trials/superseded/`` before anything runs, and
    their trials run again (``plan`` says why; :func:`plan_trials` makes it, ``rerun`` runs
    every trial afresh). A reused record whose label or paths differ from the spec's takes
    the spec's (same trial id: a renamed row, or a moved project).

    Trials run seed by seed (every cell's first seed, then every cell's second, ...),
    and each result is stored (atomically) as soon as its trial ends, so an interrupted
    batch resumes where it stopped and meanwhile has the same seeds in every cell. Failed
    trials are run again up to ``retries`` times; the record keeps the last attempt and its
    number. Learning controllers with a ``train`` recipe are trained first, once per network
    and recipe (independent ones at once, up to ``options.workers``; on the driver, or as
    cluster tasks with the Ray launcher; ``on_training`` hears of every episode); a copy of
    each checkpoint goes to ``out_dir/checkpoints/``.

    One run at a time writes to ``out_dir`` (a second one stops at once with a
    SignalbenchError). Every process the run starts ends with it, however it ends; SUMO's
    outputs go to ``out_dir/.scratch/`` meanwhile (``out_dir/sumo-output/`` with
    ``keep_outputs``), which is removed when the run ends.
    """
    options = options or LaunchOptions()
    output_dir(out_dir)
    busy = f"another signalbench run is writing to {out_dir}; wait for it to end or choose another --out"
    with file_lock(out_dir / _LOCK, timeout_s=0, busy=busy):
        return _run_locked(spec, out_dir, launcher, options, retries, on_result, on_training, rerun, plan)


def _run_locked(
    spec: ExperimentSpec,
    out_dir: Path,
    launcher: str,
    options: LaunchOptions,
    retries: int,
    on_result: ResultFn | None,
    on_training: TrainingFn | None,
    rerun: bool,
    plan: ExperimentPlan | None,
) -> list[TrialResult]:
    store = ResultStore(out_dir)
    store.remove_stale_temp_files()  # only a runner killed mid-write leaves them
    scratch_root = out_dir / SCRATCH_DIR
    shutil.rmtree(scratch_root, ignore_errors=True)  # left by a runner killed with kill -9
    spec_text = spec.to_toml()
    atomic_write_text(out_dir / "experiment.toml", spec_text)
    shared = provenance(experiment=spec.name, spec_text=spec_text)
    if plan is None:
        plan = plan_trials(spec.trials(), store, rerun=rerun)
    trials = [p.spec for p in plan.trials]
    _apply(plan, store)
    # Seed by seed: every cell's first seed before any cell's second, so a batch stopped
    # half-way leaves the same seeds in every network x controller cell.
    rank = {seed: k for k, seed in enumerate(spec.seeds)}
    todo = sorted(plan.to_run, key=lambda t: rank.get(t.seed, len(rank)))
    scratch = out_dir / "sumo-output" if options.keep_outputs else scratch_root
    options = dataclasses.replace(options, scratch=scratch)
    attempts = {t.trial_id: 0 for t in todo}
    try:
        _train_first(
            todo,
            out_dir,
            scratch_root,
            on_training,
            launcher=launcher,
            workers=options.worker_count(len(todo)),
        )
        trained = _trained_here(out_dir, on_training)
        for _ in range(retries + 1):
            if not todo:
                break
            failed = []
            # closing(): however this loop ends, the launcher stops the processes still running.
            with contextlib.closing(launch(launcher, todo, options, trained)) as results:
                for result in results:
                    attempts[result.trial_id] += 1
                    result = dataclasses.replace(result, attempt=attempts[result.trial_id], provenance=shared)
                    store.put(result)
                    if on_result is not None:
                        on_result(result)
                    if result.state != "complete":
                        failed.append(result.spec)
            todo = failed
    finally:
        shutil.rmtree(scratch_root, ignore_errors=True)
    # The spec's records only: a large store holds many more.
    return [r for r in (store.get(t.trial_id) for t in trials) if r is not None]


TrainingFn = Callable[[TrialSpec, int, dict[str, float]], None]


def _apply(plan: ExperimentPlan, store: ResultStore) -> None:
    """Move stale records aside, bring restored ones back, give reused ones the spec's names."""
    for trial_id, reason in plan.superseded.items():
        store.supersede(trial_id, reason)
    renamed = set(plan.renamed)
    for planned in plan.trials:
        if planned.status == "restore":
            store.restore(planned.spec.trial_id)
            renamed.add(planned.spec.trial_id)  # it may come from another folder or label
        if planned.spec.trial_id in renamed:
            record = store.get(planned.spec.trial_id)
            if record is not None and record.spec != planned.spec:
                store.update_spec(planned.spec.trial_id, planned.spec)


def _train_first(
    todo: list[TrialSpec],
    out_dir: Path,
    scratch: Path,
    on_training: TrainingFn | None,
    *,
    launcher: str,
    workers: int,
) -> None:
    """Train every checkpoint the pending trials need, before any trial starts.

    Independent checkpoints train at once, up to ``workers`` (the process launcher; their
    episodes run in processes of their own, so threads suffice here); the serial launcher
    trains one after the other. The Ray launcher trains them as cluster tasks itself: here
    only the checkpoints already cached are copied to ``out_dir/checkpoints/``.
    """
    needed: dict[str, tuple[TrialSpec, TrainingRequest]] = {}
    for trial in todo:
        try:
            request = training_request(trial)
            if request is None:
                continue
            key = request.key()
        except SignalbenchError:
            continue  # the trial itself will fail with the reason
        needed.setdefault(key, (trial, request))
    if launcher == "ray":
        for key, (trial, request) in needed.items():
            if request.checkpoint_path().is_file():
                _keep_checkpoint(out_dir, trial, key, request.checkpoint_path())
        return

    def one(key: str, trial: TrialSpec, request: TrainingRequest) -> None:
        def report(episode: int, record: dict[str, float]) -> None:
            if on_training is not None:
                on_training(trial, episode, record)

        try:
            path = ensure_trained(request, on_episode=report, workdir=scratch)
        except SignalbenchError:
            return  # recorded as the trial's failure when it runs
        _keep_checkpoint(out_dir, trial, key, path)

    # traci episodes run in this process (one TraCI connection at a time): one after the other.
    apart = [k for k, v in needed.items() if v[1].options.backend == "libsumo"]
    together = max(1, min(workers, len(apart))) if launcher == "process" else 1
    _at_once([functools.partial(one, key, *needed[key]) for key in apart], together)
    for key, (trial, request) in needed.items():
        if key not in apart:
            one(key, trial, request)


def _at_once(calls: list[Callable[[], None]], n: int) -> None:
    """Make ``calls``, up to ``n`` at a time; the first exception raised by one is raised here.

    With ``n`` > 1 they run on daemon threads (their work is in processes of their own) and this
    thread only waits, so Ctrl-C stops the run at once: the threads end with the process, and
    their episode processes with it.
    """
    if n <= 1:
        for call in calls:
            call()
        return
    queue = deque(calls)
    running: list[threading.Thread] = []
    errors: list[BaseException] = []

    def guarded(call: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            try:
                call()
            except BaseException as exc:  # handed to the waiting thread
                errors.append(exc)

        return run

    while queue or running:
        running = [t for t in running if t.is_alive()]
        while queue and len(running) < n:
            thread = threading.Thread(target=guarded(queue.popleft()), name="signalbench-train", daemon=True)
            thread.start()
            running.append(thread)
        if errors:
            raise errors[0]
        if running:
            running[0].join(0.2)


def _keep_checkpoint(out_dir: Path, trial: TrialSpec, key: str, path: Path) -> None:
    """Copy a checkpoint the experiment used to ``out_dir/checkpoints/``."""
    # Labels and network names are data: mapped to a safe file name, never used as a path.
    copy = out_dir / "checkpoints" / safe_name(f"{trial.display_label}-{trial.network}-{key}.json")
    atomic_write_bytes(copy, path.read_bytes())


def _trained_here(out_dir: Path, on_training: TrainingFn | None) -> TrainedFn:
    """Return what the Ray launcher calls when a checkpoint came back: episode lines, the copy."""

    def trained(trial: TrialSpec, path: Path, episodes: list[dict[str, float]]) -> None:
        request = training_request(trial)
        if on_training is not None:
            for episode, record in enumerate(episodes):
                on_training(trial, episode, record)
        if request is not None:
            _keep_checkpoint(out_dir, trial, request.key(), path)

    return trained
