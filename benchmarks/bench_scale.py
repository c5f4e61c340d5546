"""One big simulation: 128, 256 and 1,024 signals against bare SUMO, measured side by side.

For each city preset (``city-128``, ``city-256``, ``city-1024``; the first ``--duration`` simulated
seconds of each, seed 1, libsumo), every variant runs as its own process, repeats interleaved
(variant order rotates each round). Printed per variant: the **CPU time** of the whole process
tree (user + system of the process and every child it waited for, from ``wait4``: SUMO itself,
and for the command its ``sumo`` child) and the wall time, minimum and median of each, simulated
seconds per wall second, peak memory (``wait4``'s ``ru_maxrss``), and each variant's ratio to its
baseline by CPU time and by wall time, from this one run.

**The targets are judged by CPU time (minimum over the repeats).** On a shared machine the wall
time of a run depends on what the other jobs do (on this 2-core VM a 300 s city-128 run took 25
to 110 s of wall time for the same ~10 s of CPU), while the CPU a process tree uses for the same
simulation moves by a few percent; the minimum is the run least disturbed (cache and
frequency effects of the neighbours), the median shows the spread. Wall time is printed beside
it for a machine of one's own.

- ``bare``: plain ``sumo`` with the network's own programs, tripinfo + statistics (the floor);
- ``bare+detectors``: the same plus signalbench's intersection-metrics file (edgeData of the
  approaches, switch times; not the opt-in E2 detectors of ``[metrics] queue_max``, whose cost
  ``bench_detectors.py`` measures): what the metrics cost SUMO;
- ``fixed-time``: ``signalbench run --controller fixed-time`` (the whole command: interpreter,
  imports, planning, network model, full intersection metrics, the record, the store and the
  summary table), against ``bare``;
- ``fixed-time trial``: one fixed-time trial (``signalbench.experiments.run_trial``, full
  intersection metrics, the defaults) in a process that imported signalbench first: the CPU the trial itself
  used (this process + its ``sumo`` child), what a batch pays per trial; against ``bare``;
- ``max-pressure``: the decision loop at 5 s, all lights in one vectorised call
  (``signalbench.runtime.Episode`` through a ``Session``, outputs as ``bare``), recording
  the signal timeline it sets; against ``replay``;
- ``max-pressure/light``: the same with the per-light path (one observation and one ``act``
  per light), for the vectorisation's gain;
- ``replay``: plain ``sumo`` running max-pressure's recorded timeline as static programs (so
  both simulate the same signals and traffic);
- ``replay/libsumo``: the same replay inside a Python process through libsumo, no control (one
  step to the end): what running SUMO in-process costs by itself, against ``replay``.

For max-pressure it also prints, per decision, the CPU of the control path (observe, decide,
actuate: the episode's CPU outside SUMO's start, steps and close), of the decide call alone, and
the process's set-up before the episode (interpreter, imports, network model) by CPU.

    python benchmarks/bench_scale.py [--sizes 128 256 1024] [--duration 600 600 300] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from xml.sax.saxutils import quoteattr

#: What each variant's ratio is taken against.
_BASE = {
    "fixed-time": "bare",
    "fixed-time trial": "bare",
    "bare+detectors": "bare",
    "max-pressure": "replay",
    "max-pressure/light": "replay",
    "replay/libsumo": "replay",
}
VARIANTS = (
    "bare",
    "bare+detectors",
    "fixed-time",
    "fixed-time trial",
    "max-pressure",
    "max-pressure/light",
    "replay",
    "replay/libsumo",
)


def _scenario(signals: int, duration: float) -> Any:
    import dataclasses

    from signalbench.networks import PRESETS, generated_scenario

    entry = dict(PRESETS[f"city-{signals}"])
    flow = float(entry.pop("flow_veh_h"))
    name = entry.pop("name")
    sc = generated_scenario(entry, flow_veh_h=flow, seed=1, name=name)
    return dataclasses.replace(sc, end_s=sc.begin_s + duration)


def _config(sc: Any, out: Path, extra: tuple[Path, ...] = ()) -> Any:
    from signalbench.runtime import Session

    out.mkdir(parents=True, exist_ok=True)
    return Session(sc).config(seed=1, outdir=out).with_additional(extra)


def write_replay(timelines: dict[str, list[tuple[float, str]]], end_s: float, path: Path) -> Path:
    """Write each light's recorded signal timeline as a static program (the last one loaded runs)."""
    lines = ["<additional>"]
    for tls, timeline in timelines.items():
        changes: list[tuple[float, str]] = []
        for t, state in timeline:
            if changes and changes[-1][0] == t:
                changes[-1] = (t, state)
            else:
                changes.append((t, state))
        lines.append(f'    <tlLogic id={quoteattr(tls)} type="static" programID="sb-replay" offset="0">')
        for (t, state), nxt in zip(changes, [*changes[1:], (end_s + 3600.0, "")], strict=True):
            lines.append(f'        <phase duration="{nxt[0] - t:g}" state="{state}"/>')
        lines.append("    </tlLogic>")
    lines.append("</additional>")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _cpu_now() -> tuple[float, float]:
    """CPU time [s] of this process and of the children it has waited for (user + system each)."""
    import resource

    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime, kids.ru_utime + kids.ru_stime


