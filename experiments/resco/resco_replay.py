"""A diagnostic: RESCO's max-pressure and greedy driven by RESCO's own hand-written configuration.

signalbench's ``max-pressure``/``greedy`` options (``groups = "direction"``, ``actions =
"pairs"``, ...) derive RESCO's direction movements from the network geometry. RESCO itself
reads them from a hand-written file (``config/signal_config.py``), which on some Ingolstadt
lights lists lanes of the edge upstream of a short stub, files lanes under turns they do not
serve, or maps an action to a phase that serves no vehicle. This network-level controller
replays that file (``resco_signal_config.json`` beside this script, the file's data), so that
experiments can tell the effect of the hand-written configuration from that of everything
else:

- per light, the lanes of each of the twelve direction movements as RESCO lists them, each
  list entry counted (a lane listed twice counts twice); a lane of the edge upstream of a stub
  counts the vehicles on that lane itself within range, as RESCO reads it (seen through the
  stub's feeders, ``observed_upstream_m``, kept to that lane's stretch of them);
- RESCO's phase discovery (the distinct green states of the first 500 s of the program from the
  window's begin, in the order seen) and its ``valid_acts`` (pair -> action), iterated in the
  file's order, the first on ties; an action whose state serves no vehicle (a pedestrian phase)
  holds the current green;
- the observation of every light once per decision (``queue`` with RESCO's 2021 memory, and
  ``approach``), the downstream term read from the downstream light's observation along
  RESCO's compass map.

Use it by path (it is not a built-in controller):

    [[controllers]]
    id = "resco/resco_replay.py:RescoReplay"      # relative to a spec in experiments/
    label = "max-pressure"
    params = { kind = "max-pressure" }            # map: from the network file's name

Lights the configuration does not name keep their own programs.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from signalbench import IntersectionObs, PhaseRequest

CONFIG_FILE = Path(__file__).with_name("resco_signal_config.json")
ORDER = ("S-W", "S-S", "S-E", "W-N", "W-W", "W-S", "N-E", "N-N", "N-W", "E-S", "E-E", "E-N")
BEGIN_S = {"grid4x4": 0.0, "arterial4x4": 0.0, "cologne1": 25200.0, "cologne3": 25200.0, "cologne8": 25200.0,
           "ingolstadt1": 57600.0, "ingolstadt7": 57600.0, "ingolstadt21": 57600.0}  # fmt: skip


@dataclass(frozen=True, kw_only=True)
class RescoReplayParams:
    """Parameters: which map's configuration, which baseline, and RESCO's detection settings.

    Attributes:
        kind: ``max-pressure`` (RESCO's MAXPRESSURE, ``mplight``) or ``greedy`` (MAXWAVE, ``wave``).
        map: the configuration's map name; None takes it from the network file's name
            (``ingolstadt7.net.xml`` -> ``ingolstadt7``).
        detection_m: detection range [m]; None: RESCO's (200 m max-pressure, 50 m greedy).

    """

    kind: str = "max-pressure"
    map: str | None = None
    detection_m: float | None = None

    def __post_init__(self) -> None:
        if self.kind not in ("max-pressure", "greedy"):
            raise ValueError(f"kind must be max-pressure or greedy, got {self.kind!r}")
        if self.map is not None and self.map not in json.loads(CONFIG_FILE.read_text()):
            raise ValueError(f"map {self.map!r} is not in {CONFIG_FILE.name}")

    @property
    def range_m(self) -> float:
        """Detection range [m]."""
        if self.detection_m is not None:
            return self.detection_m
        return 200.0 if self.kind == "max-pressure" else 50.0


def discovered_greens(program: tuple[tuple[str, float], ...], offset_s: float, begin_s: float) -> list[str]:
    """RESCO's phase discovery: distinct non-yellow, non-all-red states of 500 s, in order seen."""
    cycle = sum(d for _, d in program)
    starts = np.cumsum([0.0] + [d for _, d in program[:-1]])
    seen: list[str] = []
    for t in range(500):
        pos = (begin_s + t - offset_s) % cycle
        state = program[int(np.searchsorted(starts, pos, side="right")) - 1][0]
        if state not in seen and "y" not in state and set(state) - set("rs"):
            seen.append(state)
    return seen


_EPS_M = 1e-6  # a vehicle at a listed lane's very end or start is on that lane


def _lane_lengths(net_file: Path, lanes: set[str]) -> dict[str, float]:
    """Lengths [m] of ``lanes`` (listed lanes upstream of a light's own) read from the net file."""
    found: dict[str, float] = {}
    if lanes:
        for _, elem in ET.iterparse(net_file):
            if elem.tag == "lane" and elem.get("id") in lanes:
                found[str(elem.get("id"))] = float(elem.get("length", "0"))
            elem.clear()
    return found


class _Light:
    """One light as RESCO's ``Signal`` sees it."""

    def __init__(
        self,
        spec: Any,
        entry: Mapping[str, Any],
        pairs: list[list[int]],
        valid: Mapping[str, int] | None,
        begin_s: float,
        lane_lengths: Mapping[str, float],
    ) -> None:
        self.id = spec.id
        self.lane_sets: dict[str, list[str]] = {k: list(v) for k, v in entry["lane_sets"].items()}
        self.downstream: dict[str, str | None] = dict(entry["downstream"])
        incoming = {ln.id: i for i, ln in enumerate(spec.incoming_lanes)}
        # listed lane -> (incoming lane index, span of distances to the stop line it covers)
        self.source: dict[str, tuple[int, tuple[float, float]]] = {}
        for lanes in self.lane_sets.values():
            for lane in lanes:
                if lane in incoming:
                    i = incoming[lane]
                    self.source[lane] = (i, (0.0, spec.incoming_lanes[i].length_m))
                else:
                    for i, ln in enumerate(spec.incoming_lanes):
                        offset = next((off for u, off in ln.upstream_lanes if u == lane), None)
                        if offset is not None:
                            self.source[lane] = (i, (offset, offset + lane_lengths[lane]))
                            break
        greens = discovered_greens(spec.program, spec.program_offset_s, begin_s)
        states = [p.state for p in spec.green_phases]
        order = list(valid.items()) if valid else [(str(p), p) for p in range(len(pairs))]
        self.actions: list[tuple[tuple[int, int], int | None]] = []  # (pair, our phase index or None)
        for pair_key, action in order:
            pair = pairs[int(pair_key)]
            state = greens[action] if action < len(greens) else None
            phase = states.index(state) if state is not None and state in states else None
            self.actions.append(((pair[0], pair[1]), phase))
        self.memory: set[str] = set()
        self.last: set[str] | None = None
        self.obs: dict[str, dict[str, int]] = {}

    def observe(self, o: IntersectionObs, range_m: float) -> None:
        """RESCO's ``observe``: queue (2021 memory) and approach per listed lane."""
        everyone: set[str] = set()
        obs: dict[str, dict[str, int]] = {}
        for lane, (i, (near, far)) in self.source.items():
            lv = o.in_lane_vehicles[i]
            counts = {"queue": 0, "approach": 0}
            for vid, dist, wait in zip(lv.ids, lv.dist_m, lv.waiting_s, strict=True):
                # RESCO reads the listed lane itself: only vehicles on it (within range)
                if dist > range_m or not near - _EPS_M <= dist <= far + _EPS_M:
                    continue
                everyone.add(vid)
                if vid in self.memory or wait > 0:
                    self.memory.add(vid)
                    counts["queue"] += 1
                else:
                    counts["approach"] += 1
            obs[lane] = counts
        if self.last is not None:
            self.memory -= everyone - self.last
        self.last = everyone
        self.obs = obs

    def value(self, key: str, kind: str, lights: Mapping[str, _Light]) -> float:
        """RESCO's ``mplight`` (queue minus the downstream approach) or ``wave`` (queue + approach)."""
        lanes = self.lane_sets.get(key, [])
        if kind == "greedy":
            return float(
                sum(
                    self.obs.get(ln, {}).get("queue", 0) + self.obs.get(ln, {}).get("approach", 0)
                    for ln in lanes
                )
            )
        total = float(sum(self.obs.get(ln, {}).get("queue", 0) for ln in lanes))
        exit_dir = key.split("-")[1]
        down = self.downstream.get(exit_dir)
        if down is not None and down in lights:
            other = lights[down]
            outbound = {ln for k, v in other.lane_sets.items() if k.split("-")[0] == exit_dir for ln in v}
            total -= sum(other.obs.get(ln, {}).get("queue", 0) for ln in outbound)
        return total


class RescoReplay:
    """RESCO's max-pressure or greedy on RESCO's hand-written configuration (network level)."""

    scope = "network"
    Params = RescoReplayParams
    decision_interval_s = 10.0
    observed_lane_fields = ("vehicles",)

    def __init__(self, params: RescoReplayParams) -> None:
        self.params = params
        self.observed_upstream_m = params.range_m
        self.lights: dict[str, _Light] = {}

    def reset(self, network: Any, rng: np.random.Generator) -> None:
        """Build RESCO's view of every configured light; others keep their own program."""
        name = self.params.map or Path(network.net_file).name.split(".")[0]
        configs = json.loads(CONFIG_FILE.read_text())
        if name not in configs:
            raise ValueError(
                f"no RESCO configuration for network {name!r}; known: {', '.join(sorted(configs))}"
            )
        config = configs[name]
        valid = config.get("valid_acts") or {}
        begin = BEGIN_S[name]
        incoming = {ln.id for spec in network.intersections for ln in spec.incoming_lanes}
        listed = {
            lane
            for spec in network.intersections
            if spec.id in config
            for lanes in config[spec.id]["lane_sets"].values()
            for lane in lanes
            if lane not in incoming
        }
        lengths = _lane_lengths(Path(network.net_file), listed)
        self.lights = {
            spec.id: _Light(spec, config[spec.id], config["phase_pairs"], valid.get(spec.id), begin, lengths)
            for spec in network.intersections
            if spec.id in config
        }

    def act(self, obs: Mapping[str, IntersectionObs]) -> dict[str, PhaseRequest | None]:
        """Observe every light, then pick each light's best valid pair (the first on ties)."""
        for tls, light in self.lights.items():
            light.observe(obs[tls], self.params.range_m)
        out: dict[str, PhaseRequest | None] = {}
        for tls, light in self.lights.items():
            values = {k: light.value(k, self.params.kind, self.lights) for k in ORDER}
            best_press, best_phase = None, None
            for (a, b), phase in light.actions:
                press = values[ORDER[a]] + values[ORDER[b]]
                if best_press is None or press > best_press:
                    best_press, best_phase = press, phase
            out[tls] = None if best_phase is None else PhaseRequest.switch(best_phase)
        return out


__all__ = ["RescoReplay", "RescoReplayParams", "discovered_greens"]
