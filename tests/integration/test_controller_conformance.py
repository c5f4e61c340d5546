"""Every built-in Python controller on real SUMO: completes, moves traffic, repeats, stays safe.

300 simulated seconds per trial on two catalog networks. The signal strings the harness set
are recorded (``Episode(record_timelines=True)``, switched on inside ``run_trial``) and audited
against the trial's timing rules.
"""

from __future__ import annotations

from typing import Any

import pytest

import signalbench.runtime._session as session_module
from signalbench.controllers import registry
from signalbench.experiments import TrialResult, TrialSpec, run_trial
from signalbench.runtime import Episode
from signalbench.signals import audit_timeline

pytestmark = pytest.mark.integration

DURATION_S = 300.0
NETWORKS = ("cologne3-v0", "ingolstadt7-v0")
RESCO_MAX_PRESSURE = {"detection_m": 200.0, "queue": "stopped", "downstream": "signalised"}
CONTROLLERS: list[tuple[str, dict[str, Any]]] = [
    ("greedy", {}),
    ("longest-queue-first", {}),
    ("random", {}),
    ("sotl", {}),
    ("actuated", {}),
    ("max-pressure", {}),
    ("max-pressure", RESCO_MAX_PRESSURE),
]
IDS = ["greedy", "lqf", "random", "sotl", "actuated", "max-pressure", "max-pressure-resco"]
# decisions in 300 s: at every interval from begin + interval to before the end
DECISIONS = {1.0: 299, 5.0: 59}


class Recorded:
    """A trial's result, with the episode that ran it (model and signal timelines)."""

    def __init__(self, result: TrialResult, episode: Episode | None) -> None:
        self.result = result
        self.episode = episode


def run(
    monkeypatch, workdir, network: str, controller: str, params: dict[str, Any], seed: int = 1
) -> Recorded:
    """Run one trial through ``run_trial`` while its episode records the signal timelines."""
    episodes: list[Episode] = []

    class RecordingEpisode(Episode):
        def __init__(self, **kwargs: Any) -> None:
            super().__init__(**{**kwargs, "record_timelines": True})
            episodes.append(self)

    with monkeypatch.context() as m:
        m.setattr(session_module, "Episode", RecordingEpisode)
        result = run_trial(
            TrialSpec(
                network=network,
                controller=registry.canonical_id(controller),
                params=params,
                seed=seed,
                duration_s=DURATION_S,
            ),
            workdir,
        )
    assert len(episodes) <= 1
    return Recorded(result, episodes[0] if episodes else None)


@pytest.mark.parametrize("network", NETWORKS)
@pytest.mark.parametrize(("controller", "params"), CONTROLLERS, ids=IDS)
def test_controller_runs_moves_traffic_and_is_safe(monkeypatch, tmp_path, network, controller, params):
    rec = run(monkeypatch, tmp_path, network, controller, params)
    r = rec.result
    assert r.state == "complete", r.error
    assert rec.episode is not None, "the trial did not run a Python-controlled episode"
    model = rec.episode.model
    assert r.metrics["vehicles_arrived"] >= 100, r.metrics
    assert r.control["controlled_intersections"] == len(model.intersections) > 0
    interval = registry.build(controller, params).traits.decision_interval_s
    assert r.control["decisions"] == DECISIONS[interval]
    assert r.control["switches"] > 0
    timing = r.spec.timing
    end_s = rec.episode.config.end_s
    for spec in model.intersections:
        timeline = rec.episode.timelines[spec.id]
        assert len(timeline) > 1, spec.id
        phases = [p.state for p in spec.green_phases]
        assert audit_timeline(timeline, timing, end_s=end_s, phases=phases) == [], spec.id


@pytest.mark.parametrize(("controller", "params"), CONTROLLERS, ids=IDS)
def test_same_seed_gives_identical_results(monkeypatch, tmp_path, controller, params):
    a = run(monkeypatch, tmp_path / "a", "cologne3-v0", controller, params).result
    b = run(monkeypatch, tmp_path / "b", "cologne3-v0", controller, params).result
    assert a.state == b.state == "complete", (a.error, b.error)
    assert a.metrics == b.metrics
    assert (a.control["switches"], a.control["overrides"]) == (b.control["switches"], b.control["overrides"])


def test_random_depends_on_the_seed(monkeypatch, tmp_path):
    a = run(monkeypatch, tmp_path, "cologne3-v0", "random", {}, seed=1).result
    b = run(monkeypatch, tmp_path, "cologne3-v0", "random", {}, seed=2).result
    assert a.state == b.state == "complete"
    assert a.metrics != b.metrics
