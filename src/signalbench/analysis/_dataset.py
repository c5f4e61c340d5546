"""The consolidated dataset of an experiment: every trial's row and tables in a few Parquet files.

The per-trial records (``trials/<id>.json`` and its Parquet tables, see
:mod:`signalbench.experiments`) stay the source of truth. Reading 100,000 of them one by one
takes minutes; this dataset holds the same content in a few files under ``<root>/dataset/``,
and is brought up to date from the records whenever it is read (and by ``signalbench run`` as
trials finish):

- ``part-<n>.rows.parquet``: one row per trial (:func:`result_rows`), with the record's stamp
  (modification time and size) it was made from, and what planning a run and
  ``results --summary`` need of the record (its spec, cell, inputs, demand label, scale,
  gridlock: :data:`HIDDEN`); written last, so a part without it is incomplete and ignored.
  Its metadata holds a digest of the code that derives rows from records
  (:func:`derivation`): a part written by other code is rebuilt;
- ``part-<n>.intersections.parquet`` and ``part-<n>.approaches.parquet`` (with the trial's
  key columns, as :func:`read_intersections` returns them), and ``part-<n>.queue.parquet``:
  the queue of each signal per interval, summed over its approaches (what the report's queue
  plots draw; the full time series stay in the trials' own files).

A part row counts only while its record is in ``trials/`` with the same stamp: a record moved to
``trials/superseded/``, deleted, or rewritten (a new attempt, a renamed label) drops out at
once, and the new version is read into a new part. Parts are merged when there are many of them
or many dropped rows. Concurrent readers and writers serialise on ``dataset/.lock``; a reader
without write access to the folder reads the missing records in memory.
"""

from __future__ import annotations

import functools
import hashlib
import math
import os
import shutil
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from signalbench._util import atomic_path, file_lock
from signalbench.analysis._rows import demand_level, gridlocked, result_rows
from signalbench.errors import SignalbenchError
from signalbench.experiments import TABLES, ResultStore, StoredTrial, TrialResult, TrialSpec
from signalbench.metrics import is_gridlocked

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

__all__ = ["DATASET_DIR", "Dataset", "consolidate", "open_dataset", "read_index", "stored_trials"]

#: The dataset's folder under an experiment directory.
DATASET_DIR = "dataset"
#: Column of a part's rows holding the stamp of the record the row was made from.
STAMP = "_stamp"
#: Columns of a part's rows that are not result columns: what planning and summaries read
#: (see :func:`read_index`), from :class:`StoredTrial` and the record's spec.
HIDDEN = ("_cell", "_inputs", "_spec", "_demand_label", "_scale", "_gridlocked")
#: The hidden columns only planning reads (the largest: a spec's JSON per trial).
SPECS = ("_inputs", "_spec")
#: Key of a rows file's metadata holding :func:`derivation`.
DERIVATION = b"signalbench.derivation"
#: The derived table of queue per signal and interval (sum over the signal's approaches).
QUEUE = "queue"
#: The per-trial tables held in the dataset as they are. The time series (the largest by far:
#: a row per approach and interval) is held only as the per-signal queue the report plots;
#: :func:`read_timeseries` reads it from the trials' own files.
CONSOLIDATED = ("intersections", "approaches")
#: Key columns every table of the dataset carries, in this order.
KEYS = ("trial_id", "network", "demand", "flow_veh_h", "sensing", "label", "seed")
#: Merge the parts into one when there are more than this many ...
MAX_PARTS = 12
#: ... or when more than this share of their rows no longer count.
MAX_DEAD_SHARE = 0.25
#: Rows per batch when a table is read part by part.
BATCH_ROWS = 256 * 1024
#: A new part is written per this many records at most (bounds the memory of a rebuild).
PART_TRIALS = 1000


