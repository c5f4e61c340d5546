"""Planning and summaries from the consolidated dataset: the same answers as reading every record.

The dataset is a cache; the records stay the source of truth. Whatever state the two are in
(no dataset, a fresh one, a record newer than it, a missing or damaged part, a part written by
other code, superseded, stale or failed records), ``stored_trials``, ``plan_trials`` with it and
``read_summary`` must say what reading the records says.
"""

from __future__ import annotations

import dataclasses
import math
import shutil
import tempfile
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from signalbench.analysis import _dataset as dataset
from signalbench.analysis import _summary as summary
from signalbench.analysis import consolidate, plan_seeds, read_summary, stored_trials
from signalbench.errors import SignalbenchError
from signalbench.experiments import ResultStore, TrialResult, TrialSpec, plan_trials

LABELS = ("fixed-time", "max-pressure", "greedy")


def trial(label: str, seed: int, *, version: str = "v1", scale: float = 1.0, name: str = "") -> TrialSpec:
    return TrialSpec(
        network="cologne1-v0",
        controller=f"{label}-v0",
        label=name or label,
        seed=seed,
        scale=scale,
        inputs={"signalbench": version, "network": "n1"},
    )


def record(spec: TrialSpec, delay: float, *, state: str = "complete", stuck: int = 0) -> TrialResult:
    metrics: dict[str, float | int] = {
        "mean_delay_s": delay,
        "mean_travel_time_s": 100.0 + delay,
        "mean_waiting_time_s": delay / 2,
        "vehicles_total": 100,
        "vehicles_stuck": stuck,
    }
    return TrialResult(
        trial_id=spec.trial_id,
        spec=spec,
        state=state,  # type: ignore[arg-type]
        metrics=metrics if state == "complete" else {},
        error=None if state == "complete" else "SUMO crashed",
    )


def records_summary(root: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, object]:
    """``results --summary`` and ``plan``'s seeds as they were: every record read."""
    with monkeypatch.context() as m:
        m.setattr(summary, "read_index", lambda *a, **k: None)
        return summaries(root)


def summaries(root: Path) -> tuple[str, object]:
    try:
        seeds: object = plan_seeds(root, (-20.0,), max_seeds=20)
    except SignalbenchError as exc:
        seeds = str(exc)
    return read_summary(root).to_csv(index=False), repr(seeds)


def check(store: ResultStore, specs: list[TrialSpec], monkeypatch: pytest.MonkeyPatch) -> None:
    """Every answer from the dataset equals the one from the records."""
    index = stored_trials(store)
    assert index == store.index()
    assert store.completed_ids(index) == store.completed_ids()
    assert plan_trials(specs, store, index=index) == plan_trials(specs, store)
    assert plan_trials(specs, store, index=index, rerun=True) == plan_trials(specs, store, rerun=True)
    if any(store.trials_dir.glob("*.json")):
        assert summaries(store.root) == records_summary(store.root, monkeypatch)


@pytest.fixture
def store(tmp_path: Path) -> ResultStore:
    return ResultStore(tmp_path / "exp")


def test_every_state_of_records_and_dataset_gives_the_records_answer(store, monkeypatch):
    specs = [trial(label, seed) for label in LABELS for seed in (1, 2, 3)]
    check(store, specs, monkeypatch)  # no folder at all
    assert not store.root.exists()  # planning wrote nothing
    for k, spec in enumerate(specs[:6]):
        store.put(record(spec, 30.0 + k, stuck=10 if k == 4 else 0))
    store.put(record(specs[6], math.nan, state="failed"))
    check(store, specs, monkeypatch)  # no dataset: every record read
    consolidate(store.root)
    check(store, specs, monkeypatch)  # fresh dataset
    # a record newer than the dataset (a retry that completed, a new label)
    store.put(record(specs[6], 41.0))
    store.put(record(dataclasses.replace(specs[0], label="fixed renamed"), 30.0))
    check(store, specs, monkeypatch)
    # a record not in the dataset yet, and one deleted
    store.put(record(specs[7], 43.0))
    (store.trials_dir / f"{specs[1].trial_id}.json").unlink()
    check(store, specs, monkeypatch)
    # superseded by hand: out of trials/, restorable
    store.supersede(specs[2].trial_id, "test")
    check(store, specs, monkeypatch)
    consolidate(store.root)
    check(store, specs, monkeypatch)


def test_a_missing_damaged_or_foreign_part_falls_back_to_the_records(store, monkeypatch):
    specs = [trial(label, seed) for label in LABELS[:2] for seed in (1, 2)]
    for k, spec in enumerate(specs[:2]):
        store.put(record(spec, 20.0 + k))
    consolidate(store.root)
    for spec in specs[2:]:
        store.put(record(spec, 25.0))
    consolidate(store.root)
    first, second = sorted((store.root / "dataset").glob("part-*.rows.parquet"))
    first.write_bytes(b"not parquet")  # damaged
    check(store, specs, monkeypatch)
    second.unlink()  # missing
    check(store, specs, monkeypatch)
    consolidate(store.root)  # rebuilt
    (part,) = (store.root / "dataset").glob("part-*.rows.parquet")
    table = pq.read_table(part)
    # written by other code (another release, an edit of how rows are derived): not trusted
    pq.write_table(table.replace_schema_metadata({dataset.DERIVATION: b"0000"}), part)
    assert stored_trials(store) == store.index()
    monkeypatch.setattr(dataset, "_encode_rows", _fail)  # the records are read, not the part
    with pytest.raises(AssertionError, match="records read"):
        stored_trials(store)


def _fail(*args: object) -> None:
    raise AssertionError("records read")


