"""Training as Ray tasks, on a fake Ray (no cluster, no SUMO): order, what comes back, failures.

The launcher's own loop runs; only Ray's calls and the two worker functions are replaced, so
what is checked is the driver's side: which tasks go first, which trials wait for which
checkpoint, how a checkpoint is stored, and what a failed or lost training leaves.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path
from typing import Any

import pytest

from signalbench.errors import ControllerError
from signalbench.experiments import LaunchOptions, TrialResult, TrialSpec, launch, training_request
from signalbench.experiments import _ray as shipping
from signalbench.learning import store_checkpoint

TRAIN_A = {"episodes": 2, "seeds": [11, 12]}
TRAIN_B = {"episodes": 2, "seeds": [13, 14]}


class NodeDiedError(Exception):
    """Named like Ray's: the launcher tells a lost node by the exception's name."""


class _Ref:
    def __init__(self, value: Any = None, error: BaseException | None = None) -> None:
        self.value, self.error = value, error


class FakeRay:
    """Runs each task when it is sent; ``wait`` hands results back in the order they were sent."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []  # (kind, trial label)

    def is_initialized(self) -> bool:
        return True

    def remote(self, **_: Any) -> Any:
        ray = self

        def wrap(fn: Any) -> Any:
            class Remote:
                @staticmethod
                def remote(*args: Any) -> _Ref:
                    trial = TrialSpec.from_dict(args[0])
                    ray.sent.append((fn.__name__, trial.display_label))
                    try:
                        return _Ref(fn(*args))
                    except Exception as exc:
                        return _Ref(error=exc)

            return Remote

        return wrap

    def put(self, data: bytes) -> bytes:
        return data

    def wait(self, refs: list[_Ref], num_returns: int, timeout: float) -> tuple[list[_Ref], list[_Ref]]:
        return refs[:num_returns], refs[num_returns:]

    def get(self, ref: _Ref) -> Any:
        if ref.error is not None:
            raise ref.error
        return ref.value

    def cancel(self, ref: _Ref, force: bool = False) -> None:
        pass

    def cluster_resources(self) -> dict[str, float]:
        return {"CPU": 4}

    def nodes(self) -> list[dict[str, Any]]:
        return [{"Alive": True}]


def _trial(label: str, seed: int, train: dict[str, Any] | None = None) -> TrialSpec:
    if train is None:
        return TrialSpec(
            network="cologne1-v0", controller="max-pressure", label=label, seed=seed, duration_s=120
        )
    return TrialSpec(
        network="cologne1-v0",
        controller="q-learning",
        label=label,
        params={"train": train},
        seed=seed,
        duration_s=120,
    )


def _checkpoint(trial: TrialSpec) -> bytes:
    return f'{{"trained for": "{trial.display_label}"}}'.encode()


@pytest.fixture
def fake(monkeypatch, tmp_path):
    monkeypatch.setenv("SIGNALBENCH_CACHE", str(tmp_path / "driver-cache"))
    ray = FakeRay()
    monkeypatch.setitem(sys.modules, "ray", ray)
    log: dict[str, Any] = {"ran": [], "fail": set(), "lose": {}}

    def worker_train(data, driver, key, files, refs):
        trial = TrialSpec.from_dict(data)
        if log["lose"].get(trial.display_label, 0) > 0:
            log["lose"][trial.display_label] -= 1
            raise NodeDiedError("the node running this task died")
        if trial.display_label in log["fail"]:
            return {"error": "on Ray node 10.0.0.7: controller 'q-learning-v0': boom"}
        body = _checkpoint(trial)
        request = training_request(trial)
        return {
            "checkpoint": body,
            "digest": hashlib.sha256(body).hexdigest(),
            "key": request.key(),
            "episodes": [{"seed": 11.0}, {"seed": 12.0}],
            "node": "10.0.0.7",
        }

    def worker_run(data, keep, driver, key, files, refs, checkpoint):
        trial = TrialSpec.from_dict(data)
        request = training_request(trial)
        if request is not None:  # a trial is sent only once its checkpoint is on the driver
            assert checkpoint == str(request.checkpoint_path()) and Path(checkpoint).is_file()
            assert checkpoint in files  # ... and it travels with the trial
        log["ran"].append(trial.display_label)
        return {"result": TrialResult(trial_id=trial.trial_id, spec=trial, state="complete").to_dict()}

    monkeypatch.setattr(shipping, "worker_train", worker_train)
    monkeypatch.setattr(shipping, "worker_run", worker_run)
    monkeypatch.setattr(shipping, "local_versions", lambda: {"signalbench": "x"})
    return ray, log


def _run(trials: list[TrialSpec]) -> tuple[list[TrialResult], list[tuple[TrialSpec, Path, list[Any]]]]:
    heard: list[tuple[TrialSpec, Path, list[Any]]] = []
    results = list(launch("ray", trials, LaunchOptions(workers=4), lambda t, p, e: heard.append((t, p, e))))
    return results, heard


