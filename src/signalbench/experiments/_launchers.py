"""Launchers: how trials get run. Serial (debugging), local processes (default), Ray.

Every launcher yields one :class:`TrialResult` per trial, in completion order, and never
raises for a trial's failure: a controller exception, a SUMO crash, a worker killed by the
OS, or a per-trial timeout each become a ``failed`` record naming the reason.

Process tree: trial processes die with the runner (see ``_forkserver``), and the runner kills
the ones still running when it stops for any reason (an interrupt, an error). Ctrl-C, SIGTERM
and SIGHUP are held while a received result is handed over (``interrupts_deferred``), so a
result that has reached the runner is stored before the interrupt takes effect.
"""

from __future__ import annotations

import logging
import math
import multiprocessing
import multiprocessing.connection
import os
import signal
import socket
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from signalbench._util import die_with_parent, interrupts_deferred
from signalbench.errors import SignalbenchError, SpecError
from signalbench.experiments._execute import raised_at, run_trial, training_request, trial_window_s
from signalbench.experiments._trial import TrialResult, TrialSpec
from signalbench.learning import TrainingRequest, store_checkpoint

__all__ = [
    "LAUNCHERS",
    "LaunchOptions",
    "TrainedFn",
    "check_ray_address",
    "default_timeout_s",
    "launch",
    "prestart",
]

LAUNCHERS: tuple[str, ...] = ("process", "serial", "ray")

#: The signal the kernel sends the fork server when the runner exits (see ``_forkserver``).
RUNNER_GONE = signal.SIGUSR1

#: The default wall-time limit of a trial: this much [s] ...
TIMEOUT_BASE_S = 600.0
#: ... plus this many wall seconds per simulated second of its window.
TIMEOUT_PER_SIM_S = 2.0
#: How long the Ray launcher waits to reach a cluster at ``--address`` [s].
RAY_CONNECT_TIMEOUT_S = 15.0


def default_timeout_s(window_s: float) -> float:
    """Wall-time limit of a trial simulating ``window_s`` seconds when none is set [s].

    Generous on purpose (10 minutes plus twice the window: a one-hour window gets 2 h 10 min)
    so that only a trial that cannot finish is stopped; the built-in controllers run the RESCO
    networks many times faster than real time.
    """
    return TIMEOUT_BASE_S + TIMEOUT_PER_SIM_S * max(window_s, 0.0)


@dataclass(frozen=True, kw_only=True)
class LaunchOptions:
    """How to run trials (none of this changes a trial's result, so none is in its id).

    Attributes:
        workers: trials at once (default: the number of cores).
        timeout_s: wall-time limit per trial [s]; None for the default derived from each
            trial's window (:func:`default_timeout_s`). The serial launcher has none.
        keep_outputs: keep SUMO's own output files under ``scratch``.
        scratch: folder for SUMO's output files while a trial runs.
        ray_address: address of an existing Ray cluster (``ray`` launcher), or None to
            start a local Ray instance.

    """

    workers: int | None = None
    timeout_s: float | None = None
    keep_outputs: bool = False
    scratch: Path = Path(".")
    ray_address: str | None = None

    def worker_count(self, n_trials: int) -> int:
        """Workers actually used for ``n_trials`` trials."""
        return max(1, min(self.workers or os.cpu_count() or 1, n_trials))

    def limit_s(self, trial: TrialSpec) -> float:
        """Return the wall-time limit of ``trial`` [s]."""
        if self.timeout_s is not None:
            return self.timeout_s
        return default_timeout_s(trial_window_s(trial))

    def timeout_reason(self, limit_s: float) -> str:
        """Return the error of a trial stopped at ``limit_s``."""
        if self.timeout_s is not None:
            return f"timed out after {limit_s:g} s"
        return (
            f"timed out after {limit_s:g} s (the default limit: {TIMEOUT_BASE_S:g} s + "
            f"{TIMEOUT_PER_SIM_S:g} x the simulated window; set --timeout-s or [run] timeout_s)"
        )


#: Hears of a checkpoint a launcher trained (Ray): the first trial needing it, where it now is
#: in the driver's cache, and its episodes' records.
TrainedFn = Callable[[TrialSpec, Path, list[dict[str, float]]], None]


