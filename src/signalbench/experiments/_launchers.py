"""Launchers: how trials get run. Serial (debugging), local processes (default), Ray.

Every launcher yields one :class:`TrialResult` per trial, in completion order, and never
raises for a trial's failure: a controller exception, a SUMO crash, a worker killed by the
OS, or a per-trial timeout each become a ``failed`` record naming the reason.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import os
import signal
import time
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from signalbench.errors import SpecError
from signalbench.experiments._execute import run_trial
from signalbench.experiments._trial import TrialResult, TrialSpec

__all__ = ["LAUNCHERS", "LaunchOptions", "launch", "prestart"]

LAUNCHERS: tuple[str, ...] = ("process", "serial", "ray")


@dataclass(frozen=True, kw_only=True)
class LaunchOptions:
    """How to run trials (none of this changes a trial's result, so none is in its id).

    Attributes:
        workers: trials at once (default: the number of cores).
        timeout_s: wall-time limit per trial [s]; None for no limit.
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


def launch(launcher: str, trials: Sequence[TrialSpec], options: LaunchOptions) -> Iterator[TrialResult]:
    """Run ``trials`` with the named launcher, yielding results as they complete."""
    if launcher == "serial":
        return _serial(trials, options)
    if launcher == "process":
        return _processes(trials, options)
    if launcher == "ray":
        return _ray(trials, options)
    raise SpecError(f"unknown launcher {launcher!r}; choose one of {', '.join(LAUNCHERS)}")


def failed_result(trial: TrialSpec, reason: str, *, wall_time_s: float = 0.0) -> TrialResult:
    """Return a ``failed`` record for a trial that produced no result of its own."""
    return TrialResult(
        trial_id=trial.trial_id, spec=trial, state="failed", error=reason, wall_time_s=wall_time_s
    )


# -- serial -------------------------------------------------------------------------------
def _serial(trials: Sequence[TrialSpec], options: LaunchOptions) -> Iterator[TrialResult]:
    """In this process, one after the other. A SUMO crash here ends the whole run."""
    for trial in trials:
        yield run_trial(trial, options.scratch, keep_outputs=options.keep_outputs)


# -- local processes ----------------------------------------------------------------------
def _child(trial: TrialSpec, scratch: Path, keep: bool, conn: multiprocessing.connection.Connection) -> None:
    # Ctrl-C goes to the whole process group; the parent decides, the child just runs.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    result = run_trial(trial, scratch, keep_outputs=keep)
    conn.send(result.to_dict())
    conn.close()


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
        ctx.set_forkserver_preload(["signalbench.experiments", "signalbench.sim._warm"])
        return ctx
    return multiprocessing.get_context("spawn")


def _processes(trials: Sequence[TrialSpec], options: LaunchOptions) -> Iterator[TrialResult]:
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
                recv, send = ctx.Pipe(duplex=False)
                proc = ctx.Process(
                    target=_child,
                    args=(trial, options.scratch, options.keep_outputs, send),
                    name=f"signalbench-trial-{trial.trial_id}",
                    daemon=True,
                )
                proc.start()
                send.close()  # the child holds the only writer: EOF means it is gone
                running[proc.sentinel] = _Running(trial, proc, recv, time.monotonic())
            wait_s = None
            if options.timeout_s is not None:
                now = time.monotonic()
                wait_s = max(0.0, min(r.started + options.timeout_s - now for r in running.values()))
            handles: list[Any] = [r.conn for r in running.values()]
            multiprocessing.connection.wait(handles, timeout=wait_s)
            for key, run in list(running.items()):
                result = _collect(run, options)
                if result is not None:
                    del running[key]
                    yield result
    finally:
        for run in running.values():  # interrupted: stop what is still running
            run.process.kill()
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
    if options.timeout_s is not None and elapsed >= options.timeout_s:
        run.process.kill()
        run.process.join(timeout=10)
        run.conn.close()
        return failed_result(run.trial, f"timed out after {options.timeout_s:g} s", wall_time_s=elapsed)
    return None


# -- Ray ----------------------------------------------------------------------------------
def _ray_trial(trial_data: dict[str, Any], keep: bool) -> dict[str, Any]:
    import tempfile

    with tempfile.TemporaryDirectory(prefix="signalbench-") as scratch:
        return run_trial(TrialSpec.from_dict(trial_data), Path(scratch), keep_outputs=keep).to_dict()


def _ray(trials: Sequence[TrialSpec], options: LaunchOptions) -> Iterator[TrialResult]:
    """Trials as Ray tasks (one CPU each) on an existing cluster or a local Ray instance."""
    try:
        import ray
    except ImportError as exc:
        raise SpecError("the ray launcher needs Ray: pip install 'signalbench[ray]'") from exc
    if not trials:
        return
    if not ray.is_initialized():
        try:
            ray.init(
                address=options.ray_address,
                include_dashboard=False,
                log_to_driver=False,
                num_cpus=None if options.ray_address else options.worker_count(len(trials)),
            )
        except Exception as exc:
            where = options.ray_address or "a local instance"
            raise SpecError(f"cannot start or reach Ray at {where}: {exc}") from exc
    remote = ray.remote(num_cpus=1, max_retries=0)(_ray_trial)
    pending: dict[Any, tuple[TrialSpec, float]] = {}
    queue = deque(trials)
    limit = options.workers or int(ray.cluster_resources().get("CPU", 1))
    try:
        while queue or pending:
            while queue and len(pending) < limit:
                trial = queue.popleft()
                pending[remote.remote(trial.to_dict(), options.keep_outputs)] = (trial, time.monotonic())
            wait_s = None
            if options.timeout_s is not None:
                now = time.monotonic()
                wait_s = max(0.0, min(start + options.timeout_s - now for _, start in pending.values()))
            done, _ = ray.wait(list(pending), num_returns=1, timeout=wait_s)
            for ref in done:
                trial, start = pending.pop(ref)
                try:
                    yield TrialResult.from_dict(ray.get(ref))
                except Exception as exc:  # worker crashed, node lost, task cancelled
                    reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                    yield failed_result(
                        trial,
                        f"Ray task failed ({type(exc).__name__}): {reason}",
                        wall_time_s=time.monotonic() - start,
                    )
            if options.timeout_s is not None:
                now = time.monotonic()
                for ref, (trial, start) in list(pending.items()):
                    if now - start >= options.timeout_s:
                        ray.cancel(ref, force=True)
                        pending.pop(ref)
                        yield failed_result(
                            trial, f"timed out after {options.timeout_s:g} s", wall_time_s=now - start
                        )
    finally:
        for ref in pending:
            ray.cancel(ref, force=True)