def test_each_missing_checkpoint_trains_once_first_and_comes_back_into_the_driver_cache(fake):
    ray, _ = fake
    trials = [_trial("q-a", 1, TRAIN_A), _trial("q-b", 1, TRAIN_B), _trial("mp", 1)]
    trials += [_trial("q-a", 2, TRAIN_A), _trial("q-b", 2, TRAIN_B), _trial("mp", 2)]
    results, heard = _run(trials)
    assert sorted(r.trial_id for r in results) == sorted(t.trial_id for t in trials)
    assert all(r.state == "complete" for r in results)
    # one training task per checkpoint, sent before any trial
    assert ray.sent[:2] == [("worker_train", "q-a"), ("worker_train", "q-b")]
    assert [k for k, _ in ray.sent].count("worker_train") == 2
    # each checkpoint is in the driver's cache under the key a local training would use
    for label, train in (("q-a", TRAIN_A), ("q-b", TRAIN_B)):
        request = training_request(_trial(label, 1, train))
        assert request.checkpoint_path().read_bytes() == _checkpoint(_trial(label, 1, train))
    assert [(t.display_label, p.name, len(e)) for t, p, e in heard] == [
        ("q-a", training_request(trials[0]).checkpoint_path().name, 2),
        ("q-b", training_request(trials[1]).checkpoint_path().name, 2),
    ]
    # A second batch finds both checkpoints on the driver: nothing trains, they travel instead.
    ray.sent.clear()
    results, heard = _run(trials)
    assert all(k == "worker_run" for k, _ in ray.sent) and not heard


def test_a_failed_training_fails_only_its_trials_with_one_line(fake):
    _, log = fake
    log["fail"].add("q-b")
    trials = [
        _trial("q-a", 1, TRAIN_A),
        _trial("q-b", 1, TRAIN_B),
        _trial("q-b", 2, TRAIN_B),
        _trial("mp", 1),
    ]
    results, _ = _run(trials)
    by_label = {}
    for r in results:
        by_label.setdefault(r.spec.display_label, []).append(r)
    assert [r.state for r in by_label["q-a"] + by_label["mp"]] == ["complete", "complete"]
    assert [r.state for r in by_label["q-b"]] == ["failed", "failed"]
    for r in by_label["q-b"]:
        assert "\n" not in r.error
        assert r.error == (
            "training q-b on cologne1-v0 failed: on Ray node 10.0.0.7: controller 'q-learning-v0': boom"
        )
    assert "q-b" not in log["ran"]
    assert not training_request(trials[1]).checkpoint_path().exists()


def test_a_training_whose_node_is_lost_is_sent_again(fake):
    ray, log = fake
    log["lose"]["q-a"] = 2
    results, _ = _run([_trial("q-a", 1, TRAIN_A), _trial("q-a", 2, TRAIN_A)])
    assert [r.state for r in results] == ["complete", "complete"]
    assert [k for k, _ in ray.sent].count("worker_train") == 3


def test_a_checkpoint_that_comes_back_damaged_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("SIGNALBENCH_CACHE", str(tmp_path / "cache"))
    request = training_request(_trial("q-a", 1, TRAIN_A))
    with pytest.raises(ControllerError, match="came back damaged"):
        store_checkpoint(request, b"{}", hashlib.sha256(b"{ }").hexdigest())
    assert not request.checkpoint_path().exists()
    path = store_checkpoint(request, b"{}", hashlib.sha256(b"{}").hexdigest())
    assert path == request.checkpoint_path() and path.read_bytes() == b"{}"
    # the same key cached already: kept (training is deterministic, it is the same checkpoint)
    assert store_checkpoint(request, b"[]", hashlib.sha256(b"[]").hexdigest()).read_bytes() == b"{}"


def test_a_worker_training_on_an_invalid_recipe_answers_one_line(tmp_path, monkeypatch):
    """The worker's side: a recipe that slipped past the spec fails in the task, named, in one line."""
    import types

    monkeypatch.setenv("SIGNALBENCH_CACHE", str(tmp_path / "node-cache"))
    node = types.SimpleNamespace(util=types.SimpleNamespace(get_node_ip_address=lambda: "10.0.0.9"))
    monkeypatch.setitem(sys.modules, "ray", node)
    trial = _trial("q-a", 1, {"episodes": 0, "seeds": [11]})
    answer = shipping.worker_train(trial.to_dict(), shipping.local_versions(), "k", {}, {})
    assert set(answer) == {"error"} and "\n" not in answer["error"]
    assert answer["error"].startswith("on Ray node 10.0.0.9: controller 'q-learning-v0': train.episodes")
    other = {**shipping.local_versions(), "SUMO": "0.0.1"}
    refused = shipping.worker_train(trial.to_dict(), other, "k", {}, {})
    assert set(refused) == {"refused"} and "10.0.0.9" in refused["refused"]
