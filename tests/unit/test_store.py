import json
import math

from signalbench._util import atomic_write_text
from signalbench.experiments import ResultStore, TrialResult, TrialSpec


def result(seed, state="complete"):
    spec = TrialSpec(network="cologne1-v0", controller="max-pressure-v0", seed=seed)
    return TrialResult(
        trial_id=spec.trial_id,
        spec=spec,
        state=state,
        metrics={"mean_delay_s": 1.5 * seed, "odd": math.nan},
        error=None if state == "complete" else "x",
    )


def test_round_trip(tmp_path):
    store = ResultStore(tmp_path)
    r = result(1)
    store.put(r)
    back = store.get(r.trial_id)
    assert back.spec == r.spec and back.metrics["mean_delay_s"] == 1.5 and math.isnan(back.metrics["odd"])
    raw = json.loads((tmp_path / "trials" / f"{r.trial_id}.json").read_text())
    assert raw["metrics"]["odd"] is None  # valid JSON, no NaN token


def test_completed_ids_skip_failed(tmp_path):
    store = ResultStore(tmp_path)
    store.put(result(1))
    store.put(result(2, "failed"))
    assert store.completed_ids() == {result(1).trial_id}
    assert len(store.results()) == 2


def test_atomic_write_leaves_no_temp_files(tmp_path):
    target = tmp_path / "a" / "f.json"
    atomic_write_text(target, "one")
    atomic_write_text(target, "two")
    assert target.read_text() == "two"
    assert [p.name for p in target.parent.iterdir()] == ["f.json"]


def test_trial_id_depends_on_everything_that_matters():
    a = TrialSpec(network="cologne1-v0", controller="max-pressure-v0", seed=1)
    assert a.trial_id == TrialSpec(network="cologne1-v0", controller="max-pressure-v0", seed=1).trial_id
    assert a.trial_id != TrialSpec(network="cologne1-v0", controller="max-pressure-v0", seed=2).trial_id
    assert (
        a.trial_id
        != TrialSpec(network="cologne1-v0", controller="max-pressure-v0", seed=1, scale=2.0).trial_id
    )
    assert TrialSpec.from_dict(a.to_dict()) == a


def test_stale_temp_files_are_removed(tmp_path):
    store = ResultStore(tmp_path)
    store.put(result(1))
    (tmp_path / "trials" / ".abc.json.x.tmp").write_text("{half")
    assert store.remove_stale_temp_files() == 1
    assert [p.name for p in (tmp_path / "trials").iterdir()] == [f"{result(1).trial_id}.json"]


def test_trials_run_seed_by_seed_so_a_partial_batch_is_balanced(tmp_path, monkeypatch):
    import signalbench.experiments._runner as runner
    from signalbench.experiments import TrialResult, spec_from_dict

    order = []

    def fake_launch(name, todo, options, on_trained=None):
        for t in todo:
            order.append((t.network, t.controller, t.seed))
            yield TrialResult(trial_id=t.trial_id, spec=t, state="complete", metrics={"mean_delay_s": 1.0})

    monkeypatch.setattr(runner, "launch", fake_launch)
    spec = spec_from_dict(
        {
            "name": "order",
            "seeds": 3,
            "networks": [{"id": "cologne1"}, {"id": "cologne3"}],
            "controllers": [{"id": "fixed-time"}, {"id": "max-pressure"}],
        }
    )
    results = runner.run_experiment(spec, tmp_path / "o", launcher="serial")
    assert [seed for *_, seed in order] == [1] * 4 + [2] * 4 + [3] * 4
    assert order[:4] == [
        (n, c, 1) for n in ("cologne1-v0", "cologne3-v0") for c in ("fixed-time-v0", "max-pressure-v0")
    ]
    # The returned results keep the spec's order (network, controller, seed).
    assert [r.spec.seed for r in results][:3] == [1, 2, 3]