def launch(
    launcher: str, trials: Sequence[TrialSpec], options: LaunchOptions, on_trained: TrainedFn | None = None
) -> Generator[TrialResult, None, None]:
    """Run ``trials`` with the named launcher, yielding results as they complete.

    The Ray launcher trains the checkpoints the trials need (those not in the driver's cache)
    as cluster tasks and tells ``on_trained``; the others expect them trained already
    (:func:`~signalbench.experiments.run_experiment` does, or each trial trains its own).
    """
    if launcher == "serial":
        return _serial(trials, options)
    if launcher == "process":
        return _processes(trials, options)
    if launcher == "ray":
        return _ray(trials, options, on_trained)
    raise SpecError(f"unknown launcher {launcher!r}; choose one of {', '.join(LAUNCHERS)}")


def failed_result(
    trial: TrialSpec, reason: str, *, wall_time_s: float = 0.0, traceback_text: str | None = None
) -> TrialResult:
    """Return a ``failed`` record for a trial that produced no result of its own."""
    return TrialResult(
        trial_id=trial.trial_id,
        spec=trial,
        state="failed",
        error=reason,
        wall_time_s=wall_time_s,
        traceback=traceback_text,
    )


def _isolated_trial(trial: TrialSpec, scratch: Path, keep: bool) -> TrialResult:
    """Run a trial in a process of its own: a KeyboardInterrupt here came from the trial's code.

    Trial processes ignore Ctrl-C (the runner decides), so ``raise KeyboardInterrupt`` in a
    controller is a failure of that trial, named as such, not an interrupt of the batch.
    """
    try:
        return run_trial(trial, scratch, keep_outputs=keep)
    except KeyboardInterrupt as exc:
        return failed_result(
            trial,
            f"KeyboardInterrupt raised by the trial's code at {raised_at(exc)} "
            "(not Ctrl-C: trial processes ignore it)",
            traceback_text=traceback.format_exc(),
        )


# -- serial -------------------------------------------------------------------------------
def _serial(trials: Sequence[TrialSpec], options: LaunchOptions) -> Generator[TrialResult, None, None]:
    """In this process, one after the other. A SUMO crash here ends the whole run."""
    for trial in trials:
        result = run_trial(trial, options.scratch, keep_outputs=options.keep_outputs)
        with interrupts_deferred():  # a finished trial is stored before an interrupt takes effect
            yield result


# -- local processes ----------------------------------------------------------------------
def _child(
    trial: TrialSpec, scratch: Path, keep: bool, conn: multiprocessing.connection.Connection, runner: int
) -> None:
    die_with_parent(runner)  # the fork server dies with the runner, and this process with it
    # Ctrl-C goes to the whole process group; the parent decides, the child just runs.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(RUNNER_GONE, signal.SIG_DFL)  # the fork server's handler is not ours
    result = _isolated_trial(trial, scratch, keep)
    try:
        conn.send(result.to_dict())
        conn.close()
    except BrokenPipeError:  # the runner stopped meanwhile and no longer wants it
        pass


def _describe_exit(code: int | None) -> str:
    if code is None:
        return "still running"
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"killed by {name}"
    return f"exit status {code}"


@dataclass
class _Running:
    trial: TrialSpec
    process: Any
    conn: multiprocessing.connection.Connection
    started: float
    limit_s: float


def prestart() -> None:
    """Start the fork server now, so that it loads SUMO while the caller validates the spec."""
    ctx = _context()
    if ctx.get_start_method() == "forkserver":
        import multiprocessing.forkserver

        multiprocessing.forkserver.ensure_running()


def _context() -> Any:
    # A fresh process per trial isolates crashes (libsumo takes the process down with it)
    # and satisfies libsumo's one-simulation-per-process rule. The fork server preloads
    # signalbench and libsumo, so a trial process starts in ~20 ms instead of ~0.5 s.
    if "forkserver" in multiprocessing.get_all_start_methods():
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(
            ["signalbench.experiments._forkserver", "signalbench.experiments", "signalbench.sim._warm"]
        )
        return ctx
    return multiprocessing.get_context("spawn")