@functools.cache
def derivation() -> str:
    """Digest of the code that turns a record into its dataset row (these modules' source).

    A part made by other code (an upgrade, an edit of a row's derivation) no longer counts
    and is rebuilt from the records, so a row never says what this code would not.
    """
    digest = hashlib.sha256()
    for module in (__name__, result_rows.__module__, TrialSpec.__module__, is_gridlocked.__module__):
        path = getattr(sys.modules[module], "__file__", None)
        digest.update(Path(path).read_bytes() if path else module.encode())
    return digest.hexdigest()[:16]


def _current(schema: pa.Schema) -> bool:
    """Tell whether a rows file (its schema) was written by this code, with every column needed."""
    metadata = schema.metadata or {}
    names = set(schema.names)
    return metadata.get(DERIVATION) == derivation().encode() and {*KEYS, *HIDDEN, STAMP} <= names


def _stamps(store: ResultStore) -> dict[str, str]:
    """Return ``{trial id: "mtime_ns:size"}`` of every record in ``trials/`` (one directory scan)."""
    out: dict[str, str] = {}
    try:
        entries = os.scandir(store.trials_dir)
    except FileNotFoundError:
        return out
    with entries:
        for entry in entries:
            name = entry.name
            if name.endswith(".json") and not name.startswith(".") and entry.is_file():
                st = entry.stat()
                out[name[:-5]] = f"{st.st_mtime_ns}:{st.st_size}"
    return out


@dataclass
class _Part:
    """One part: its files' common prefix and, once checked, which of its trial ids count."""

    prefix: Path | None  # None: built in memory (read-only folder)
    rows: pa.Table
    live: Any = None  # pyarrow boolean mask over ``rows`` (None: every row counts)
    tables: dict[str, pa.Table] | None = None  # in-memory parts only

    def path(self, table: str) -> Path:
        assert self.prefix is not None
        return self.prefix.with_name(f"{self.prefix.name}.{table}.parquet")

    @property
    def n_live(self) -> int:
        return self.rows.num_rows if self.live is None else int(self.live.true_count)

    def live_ids(self) -> Any:
        ids = self.rows.column("trial_id")
        return ids if self.live is None else ids.filter(self.live)


def _parts_on_disk(folder: Path, *, write: bool = True) -> list[_Part]:
    """Return the parts this code wrote; others are removed (``write``) or, read only, skipped."""
    import pyarrow.parquet as pq

    parts = []
    for path in sorted(folder.glob("part-*.rows.parquet")):
        prefix = path.with_name(path.name.removesuffix(".rows.parquet"))
        try:
            parquet = pq.ParquetFile(path)
            current = _current(parquet.schema_arrow)
            # The specs are for planning (read_index): left on disk here (a merge reads them).
            rows = (
                parquet.read(columns=[n for n in parquet.schema_arrow.names if n not in SPECS])
                if current
                else None
            )
        except (OSError, ValueError) as exc:  # a damaged cache file: drop it, it is rebuilt
            del exc
            rows = None
        if rows is None:  # damaged, or written by an earlier format or other code: rebuilt
            if write:  # (a reader without write access reads those records in memory)
                _remove(_Part(prefix, _empty_rows()))
            continue
        parts.append(_Part(prefix, rows))
    return parts


def _empty_rows() -> pa.Table:
    import pyarrow as pa

    return pa.table({"trial_id": pa.array([], pa.string()), STAMP: pa.array([], pa.string())})


def _remove(part: _Part) -> None:
    if part.prefix is None:
        return
    # rows first: a part without its rows file is ignored, even if a table is left behind
    for table in ("rows", *TABLES, QUEUE):  # TABLES: parts of earlier versions held them all
        part.path(table).unlink(missing_ok=True)