def child_trial(signals: int, duration: float, workdir: Path) -> None:
    """Run one fixed-time trial after the imports; print its CPU and wall time as a JSON line."""
    from signalbench.experiments import run_trial, spec_from_dict

    spec = spec_from_dict(
        {
            "name": "bench-scale",
            "seeds": [1],
            "networks": [{"id": f"city-{signals}"}],
            "controllers": [{"id": "fixed-time"}],
            "sim": {"duration_s": duration},
        },
        source="bench_scale",
    )
    (trial,) = spec.trials()
    (me, kids), wall = _cpu_now(), time.perf_counter()
    result = run_trial(trial, workdir / "ft-trial")
    (me2, kids2), wall = _cpu_now(), time.perf_counter() - wall
    if result.state != "complete":
        raise SystemExit(f"fixed-time trial failed: {result.error}")
    assert result.tables, "the trial measured no intersection tables"
    python, sumo = me2 - me, kids2 - kids
    print(
        json.dumps(
            {"trial_cpu_s": python + sumo, "python_cpu_s": python, "sumo_cpu_s": sumo, "trial_wall_s": wall}
        )
    )


def child_replay(signals: int, duration: float, workdir: Path) -> None:
    """Run max-pressure's replay through libsumo without control; print SUMO's CPU as a JSON line."""
    from signalbench.runtime import Session

    sc = _scenario(signals, duration)
    config = _config(sc, workdir / "replay-libsumo", (workdir / "replay.add.xml",))
    backend = Session(sc).backend()
    cpu = time.process_time()
    backend.start(config)
    backend.step_until(sc.end_s)
    backend.close()
    print(json.dumps({"sumo_cpu_s": time.process_time() - cpu}))


def child(kind: str, signals: int, duration: float, workdir: Path) -> None:
    """Run one Python-side variant in this process; print a JSON line."""
    if kind == "fixed-time trial":
        child_trial(signals, duration, workdir)
        return
    if kind == "replay/libsumo":
        child_replay(signals, duration, workdir)
        return
    from signalbench.controllers import registry
    from signalbench.runtime import Session
    from signalbench.signals import SignalTiming

    sc = _scenario(signals, duration)
    session = Session(sc)
    out = workdir / f"{kind.replace('/', '-')}-out"
    out.mkdir(parents=True, exist_ok=True)
    config = session.config(seed=1, outdir=out)
    backend = session.backend()
    session.model  # noqa: B018  (built here, counted in the set-up)
    in_sumo = [0.0]  # SUMO's own CPU: start (loading), steps, close (writing outputs)

    def timed(fn: Any) -> Any:
        def call(*args: Any) -> Any:
            a = time.process_time()
            try:
                return fn(*args)
            finally:
                in_sumo[0] += time.process_time() - a

        return call

    backend.step_until = timed(backend.step_until)  # type: ignore[method-assign]
    backend.start = timed(backend.start)  # type: ignore[method-assign]
    backend.close = timed(backend.close)  # type: ignore[method-assign]
    episode = session.episode(
        registry.build("max-pressure"),
        config=config,
        timing=SignalTiming(),
        decision_interval_s=5.0,
        backend=backend,
        record_timelines=True,
        batch=kind == "max-pressure",
    )
    setup = time.process_time()
    a = time.process_time()
    stats = episode.run()
    loop = time.process_time() - a
    if kind == "max-pressure":
        write_replay(stats.timelines, sc.end_s, workdir / "replay.add.xml")
    print(
        json.dumps(
            {
                "decisions": stats.decisions,
                "control_cpu_s": loop - in_sumo[0],
                "sumo_cpu_s": in_sumo[0],
                "decide_s": stats.controller_time_s,
                "setup_cpu_s": setup,
            }
        )
    )