def _processes(trials: Sequence[TrialSpec], options: LaunchOptions) -> Generator[TrialResult, None, None]:
    """One fresh process per trial, ``workers`` at a time."""
    if not trials:
        return
    ctx = _context()
    n = options.worker_count(len(trials))
    queue = deque(trials)
    running: dict[int, _Running] = {}
    try:
        while queue or running:
            while queue and len(running) < n:
                trial = queue.popleft()
                limit_s = options.limit_s(trial)
                recv, send = ctx.Pipe(duplex=False)
                proc = ctx.Process(
                    target=_child,
                    args=(trial, options.scratch, options.keep_outputs, send, os.getpid()),
                    name=f"signalbench-trial-{trial.trial_id}",
                    daemon=True,
                )
                with interrupts_deferred():  # a started process is always known, so always ended
                    proc.start()
                    send.close()  # the child holds the only writer: EOF means it is gone
                    running[proc.sentinel] = _Running(trial, proc, recv, time.monotonic(), limit_s)
            now = time.monotonic()
            wait_s = max(0.0, min(r.started + r.limit_s - now for r in running.values()))
            handles: list[Any] = [r.conn for r in running.values()]
            multiprocessing.connection.wait(handles, timeout=wait_s)
            for key, run in list(running.items()):
                with interrupts_deferred():  # received is stored: the consumer runs inside
                    result = _collect(run, options)
                    if result is not None:
                        del running[key]
                        yield result
    finally:
        for run in running.values():  # stopped early (interrupt, error): end what still runs
            run.process.kill()
        for run in running.values():
            run.process.join(timeout=10)
            run.conn.close()


def _collect(run: _Running, options: LaunchOptions) -> TrialResult | None:
    elapsed = time.monotonic() - run.started
    if run.conn.poll():
        try:
            data = run.conn.recv()
        except (EOFError, OSError):
            data = None
        run.process.join(timeout=30)
        run.conn.close()
        if data is not None:
            return TrialResult.from_dict(data)
        return failed_result(
            run.trial, f"worker process died ({_describe_exit(run.process.exitcode)})", wall_time_s=elapsed
        )
    if not run.process.is_alive():
        run.process.join()
        run.conn.close()
        return failed_result(
            run.trial, f"worker process died ({_describe_exit(run.process.exitcode)})", wall_time_s=elapsed
        )
    if elapsed >= run.limit_s:
        run.process.kill()
        run.process.join(timeout=10)
        run.conn.close()
        return failed_result(run.trial, options.timeout_reason(run.limit_s), wall_time_s=elapsed)
    return None


# -- Ray ----------------------------------------------------------------------------------
#: Trials kept queued on the cluster beyond its CPUs, so that an autoscaler sees the demand.
RAY_HEADROOM = 2
#: How often the Ray launcher looks at the cluster's size again [s].
RAY_RESIZE_S = 5.0
#: Times a trial is sent again when the node running it is lost (not counted as an attempt).
RAY_NODE_LOSS_RETRIES = 3


def check_ray_address(address: str | None) -> None:
    """Fail in seconds, with one line, when nothing listens at a Ray ``host:port`` address.

    ``ray.init`` itself retries an unreachable address for minutes and meanwhile ignores
    SIGTERM. ``auto`` and ``local`` (and None: a local instance) are Ray's own lookups, which
    fail fast; a ``ray://`` client address is checked like ``host:port``.
    """
    if address is None or address in ("auto", "local"):
        return
    _check_reachable(address)


def _check_reachable(address: str) -> None:
    target = address.removeprefix("ray://")
    host, sep, port_text = target.rpartition(":")
    if not sep or not host or not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise SpecError(
            f"--address {address!r}: expected host:port (e.g. 10.0.0.5:6379), ray://host:port or auto"
        )
    try:
        with socket.create_connection((host.strip("[]"), int(port_text)), timeout=5.0):
            pass
    except OSError as exc:
        reason = "timed out" if isinstance(exc, socket.timeout) else (exc.strerror or str(exc))
        raise SpecError(
            f"cannot reach a Ray cluster at {address}: {reason} (is `ray start --head` running there?)"
        ) from exc


