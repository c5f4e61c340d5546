"""RESCO's max-pressure and greedy driven straight over TraCI, without signalbench's episode.

A check on ``resco_replay.py``: this loop follows RESCO's 2021 code (``multi_signal.py``,
``traffic_signal.py``, ``states.py`` ``mplight``/``wave``, ``agents/maxwave.py``), written from
reading it, with no signalbench controller, actuator or observation in between:

- phase discovery: the distinct green states the program shows in the first 500 s of the window,
  in the order seen; each light's program is replaced by a static one with those greens and a
  yellow for every ordered pair of greens in which a link loses green (``setProgramLogic``
  keeps the phase index, as RESCO's does);
- every decision (10 s, arterial4x4 5 s): all lights are prepared (the yellow of the pair, if
  any), ``yellow`` steps run, all lights are set to their new green, the rest of the step runs,
  every light observes;
- observation per listed lane: the vehicles on it whose next light along their route
  (``getNextTLS``) is within 200 m (max-pressure) or 50 m (greedy), ``queue`` with the 2021
  waiting memory, ``approach`` the others;
- ``valid_acts`` iterated in the file's order, the first on ties; max-pressure subtracts the
  queues the downstream light observes on its lanes from this side.

``--as-replay`` adds the two things the replay cannot do as RESCO does (cause 6 of the README):
an action whose green is not one of the network's green phases (a pedestrian-only green) holds
the current green, and listed lanes the replay's observation does not reach count 0. With it,
this loop gives the replay's numbers; without it, RESCO's.

    signalbench sumo install 1.9.2
    python experiments/resco/resco_loop.py ingolstadt21-resco-v0 max-pressure --seeds 1-3
    python experiments/resco/resco_loop.py ingolstadt21-resco-v0 max-pressure --seeds 1 --as-replay

One JSON line per seed: ``mean_delay_s`` is timeLoss + departDelay averaged over the tripinfo
entries, unfinished trips included (signalbench's ``mean_delay_s``).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import traci

from signalbench.errors import SignalbenchError
from signalbench.networks import load_scenario_model, resolve_network
from signalbench.sim import resolve_sumo, sumo_binary

HERE = Path(__file__).parent
CONFIG = json.loads((HERE / "resco_signal_config.json").read_text())
DISCOVERY_S = 500  # RESCO's phase discovery: the first 500 steps
#: RESCO's twelve direction movements in its order (the indices of ``phase_pairs``); kept here
#: rather than imported from the replay, so that the loop stays an independent check of it.
ORDER = ("S-W", "S-S", "S-E", "W-N", "W-W", "W-S", "N-E", "N-N", "N-W", "E-S", "E-E", "E-N")


def _replay_module() -> Any:
    spec = importlib.util.spec_from_file_location("resco_replay", HERE / "resco_replay.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["resco_replay"] = module
    spec.loader.exec_module(module)
    return module


def yellows(greens: list[str]) -> tuple[list[str], dict[tuple[int, int], int]]:
    """RESCO's ``create_yellows``: a yellow phase per ordered pair of greens where a link loses green."""
    phases, index = list(greens), {}
    for i, a in enumerate(greens):
        for j, b in enumerate(greens):
            if i != j and any(x in "Gg" and y in "rs" for x, y in zip(a, b, strict=True)):
                phases.append(
                    "".join("y" if x in "Gg" and y in "rs" else x for x, y in zip(a, b, strict=True))
                )
                index[(i, j)] = len(phases) - 1
    return phases, index