def _mark_live(parts: list[_Part], stamps: dict[str, str]) -> set[str]:
    """Set each part's live mask (row's stamp is the record's, first part wins); return the ids covered."""
    import pyarrow as pa

    covered: set[str] = set()
    for part in parts:
        ids = part.rows.column("trial_id").to_pylist()
        got = part.rows.column(STAMP).to_pylist()
        mask = []
        for tid, stamp in zip(ids, got, strict=True):
            ok = tid not in covered and stamps.get(tid) == stamp
            if ok:
                covered.add(tid)
            mask.append(ok)
        part.live = None if all(mask) else pa.array(mask, pa.bool_())
    return covered


def _table_rows(
    store: ResultStore, results: list[TrialResult], table: str, columns: list[str] | None = None
) -> pa.Table | None:
    """One intersection table of ``results`` (complete ones), with the key columns in front."""
    return _read_tables(
        store,
        table,
        [
            (r.trial_id, r.spec.network, float(demand_level(r.spec)),
             math.nan if r.spec.flow_veh_h is None else float(r.spec.flow_veh_h),
             r.spec.sensing_label, r.spec.display_label, int(r.spec.seed))
            for r in results
            if r.state == "complete"
        ],
        columns,
    )  # fmt: skip


def _read_tables(
    store: ResultStore, table: str, trials: list[tuple[Any, ...]], columns: list[str] | None = None
) -> pa.Table | None:
    """Read one table of each trial (a tuple of :data:`KEYS` values) and put the keys in front.

    ``columns``: only these (those of them a file has).
    """
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    tables = []
    found = []
    for k, trial in enumerate(trials):
        path = store.table_path(trial[0], table)
        if not path.is_file():
            continue
        # pyarrow directly: an order of magnitude faster than pd.read_parquet per small file.
        try:
            parquet = pq.ParquetFile(path)
            wanted = None if columns is None else [c for c in columns if c in parquet.schema_arrow.names]
            tables.append(parquet.read(columns=wanted, use_threads=False))
        except (pa.ArrowException, OSError) as exc:
            raise SignalbenchError(
                f"{path}: not a readable Parquet table ({' '.join(str(exc).split())}); "
                "delete it and its .json record, then run the experiment again to redo that trial"
            ) from exc
        found.append(k)
    if not tables:
        return None
    body = pa.concat_tables(tables, promote_options="permissive")
    owner = pa.array(np.repeat(np.asarray(found), [t.num_rows for t in tables]))
    types = {"demand": pa.float64(), "flow_veh_h": pa.float64(), "seed": pa.int64()}
    out = {
        key: pa.array([t[i] for t in trials], types.get(key, pa.string())).take(owner)
        for i, key in enumerate(KEYS)
    }
    for name in body.column_names:
        out[name] = body.column(name)
    return pa.table(out)


def _queue_table(series: pa.Table | None) -> pa.Table | None:
    """Queue per trial, signal and interval: the sum over the signal's approaches."""
    if series is None or series.num_rows == 0 or "queue_mean_veh" not in series.column_names:
        return None
    grouped = series.group_by(["trial_id", "tls", "begin_s", "end_s"], use_threads=False).aggregate(
        [("queue_mean_veh", "sum")]
    )
    return grouped.rename_columns(["trial_id", "tls", "begin_s", "end_s", "queue_veh"])


def _build(
    store: ResultStore, ids: list[str], stamps: dict[str, str]
) -> tuple[pa.Table, dict[str, pa.Table]]:
    """Read the records ``ids`` (and their tables): the rows and tables of a new part."""
    results = []
    got = []
    for tid in sorted(ids):
        record = store.get(tid)
        if record is None:  # removed meanwhile (superseded by a run): not in this part
            continue
        results.append(record)
        got.append(stamps[tid])
    if not results:
        return _empty_rows(), {}
    rows = _encode_rows(results, got)
    tables: dict[str, pa.Table] = {}
    for name in CONSOLIDATED:
        table = _table_rows(store, results, name)
        if table is not None:
            tables[name] = table
    series = _table_rows(store, results, "timeseries", ["tls", "begin_s", "end_s", "queue_mean_veh"])
    queue = _queue_table(series)
    if queue is not None:
        tables[QUEUE] = queue
    return rows, tables