def _ray_init(ray: Any, options: LaunchOptions, n_trials: int) -> None:
    """Connect to a Ray cluster (or start a local instance), interruptible and in bounded time.

    Connecting to ``--address`` runs in a helper thread: ``ray.init`` can block for minutes in
    Ray's own retries, and the main thread waits for it at most :data:`RAY_CONNECT_TIMEOUT_S`
    while still receiving Ctrl-C and SIGTERM. A local instance is started from this thread:
    Ray ties its processes' lives to the thread that starts them. Ray replaces the SIGTERM
    handler of the main thread; signalbench's own is put back.
    """
    address = options.ray_address
    check_ray_address(address)
    settings = {
        "address": address,
        "include_dashboard": False,
        "log_to_driver": False,
        "logging_level": logging.ERROR,
        "num_cpus": None if address else options.worker_count(n_trials),
    }
    where = address or "a local instance"
    if address is None:
        handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            ray.init(**settings)
        except Exception as exc:
            raise SpecError(f"cannot start Ray: {' '.join(str(exc).split()) or type(exc).__name__}") from exc
        finally:
            if threading.current_thread() is threading.main_thread():
                for s, handler in handlers.items():
                    if handler is not None:
                        signal.signal(s, handler)
        return
    outcome: dict[str, BaseException | None] = {}

    def connect() -> None:
        try:
            ray.init(**settings)
            outcome["error"] = None
        except BaseException as exc:
            outcome["error"] = exc

    helper = threading.Thread(target=connect, name="signalbench-ray-init", daemon=True)
    helper.start()
    helper.join(RAY_CONNECT_TIMEOUT_S)
    if "error" not in outcome:
        raise SpecError(f"cannot reach Ray at {where}: no answer within {RAY_CONNECT_TIMEOUT_S:g} s")
    error = outcome["error"]
    if error is not None:
        text = " ".join(str(error).split()) or type(error).__name__
        raise SpecError(f"cannot reach Ray at {where}: {text}") from error


@dataclass
class _Training:
    """A checkpoint the batch needs that the driver's cache does not hold: trained as a Ray task."""

    request: TrainingRequest
    trial: TrialSpec  # the first trial that needs it (what the task is sent)
    waiting: list[TrialSpec]  # every trial that needs it, held until it is in the cache
    lost: int = 0  # times its node was lost (resent, not an attempt)


def _trainings(trials: Sequence[TrialSpec]) -> tuple[dict[str, _Training], list[TrialSpec]]:
    """Split ``trials``: checkpoints to train first (by key, with their trials), and the trials free to go."""
    trainings: dict[str, _Training] = {}
    free: list[TrialSpec] = []
    for trial in trials:
        try:
            request = training_request(trial)
            key = None if request is None or request.checkpoint_path().is_file() else request.key()
        except SignalbenchError:
            request, key = None, None  # the trial itself fails with the reason
        if request is None or key is None:
            free.append(trial)
        elif key in trainings:
            trainings[key].waiting.append(trial)
        else:
            trainings[key] = _Training(request, trial, [trial])
    return trainings, free


def _training_limit_s(training: _Training, options: LaunchOptions) -> float:
    """Wall-time limit of a training task: a trial's limit per episode [s]."""
    try:
        episodes = int(training.request.trainable().training_settings(training.request.train).episodes)
    except Exception:  # invalid train table: the task reports it in seconds
        episodes = 1
    return options.limit_s(training.trial) * max(1, episodes)


def _training_failed(training: _Training, reason: str, wall_time_s: float) -> list[TrialResult]:
    """Return the records of the trials waiting for a checkpoint whose training failed (one line)."""
    trial = training.trial
    line = f"training {trial.display_label} on {trial.network} failed: {reason}"
    return [failed_result(t, line, wall_time_s=wall_time_s) for t in training.waiting]


