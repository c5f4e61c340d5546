"""The consolidated dataset: the same rows and tables as the records, kept up to date, never stale."""

import dataclasses
import math

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import signalbench
from signalbench.analysis import _dataset as dataset
from signalbench.analysis import result_rows, write_report
from signalbench.analysis._report import _Queues
from signalbench.experiments import ResultStore, TrialResult, TrialSpec


def record(label, seed, delay, *, state="complete", scale=1.0, tls=("J", "K"), vehicles=1000):
    controller = "fixed-time-v0" if label.startswith("fixed") else "max-pressure-v0"
    spec = TrialSpec(network="cologne1-v0", controller=controller, label=label, seed=seed, scale=scale)
    tables = {}
    if state == "complete":
        n = len(tls)
        ts = {
            "tls": [t for t in tls for _ in range(4)],
            "approach": ["n", "n", "w", "w"] * n,
            "begin_s": [0.0, 60.0, 0.0, 60.0] * n,
            "end_s": [60.0, 120.0, 60.0, 120.0] * n,
            "queue_mean_veh": [1.0 + seed, delay / 10, 0.5, 0.25 * seed] * n,
        }
        inter = {"tls": list(tls), "time_loss_per_veh_s": [delay] * n, "queue_mean_veh": [2.0 + seed] * n}
        tables = {"timeseries": ts, "intersections": inter, "approaches": {"tls": ["J"], "approach": ["n"]}}
    metrics = {"mean_delay_s": delay, "vehicles_total": vehicles, "vehicles_stuck": 0, "gridlocked": 0}
    return TrialResult(
        trial_id=spec.trial_id,
        spec=spec,
        state=state,
        metrics=metrics if state == "complete" else {},
        error=None if state == "complete" else "SUMO crashed: boom",
        sumo_command=["sumo", "--seed", str(seed)],
        tables=tables,
        versions={"sumo": "1.9.2"},
    )


def direct_rows(root):
    """What read_results returned before the dataset: every record read one by one."""
    return pd.DataFrame(result_rows(ResultStore(root).results()))


def direct_table(root, table):
    store = ResultStore(root)
    parts = []
    for r in store.results():
        path = store.table_path(r.trial_id, table)
        if r.state == "complete" and path.is_file():
            t = pq.read_table(path).to_pandas()
            t.insert(0, "trial_id", r.trial_id)
            parts.append(t)
    return pd.concat(parts, ignore_index=True)


def csv(frame):
    return frame.to_csv(index=False)


@pytest.fixture
def store(tmp_path):
    return ResultStore(tmp_path / "exp")


def test_rows_and_tables_match_the_records_across_parts_and_changes(store):
    root = store.root
    for seed in (1, 2, 3):
        store.put(record("fixed", seed, 40.0 + seed))
    assert csv(signalbench.read_results(root)) == csv(direct_rows(root))  # part 1
    store.put(record("adaptive", 1, 30.0, vehicles=999.5))  # an int column becomes float
    store.put(record("adaptive", 2, math.nan, state="failed"))  # no tables, NaN metrics
    store.put(record("fixed", 9, 50.0, tls=("J",)))
    assert len(list((root / "dataset").glob("part-*.rows.parquet"))) == 1
    assert csv(signalbench.read_results(root)) == csv(direct_rows(root))  # parts 1 + 2
    parts = sorted((root / "dataset").glob("part-*.rows.parquet"))
    assert len(parts) == 2
    # a new attempt, a relabelled record, a superseded one: each drops its old rows
    store.put(record("adaptive", 2, 33.0))
    renamed = record("fixed", 3, 43.0)
    store.update_spec(renamed.trial_id, dataclasses.replace(renamed.spec, label="fixed-renamed"))
    store.supersede(record("fixed", 1, 41.0).trial_id, "inputs changed")
    rows = signalbench.read_results(root)
    assert csv(rows) == csv(direct_rows(root))
    assert record("fixed", 1, 41.0).trial_id not in set(rows["trial_id"])
    assert "fixed-renamed" in set(rows["label"])
    for table in ("intersections", "timeseries", "approaches"):
        got = (
            signalbench.read_timeseries(root)
            if table == "timeseries"
            else getattr(signalbench, f"read_{table}")(root)
        )
        want = direct_table(root, table)
        assert list(got["trial_id"]) == list(want["trial_id"])
        for column in want.columns:
            assert got[column].tolist() == want[column].tolist(), (table, column)
        assert set(got["label"]) == set(rows.loc[rows["trial_id"].isin(got["trial_id"]), "label"])
    # superseded records never enter the dataset, and come back when restored
    gone = record("fixed", 1, 41.0).trial_id
    live = dataset.open_dataset(store)
    assert gone not in set(live.table("intersections").column("trial_id").to_pylist())
    store.restore(gone)
    assert gone in set(signalbench.read_results(root)["trial_id"])
    assert csv(signalbench.read_results(root)) == csv(direct_rows(root))