def _write(folder: Path, rows: pa.Table, tables: dict[str, pa.Table]) -> _Part:
    import pyarrow.parquet as pq

    existing = [int(p.name.split(".")[0].split("-")[1]) for p in folder.glob("part-*.rows.parquet")]
    prefix = folder / f"part-{max(existing, default=0) + 1:06d}"
    part = _Part(prefix, rows)
    for name, table in tables.items():
        with atomic_path(part.path(name)) as tmp:
            pq.write_table(table, tmp, row_group_size=256 * 1024)
    with atomic_path(part.path("rows")) as tmp:  # last: the part is complete
        pq.write_table(rows, tmp)
    return part


def _merge(folder: Path, parts: list[_Part]) -> _Part:
    """Write the live rows of ``parts`` into one new part (streaming the big tables), drop the old."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    full = [pq.read_table(p.path("rows")) if p.prefix is not None else p.rows for p in parts]
    rows = pa.concat_tables(
        [r if p.live is None else r.filter(p.live) for p, r in zip(parts, full, strict=True)],
        promote_options="permissive",
    )
    existing = [int(p.name.split(".")[0].split("-")[1]) for p in folder.glob("part-*.rows.parquet")]
    merged = _Part(folder / f"part-{max(existing, default=0) + 1:06d}", rows)
    for name in (*CONSOLIDATED, QUEUE):
        sources = [p for p in parts if p.prefix is not None and p.path(name).is_file()]
        if not sources:
            continue
        schema = pa.unify_schemas(
            [pq.read_schema(p.path(name)) for p in sources], promote_options="permissive"
        )
        with atomic_path(merged.path(name)) as tmp, pq.ParquetWriter(tmp, schema) as writer:
            for p in sources:
                keep = p.live_ids()
                for batch in pq.ParquetFile(p.path(name)).iter_batches(batch_size=256 * 1024):
                    if p.live is not None:
                        batch = batch.filter(pc.is_in(batch.column("trial_id"), value_set=keep))
                    if batch.num_rows:
                        writer.write_table(pa.Table.from_batches([batch]).cast(schema))
    with atomic_path(merged.path("rows")) as tmp:
        pq.write_table(rows.replace_schema_metadata({DERIVATION: derivation()}), tmp)
    for p in parts:
        _remove(p)
    return merged


#: Kinds of a row value, kept next to each non-text column so that reading gives pandas the
#: dtype it infers from the records themselves (an int column stays int, True stays True).
_INT, _FLOAT, _MISSING, _BOOL, _TEXT = 0, 1, 2, 3, 4
_KIND = "_kind."


def _kind(value: Any) -> int:
    if isinstance(value, bool):
        return _BOOL
    if isinstance(value, int):
        return _INT
    if isinstance(value, float):
        return _MISSING if math.isnan(value) else _FLOAT
    if value is None:
        return _MISSING
    return _TEXT


def _encode_rows(results: list[TrialResult], stamps: list[str]) -> pa.Table:
    """Rows of :func:`result_rows` as a table: text columns as text, the others as float64 + kind.

    With the :data:`HIDDEN` columns, the ``stamps`` and the :func:`derivation` in its metadata.
    """
    import pyarrow as pa

    rows = result_rows(results)
    columns: dict[str, Any] = {}
    for name in rows[0]:
        values = [row[name] for row in rows]
        if all(isinstance(v, str) for v in values):
            columns[name] = pa.array(values, pa.string())
            continue
        kinds = [_kind(v) for v in values]
        columns[name] = pa.array(
            [float(v) if k in (_INT, _FLOAT, _BOOL) else (str(v) if k == _TEXT else math.nan)
             for v, k in zip(values, kinds, strict=True)],
            pa.float64() if _TEXT not in kinds else pa.string(),
        )  # fmt: skip
        columns[_KIND + name] = pa.array(kinds, pa.int8())
    index = [StoredTrial.of(r) for r in results]
    columns["_cell"] = pa.array([t.cell_key for t in index], pa.string())
    columns["_inputs"] = pa.array([t.inputs for t in index], pa.string())
    columns["_spec"] = pa.array([t.spec_json for t in index], pa.string())
    columns["_demand_label"] = pa.array([r.spec.demand_label for r in results], pa.string())
    columns["_scale"] = pa.array([float(r.spec.scale) for r in results], pa.float64())
    columns["_gridlocked"] = pa.array([gridlocked(r) for r in results], pa.bool_())
    columns[STAMP] = pa.array(stamps, pa.string())
    return pa.table(columns).replace_schema_metadata({DERIVATION: derivation()})


def _decode_rows(table: pa.Table) -> pd.DataFrame:
    """Return the pandas frame ``pd.DataFrame(result_rows(records))`` gives for the same records."""
    import numpy as np
    import pandas as pd

    out: dict[str, Any] = {}
    names = [n for n in table.column_names if not n.startswith(_KIND) and n != STAMP and n not in HIDDEN]
    for name in names:
        column = table.column(name)
        kind_name = _KIND + name
        if kind_name not in table.column_names:
            out[name] = column.to_pandas()
            continue
        kinds = table.column(kind_name).to_numpy(zero_copy_only=False)
        if kinds.dtype.kind == "f":  # a part without this column: missing there
            kinds = np.where(np.isnan(kinds), _MISSING, kinds).astype(np.int8)
        present = set(np.unique(kinds).tolist())
        if present <= {_INT} and len(kinds):
            out[name] = column.to_numpy(zero_copy_only=False).astype(np.int64)
        elif present <= {_INT, _FLOAT, _MISSING} and column.type.equals(_float64()):
            out[name] = column.to_numpy(zero_copy_only=False)
        else:  # mixed kinds (or a column both text and numbers): as pandas infers them
            values = column.to_pylist()
            out[name] = pd.Series([_value(v, int(k)) for v, k in zip(values, kinds, strict=True)], dtype=None)
    return pd.DataFrame(out, columns=names)


def _float64() -> Any:
    import pyarrow as pa

    return pa.float64()


def _value(value: Any, kind: int) -> Any:
    if kind == _INT:
        return int(float(value))
    if kind == _BOOL:
        return bool(float(value))
    if kind == _FLOAT:
        return float(value)
    if kind == _MISSING or value is None:
        return math.nan
    return value


class Dataset:
    """The live content of an experiment's consolidated dataset (see the module docstring)."""

    def __init__(self, store: ResultStore, parts: list[_Part]) -> None:
        self.store = store
        self.parts = parts

    def __len__(self) -> int:
        return sum(p.n_live for p in self.parts)

    def rows(self) -> pd.DataFrame:
        """One row per trial, in trial id order: the frame of :func:`result_rows` over the records."""
        import pyarrow as pa

        tables = [p.rows if p.live is None else p.rows.filter(p.live) for p in self.parts]
        tables = [t for t in tables if t.num_rows]
        if not tables:
            import pandas as pd

            return pd.DataFrame()
        table = pa.concat_tables(tables, promote_options="permissive")
        table = table.take(table.column("trial_id").to_numpy(zero_copy_only=False).argsort(kind="stable"))
        return _decode_rows(table)

    def batches(
        self, table: str, columns: Sequence[str] | None = None, tls: Sequence[str] | None = None
    ) -> Iterator[pa.Table]:
        """Yield the live rows of one table in batches, part by part (``tls``: only those signals)."""
        import pyarrow as pa
        import pyarrow.compute as pc
        import pyarrow.parquet as pq

        for p in self.parts:
            keep = None if p.live is None else p.live_ids()
            if p.prefix is None:
                assert p.tables is not None
                if table not in p.tables:
                    continue
                data = p.tables[table]
                if columns is not None:
                    data = data.select(list(columns))
                if tls is not None:
                    data = data.filter(pc.is_in(data.column("tls"), value_set=_strings(tls)))
                if keep is not None:
                    data = data.filter(pc.is_in(data.column("trial_id"), value_set=keep))
                yield data
                continue
            path = p.path(table)
            if not path.is_file():
                continue
            # Batch by batch, one row group at a time, the text keys kept dictionary-encoded
            # until filtered: a filtered read of a large part never holds the part in memory.
            parquet = pq.ParquetFile(path, read_dictionary=["trial_id", "tls"])
            names = parquet.schema_arrow.names
            wanted = None if columns is None else [c for c in columns if c in names]
            only = None if tls is None else _strings(tls)
            for batch in parquet.iter_batches(batch_size=BATCH_ROWS, columns=wanted, use_threads=False):
                data = pa.Table.from_batches([batch])
                if only is not None:
                    data = data.filter(pc.is_in(data.column("tls").cast(pa.string()), value_set=only))
                if keep is not None and data.num_rows:
                    data = data.filter(pc.is_in(data.column("trial_id").cast(pa.string()), value_set=keep))
                if data.num_rows:
                    yield _plain(data)

    def trial_table(self, table: str) -> pa.Table | None:
        """One table read from the live trials' own files (the time series), in trial id order."""
        rows = self.rows()
        if not len(rows):
            return None
        done = rows[rows["state"] == "complete"]
        trials = list(
            zip(done["trial_id"], done["network"], done["demand"].astype(float),
                done["flow_veh_h"].astype(float), done["sensing"], done["label"], done["seed"].astype(int),
                strict=True)
        )  # fmt: skip
        return _read_tables(self.store, table, trials)

    def table(self, table: str) -> pa.Table | None:
        """One table in full, in trial id order (a trial's rows in their stored order)."""
        import pyarrow as pa

        parts = [t for t in self.batches(table) if t.num_rows]
        if not parts:
            return None
        data = pa.concat_tables(parts, promote_options="permissive")
        return data.take(data.column("trial_id").to_numpy(zero_copy_only=False).argsort(kind="stable"))


