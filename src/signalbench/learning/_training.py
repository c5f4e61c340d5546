"""Training learning controllers: the episode loop, and checkpoints cached by what made them.

A controller class that is :class:`~signalbench.controllers.Trainable` (q-learning) says how to
validate its ``train`` table and how to learn from one episode; this module runs the episodes
(each a :class:`~signalbench.runtime.Session` run on a training seed) and caches the checkpoint
under the cache root's ``checkpoints`` folder, keyed by the hash of everything that determines
it. Training is deterministic, so a cached checkpoint is the one training would write again; a
file lock keeps two processes from training the same one.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import multiprocessing
import os
import pickle
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from signalbench._util import atomic_write_bytes, cache_dir, die_with_parent, file_lock, file_sha256
from signalbench.controllers import Trainable, TrainingRun, is_file_reference, registry
from signalbench.errors import ControllerError
from signalbench.metrics import read_trip_metrics
from signalbench.networks import Scenario
from signalbench.runtime import OUTPUT_NAMES, Session, SimOptions
from signalbench.signals import SignalTiming

__all__ = ["EpisodeFn", "TrainingRequest", "ensure_trained", "store_checkpoint", "train"]

#: Hears of every training episode: its index and its history record.
EpisodeFn = Callable[[int, dict[str, float]], None]


@dataclass(frozen=True, kw_only=True)
class TrainingRequest:
    """What a checkpoint is trained on; its :meth:`key` names the cached checkpoint.

    Attributes:
        controller: the learning controller's registry id (``q-learning-v0``).
        train: its ``train`` table (the validated settings, as data).
        network: the network's name, recorded in the checkpoint.
        scenario: files and window of the training episodes.
        options: how SUMO runs them.
        timing: the safety actuator's rules.
        decision_interval_s: simulated time between decisions [s] (None: 5 s).
        warmup_s: the evaluation's warm-up [s] (part of what the checkpoint is for).
        sumo_binary: the SUMO binary as the spec named it, or None.
        sumo_version: the SUMO release as the spec named it, or None.
        inputs: digests of the inputs by role (network files, controller source, SUMO
            release, signalbench source), as an experiment's trial records them; empty, the
            scenario's files and the SUMO choice are hashed here instead.

    """

    controller: str
    train: Mapping[str, Any]
    network: str
    scenario: Scenario
    options: SimOptions = field(default_factory=SimOptions)
    timing: SignalTiming = field(default_factory=SignalTiming)
    decision_interval_s: float | None = None
    warmup_s: float = 0.0
    sumo_binary: str | None = None
    sumo_version: str | None = None
    inputs: Mapping[str, str] = field(default_factory=dict)

    def trainable(self) -> type[Trainable]:
        """Return the controller class, or raise ControllerError if it does not learn."""
        cls = registry.trainable(self.controller)
        if cls is None:
            raise ControllerError(f"controller {self.controller!r} does not learn; it takes no train table")
        return cls

    def key(self) -> str:
        """Hash of what determines the checkpoint (16 hex digits); not the evaluation seed.

        The content of the inputs, never their paths: a moved project finds its checkpoints,
        and an edited network, a new SUMO or new signalbench code trains a new one.
        """
        inputs: dict[str, Any] = dict(self.inputs) or {
            "scenario": [file_sha256(f) for f in self.scenario.files()],
            "sumo": self.sumo_version,
            "sumo_binary": None if self.sumo_binary is None else file_sha256(Path(self.sumo_binary)),
        }
        controller = self.controller
        if is_file_reference(controller):
            controller = f"<file>:{controller.rpartition(':')[2]}"
        data: dict[str, Any] = {
            "format": self.trainable().checkpoint_format,
            "controller": controller,
            "inputs": inputs,
            "window": [self.scenario.begin_s, self.scenario.end_s],
            "warmup_s": self.warmup_s,
            "scale": self.options.scale,
            "step_length_s": self.options.step_length_s,
            "time_to_teleport_s": self.options.time_to_teleport_s,
            "timing": dataclasses.asdict(self.timing),
            "decision_interval_s": self.decision_interval_s,
            "backend": self.options.backend,
            "train": dict(self.train),
        }
        return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()[:16]

    def checkpoint_path(self) -> Path:
        """Where the cached checkpoint of this request lives."""
        name = self.controller.rsplit("-v", 1)[0]
        return cache_dir("checkpoints") / f"{name}-{self.key()}.json"


def train(
    request: TrainingRequest, *, on_episode: EpisodeFn | None = None, workdir: Path | None = None
) -> TrainingRun:
    """Train the controller of ``request``, episode by episode; return the finished run.

    SUMO's outputs of each episode go to a temporary folder under ``workdir`` (default: the
    system's temporary folder), removed after the episode.

    With libsumo, each episode runs in a fresh process (the training state goes there and
    back, pickled): simulations run one after another in one libsumo process are not
    independent, and two trainings with the same settings drifted apart after a few episodes.
    A fresh process per episode makes training reproducible, as a fresh SUMO per episode
    does for traci.

    Raises:
        ControllerError: the controller does not learn, or its train table is invalid.

    """
    trainable = request.trainable()
    try:
        settings = trainable.training_settings(request.train)
    except (TypeError, ValueError) as exc:
        raise ControllerError(f"controller {request.controller!r}: {exc}") from exc
    interval = request.decision_interval_s or 5.0
    run = trainable.trainer(settings, network=request.network, decision_interval_s=interval)
    seeds = [settings.seeds[episode % len(settings.seeds)] for episode in range(settings.episodes)]
    if workdir is not None:
        workdir.mkdir(parents=True, exist_ok=True)
    if request.options.backend != "libsumo":
        for episode, seed in enumerate(seeds):
            run, record = _episode(request, run, episode, seed, interval, workdir)
            if on_episode is not None:
                on_episode(episode, record)
        return run
    if multiprocessing.current_process().daemon:
        # A trial process training its own checkpoint (the runner had not: another cache root)
        # may not start multiprocessing children; it has one thread, so a plain fork is safe.
        for episode, seed in enumerate(seeds):
            run, record = _forked(_episode, request, run, episode, seed, interval, workdir)
            if on_episode is not None:
                on_episode(episode, record)
        return run
    ctx = _fresh_processes()
    # A new worker process for every episode; it dies with its parent (the fork server, which
    # dies with the runner), as a trial process does.
    with ctx.Pool(1, initializer=die_with_parent, maxtasksperchild=1) as pool:
        for episode, seed in enumerate(seeds):
            run, record = pool.apply(_episode, (request, run, episode, seed, interval, workdir))
            if on_episode is not None:
                on_episode(episode, record)
    return run


def _forked(fn: Callable[..., Any], *args: Any) -> Any:
    """Call ``fn(*args)`` in a forked child; return its result or raise its exception."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child (its coverage is not collected)
        os.close(read_fd)
        die_with_parent()
        try:
            payload = pickle.dumps((True, fn(*args)))
        except BaseException as exc:  # every failure goes to the parent
            payload = pickle.dumps((False, exc))
        with os.fdopen(write_fd, "wb") as fh:
            fh.write(payload)
        os._exit(0)
    os.close(write_fd)
    with os.fdopen(read_fd, "rb") as fh:
        data = fh.read()
    _, status = os.waitpid(pid, 0)
    if not data:
        raise ControllerError(f"training episode process ended without a result (wait status {status})")
    ok, value = pickle.loads(data)
    if not ok:
        raise value
    return value


