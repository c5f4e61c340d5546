"""Intersection metrics from SUMO's own detector outputs, identical for every controller.

Before a run, :func:`write_measurement_file` writes one SUMO additional file into the trial's
output folder; SUMO then measures, at a fixed interval:

- ``edgeData`` (mean data) on every incoming edge (approach) of every traffic light:
  time loss, waiting time, vehicles entered and vehicles that left the edge (throughput);
- one lane-area (E2) detector over the whole length of every signalised incoming lane: halting
  vehicles (speed < 0.1 m/s), their mean and maximum per interval (queue);
- ``SaveTLSSwitchStates`` events: every signal string shown, hence the green time of every lane.

Because SUMO itself measures, the numbers are the same whether the signals run their own
program (plain ``sumo``, no Python) or are driven from Python through TraCI.
:func:`read_intersection_tables` turns the outputs into three tables (see docs/metrics.md).
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.sax.saxutils import quoteattr

import numpy as np

from signalbench.errors import SimulationError
from signalbench.networks import NetworkModel

__all__ = [
    "APPROACH_COLUMNS",
    "INTERSECTION_COLUMNS",
    "SATURATION_FLOW_VEH_S",
    "TIMESERIES_COLUMNS",
    "IntersectionTables",
    "read_intersection_tables",
    "write_measurement_file",
]

#: Saturation flow assumed for green utilisation: 1800 veh/h per lane of green [veh/s].
SATURATION_FLOW_VEH_S = 0.5
#: Speed below which a vehicle counts as halting (SUMO's own waiting-time threshold) [m/s].
HALTING_SPEED_M_S = 0.1

MEASURES_FILE = "signalbench-measures.add.xml"
_EDGE_FILE = "edgedata.xml"
_E2_FILE = "e2.xml"
_TLS_FILE = "tls-states.xml"

#: Column -> (unit, definition) of the time-series table (one row per signal x approach x interval).
TIMESERIES_COLUMNS: dict[str, tuple[str, str]] = {
    "tls": ("", "traffic light id"),
    "approach": ("", "incoming edge id"),
    "begin_s": ("s", "interval start (simulation time)"),
    "end_s": ("s", "interval end"),
    "time_loss_s": ("veh·s", "time loss of all vehicles while on the approach (edgeData timeLoss)"),
    "waiting_time_s": ("veh·s", "time vehicles stood (< 0.1 m/s) on the approach (edgeData waitingTime)"),
    "vehicles": (
        "veh",
        "vehicles that entered or were inserted on the approach (edgeData entered + departed)",
    ),
    "throughput_veh": ("veh", "vehicles that left the approach into the junction (edgeData left)"),
    "queue_mean_veh": ("veh", "time-mean number of halting vehicles on the approach's signalised lanes (E2)"),
    "queue_max_veh": (
        "veh",
        "longest queue of any one signalised lane of the approach (E2 maxJamLengthInVehicles)",
    ),
    "green_s": ("lane·s", "green time summed over the approach's signalised lanes (tls states)"),
    "green_utilisation": (
        "1",
        "throughput_veh / (green_s x 0.5 veh/s): degree of saturation at 1800 veh/h/lane",
    ),
}
_KEYS = ("tls", "approach", "begin_s", "end_s")
#: Per signal x approach over the measurement window (after warm-up).
APPROACH_COLUMNS: dict[str, tuple[str, str]] = {
    **{k: v for k, v in TIMESERIES_COLUMNS.items() if k not in ("begin_s", "end_s")},
    "lanes": ("", "signalised incoming lanes of the approach"),
    "time_loss_per_veh_s": ("s/veh", "time_loss_s / vehicles"),
}
#: Per signal over the measurement window: approaches summed (max queue: the longest lane queue).
INTERSECTION_COLUMNS: dict[str, tuple[str, str]] = {
    k: v for k, v in APPROACH_COLUMNS.items() if k not in ("approach", "lanes")
}


@dataclass(frozen=True, kw_only=True)
class IntersectionTables:
    """Rows of the three intersection tables of one trial (column name -> value)."""

    timeseries: list[dict[str, Any]] = field(default_factory=list)
    approaches: list[dict[str, Any]] = field(default_factory=list)
    intersections: list[dict[str, Any]] = field(default_factory=list)

    def as_columns(self) -> dict[str, dict[str, list[Any]]]:
        """Column-oriented form (JSON- and pickle-friendly), by table name."""
        out: dict[str, dict[str, list[Any]]] = {}
        for name, rows, cols in (
            ("timeseries", self.timeseries, TIMESERIES_COLUMNS),
            ("approaches", self.approaches, APPROACH_COLUMNS),
            ("intersections", self.intersections, INTERSECTION_COLUMNS),
        ):
            out[name] = {c: [r.get(c) for r in rows] for c in cols}
        return out


def _lanes_by_approach(model: NetworkModel) -> dict[str, dict[str, list[str]]]:
    out: dict[str, dict[str, list[str]]] = {}
    for spec in model.intersections:
        per: dict[str, list[str]] = {}
        for lane in spec.incoming_lanes:
            per.setdefault(lane.edge_id, []).append(lane.id)
        out[spec.id] = per
    return out


def write_measurement_file(model: NetworkModel, outdir: Path, *, interval_s: float) -> Path:
    """Write the detectors and outputs of every traffic light of ``model``; return the file."""
    outdir.mkdir(parents=True, exist_ok=True)
    lines = ["<additional>"]
    edges = sorted({e for per in _lanes_by_approach(model).values() for e in per})
    if edges:
        lines.append(
            f'    <edgeData id="signalbench" freq="{interval_s:g}" file="{_EDGE_FILE}" '
            f'edges={quoteattr(" ".join(edges))} excludeEmpty="false" withInternal="false"/>'
        )
    for spec in model.intersections:
        for lane in spec.incoming_lanes:
            lines.append(
                f"    <laneAreaDetector id={quoteattr('sb_' + lane.id)} lane={quoteattr(lane.id)} "
                f'pos="0" endPos="{lane.length_m:.2f}" friendlyPos="true" freq="{interval_s:g}" '
                f'file="{_E2_FILE}" timeThreshold="0" speedThreshold="{HALTING_SPEED_M_S}" '
                'jamThreshold="10"/>'
            )
        lines.append(
            f'    <timedEvent type="SaveTLSSwitchStates" source={quoteattr(spec.id)} dest="{_TLS_FILE}"/>'
        )
    lines.append("</additional>")
    path = outdir / MEASURES_FILE
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _parse(path: Path) -> ET.Element:
    if not path.is_file():
        raise SimulationError(f"SUMO wrote no intersection output ({path})")
    try:
        return ET.parse(path).getroot()
    except ET.ParseError as exc:
        raise SimulationError(f"{path}: truncated or invalid SUMO output ({exc})") from exc


def _intervals(begin_s: float, end_s: float, interval_s: float) -> list[tuple[float, float]]:
    out = []
    t = begin_s
    while t < end_s - 1e-9:
        out.append((t, min(t + interval_s, end_s)))
        t += interval_s
    return out


def _green_seconds(
    switches: list[tuple[float, str]], links: list[int], bounds: np.ndarray, end_s: float
) -> np.ndarray:
    """Seconds of each interval ``bounds[i]..bounds[i+1]`` in which any of ``links`` is green.

    The signal string holds from one switch to the next (the last until ``end_s``); the
    cumulative green time is piecewise linear, so an interval's green is a difference of two
    interpolated values.
    """
    if not switches:
        return np.zeros(len(bounds) - 1)
    times = np.array([t for t, _ in switches] + [end_s], dtype=np.float64)
    green = np.array(
        [any(k < len(state) and state[k] in "Gg" for k in links) for _, state in switches], dtype=np.float64
    )
    cumulative = np.concatenate(([0.0], np.cumsum(green * np.diff(times))))
    at = np.interp(bounds, times, cumulative)
    return np.diff(at)


def read_intersection_tables(
    outdir: Path,
    model: NetworkModel,
    *,
    begin_s: float,
    end_s: float,
    interval_s: float,
    step_length_s: float = 1.0,
    measure_from_s: float | None = None,
) -> IntersectionTables:
    """Read the outputs requested by :func:`write_measurement_file` into three tables.

    ``measure_from_s`` (begin + warm-up) leaves the intervals that start before it out of the
    approach and intersection tables; the time series keeps every interval.
    """
    per_tls = _lanes_by_approach(model)
    edge_rows: dict[tuple[str, float], dict[str, float]] = {}
    for interval in _parse(outdir / _EDGE_FILE).iter("interval"):
        t0 = float(interval.attrib["begin"])
        for edge in interval.iter("edge"):
            a = edge.attrib
            edge_rows[(a["id"], t0)] = {
                "time_loss_s": float(a.get("timeLoss", "0")),
                "waiting_time_s": float(a.get("waitingTime", "0")),
                "vehicles": float(a.get("entered", "0")) + float(a.get("departed", "0")),
                "throughput_veh": float(a.get("left", "0")),
            }
    lane_rows: dict[tuple[str, float], tuple[float, float]] = {}
    for interval in _parse(outdir / _E2_FILE).iter("interval"):
        a = interval.attrib
        t0, t1 = float(a["begin"]), float(a["end"])
        steps = max(round((t1 - t0) / step_length_s), 1)
        lane_rows[(a["id"].removeprefix("sb_"), t0)] = (
            float(a.get("jamLengthInVehiclesSum", "0")) / steps,
            float(a.get("maxJamLengthInVehicles", "0")),
        )
    switches: dict[str, list[tuple[float, str]]] = defaultdict(list)
    for elem in _parse(outdir / _TLS_FILE).iter("tlsState"):
        switches[elem.attrib["id"]].append((float(elem.attrib["time"]), elem.attrib["state"]))

    timeseries: list[dict[str, Any]] = []
    for spec in model.intersections:
        links_of: dict[str, list[int]] = defaultdict(list)
        for m in spec.movements:
            links_of[m.from_lane].append(m.link_index)
        timeline = sorted(switches.get(spec.id, []), key=lambda x: x[0])
        intervals = _intervals(begin_s, end_s, interval_s)
        bounds = np.array([lo for lo, _ in intervals] + [end_s], dtype=np.float64)
        for approach, lanes in per_tls[spec.id].items():
            greens = np.sum(
                [_green_seconds(timeline, links_of[lane], bounds, end_s) for lane in lanes], axis=0
            )
            for i, (lo, hi) in enumerate(intervals):
                data = edge_rows.get((approach, lo), {})
                queues = [lane_rows.get((lane, lo), (0.0, 0.0)) for lane in lanes]
                green = float(greens[i])
                throughput = data.get("throughput_veh", 0.0)
                timeseries.append(
                    {
                        "tls": spec.id,
                        "approach": approach,
                        "begin_s": lo,
                        "end_s": hi,
                        "time_loss_s": data.get("time_loss_s", 0.0),
                        "waiting_time_s": data.get("waiting_time_s", 0.0),
                        "vehicles": data.get("vehicles", 0.0),
                        "throughput_veh": throughput,
                        "queue_mean_veh": sum(q[0] for q in queues),
                        "queue_max_veh": max((q[1] for q in queues), default=0.0),
                        "green_s": green,
                        "green_utilisation": _utilisation(throughput, green),
                    }
                )
    start = begin_s if measure_from_s is None else measure_from_s
    window = [r for r in timeseries if r["begin_s"] >= start - 1e-9]
    approaches = _aggregate(window, ("tls", "approach"))
    for row in approaches:
        row["lanes"] = len(per_tls[row["tls"]][row["approach"]])
    return IntersectionTables(
        timeseries=timeseries, approaches=approaches, intersections=_aggregate(window, ("tls",))
    )


def _utilisation(throughput: float, green_lane_s: float) -> float:
    return throughput / (green_lane_s * SATURATION_FLOW_VEH_S) if green_lane_s > 0 else math.nan


def _aggregate(rows: list[dict[str, Any]], keys: tuple[str, ...]) -> list[dict[str, Any]]:
    """Sum over intervals (and approaches); queue mean is time-weighted, queue max the maximum.

    Queue means of approaches add up (halting vehicles on all lanes); a signal's time-mean
    queue is therefore the sum of its approaches' means.
    """
    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault(tuple(r[k] for k in keys), []).append(r)
    out = []
    for key, group in groups.items():
        # Time-weighted mean over intervals, summed over approaches.
        per_approach: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for r in group:
            per_approach[r["approach"]].append(r)
        queue_mean = 0.0
        for arows in per_approach.values():
            span = sum(r["end_s"] - r["begin_s"] for r in arows)
            queue_mean += sum(r["queue_mean_veh"] * (r["end_s"] - r["begin_s"]) for r in arows) / span
        sums = {
            c: float(sum(r[c] for r in group))
            for c in ("time_loss_s", "waiting_time_s", "vehicles", "throughput_veh", "green_s")
        }
        out.append(
            {
                **dict(zip(keys, key, strict=True)),
                **sums,
                "queue_mean_veh": queue_mean,
                "queue_max_veh": float(max(r["queue_max_veh"] for r in group)),
                "green_utilisation": _utilisation(sums["throughput_veh"], sums["green_s"]),
                "time_loss_per_veh_s": sums["time_loss_s"] / sums["vehicles"]
                if sums["vehicles"]
                else math.nan,
            }
        )
    return out