def _plain(table: pa.Table) -> pa.Table:
    """Return ``table`` with its dictionary-encoded columns decoded (the types the records have)."""
    import pyarrow as pa

    for i, field in enumerate(table.schema):
        if pa.types.is_dictionary(field.type):
            table = table.set_column(i, field.name, table.column(i).cast(field.type.value_type))
    return table


def _strings(values: Sequence[str]) -> Any:
    import pyarrow as pa

    return pa.array([str(v) for v in values], pa.string())


def open_dataset(store: ResultStore) -> Dataset:
    """Bring the dataset of ``store`` up to date with its records and return it.

    Records new or changed since the last call are read into a new part; records that left
    ``trials/`` stop counting; parts are merged when many. Without write access to the
    experiment folder, the records the dataset lacks are read in memory for this call.
    """
    folder = store.root / DATASET_DIR
    existed = folder.is_dir()
    try:
        with file_lock(folder / ".lock"):
            return _refresh(store, folder, write=True)
    except SignalbenchError:
        if not existed:  # a bad record on the first read: leave the folder as it was
            shutil.rmtree(folder, ignore_errors=True)
        raise
    except PermissionError:
        return _refresh(store, folder, write=False)
    except OSError as exc:
        if exc.errno in (30,):  # read-only file system
            return _refresh(store, folder, write=False)
        raise


