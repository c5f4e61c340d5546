"""The result store at study scale: ``signalbench results`` and ``report`` on 10k and 100k trials.

Stores are synthesised from real records replicated: every record of ``--source`` (a folder
``signalbench run`` wrote; without it a small real experiment is run first: cologne8 and
grid4x4, fixed-time and max-pressure, 3 seeds, 600 s) is copied with new seeds (seed + 1000 k)
and a new trial id until the store holds N trials; its Parquet tables are hard links to the
source's (same bytes, no disk cost). The cells stay those of the source, with more seeds each.

For each size, each command runs in a fresh process (``python -m signalbench.cli ...``), and the
wall time and the peak memory (max RSS of that process) are printed:

- ``synthesise dataset`` (default) or, with ``--from-records``, ``results (first)``: the
  consolidated dataset, made from the few source records it replicates (seconds per 1,000
  trials; the same bytes of output, checked on a small store) or built by ``results`` from the
  1 + 3 files of every trial (once; ``signalbench run`` keeps it up to date as trials
  finish; at 100k trials half an hour on a loaded 2-core machine);
- ``results (merge parts)``: the first read merges the dataset's parts into one (once);
- ``results``: ``results DIR --format csv`` with the dataset up to date (the interactive case);
- ``results --summary`` and ``run --dry-run`` (an ad-hoc run planned into the store: the
  completed trial ids are read);
- ``report``: ``report DIR`` (tables, statistics, plots) with the dataset up to date.

Before the stores, the start-up: ``import signalbench`` and ``signalbench --version``.

Targets at 100k trials (issue 18): results <= 10 s; report <= 60 s and <= 2 GB.

    python benchmarks/bench_store.py [--source runs/x] [--sizes 10000,100000] [--work DIR] [--from-records]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TABLES = ("intersections", "approaches", "timeseries")


def _source(work: Path) -> Path:
    """Run the small real experiment the stores are made from (skipped when already there)."""
    out = work / "source"
    if (out / "trials").is_dir() and any((out / "trials").glob("*.json")):
        return out
    cmd = [
        sys.executable, "-m", "signalbench.cli", "run", "--network", "cologne8", "--network", "grid4x4",
        "--controller", "fixed-time", "--controller", "max-pressure", "--seeds", "3",
        "--end-s", "600", "--out", str(out), "--quiet",
    ]  # fmt: skip
    subprocess.run(cmd, check=True)
    return out


def _origin_path(store: Path) -> Path:
    return store.with_name(f"{store.name}.origin.json")


def synthesise(source: Path, dest: Path, n: int) -> int:
    """Write a store of ``n`` trials replicating the complete and failed records of ``source``."""
    records = []
    for path in sorted((source / "trials").glob("*.json")):
        records.append((path, json.loads(path.read_text())))
    if not records:
        raise SystemExit(f"{source}: no trial records")
    trials = dest / "trials"
    trials.mkdir(parents=True)
    made = 0
    k = 0
    origin: dict[str, list[object]] = {}
    while made < n:
        for path, data in records:
            if made >= n:
                break
            tid = (
                hashlib.sha256(f"{data['trial_id']}:{k}".encode()).hexdigest()[:16] if k else data["trial_id"]
            )
            record = dict(data, trial_id=tid, spec=dict(data["spec"], seed=data["spec"]["seed"] + 1000 * k))
            for table in TABLES:
                src = path.with_name(f"{data['trial_id']}.{table}.parquet")
                if src.is_file():
                    os.link(src, trials / f"{tid}.{table}.parquet")
            (trials / f"{tid}.json").write_text(json.dumps(record, indent=1, sort_keys=True))
            origin[tid] = [data["trial_id"], k]
            made += 1
        k += 1
    _origin_path(dest).write_text(json.dumps(origin))
    return len(records)


def synthesise_dataset(source: Path, dest: Path) -> None:
    """Write the consolidated dataset of a store made by :func:`synthesise`, without reading it back.

    ``results (first)`` builds it from the records (one JSON and three Parquet files per trial:
    at 100k trials, half an hour on a loaded 2-core machine). The trials of a synthesised store
    are copies of a few hundred records, so their dataset is made here from those: the source's
    tables once (the dataset's own reader, :func:`_build`), copied with each trial's id and seed,
    and each trial's row encoded from its record as :func:`open_dataset` encodes it, stamped with
    its file's stamp, in parts of the same trials in the same order. ``--check`` compares
    ``results --format csv`` and ``report.md`` on this dataset with those on one built from the
    records (same bytes, on a small store).
    """
    import numpy as np
    import pyarrow as pa

    from signalbench.analysis._dataset import DATASET_DIR, PART_TRIALS, _build, _encode_rows, _stamps, _write
    from signalbench.experiments import ResultStore, TrialResult

    src_store = ResultStore(source)
    src_stamps = _stamps(src_store)
    src_ids = sorted(src_stamps)
    _, src_tables = _build(src_store, src_ids, src_stamps)
    records = {tid: json.loads((source / "trials" / f"{tid}.json").read_text()) for tid in src_ids}
    rows_of = {}
    for name, table in src_tables.items():
        owner = np.asarray(table.column("trial_id").to_pylist(), dtype=object)
        rows_of[name] = {tid: np.flatnonzero(owner == tid) for tid in src_ids}
    store = ResultStore(dest)
    stamps = _stamps(store)
    origin = json.loads(_origin_path(dest).read_text())  # synthetic id -> [source id, k]
    folder = dest / DATASET_DIR
    folder.mkdir(exist_ok=True)
    ids = sorted(stamps)
    for start in range(0, len(ids), PART_TRIALS):
        chunk = ids[start : start + PART_TRIALS]
        results = []
        for tid in chunk:
            src, k = origin[tid]
            data = records[src]
            results.append(
                TrialResult.from_dict(
                    dict(data, trial_id=tid, spec=dict(data["spec"], seed=data["spec"]["seed"] + 1000 * k))
                )
            )
        rows = _encode_rows(results, [stamps[t] for t in chunk])
        tables = {}
        for name, table in src_tables.items():
            complete = [r for r in results if r.state == "complete"]
            take = [rows_of[name][origin[r.trial_id][0]] for r in complete]
            if not sum(len(t) for t in take):
                continue
            part = table.take(pa.array(np.concatenate(take)))
            counts = [len(t) for t in take]
            part = part.set_column(
                part.schema.get_field_index("trial_id"), "trial_id",
                pa.array(np.repeat([r.trial_id for r in complete], counts).tolist(), pa.string()),
            )  # fmt: skip
            if "seed" in part.column_names:
                part = part.set_column(
                    part.schema.get_field_index("seed"), "seed",
                    pa.array(np.repeat([int(r.spec.seed) for r in complete], counts), pa.int64()),
                )  # fmt: skip
            tables[name] = part
        _write(folder, rows, tables)


def _measure(args: list[str]) -> tuple[float, float]:
    """Run ``python -m signalbench.cli ARGS`` (stdout discarded); return wall seconds and peak RSS [MiB]."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "signalbench.cli", *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        assert proc.stderr is not None
        raise SystemExit(f"signalbench {' '.join(args)} failed: {proc.stderr.read().decode()[-2000:]}")
    return wall, usage.ru_maxrss / 1024.0  # Linux: KiB


def _measure_python(code: str) -> tuple[float, float]:
    """Run ``python -c CODE`` in a fresh process; return wall seconds and peak RSS [MiB]."""
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"python -c {code!r} failed")
    return time.perf_counter() - start, usage.ru_maxrss / 1024.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, help="experiment folder whose records are replicated")
    parser.add_argument("--sizes", default="10000,100000", help="store sizes, comma-separated")
    parser.add_argument("--work", type=Path, help="folder for the stores (default: a temporary one)")
    parser.add_argument(
        "--from-records", action="store_true",
        help="build the dataset from the records (results (first)) instead of synthesising it",
    )  # fmt: skip
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    work = args.work or Path(tempfile.mkdtemp(prefix="bench-store-"))
    work.mkdir(parents=True, exist_ok=True)
    source = args.source or _source(work)
    print(f"source: {source} | stores under {work}")
    print(f"{'trials':>8} | {'step':<22} | {'wall s':>8} | {'peak MiB':>9} | target")

    def line(n: object, step: str, wall: float, peak: float | str, note: str = "") -> None:
        peak_text = f"{peak:9.0f}" if isinstance(peak, float) else f"{peak:>9}"
        print(f"{n:>8} | {step:<22} | {wall:8.1f} | {peak_text} | {note}", flush=True)

    for step, code in (
        ("import signalbench", "import signalbench"),
        ("signalbench --version", "import sys; sys.argv = ['signalbench', '--version']\n"
         "from signalbench.cli import main\ntry:\n    main()\nexcept SystemExit:\n    pass"),
    ):  # fmt: skip
        wall, peak = _measure_python(code)
        line("-", step, wall, peak)
    try:
        for n in sizes:
            store = work / f"store-{n}"
            shutil.rmtree(store, ignore_errors=True)
            start = time.perf_counter()
            distinct = synthesise(source, store, n)
            line(
                n,
                "synthesise records",
                time.perf_counter() - start,
                "",
                f"({distinct} real records replicated)",
            )
            big = n >= 100_000
            if args.from_records:
                wall, peak = _measure(["results", str(store), "--format", "csv"])
                line(n, "results (first)", wall, peak, "(builds the dataset from the records, once)")
            else:
                start = time.perf_counter()
                synthesise_dataset(source, store)
                line(
                    n,
                    "synthesise dataset",
                    time.perf_counter() - start,
                    "",
                    "(its parts, as a run writes them)",
                )
                wall, peak = _measure(["results", str(store), "--format", "csv"])
                line(n, "results (merge parts)", wall, peak, "(first read merges the parts, once)")
            for step, cmd, target in (
                ("results", ["results", str(store), "--format", "csv"], "<= 10 s" if big else ""),
                ("results --summary", ["results", str(store), "--summary"], ""),
                ("run --dry-run", ["run", "--network", "cologne8", "--controller", "fixed-time",
                                   "--seeds", "3", "--out", str(store), "--dry-run"], ""),
                ("report", ["report", str(store), "--out", str(work / f"report-{n}")],
                 "<= 60 s, <= 2048 MiB" if big else ""),
            ):  # fmt: skip
                wall, peak = _measure(cmd)
                line(n, step, wall, peak, target)
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