def _ray(
    trials: Sequence[TrialSpec], options: LaunchOptions, on_trained: TrainedFn | None = None
) -> Generator[TrialResult, None, None]:
    """Trials as Ray tasks (one CPU and one fresh worker process each) on a cluster or locally.

    What travels, how versions are checked and outputs come back: :mod:`._ray`. Concurrency
    follows the cluster: the CPUs are counted again every few seconds (``--workers`` caps it),
    with a few trials queued beyond them so an autoscaler sees the demand. A trial whose node
    is lost runs again elsewhere (up to :data:`RAY_NODE_LOSS_RETRIES` times); a finished
    trial's result is already with the runner, so nothing completed is lost.

    Checkpoints the trials need that the driver's cache does not hold are trained first, each
    as a task of its own (in parallel, as the cluster allows), while the trials that need none
    run; each comes back by content into the driver's cache (``on_trained`` hears of it) and
    releases the trials waiting for it. A failed training fails those trials with one line
    (``--retries`` runs them, and so the training, again); a lost node's training is resent.
    """
    try:
        import ray
    except ImportError as exc:
        raise SpecError("the ray launcher needs Ray: pip install 'signalbench[ray]'") from exc
    from signalbench.experiments import _ray as shipping

    if not trials:
        return
    if not ray.is_initialized():
        _ray_init(ray, options, len(trials))
    # SPREAD: independent CPU-bound trials go to every node rather than fill one first.
    task = ray.remote(num_cpus=1, max_retries=0, max_calls=1, scheduling_strategy="SPREAD")
    remote, trainer = task(shipping.worker_run), task(shipping.worker_train)
    driver = shipping.local_versions()
    refs: dict[str, Any] = {}  # content digest -> object ref, each file put once

    def shipped(trial: TrialSpec) -> tuple[Any, ...]:
        shipment = shipping.ship(trial)
        for path, digest in shipment.files.items():
            if digest not in refs:
                refs[digest] = ray.put(Path(path).read_bytes())
        needed = {d: refs[d] for d in shipment.files.values()}
        sent = shipping.localise(trial, None)  # paths absolute, as the shipment names them
        return sent.to_dict(), shipment.key, shipment.files, needed, shipment.checkpoint

    def submit(trial: TrialSpec) -> Any:
        data, key, files, needed, checkpoint = shipped(trial)
        return remote.remote(data, options.keep_outputs, driver, key, files, needed, checkpoint)

    def submit_training(training: _Training) -> Any:
        data, key, files, needed, _ = shipped(training.trial)
        return trainer.remote(data, driver, key, files, needed)

    trainings, free = _trainings(trials)
    # Trainings go first: every trial waiting for one waits for all of its episodes.
    queue: deque[tuple[TrialSpec, int] | str] = deque([*trainings, *((t, 0) for t in free)])
    pending: dict[Any, _RayTask] = {}
    limit, sized = 1, -math.inf
    try:
        while queue or pending:
            if time.monotonic() - sized >= RAY_RESIZE_S:
                limit, sized = _ray_limit(ray, options), time.monotonic()
            while queue and len(pending) < limit:
                item = queue.popleft()
                if isinstance(item, str):
                    training = trainings[item]
                    limit_s = _training_limit_s(training, options)
                    pending[submit_training(training)] = _RayTask(
                        training.trial, time.monotonic(), limit_s, training.lost, _alive(ray), item
                    )
                else:
                    trial, lost = item
                    pending[submit(trial)] = _RayTask(
                        trial, time.monotonic(), options.limit_s(trial), lost, _alive(ray)
                    )
            now = time.monotonic()
            wait_s = max(0.0, min(t.started + t.limit_s - now for t in pending.values()))
            done, _ = ray.wait(list(pending), num_returns=1, timeout=min(wait_s, RAY_RESIZE_S))
            for ref in done:
                with interrupts_deferred():
                    run = pending.pop(ref)
                    elapsed = time.monotonic() - run.started
                    try:
                        answer = ray.get(ref)
                    except Exception as exc:  # worker crashed, node lost, task cancelled
                        if run.lost < RAY_NODE_LOSS_RETRIES and _node_lost(ray, exc, run.nodes):
                            if run.training is None:
                                queue.appendleft((run.trial, run.lost + 1))
                            else:
                                trainings[run.training].lost += 1
                                queue.appendleft(run.training)
                            continue
                        reason = _task_error(exc)
                        if run.training is None:
                            yield failed_result(run.trial, reason, wall_time_s=elapsed)
                        else:
                            yield from _training_failed(trainings.pop(run.training), reason, elapsed)
                        continue
                    if "refused" in answer:
                        raise SpecError(answer["refused"])
                    if run.training is None:
                        yield _ray_result(answer, run.trial, options, shipping)
                        continue
                    training = trainings.pop(run.training)
                    try:
                        path = _trained(answer, training, run.training)
                    except SignalbenchError as exc:
                        yield from _training_failed(training, str(exc), elapsed)
                        continue
                    if on_trained is not None:
                        on_trained(training.trial, path, list(answer.get("episodes", [])))
                    queue.extendleft((t, 0) for t in reversed(training.waiting))
            now = time.monotonic()
            for ref, run in list(pending.items()):
                if now - run.started >= run.limit_s:
                    ray.cancel(ref, force=True)
                    pending.pop(ref)
                    reason = options.timeout_reason(run.limit_s)
                    if run.training is None:
                        yield failed_result(run.trial, reason, wall_time_s=now - run.started)
                    else:
                        yield from _training_failed(trainings.pop(run.training), reason, now - run.started)
    finally:
        for ref in pending:
            ray.cancel(ref, force=True)


