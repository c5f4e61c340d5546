"""The cost of sensing: each model's episode wall time against perfect lane truths, same run.

For each network, each controller and each sensing model, the same seeded episode (libsumo,
the network's window, teleports off) is run ``--repeat`` times, the models interleaved so that
a busy machine slows them alike; the best time of each is compared with perfect sensing's.
Times are the process's CPU time (SUMO runs in it through libsumo), which other work on a
shared machine disturbs far less than wall time.
The target (issue 17): loops and cameras at most 1.2x perfect.

    python benchmarks/bench_sensing.py                     # cologne8 and ingolstadt21, 3 repeats
    python benchmarks/bench_sensing.py --networks cologne8 --duration-s 900 --repeat 2

The controllers read what a real one reads but switch on a fixed 30 s cycle, so that the
traffic, and SUMO's own work, are the same under every model and the difference is the cost
of sensing: ``counts`` reads halting counts every 5 s (as max-pressure; every model gives
them), ``positions`` reads vehicle positions every second (as actuated; loops give their
gaps instead): the cheapest and the costliest reading a model serves.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from signalbench.controllers import BuiltController, IntersectionObs, PhaseRequest, Traits
from signalbench.networks import resolve_network
from signalbench.runtime import Session, SimOptions
from signalbench.sensing import SensingConfig, SensingModel, parse_sensing, sensing_model
from signalbench.signals import SignalTiming

MODELS: dict[str, dict[str, object]] = {
    "perfect": {"model": "perfect"},
    "loops": {"model": "loops"},
    "cameras": {"model": "cameras"},
    "connected-20": {"model": "connected", "params": {"penetration": 0.2}},
}


def _model(raw: dict[str, object]) -> SensingModel:
    config, problems = parse_sensing(raw, where="model")
    assert isinstance(config, SensingConfig), problems
    return sensing_model(config)


class _Cycle:
    """Reads every observation (as a controller would), switches to the next phase every 30 s."""

    def reset(self, network: object, rng: object) -> None:
        self.read = 0.0

    def act(self, obs: dict[str, IntersectionObs]) -> dict[str, PhaseRequest]:
        out = {}
        for tls, o in obs.items():
            self.read += float(o.in_halting.sum()) if o.observes("halting_count") else 0.0
            self.read += sum(len(lane) for lane in o.in_lane_vehicles)
            if o.in_gap_s is not None:
                self.read += float(o.in_gap_s.min(initial=0.0))
            if not o.in_transition and o.time_in_phase_s >= 30.0:
                out[tls] = PhaseRequest.switch((o.phase + 1) % o.n_phases)
        return out


READERS: dict[str, Traits] = {
    "counts": Traits(scope="network", decision_interval_s=5.0, observed_fields=("halting_count",)),
    "positions": Traits(
        scope="network",
        decision_interval_s=1.0,
        observed_fields=("vehicles",),
        alternative_fields=(("gap_s",),),
    ),
}


def _episode_s(session: Session, reader: str, sensing: SensingModel, seed: int) -> float:
    with tempfile.TemporaryDirectory() as out:
        built = BuiltController(name=reader, traits=READERS[reader], policy=_Cycle())
        config = session.config(seed=seed, outdir=Path(out), statistics=False)
        started = time.process_time()
        session.episode(built, config=config, timing=SignalTiming(), sensing=sensing).run()
        return time.process_time() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--networks", nargs="+", default=["cologne8-v0", "ingolstadt21-v0"])
    parser.add_argument("--readers", nargs="+", default=list(READERS), choices=list(READERS))
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    parser.add_argument("--duration-s", type=float, default=None, help="first seconds of each window")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    lines = [
        "| network | reads | "
        + " | ".join(f"{m} [s]" for m in args.models)
        + " | "
        + " | ".join(f"{m} / perfect" for m in args.models if m != "perfect")
        + " |",
        "| --- | --- | "
        + " | ".join("---:" for _ in args.models) * 1
        + " | "
        + " | ".join("---:" for m in args.models if m != "perfect")
        + " |",
    ]
    models = {name: _model(MODELS[name]) for name in args.models}
    for net in args.networks:
        scenario = resolve_network(net)
        if args.duration_s:
            scenario = scenario.shortened(args.duration_s)
        session = Session(scenario, SimOptions())
        _ = session.model  # read the network once, outside the timings
        for controller in args.readers:
            times: dict[str, list[float]] = {m: [] for m in args.models}
            for _rep in range(args.repeat):
                for name, sensing in models.items():
                    times[name].append(_episode_s(session, controller, sensing, seed=1))
            best = {m: min(t) for m, t in times.items()}
            spread = {m: statistics.pstdev(t) for m, t in times.items()}
            ratios = [f"{best[m] / best['perfect']:.2f}x" for m in args.models if m != "perfect"]
            cells = [f"{best[m]:.2f} (±{spread[m]:.2f})" for m in args.models]
            lines.append(f"| {net} | {controller} | " + " | ".join(cells) + " | " + " | ".join(ratios) + " |")
            print(lines[-1], flush=True)
    print()
    print(
        f"Best of {args.repeat} episode CPU times [s] (± spread), libsumo, seed 1, "
        f"{'the first ' + format(args.duration_s, 'g') + ' s' if args.duration_s else 'the whole window'}"
    )
    print("\n".join(lines))


if __name__ == "__main__":
    main()
