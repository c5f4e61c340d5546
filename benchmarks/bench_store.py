"""The result store at study scale: ``signalbench results`` and ``report`` on 10k and 100k trials.

Stores are synthesised from real records replicated: every record of ``--source`` (a folder
``signalbench run`` wrote; without it a small real experiment is run first: cologne8 and
grid4x4, fixed-time and max-pressure, 3 seeds, 600 s) is copied with new seeds (seed + 1000 k)
and a new trial id until the store holds N trials; its Parquet tables are hard links to the
source's (same bytes, no disk cost). The cells stay those of the source, with more seeds each.

For each size, each command runs in a fresh process (``python -m signalbench.cli ...``), and the
wall time and the peak memory (max RSS of that process) are printed:

- ``results (first)``: ``results DIR --format csv`` on records only: builds the consolidated
  dataset from the 1 + 3 files of every trial (once; ``signalbench run`` keeps it up to date
  as trials finish);
- ``results``: the same command with the dataset up to date (the interactive case);
- ``report``: ``report DIR`` (tables, statistics, plots) with the dataset up to date.

Targets at 100k trials (issue 18): results <= 10 s; report <= 60 s and <= 2 GB.

    python benchmarks/bench_store.py [--source runs/x] [--sizes 10000,100000] [--work DIR]
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
            made += 1
        k += 1
    return len(records)


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, help="experiment folder whose records are replicated")
    parser.add_argument("--sizes", default="10000,100000", help="store sizes, comma-separated")
    parser.add_argument("--work", type=Path, help="folder for the stores (default: a temporary one)")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    work = args.work or Path(tempfile.mkdtemp(prefix="bench-store-"))
    work.mkdir(parents=True, exist_ok=True)
    source = args.source or _source(work)
    print(f"source: {source} | stores under {work}")
    print(f"{'trials':>8} | {'step':<16} | {'wall s':>8} | {'peak MiB':>9} | target")
    try:
        for n in sizes:
            store = work / f"store-{n}"
            shutil.rmtree(store, ignore_errors=True)
            start = time.perf_counter()
            distinct = synthesise(source, store, n)
            print(f"{n:>8} | {'synthesise':<16} | {time.perf_counter() - start:8.1f} | {'':>9} | "
                  f"({distinct} real records replicated)")  # fmt: skip
            big = n >= 100_000
            for step, cmd, target in (
                ("results (first)", ["results", str(store), "--format", "csv"], ""),
                ("results", ["results", str(store), "--format", "csv"], "<= 10 s" if big else ""),
                ("report", ["report", str(store), "--out", str(work / f"report-{n}")],
                 "<= 60 s, <= 2048 MiB" if big else ""),
            ):  # fmt: skip
                wall, peak = _measure(cmd)
                print(f"{n:>8} | {step:<16} | {wall:8.1f} | {peak:9.0f} | {target}", flush=True)
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