def _task_error(exc: BaseException) -> str:
    """Return the one line naming why a Ray task failed (its exception's first line)."""
    text = str(exc).strip()
    return f"Ray task failed ({type(exc).__name__})" + (f": {text.splitlines()[0]}" if text else "")


@dataclass
class _RayTask:
    trial: TrialSpec
    started: float
    limit_s: float
    lost: int  # times resent after its node was lost
    nodes: int  # nodes alive when it was sent
    training: str | None = None  # the key of the checkpoint it trains; None: it runs the trial


def _trained(answer: dict[str, Any], training: _Training, key: str) -> Path:
    """Store the checkpoint a training task sent back in the driver's cache; return its path."""
    if "error" in answer:
        raise SignalbenchError(str(answer["error"]))
    if answer.get("key") != key:
        raise SignalbenchError(
            f"the checkpoint trained on Ray node {answer.get('node')} has key {answer.get('key')}, "
            f"the driver expected {key} (the node saw other inputs)"
        )
    return store_checkpoint(training.request, answer["checkpoint"], answer["digest"])


def _ray_limit(ray: Any, options: LaunchOptions) -> int:
    """Trials in flight: the cluster's CPUs now (plus headroom), or ``--workers``."""
    if options.workers:
        return options.workers
    cpus = int(ray.cluster_resources().get("CPU", 0))
    return max(1, cpus) + RAY_HEADROOM


def _alive(ray: Any) -> int:
    try:
        return sum(1 for n in ray.nodes() if n.get("Alive"))
    except Exception:  # the GCS is busy or gone: no count
        return -1


def _node_lost(ray: Any, exc: BaseException, nodes_before: int) -> bool:
    """Return True when a task failed because its node went away (not because its trial crashed)."""
    if type(exc).__name__ in ("NodeDiedError", "ObjectLostError", "OwnerDiedError"):
        return True
    if type(exc).__name__ in ("WorkerCrashedError", "RayTaskError", "LocalRayletDiedError"):
        now = _alive(ray)
        return 0 <= now < nodes_before
    return False


def _ray_result(
    answer: dict[str, Any], trial: TrialSpec, options: LaunchOptions, shipping: Any
) -> TrialResult:
    """Return the record a worker sent back, with the driver's scratch folder; unpack its outputs."""
    record = answer["result"]
    record["spec"] = trial.to_dict()  # as the driver gave it, not with the node's copies
    scratch = str(options.scratch)
    record["sumo_command"] = [
        a.replace(shipping.SCRATCH_MARK, scratch) for a in record.get("sumo_command", [])
    ]
    if answer.get("outputs"):
        shipping.unpack(answer["outputs"], options.scratch)
    return TrialResult.from_dict(record)