def test_parts_are_merged_when_many_and_a_damaged_part_is_rebuilt(store, monkeypatch):
    monkeypatch.setattr(dataset, "MAX_PARTS", 3)
    for seed in range(1, 7):
        store.put(record("fixed", seed, 40.0 + seed))
        signalbench.read_results(store.root)
    parts = sorted((store.root / "dataset").glob("part-*.rows.parquet"))
    assert 1 <= len(parts) <= 3
    assert csv(signalbench.read_results(store.root)) == csv(direct_rows(store.root))
    parts[-1].write_bytes(b"not parquet")
    assert csv(signalbench.read_results(store.root)) == csv(direct_rows(store.root))
    ts = signalbench.read_timeseries(store.root)
    assert len(ts) == 6 * 8


def test_tables_of_a_trial_whose_record_is_not_written_yet_are_left_out(store):
    # store.put writes the tables first: a trial finishing while a report reads is not half in
    store.put(record("fixed", 1, 40.0))
    half = record("fixed", 2, 41.0)
    for name, columns in half.tables.items():
        pq.write_table(pa.table(columns), store.table_path(half.trial_id, name))
    assert set(signalbench.read_intersections(store.root)["trial_id"]) == {record("fixed", 1, 40.0).trial_id}


def test_queue_curves_are_the_per_seed_sums_averaged(store):
    """The report's queue curves, aggregated while read, equal the pandas computation on the full series."""
    for seed in (1, 2, 3):
        store.put(record("fixed", seed, 40.0 + seed))
        store.put(record("adaptive", seed, 30.0 + seed))
    # two trials with the same label and seed (another window, say): summed per seed first
    twin = record("adaptive", 2, 38.0)
    spec = dataclasses.replace(twin.spec, end_s=900.0)
    twin = dataclasses.replace(twin, spec=spec, trial_id=spec.trial_id)
    store.put(twin)
    df = signalbench.read_results(store.root).assign(_root=0)
    queues = _Queues(df, [dataset.open_dataset(store)], {})
    found = queues.read({("cologne1-v0", 1.0): ["J"]})
    assert found == {("cologne1-v0", 1.0): {"J"}}
    curves = queues.curves[("cologne1-v0", 1.0)]
    ts = signalbench.read_timeseries(store.root)
    ts = ts[ts["tls"] == "J"]
    per = ts.groupby(["label", "seed", "begin_s", "end_s"])["queue_mean_veh"].sum().reset_index()
    want = per.groupby(["label", "begin_s", "end_s"])["queue_mean_veh"].mean().reset_index()
    got = curves.sort_values(["label", "begin_s"]).reset_index(drop=True)
    assert got["label"].tolist() == want["label"].tolist()
    assert got["queue_veh"].to_numpy() == pytest.approx(want["queue_mean_veh"].to_numpy())


def test_report_reads_the_dataset(store, tmp_path):
    for seed in range(1, 7):
        store.put(record("fixed", seed, 40.0 + seed))
        store.put(record("adaptive", seed, 30.0 + seed))
    html = write_report(store.root, tmp_path / "rep")
    assert (tmp_path / "rep" / "queue_cologne1-v0_1.png").read_bytes()[:4] == b"\x89PNG"
    assert "12 trials: 12 complete" in html.with_suffix(".md").read_text()
