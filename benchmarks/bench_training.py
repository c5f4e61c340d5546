"""Independent trainings at once: the training phase of an experiment with ``--workers 1`` and ``N``.

An experiment with ``R`` q-learning recipes on one network (each ``E`` episodes of a window of
``D`` simulated seconds, libsumo) trains ``R`` independent checkpoints before its trials. Each
run starts from an empty cache (its own folder); the training phase is timed from the start of
``run_experiment`` to the last training episode's report (the process launcher trains before
any trial starts). Repeats interleave the worker counts; printed: the training phase's wall
time per worker count (minimum and median), their ratio, and whether every run trained the
same checkpoints byte for byte.

    python benchmarks/bench_training.py [--network cologne1-v0] [--recipes 2] [--episodes 3]
        [--duration-s 600] [--workers 2] [--repeats 2]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import tempfile
import time
from pathlib import Path


def _run(
    network: str, recipes: int, episodes: int, duration_s: int, workers: int, root: Path
) -> tuple[float, dict[str, str]]:
    os.environ["SIGNALBENCH_CACHE"] = str(root / "cache")
    from signalbench.experiments import LaunchOptions, run_experiment, spec_from_dict

    spec = spec_from_dict(
        {
            "name": "bench-training",
            "seeds": [1],
            "sim": {"duration_s": duration_s},
            "networks": [network],
            "controllers": [
                {"id": "q-learning", "label": f"q{k}", "train": {"episodes": episodes, "seeds": [100 + k]}}
                for k in range(recipes)
            ],
        }
    )
    last = [0.0]
    started = time.perf_counter()

    def heard(*_: object) -> None:
        last[0] = time.perf_counter()

    run_experiment(spec, root / "out", options=LaunchOptions(workers=workers), on_training=heard)
    digests = {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in (root / "cache" / "checkpoints").glob("*.json")
    }
    return last[0] - started, digests


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--network", default="cologne1-v0")
    parser.add_argument("--recipes", type=int, default=2)
    parser.add_argument("--episodes", type=int, default=3)
    parser.add_argument("--duration-s", type=int, default=600)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    counts = (1, args.workers)
    walls: dict[int, list[float]] = {w: [] for w in counts}
    seen: set[tuple[tuple[str, str], ...]] = set()
    with tempfile.TemporaryDirectory(prefix="bench-training-") as tmp:
        for repeat in range(args.repeats):
            for workers in counts:
                root = Path(tmp) / f"{repeat}-{workers}"
                wall, digests = _run(
                    args.network, args.recipes, args.episodes, args.duration_s, workers, root
                )
                walls[workers].append(wall)
                seen.add(tuple(sorted(digests.items())))
                print(f"repeat {repeat + 1} workers {workers}: training {wall:.1f} s", flush=True)
    print(
        f"{args.recipes} recipes x {args.episodes} episodes x {args.duration_s} s on {args.network}, "
        f"load average {os.getloadavg()[0]:.1f} at the end"
    )
    for workers in counts:
        print(
            f"workers {workers}: training phase min {min(walls[workers]):.1f} s, "
            f"median {statistics.median(walls[workers]):.1f} s"
        )
    ratio = statistics.median(walls[args.workers]) / statistics.median(walls[1])
    print(f"ratio of medians (workers {args.workers} / workers 1): {ratio:.2f}")
    print(f"same checkpoints in every run: {len(seen) == 1}")


if __name__ == "__main__":
    main()
