"""Training learning controllers for an experiment, once per network and training recipe.

A trial whose parameters carry ``train`` (from ``[[controllers]] train = {...}`` in a spec)
runs its controller from a checkpoint trained with exactly that trial's network, demand,
window, timing and decision interval, on the training seeds. Training is deterministic, so
the checkpoint is cached under ``$SIGNALBENCH_CACHE/checkpoints`` (default
``~/.cache/signalbench/checkpoints``) by the hash of everything that determines it; the
runner trains missing checkpoints before launching trials, and a file lock keeps two
processes from training the same one.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from signalbench.controllers import registry
from signalbench.controllers.q_learning import CHECKPOINT_FORMAT, QTables, settings_from, train_q_learning
from signalbench.errors import ControllerError
from signalbench.experiments._episode import Episode
from signalbench.experiments._trial import TrialSpec, trial_config, trial_scenario
from signalbench.metrics import read_trip_metrics
from signalbench.networks import load_network_model
from signalbench.sim import make_backend

__all__ = ["checkpoint_dir", "ensure_trained", "train_for_trial", "training_key"]

EpisodeFn = Callable[[int, dict[str, float]], None]


def checkpoint_dir() -> Path:
    """Folder of cached checkpoints."""
    base = os.environ.get("SIGNALBENCH_CACHE")
    root = Path(base) if base else Path.home() / ".cache" / "signalbench"
    return root / "checkpoints"


def training_key(spec: TrialSpec) -> str:
    """Hash of what determines a trained checkpoint (not the evaluation seed or label)."""
    scenario = trial_scenario(spec)
    data = {
        "format": CHECKPOINT_FORMAT,
        "controller": registry.canonical_id(spec.controller),
        "scenario": scenario.content_hash(),
        "window": [scenario.begin_s, scenario.end_s],
        "warmup_s": spec.warmup_s,
        "scale": spec.scale,
        "step_length_s": spec.step_length_s,
        "time_to_teleport_s": spec.time_to_teleport_s,
        "timing": dataclasses.asdict(spec.timing),
        "decision_interval_s": spec.decision_interval_s,
        "backend": spec.backend,
        "sumo_binary": spec.sumo_binary,
        "train": spec.params.get("train"),
    }
    if spec.sumo_version is not None:  # only when set: keys of earlier checkpoints stay valid
        data["sumo_version"] = spec.sumo_version
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()[:16]


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def ensure_trained(spec: TrialSpec, *, on_episode: EpisodeFn | None = None) -> Path:
    """Return the checkpoint for ``spec``'s training recipe, training it first if missing."""
    if registry.canonical_id(spec.controller) != "q-learning-v0":
        raise ControllerError(
            f"controller {spec.controller!r} cannot be trained (train = ... is for q-learning)"
        )
    path = checkpoint_dir() / f"q-learning-{training_key(spec)}.json"
    with _locked(path):
        if not path.is_file():
            train_for_trial(spec, on_episode=on_episode).save(path)
    return path


def train_for_trial(spec: TrialSpec, *, on_episode: EpisodeFn | None = None) -> QTables:
    """Train Q-learning tables on ``spec``'s scenario with its ``params["train"]`` settings."""
    try:
        settings = settings_from(spec.params.get("train"))
    except (TypeError, ValueError) as exc:
        raise ControllerError(f"controller {spec.controller!r}: {exc}") from exc
    scenario = trial_scenario(spec)
    model = load_network_model(scenario.net_file)
    interval = spec.decision_interval_s or 5.0

    def run_episode(learner: Any, seed: int) -> dict[str, float]:
        with tempfile.TemporaryDirectory(prefix="signalbench-train-") as tmp:
            config = trial_config(spec, scenario, Path(tmp), seed=seed, statistics=False)
            Episode(
                backend=make_backend(spec.backend),
                config=config,
                model=model,
                controller=learner,
                timing=spec.timing,
                decision_interval_s=interval,
            ).run()
            return {k: float(v) for k, v in read_trip_metrics(Path(tmp) / "tripinfo.xml").as_dict().items()}

    return train_q_learning(
        run_episode,
        network=spec.network,
        settings=settings,
        decision_interval_s=interval,
        on_episode=on_episode,
    )