def test_a_fresh_dataset_is_read_instead_of_the_records(store, monkeypatch):
    specs = [trial(label, seed) for label in LABELS for seed in (1, 2)]
    for spec in specs:
        store.put(record(spec, 30.0))
    consolidate(store.root)
    expected = store.index()
    expected_summaries = summaries(store.root)
    monkeypatch.setattr(ResultStore, "get", lambda *a: _fail())
    monkeypatch.setattr(ResultStore, "__iter__", lambda *a: _fail())
    assert stored_trials(store) == expected
    assert summaries(store.root) == expected_summaries


def test_stale_records_plan_the_same_from_the_dataset(store, monkeypatch):
    """Code changed: the records' fingerprint no longer matches; its cell is superseded whole."""
    old = [trial(label, seed, version="v1") for label in LABELS[:2] for seed in (1, 2, 3)]
    for k, spec in enumerate(old):
        store.put(record(spec, 30.0 + k))
    store.put(record(trial("greedy", 1, version="v1"), math.nan, state="failed"))
    consolidate(store.root)
    new = [trial(label, seed, version="v2") for label in LABELS for seed in (1, 2)]
    check(store, new, monkeypatch)
    plan = plan_trials(new, store, index=stored_trials(store))
    assert [p.status for p in plan.trials].count("stale") == 5 and len(plan.superseded) == 7
    for trial_id, reason in plan.superseded.items():
        store.supersede(trial_id, reason)
    check(store, old, monkeypatch)  # back to v1: restored
    assert {p.status for p in plan_trials(old, store, index=stored_trials(store)).trials} == {"restore"}


def test_a_read_only_experiment_is_planned_without_writing(store, monkeypatch):
    specs = [trial("fixed-time", seed) for seed in (1, 2)]
    store.put(record(specs[0], 30.0))
    consolidate(store.root)
    store.put(record(specs[1], 31.0))
    before = sorted(p.name for p in (store.root / "dataset").iterdir())
    check(store, specs, monkeypatch)
    assert sorted(p.name for p in (store.root / "dataset").iterdir()) == before


OPS = st.lists(
    st.one_of(
        st.tuples(
            st.just("put"),
            st.sampled_from(LABELS),
            st.integers(1, 3),
            st.sampled_from(["complete", "complete", "failed"]),
            st.sampled_from(["v1", "v2"]),
            st.sampled_from(["", "renamed"]),
            st.sampled_from([1.0, 2, 1.5]),
            st.floats(0, 100, allow_nan=False),
        ),
        st.tuples(st.just("consolidate")),
        st.tuples(st.just("supersede"), st.integers(0, 20)),
        st.tuples(st.just("delete"), st.integers(0, 20)),
        st.tuples(st.just("damage part"), st.integers(0, 5)),
        st.tuples(st.just("drop part"), st.integers(0, 5)),
    ),
    min_size=1,
    max_size=12,
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=OPS, version=st.sampled_from(["v1", "v2"]))
def test_any_history_gives_the_records_answer(ops, version, monkeypatch):
    root = Path(tempfile.mkdtemp(prefix="sb-index-"))
    try:
        store = ResultStore(root / "exp")
        for op in ops:
            _apply(store, op)
        specs = [trial(label, seed, version=version) for label in LABELS for seed in (1, 2, 3)]
        check(store, specs, monkeypatch)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _apply(store: ResultStore, op: tuple) -> None:  # type: ignore[type-arg]
    kind = op[0]
    ids = sorted(p.name[:-5] for p in store.trials_dir.glob("*.json")) if store.trials_dir.is_dir() else []
    parts = sorted((store.root / "dataset").glob("part-*.rows.parquet"))
    if kind == "put":
        _, label, seed, state, version, name, scale, delay = op
        spec = trial(label, seed, version=version, name=name and f"{label} {name}", scale=scale)
        store.put(record(spec, delay, state=state, stuck=int(delay) % 7))
    elif kind == "consolidate" and ids:
        consolidate(store.root)
    elif kind in ("supersede", "delete") and ids:
        tid = ids[op[1] % len(ids)]
        if kind == "supersede":
            store.supersede(tid, "test")
        else:
            (store.trials_dir / f"{tid}.json").unlink()
    elif kind == "damage part" and parts:
        parts[op[1] % len(parts)].write_bytes(b"PAR1 damaged")
    elif kind == "drop part" and parts:
        parts[op[1] % len(parts)].unlink()


def test_a_reader_without_write_access_skips_parts_of_other_code(store, monkeypatch):
    """An upgraded reader of a shared folder it cannot write: the old parts stay, records are read."""
    import signalbench

    specs = [trial("fixed-time", seed) for seed in (1, 2)]
    for spec in specs:
        store.put(record(spec, 30.0))
    consolidate(store.root)
    (part,) = (store.root / "dataset").glob("part-*.rows.parquet")
    pq.write_table(pq.read_table(part).replace_schema_metadata({dataset.DERIVATION: b"0000"}), part)
    expected = signalbench.read_results(store.root).to_csv(index=False)  # (rebuilds: writable)
    pq.write_table(pq.read_table(part).replace_schema_metadata({dataset.DERIVATION: b"0000"}), part)

    def denied(*args: object, **kwargs: object) -> None:
        raise PermissionError("read-only")

    monkeypatch.setattr(dataset, "file_lock", denied)
    monkeypatch.setattr(dataset, "_remove", denied)
    monkeypatch.setattr(dataset, "_write", denied)
    assert signalbench.read_results(store.root).to_csv(index=False) == expected
    assert stored_trials(store) == store.index()