def _run(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, float, float, str]:
    """Wall time [s], CPU time of the process tree [s], peak RSS [MiB] and stdout of one process."""
    start = time.perf_counter()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=env)
        # wait4's rusage covers the process and every descendant it waited for (sumo children).
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if proc.returncode != 0:
            raise SystemExit(f"failed: {' '.join(cmd)}\n{err.read().decode()[-3000:]}")
        cpu = usage.ru_utime + usage.ru_stime
        return wall, cpu, usage.ru_maxrss / 1024.0, out.read().decode()


def _order(variants: list[str], rep: int) -> list[str]:
    """This round's order: rotated by ``rep``, the replays right after the max-pressure run they replay."""
    order = variants[rep % len(variants) :] + variants[: rep % len(variants)]
    if "max-pressure" in order:  # the replays need this round's timeline
        for replay in ("replay/libsumo", "replay"):
            if replay in order:
                order.remove(replay)
                order.insert(order.index("max-pressure") + 1, replay)
    elif {"replay", "replay/libsumo"} & set(order):
        raise SystemExit("the replay variants replay max-pressure: add --variants max-pressure")
    return order


def measure(signals: int, duration: float, repeats: int, variants: list[str]) -> dict[str, Any]:
    from signalbench.metrics import write_measurement_file
    from signalbench.networks import load_network_model
    from signalbench.sim import sumo_binary, sumo_env

    sc = _scenario(signals, duration)
    a = time.process_time()
    model = load_network_model(sc.net_file)
    model_s = time.process_time() - a
    walls: dict[str, list[float]] = {v: [] for v in variants}
    cpus: dict[str, list[float]] = {v: [] for v in variants}
    rss: dict[str, float] = {}
    control: dict[str, list[dict[str, float]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        measures = write_measurement_file(model, work / "det", interval_s=300.0)
        binary = str(sumo_binary())
        for rep in range(repeats):
            for v in _order(variants, rep):
                env = None
                if v == "bare":
                    cmd = _config(sc, work / "bare").command(binary)
                    env = sumo_env()
                elif v == "bare+detectors":
                    cmd = _config(sc, work / "det", (measures,)).command(binary)
                    env = sumo_env()
                elif v == "replay":
                    cmd = _config(sc, work / "replay", (work / "replay.add.xml",)).command(binary)
                    env = sumo_env()
                elif v == "fixed-time":
                    cmd = [sys.executable, "-m", "signalbench.cli", "run", "--network", f"city-{signals}"]
                    cmd += ["--controller", "fixed-time", "--seeds", "1", "--duration-s", f"{duration:g}"]
                    cmd += ["--launcher", "serial", "--quiet", "--out", str(work / f"ft{rep}")]
                else:
                    cmd = [sys.executable, __file__, "--child", v, str(signals), f"{duration:g}", str(work)]
                wall, cpu, peak, out = _run(cmd, env)
                rss[v] = max(rss.get(v, 0.0), peak)
                if v == "fixed-time trial":  # the trial alone, without the process's start-up
                    trial = json.loads(out.strip().splitlines()[-1])
                    wall, cpu = trial["trial_wall_s"], trial["trial_cpu_s"]
                walls[v].append(wall)
                cpus[v].append(cpu)
                if v.startswith("max-pressure") or v in ("replay/libsumo", "fixed-time trial"):
                    control.setdefault(v, []).append(json.loads(out.strip().splitlines()[-1]))
                load = os.getloadavg()[0]
                print(f"  city-{signals} {v}: cpu {cpu:.1f} s, wall {wall:.1f} s, load {load:.1f}",
                      file=sys.stderr, flush=True)  # fmt: skip
    return {
        "walls": walls,
        "cpus": cpus,
        "rss": rss,
        "control": control,
        "model_s": model_s,
        "lights": len(model.intersections),
    }


def _ratio(values: dict[str, list[float]], v: str) -> str:
    base = _BASE.get(v)
    if base not in values or not values[base] or not values[v]:
        return ""
    return f"{min(values[v]) / min(values[base]):.2f}x"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", nargs="+", type=int, default=[128, 256, 1024])
    parser.add_argument("--duration", nargs="+", type=float, default=[600.0, 600.0, 300.0],
                        help="simulated seconds per size (one value: all sizes)")  # fmt: skip
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=VARIANTS)
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, signals, duration, workdir = args.child
        child(kind, int(signals), float(duration), Path(workdir))
        return
    durations = args.duration * len(args.sizes) if len(args.duration) == 1 else args.duration
    results = {}
    load = os.getloadavg()[0]
    for signals, duration in zip(args.sizes, durations, strict=True):
        results[signals] = (duration, measure(signals, duration, args.repeats, list(args.variants)))
    print(f"\nrepeats {args.repeats}, load average {load:.1f} at the start, "
          f"{os.getloadavg()[0]:.1f} at the end; ratios of minima; targets judged by CPU")  # fmt: skip
    print(f"{'network':<10} {'sim s':>5} {'variant':<19} {'cpu min':>7} {'median':>7} {'cpu ratio':>9} "
          f"{'wall min':>8} {'median':>7} {'wall ratio':>10} {'base':<7} {'sim-s/s':>7} "
          f"{'peak MiB':>8}")  # fmt: skip
    for signals, (duration, res) in results.items():
        walls, cpus = res["walls"], res["cpus"]
        for v, w in walls.items():
            c = cpus[v]
            print(f"city-{signals:<5} {duration:5.0f} {v:<19} {min(c):7.2f} {statistics.median(c):7.2f} "
                  f"{_ratio(cpus, v):>9} {min(w):8.1f} {statistics.median(w):7.1f} {_ratio(walls, v):>10} "
                  f"{_BASE.get(v, ''):<7} {duration / min(w):7.1f} {res['rss'][v]:8.0f}")  # fmt: skip
        for v, runs in res["control"].items():
            if v == "fixed-time trial":
                best = min(runs, key=lambda c: c["trial_cpu_s"])
                print(f"city-{signals:<5} fixed-time trial: Python {best['python_cpu_s']:.2f} s CPU (model, "
                      f"files, reading the outputs, record), sumo {best['sumo_cpu_s']:.2f} s")  # fmt: skip
                continue
            if v == "replay/libsumo":
                sumo = min(r["sumo_cpu_s"] for r in runs)
                plain = f" (plain sumo: {min(cpus['replay']):.2f} s)" if cpus.get("replay") else ""
                print(f"city-{signals:<5} replay/libsumo: SUMO start, steps, close {sumo:.2f} s CPU{plain}")
                continue
            best = min(runs, key=lambda c: c["control_cpu_s"])
            n = max(best["decisions"], 1)
            print(f"city-{signals:<5} {v}: {best['decisions']} decisions of {res['lights']} lights; CPU per "
                  f"decision: control path {1000 * best['control_cpu_s'] / n:.2f} ms (decide alone "
                  f"{1000 * best['decide_s'] / n:.2f} ms), SUMO {1000 * best['sumo_cpu_s'] / n:.1f} ms; "
                  f"set-up {best['setup_cpu_s']:.2f} s CPU")  # fmt: skip
        print(f"city-{signals:<5} network model read in {res['model_s']:.2f} s CPU (disk cache: once built)")


if __name__ == "__main__":
    main()