class Light:
    """One light as RESCO's ``Signal`` sees and drives it."""

    def __init__(
        self, conn: Any, tls: str, config: dict[str, Any], greens: list[str], step: int, yellow: int
    ):
        self.c, self.id, self.greens = conn, tls, greens
        entry = config[tls]
        self.lane_sets: dict[str, list[str]] = entry["lane_sets"]
        self.lanes = list(dict.fromkeys(ln for lanes in self.lane_sets.values() for ln in lanes))
        self.outbound: dict[str, list[str]] = {k: [] for k in self.lane_sets}
        self.out_to: dict[str, str] = {}
        for direction, down in entry["downstream"].items():
            if down is None:
                continue
            for key, lanes in config[down]["lane_sets"].items():
                if key.split("-")[0] == direction:
                    for ln in lanes:
                        self.out_to[ln] = down
                    for mine in self.lane_sets:
                        if mine.split("-")[1] == direction:
                            self.outbound[mine] = self.outbound[mine] + lanes
        self.outbound = {k: sorted(set(v)) for k, v in self.outbound.items()}
        self.phases, self.yellow_of = yellows(greens)
        active = conn.trafficlight.getProgram(tls)
        logic = next(lg for lg in conn.trafficlight.getAllProgramLogics(tls) if lg.programID == active)
        logic.type = 0
        logic.phases = [
            traci.trafficlight.Phase(step if i < len(greens) else yellow, s)
            for i, s in enumerate(self.phases)
        ]
        conn.trafficlight.setProgramLogic(tls, logic)
        self.next_phase = 0
        self.waiting: dict[str, float] = {}
        self.last: set[str] | None = None
        self.obs: dict[str, dict[str, int]] = {}
        self.blind: set[str] = set()  # --as-replay: listed lanes the replay does not reach

    def prep(self, new: int) -> None:
        """RESCO's ``prep_phase``: start the yellow from the current phase to ``new``, if there is one."""
        cur = self.c.trafficlight.getPhase(self.id)
        self.next_phase = new
        if cur != new and (cur, new) in self.yellow_of:
            self.c.trafficlight.setPhase(self.id, self.yellow_of[(cur, new)])

    def set(self) -> None:
        """RESCO's ``set_phase``: show the prepared green."""
        self.c.trafficlight.setPhase(self.id, self.next_phase)

    def observe(self, step: int, distance: float) -> None:
        """RESCO's ``observe``: queue (2021 memory) and approach per listed lane."""
        obs, everyone = {}, set()
        for ln in self.lanes:
            queue = approach = 0
            for v in self.c.lane.getLastStepVehicleIDs(ln):
                nxt = self.c.vehicle.getNextTLS(v)
                if not nxt or nxt[0][2] > distance:
                    continue
                everyone.add(v)
                if v in self.waiting:
                    self.waiting[v] += step
                elif self.c.vehicle.getWaitingTime(v) > 0:
                    self.waiting[v] = self.c.vehicle.getWaitingTime(v)
                if self.waiting.get(v, 0) > 0:
                    queue += 1
                else:
                    approach += 1
            obs[ln] = (
                {"queue": 0, "approach": 0} if ln in self.blind else {"queue": queue, "approach": approach}
            )
        if self.last is not None:
            for v in everyone - self.last:  # RESCO's 2021 memory: forget vehicles new to the set
                self.waiting.pop(v, None)
        self.last = everyone
        self.obs = obs

    def value(self, key: str, kind: str, lights: dict[str, Light]) -> int:
        """``mplight`` (queue minus the downstream light's queue) or ``wave`` of one direction movement."""
        lanes = self.lane_sets.get(key, [])
        if kind == "greedy":
            return sum(self.obs[ln]["queue"] + self.obs[ln]["approach"] for ln in lanes)
        pressure = sum(self.obs[ln]["queue"] for ln in lanes)
        for ln in self.outbound.get(key, []):
            if self.out_to[ln] in lights:
                pressure -= lights[self.out_to[ln]].obs[ln]["queue"]
        return pressure


def _start(command: list[str], label: str) -> None:
    """Start SUMO; traci's connection retries print to stderr, so stdout holds only the JSON lines."""
    with contextlib.redirect_stdout(sys.stderr):
        traci.start(command, label=label, stdout=sys.stderr)


def discover(command: list[str], begin: float, label: str) -> dict[str, list[str]]:
    """Return the distinct non-yellow, not all-red states of every light over the first 500 s."""
    _start([*command, "--begin", str(begin)], label)
    conn = traci.getConnection(label)
    seen: dict[str, list[str]] = {t: [] for t in conn.trafficlight.getIDList()}
    for _ in range(DISCOVERY_S):
        for tls, states in seen.items():
            s = conn.trafficlight.getRedYellowGreenState(tls)
            if s not in states:
                states.append(s)
        conn.simulationStep()
    conn.close()
    return {
        t: [s for s in v if "y" not in s and s.count("r") + s.count("s") != len(s)] for t, v in seen.items()
    }


