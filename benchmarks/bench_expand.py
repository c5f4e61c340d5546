"""Cost of the content-based trial ids: expanding and planning the RESCO spec (3,360 trials).

Measured in one process, side by side (minimum of ``--repeats``):

- ``load``: reading and validating ``experiments/resco.toml``;
- ``expand``: ``spec.trials()`` with every input fingerprinted (each network file, controller
  source and signalbench's own code hashed once per call), then every trial id;
- ``expand, no inputs``: the same expansion with the fingerprints left out (what the ids
  cost before they covered file contents), for the ratio;
- ``plan``: deciding what a run does with each trial against a store holding a record of
  every trial (the resume case: all reused).

    python benchmarks/bench_expand.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
import time
from pathlib import Path

from signalbench.experiments import (
    Fingerprinter,
    ResultStore,
    TrialResult,
    load_spec,
    plan_trials,
)


def _best(fn, repeats: int) -> tuple[float, object]:
    best, value = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        value = fn()
        best = min(best, time.perf_counter() - start)
    return best, value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    load_s, spec = _best(lambda: load_spec("resco"), args.repeats)
    expand_s, trials = _best(lambda: [t for t in spec.trials() if t.trial_id], args.repeats)

    original = Fingerprinter.fingerprinted
    Fingerprinter.fingerprinted = lambda self, trial: trial  # type: ignore[method-assign]
    try:
        bare_s, _ = _best(lambda: [t for t in spec.trials() if t.trial_id], args.repeats)
    finally:
        Fingerprinter.fingerprinted = original  # type: ignore[method-assign]

    with tempfile.TemporaryDirectory() as tmp:
        store = ResultStore(Path(tmp))
        for t in trials:
            store.put(
                TrialResult(trial_id=t.trial_id, spec=t, state="complete", metrics={"mean_delay_s": 1.0})
            )
        plan_s, plan = _best(lambda: plan_trials(trials, store), args.repeats)
        relabelled = [dataclasses.replace(t, label=t.label + "-x") for t in trials]
        rename_s, renamed = _best(lambda: plan_trials(relabelled, store), args.repeats)

    n = len(trials)
    print(f"RESCO spec: {n} trials, {len({t.trial_id for t in trials})} distinct ids")
    print(f"load spec                 {load_s:7.3f} s")
    print(f"expand + ids              {expand_s:7.3f} s  ({1e6 * expand_s / n:.0f} us per trial)")
    print(f"expand + ids, no inputs   {bare_s:7.3f} s  -> inputs cost x{expand_s / bare_s:.2f}")
    print(f"plan, all {n} reused    {plan_s:7.3f} s  ({plan.reused} reused)")
    print(f"plan, every label changed {rename_s:7.3f} s  ({len(renamed.renamed)} to rename)")


if __name__ == "__main__":
    main()