def _episode(
    request: TrainingRequest, run: TrainingRun, episode: int, seed: int, interval: float, workdir: Path | None
) -> tuple[TrainingRun, dict[str, float]]:
    """Drive one training episode; return the updated training and the episode's record."""
    session = Session(request.scenario, request.options)
    controller = run.learner(episode)
    with tempfile.TemporaryDirectory(prefix="signalbench-train-", dir=workdir) as tmp:
        config = session.config(seed=seed, outdir=Path(tmp), statistics=False)
        session.episode(controller, config=config, timing=request.timing, decision_interval_s=interval).run()
        trips = read_trip_metrics(Path(tmp) / OUTPUT_NAMES["tripinfo"]).as_dict()
    record = run.end_episode(episode, seed, {k: float(v) for k, v in trips.items()})
    return run, record


def _fresh_processes() -> Any:
    """Return a multiprocessing context whose processes start clean (the fork server, if any)."""
    if "forkserver" in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("forkserver")
    return multiprocessing.get_context("spawn")


def ensure_trained(
    request: TrainingRequest, *, on_episode: EpisodeFn | None = None, workdir: Path | None = None
) -> Path:
    """Return the checkpoint of ``request``, training it first unless it is cached."""
    path = request.checkpoint_path()
    with file_lock(path.with_suffix(".lock")):
        if not path.is_file():
            train(request, on_episode=on_episode, workdir=workdir).save(path)
    return path


def store_checkpoint(request: TrainingRequest, data: bytes, digest: str) -> Path:
    """Put a checkpoint trained elsewhere (a Ray worker) in this cache, as :func:`ensure_trained` would.

    ``data`` are the checkpoint's bytes and ``digest`` their SHA-256 as the trainer computed it;
    bytes that do not match are refused. A checkpoint already cached under the same key is
    kept (training is deterministic: it is the same one); the file lock is the one
    :func:`ensure_trained` takes, so a local training of the same key never interleaves.

    Raises:
        ControllerError: the bytes do not match their digest.

    """
    if hashlib.sha256(data).hexdigest() != digest:
        raise ControllerError(
            f"the checkpoint of {request.controller} on {request.network} came back damaged "
            "(its bytes do not match the digest computed where it was trained)"
        )
    path = request.checkpoint_path()
    with file_lock(path.with_suffix(".lock")):
        if not path.is_file():
            atomic_write_bytes(path, data)
    return path