def run(
    network: str,
    kind: str,
    seed: int,
    sumo: Path,
    *,
    as_replay: bool,
    out: Path,
    duration_s: float | None = None,
) -> dict[str, Any]:
    """Run one episode (the first ``duration_s`` of the window, default all); return its delay, counts."""
    scenario = resolve_network(network).shortened(duration_s)
    name = scenario.net_file.name.split(".")[0]
    if name not in CONFIG:
        raise SignalbenchError(
            f"{network}: no RESCO configuration for map {name!r}; known: {', '.join(sorted(CONFIG))}"
        )
    config = CONFIG[name]
    step, yellow = (5, 2) if name == "arterial4x4" else (10, 3)
    distance = 200.0 if kind == "max-pressure" else 50.0
    files = [
        str(sumo),
        "--net-file",
        str(scenario.net_file),
        "--route-files",
        ",".join(map(str, scenario.route_files)),
    ]
    if scenario.additional_files:
        files += ["--additional-files", ",".join(map(str, scenario.additional_files))]
    greens = discover(
        [*files, "--no-warnings", "true", "--no-step-log", "true"], scenario.begin_s, f"discover-{seed}"
    )
    trip = out / f"tripinfo-{name}-{kind}-{seed}{'-as-replay' if as_replay else ''}.xml"
    command = [*files, "--begin", str(scenario.begin_s), "--end", str(scenario.end_s), "--step-length", "1"]
    command += [
        "--seed",
        str(seed),
        "--time-to-teleport",
        "-1",
        "--no-step-log",
        "true",
        "--no-warnings",
        "true",
    ]
    command += ["--duration-log.disable", "true", "--tripinfo-output", str(trip)]
    command += ["--tripinfo-output.write-unfinished", "true"]
    _start(command, f"run-{seed}")
    conn = traci.getConnection(f"run-{seed}")
    ids = [t for t in config if t not in ("phase_pairs", "valid_acts")]
    lights = {t: Light(conn, t, config, greens[t], step, yellow) for t in ids}
    model = load_scenario_model(scenario)
    # the greens signalbench's actuator can show: the network's green phases (no pedestrian-only one)
    program_greens = {tls: {p.state for p in model[tls].green_phases} for tls in lights}
    if as_replay:
        replay = _replay_module()
        # one pass over the net file for every listed lane (the replay reads only those upstream)
        lengths = replay._lane_lengths(
            scenario.net_file, {ln for light in lights.values() for ln in light.lanes}
        )
        for tls, light in lights.items():
            seen = replay._Light(
                model[tls], config[tls], config["phase_pairs"], None, scenario.begin_s, lengths
            )
            light.blind = set(light.lanes) - set(seen.source)
    valid = config.get("valid_acts")
    pairs = config["phase_pairs"]
    for light in lights.values():
        light.observe(step, distance)
    decisions, off_program = 0, dict.fromkeys(lights, 0)
    while conn.simulation.getTime() < scenario.end_s:
        values = {t: {k: light.value(k, kind, lights) for k in ORDER} for t, light in lights.items()}
        for tls, light in lights.items():
            order = list(valid[tls].items()) if valid else [(str(p), p) for p in range(len(pairs))]
            best, action = None, 0
            for pair_key, act in order:
                a, b = pairs[int(pair_key)]
                press = values[tls][ORDER[a]] + values[tls][ORDER[b]]
                if best is None or press > best:
                    best, action = press, act
            if action >= len(light.greens) or light.greens[action] not in program_greens[tls]:
                off_program[tls] += 1
                if as_replay:
                    action = light.next_phase  # the replay holds its green
            light.prep(action)
        decisions += 1
        for _ in range(yellow):
            conn.simulationStep()
        for light in lights.values():
            light.set()
        for _ in range(step - yellow):
            conn.simulationStep()
        for light in lights.values():
            light.observe(step, distance)
    conn.close()
    delays = [
        float(e.get("timeLoss", 0)) + float(e.get("departDelay", 0))
        for e in ET.parse(trip).getroot().iter("tripinfo")
    ]
    return {
        "network": network, "kind": kind, "seed": seed, "as_replay": as_replay,
        "mean_delay_s": sum(delays) / len(delays), "trips": len(delays), "decisions": decisions,
        "off_program_actions": {t: n for t, n in off_program.items() if n},
        "blind_lanes": sorted(ln for light in lights.values() for ln in light.blind),
    }  # fmt: skip


def _seeds(text: str) -> list[int]:
    first, _, last = text.partition("-")
    try:
        seeds = list(range(int(first), int(last or first) + 1))
    except ValueError:
        seeds = []
    if not seeds:
        raise argparse.ArgumentTypeError(f"expected N or N-M with N <= M, got {text!r}")
    return seeds


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {text!r}")
    return value


def main(argv: list[str] | None = None) -> int:
    """Run the loop for each seed and print one JSON line per seed (exit 2 with one line on bad input)."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("network", help="catalog id, e.g. ingolstadt21-resco-v0")
    ap.add_argument("kind", choices=("max-pressure", "greedy"))
    ap.add_argument("--seeds", type=_seeds, default=[1], help="N or N-M (default 1)")
    ap.add_argument("--sumo-version", default="1.9.2", help="installed SUMO release (default 1.9.2)")
    ap.add_argument("--as-replay", action="store_true", help="the replay's two departures from RESCO")
    ap.add_argument("--duration-s", type=_positive, help="simulate only the first S seconds of the window")
    ap.add_argument("--out", type=Path, help="keep tripinfo files here (default: a temporary folder)")
    args = ap.parse_args(argv)
    try:
        sumo = resolve_sumo(args.sumo_version) or sumo_binary()
        with tempfile.TemporaryDirectory() as tmp:
            out = args.out or Path(tmp)
            out.mkdir(parents=True, exist_ok=True)
            for seed in args.seeds:
                print(
                    json.dumps(
                        run(
                            args.network,
                            args.kind,
                            seed,
                            sumo,
                            as_replay=args.as_replay,
                            out=out,
                            duration_s=args.duration_s,
                        )
                    ),
                    flush=True,
                )
    except SignalbenchError as exc:
        print(f"resco_loop: {exc}", file=sys.stderr)
        return 2
    except (traci.exceptions.TraCIException, traci.exceptions.FatalTraCIError, ET.ParseError) as exc:
        print(
            f"resco_loop: {args.network} {args.kind}: SUMO failed ({exc}); see its messages above",
            file=sys.stderr,
        )
        return 1
    except KeyboardInterrupt:
        print("resco_loop: interrupted; the seeds printed above are complete", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
