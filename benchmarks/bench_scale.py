"""One big simulation: 128, 256 and 1,024 signals against bare SUMO, measured side by side.

For each city preset (``city-128``, ``city-256``, ``city-1024``; the first ``--duration`` simulated
seconds of each, seed 1, libsumo), every variant runs as its own process, repeats interleaved
(variant order rotates each round); printed: minimum and median wall time, simulated seconds
per wall second, peak memory of the process (``wait4`` rusage) and ratios from this one run:

- ``bare``: plain ``sumo`` with the network's own programs, tripinfo + statistics (the floor);
- ``bare+detectors``: the same plus signalbench's intersection-metrics file (E2 on every
  incoming lane, edgeData, switch times): what those detectors cost SUMO;
- ``fixed-time``: ``signalbench run --controller fixed-time`` (the whole command: imports,
  network model, full intersection metrics, the record and the summary table), against
  ``bare``; ``fixed-time trial`` is the trial's own wall time from its record (what a batch
  pays per trial; the command's fixed start-up, ~5-10 s here, is paid once per batch);
- ``max-pressure``: the decision loop at 5 s, all lights in one vectorised call
  (``signalbench.runtime.Episode`` through a ``Session``, outputs as ``bare``), recording
  the signal timeline it sets; against ``replay``;
- ``max-pressure/light``: the same with the per-light path (one observation and one ``act``
  per light), for the vectorisation's gain;
- ``replay``: plain ``sumo`` running max-pressure's recorded timeline as static programs (so
  both simulate the same signals and traffic).

For max-pressure it also prints milliseconds per decision of the control path (observe, decide,
actuate: the episode's wall time outside SUMO's steps) and of the decide call alone.

    python benchmarks/bench_scale.py [--sizes 128 256 1024] [--duration 600 600 300] [--repeats 2]
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
}
VARIANTS = ("bare", "bare+detectors", "fixed-time", "max-pressure", "max-pressure/light", "replay")


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


def child(kind: str, signals: int, duration: float, workdir: Path) -> None:
    """Run one controlled variant in this process; print a JSON line."""
    from signalbench.controllers import registry
    from signalbench.runtime import Session
    from signalbench.signals import SignalTiming

    started = time.perf_counter()
    sc = _scenario(signals, duration)
    session = Session(sc)
    out = workdir / f"{kind.replace('/', '-')}-out"
    out.mkdir(parents=True, exist_ok=True)
    config = session.config(seed=1, outdir=out)
    backend = session.backend()
    in_sumo = [0.0]  # SUMO's own time: start (loading), steps, close (writing outputs)

    def timed(fn: Any) -> Any:
        def call(*args: Any) -> Any:
            a = time.perf_counter()
            try:
                return fn(*args)
            finally:
                in_sumo[0] += time.perf_counter() - a

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
    a = time.perf_counter()
    stats = episode.run()
    loop = time.perf_counter() - a
    if kind == "max-pressure":
        write_replay(stats.timelines, sc.end_s, workdir / "replay.add.xml")
    print(
        json.dumps(
            {
                "decisions": stats.decisions,
                "control_s": loop - in_sumo[0],
                "decide_s": stats.controller_time_s,
                "setup_s": a - started,
            }
        )
    )


def _run(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, float, str]:
    """Wall time [s], peak RSS [MiB] and stdout of one process."""
    start = time.perf_counter()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if proc.returncode != 0:
            raise SystemExit(f"failed: {' '.join(cmd)}\n{err.read().decode()[-3000:]}")
        return wall, usage.ru_maxrss / 1024.0, out.read().decode()


def measure(signals: int, duration: float, repeats: int, variants: list[str]) -> dict[str, Any]:
    from signalbench.metrics import write_measurement_file
    from signalbench.networks import load_network_model
    from signalbench.sim import sumo_binary, sumo_env

    sc = _scenario(signals, duration)
    a = time.perf_counter()
    model = load_network_model(sc.net_file)
    model_s = time.perf_counter() - a
    walls: dict[str, list[float]] = {v: [] for v in variants}
    rss: dict[str, float] = {}
    control: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        measures = write_measurement_file(model, work / "det", interval_s=300.0)
        binary = str(sumo_binary())
        for rep in range(repeats):
            order = variants[rep % len(variants) :] + variants[: rep % len(variants)]
            if "replay" in order and "max-pressure" in order:  # replay needs this round's timeline
                order.remove("replay")
                order.insert(order.index("max-pressure") + 1, "replay")
            for v in order:
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
                wall, peak, out = _run(cmd, env)
                walls[v].append(wall)
                if v == "fixed-time":
                    record = next((work / f"ft{rep}" / "trials").glob("*.json"))
                    walls.setdefault("fixed-time trial", []).append(
                        json.loads(record.read_text())["wall_time_s"]
                    )
                    rss["fixed-time trial"] = rss[v] = max(rss.get(v, 0.0), peak)
                rss[v] = max(rss.get(v, 0.0), peak)
                if v.startswith("max-pressure"):
                    control[v] = json.loads(out.strip().splitlines()[-1])
                print(f"  city-{signals} {v}: {wall:.1f} s", file=sys.stderr, flush=True)
    return {
        "walls": walls,
        "rss": rss,
        "control": control,
        "model_s": model_s,
        "lights": len(model.intersections),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", nargs="+", type=int, default=[128, 256, 1024])
    parser.add_argument("--duration", nargs="+", type=float, default=[600.0, 600.0, 300.0],
                        help="simulated seconds per size (one value: all sizes)")  # fmt: skip
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=VARIANTS)
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, signals, duration, workdir = args.child
        child(kind, int(signals), float(duration), Path(workdir))
        return
    durations = args.duration * len(args.sizes) if len(args.duration) == 1 else args.duration
    results = {}
    for signals, duration in zip(args.sizes, durations, strict=True):
        results[signals] = (duration, measure(signals, duration, args.repeats, list(args.variants)))
    print(f"\n{'network':<10} {'sim s':>5} {'variant':<19} {'min s':>7} {'median s':>8} {'sim-s/s':>7} "
          f"{'ratio':>12} {'peak MiB':>8}")  # fmt: skip
    for signals, (duration, res) in results.items():
        walls = res["walls"]
        for v, w in walls.items():
            base = _BASE.get(v)
            ratio = ""
            if base in walls:
                ratio = f"{min(w) / min(walls[base]):.2f}x {base}"
            print(f"city-{signals:<5} {duration:5.0f} {v:<19} {min(w):7.1f} {statistics.median(w):8.1f} "
                  f"{duration / min(w):7.1f} {ratio:>12} {res['rss'][v]:8.0f}")  # fmt: skip
        for v, c in res["control"].items():
            n = max(c["decisions"], 1)
            print(f"city-{signals:<5} {v}: {c['decisions']} decisions of {res['lights']} lights, "
                  f"control path {1000 * c['control_s'] / n:.1f} ms/decision (decide alone "
                  f"{1000 * c['decide_s'] / n:.2f} ms), set-up {c['setup_s']:.1f} s")  # fmt: skip
        print(f"city-{signals:<5} network model built in {res['model_s']:.1f} s")


if __name__ == "__main__":
    main()