def read_index(store: ResultStore, columns: Sequence[str]) -> pa.Table | None:
    """``trial_id`` and ``columns`` of a part's rows for every record in ``trials/``, in trial id order.

    Read only: a record's row comes from the dataset when a part holds it with the record's
    stamp (written by this code), else from the record itself (read and encoded as a part
    would be); nothing is written, and no table is read. None when the rows cannot be put
    together (a column with text in one part and numbers in another): read the records.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    wanted = list(dict.fromkeys(["trial_id", *columns]))
    stamps = _stamps(store)
    folder = store.root / DATASET_DIR
    parts = []
    for path in sorted(folder.glob("part-*.rows.parquet")) if folder.is_dir() else ():
        try:  # a part that is damaged, of other code, or removed meanwhile: its records are read
            parquet = pq.ParquetFile(path)
            if not _current(parquet.schema_arrow) or not set(wanted) <= set(parquet.schema_arrow.names):
                continue
            parts.append(_Part(None, parquet.read(columns=[*wanted, STAMP], use_threads=False)))
        except (OSError, ValueError, pa.ArrowException):
            continue
    covered = _mark_live(parts, stamps)
    tables = [p.rows if p.live is None else p.rows.filter(p.live) for p in parts]
    missing = sorted(set(stamps) - covered)
    records = [r for r in (store.get(tid) for tid in missing) if r is not None]
    if records:
        tables.append(_encode_rows(records, [stamps[r.trial_id] for r in records]))
    tables = [t.select(wanted) for t in tables if t.num_rows]
    if not tables:
        return pa.table({name: pa.array([], pa.string()) for name in wanted}).slice(0, 0)
    try:
        table = pa.concat_tables(tables, promote_options="permissive")
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return None
    return table.take(table.column("trial_id").to_numpy(zero_copy_only=False).argsort(kind="stable"))


def stored_trials(store: ResultStore) -> list[StoredTrial]:
    """Every record of ``store`` as a :class:`StoredTrial`, from the dataset where it is fresh.

    The same list as ``store.index()`` (which reads every record), in trial id order.
    """
    table = read_index(store, ["state", "seed", "_cell", "_inputs", "_spec"])
    if table is None or not _is_number(table, "seed"):
        return store.index()
    names = ("trial_id", "state", "seed", "_cell", "_inputs", "_spec")
    return [
        StoredTrial(trial_id=tid, state=state, seed=int(seed), cell_key=cell, inputs=inputs, spec_json=spec)
        for tid, state, seed, cell, inputs, spec in zip(
            *(table.column(c).to_pylist() for c in names), strict=True
        )
    ]


def _is_number(table: pa.Table, column: str) -> bool:
    """Tell whether a column of ``table`` holds numbers only."""
    import pyarrow as pa

    kind = table.schema.field(column).type
    return bool(pa.types.is_floating(kind) or pa.types.is_integer(kind))


def consolidate(directory: Path | str) -> int:
    """Bring the dataset of an experiment directory up to date; return how many trials it holds."""
    return len(open_dataset(ResultStore(Path(directory))))


def _refresh(store: ResultStore, folder: Path, *, write: bool) -> Dataset:
    stamps = _stamps(store)
    parts = _parts_on_disk(folder, write=write) if folder.is_dir() else []
    covered = _mark_live(parts, stamps)
    missing = sorted(set(stamps) - covered)
    for start in range(0, len(missing), PART_TRIALS):
        chunk = missing[start : start + PART_TRIALS]
        rows, tables = _build(store, chunk, stamps)
        if rows.num_rows == 0:  # every one of them left trials/ meanwhile
            continue
        if write:
            parts.append(_write(folder, rows, tables))
        else:
            parts.append(_Part(None, rows, tables=tables))
    if write:
        for p in [p for p in parts if p.n_live == 0]:
            _remove(p)
            parts.remove(p)
        dead = sum(p.rows.num_rows - p.n_live for p in parts)
        total = sum(p.rows.num_rows for p in parts)
        if len(parts) > MAX_PARTS or (parts and dead > MAX_DEAD_SHARE * total):
            parts = [_merge(folder, parts)]
    return Dataset(store, parts)
