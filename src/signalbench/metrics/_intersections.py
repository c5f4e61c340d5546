"""Intersection metrics from SUMO's own detector outputs, identical for every controller.

Before a run, :func:`write_measurement_file` writes one SUMO additional file into the trial's
output folder; SUMO then measures, at a fixed interval:

- ``edgeData`` (mean data) on every incoming edge (approach) of every traffic light:
  time loss, waiting time, vehicles entered and vehicles that left the edge (throughput);
- only when asked (``queue_max``): one lane-area (E2) detector over the whole length of every
  signalised incoming lane, for the longest queue per interval (they cost SUMO ~1.1-1.2x CPU at
  city scale); the mean queue is edgeData's waiting time per second, no detector needed;
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
    "queue_mean_veh": (
        "veh",
        "time-mean number of halting vehicles on the approach (edgeData waitingTime / interval)",
    ),
    "queue_max_veh": (
        "veh",
        "longest queue of any one signalised lane of the approach (E2 maxJamLengthInVehicles; "
        "NaN unless [metrics] queue_max)",
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


_TABLES = (
    ("timeseries", TIMESERIES_COLUMNS),
    ("approaches", APPROACH_COLUMNS),
    ("intersections", INTERSECTION_COLUMNS),
)


@dataclass(frozen=True)
class IntersectionTables:
    """The three intersection tables of one trial, column-oriented (table -> column -> values)."""

    columns: dict[str, dict[str, list[Any]]] = field(
        default_factory=lambda: {name: {c: [] for c in cols} for name, cols in _TABLES}
    )

    def as_columns(self) -> dict[str, dict[str, list[Any]]]:
        """Column-oriented form (JSON- and pickle-friendly), by table name."""
        return self.columns

    def _rows(self, name: str) -> list[dict[str, Any]]:
        cols = self.columns[name]
        return [dict(zip(cols, values, strict=True)) for values in zip(*cols.values(), strict=True)]

    @property
    def timeseries(self) -> list[dict[str, Any]]:
        """Rows of the time series (column name -> value)."""
        return self._rows("timeseries")

    @property
    def approaches(self) -> list[dict[str, Any]]:
        """Rows of the approaches table."""
        return self._rows("approaches")

    @property
    def intersections(self) -> list[dict[str, Any]]:
        """Rows of the intersections table."""
        return self._rows("intersections")


def _lanes_by_approach(model: NetworkModel) -> dict[str, dict[str, list[str]]]:
    out: dict[str, dict[str, list[str]]] = {}
    for spec in model.intersections:
        per: dict[str, list[str]] = {}
        for lane in spec.incoming_lanes:
            per.setdefault(lane.edge_id, []).append(lane.id)
        out[spec.id] = per
    return out


def write_measurement_file(
    model: NetworkModel, outdir: Path, *, interval_s: float, queue_max: bool = False
) -> Path:
    """Write the detectors and outputs of every traffic light of ``model``; return the file.

    ``queue_max`` adds one lane-area (E2) detector per signalised incoming lane, the only source
    of ``queue_max_veh``; they cost SUMO 1.1-1.2x CPU at city scale (docs/performance.md).
    """
    outdir.mkdir(parents=True, exist_ok=True)
    lines = ["<additional>"]
    edges = sorted({e for per in _lanes_by_approach(model).values() for e in per})
    if edges:
        lines.append(
            f'    <edgeData id="signalbench" freq="{interval_s:g}" file="{_EDGE_FILE}" '
            f'edges={quoteattr(" ".join(edges))} excludeEmpty="false" withInternal="false"/>'
        )
    for spec in model.intersections:
        for lane in spec.incoming_lanes if queue_max else ():
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


def _interval_index(begins: np.ndarray) -> dict[float, int]:
    return {round(float(t), 6): i for i, t in enumerate(begins)}


def _lane_green_seconds(
    switches: list[tuple[float, str]], links: list[list[int]], bounds: np.ndarray, end_s: float
) -> np.ndarray:
    """Seconds of each interval ``bounds[i]..bounds[i+1]`` in which each lane is green.

    An array (lanes x intervals); lane ``j`` is green when any of its ``links[j]`` shows G or g.

    The signal string holds from one switch to the next (the last until ``end_s``); the
    cumulative green time is piecewise linear, so an interval's green is a difference of two
    interpolated values.
    """
    out = np.zeros((len(links), len(bounds) - 1))
    if not switches or not links:
        return out
    width = max(len(state) for _, state in switches)
    codes = np.array([state.ljust(width, "r").encode("ascii", "replace") for _, state in switches])
    chars = codes.view("S1").reshape(len(switches), width)
    green_link = (chars == b"G") | (chars == b"g")  # switches x links
    green = np.zeros((len(switches), len(links)))
    for j, lane_links in enumerate(links):
        ok = [k for k in lane_links if k < width]
        if ok:
            green[:, j] = green_link[:, ok].any(axis=1)
    times = np.array([t for t, _ in switches] + [end_s], dtype=np.float64)
    cumulative = np.vstack([np.zeros((1, len(links))), np.cumsum(green * np.diff(times)[:, None], axis=0)])
    at_b = np.clip(bounds, times[0], times[-1])
    j = np.clip(np.searchsorted(times, at_b, side="right") - 1, 0, len(switches) - 1)
    at = cumulative[j] + (at_b - times[j])[:, None] * green[j]
    out[:] = np.diff(at, axis=0).T
    return out


def read_intersection_tables(
    outdir: Path,
    model: NetworkModel,
    *,
    begin_s: float,
    end_s: float,
    interval_s: float,
    step_length_s: float = 1.0,
    measure_from_s: float | None = None,
    queue_max: bool = False,
) -> IntersectionTables:
    """Read the outputs requested by :func:`write_measurement_file` into three tables.

    ``measure_from_s`` (begin + warm-up) leaves the intervals that start before it out of the
    approach and intersection tables; the time series keeps every interval. ``queue_max``: the
    E2 detectors were written (else ``queue_max_veh`` is ``NaN``). ``step_length_s`` is accepted
    for older callers; no measure depends on it (all are per second of simulated time).
    """
    per_tls = _lanes_by_approach(model)
    intervals = _intervals(begin_s, end_s, interval_s)
    n_int = len(intervals)
    lo = np.array([a for a, _ in intervals], dtype=np.float64)
    hi = np.array([b for _, b in intervals], dtype=np.float64)
    slot = _interval_index(lo)
    # Approaches in table order: traffic lights in model order, their incoming edges in lane order.
    appr_tls: list[str] = []
    appr_edge: list[str] = []
    appr_lanes: list[list[str]] = []
    for spec in model.intersections:
        for edge, lanes in per_tls[spec.id].items():
            appr_tls.append(spec.id)
            appr_edge.append(edge)
            appr_lanes.append(lanes)
    n_appr = len(appr_edge)
    edge_row = {e: i for i, e in enumerate(sorted(set(appr_edge)))}
    edge_vals = np.zeros((len(edge_row), n_int, 4))  # time loss, waiting, vehicles, left
    for interval in _parse(outdir / _EDGE_FILE).iter("interval"):
        i = slot.get(round(float(interval.attrib["begin"]), 6))
        if i is None:
            continue
        for elem in interval.iter("edge"):
            a = elem.attrib
            r = edge_row.get(a["id"])
            if r is not None:
                edge_vals[r, i] = (
                    float(a.get("timeLoss", "0")),
                    float(a.get("waitingTime", "0")),
                    float(a.get("entered", "0")) + float(a.get("departed", "0")),
                    float(a.get("left", "0")),
                )
    rows = np.array([edge_row[e] for e in appr_edge], dtype=np.intp)
    values = edge_vals[rows]  # approaches x intervals x 4
    time_loss, waiting, vehicles, throughput = (values[:, :, k] for k in range(4))
    span = hi - lo
    # Halting vehicles on the approach, time-mean: its stood vehicle-seconds per second.
    queue_mean = waiting / span
    lane_max = np.full((n_appr, n_int), math.nan)
    if queue_max:
        lane_row = {lane: a for a, lanes in enumerate(appr_lanes) for lane in lanes}
        lane_max[:] = 0.0
        for interval in _parse(outdir / _E2_FILE).iter("interval"):
            a = interval.attrib
            r = lane_row.get(a["id"].removeprefix("sb_"))
            i = slot.get(round(float(a["begin"]), 6))
            if r is not None and i is not None:
                lane_max[r, i] = max(lane_max[r, i], float(a.get("maxJamLengthInVehicles", "0")))
    switches: dict[str, list[tuple[float, str]]] = defaultdict(list)
    for elem in _parse(outdir / _TLS_FILE).iter("tlsState"):
        switches[elem.attrib["id"]].append((float(elem.attrib["time"]), elem.attrib["state"]))
    bounds = np.append(lo, end_s)
    green = np.zeros((n_appr, n_int))
    a0 = 0
    for spec in model.intersections:
        links_of: dict[str, list[int]] = defaultdict(list)
        for m in spec.movements:
            links_of[m.from_lane].append(m.link_index)
        approaches = list(per_tls[spec.id].values())
        lanes = [lane for group in approaches for lane in group]
        timeline = sorted(switches.get(spec.id, []), key=lambda x: x[0])
        per_lane = _lane_green_seconds(timeline, [links_of[lane] for lane in lanes], bounds, end_s)
        k = 0
        for n, group in enumerate(approaches):
            green[a0 + n] = per_lane[k : k + len(group)].sum(axis=0)
            k += len(group)
        a0 += len(approaches)

    timeseries: dict[str, list[Any]] = {
        "tls": np.repeat(np.array(appr_tls, dtype=object), n_int).tolist(),
        "approach": np.repeat(np.array(appr_edge, dtype=object), n_int).tolist(),
        "begin_s": np.tile(lo, n_appr).tolist(),
        "end_s": np.tile(hi, n_appr).tolist(),
        "time_loss_s": time_loss.ravel().tolist(),
        "waiting_time_s": waiting.ravel().tolist(),
        "vehicles": vehicles.ravel().tolist(),
        "throughput_veh": throughput.ravel().tolist(),
        "queue_mean_veh": queue_mean.ravel().tolist(),
        "queue_max_veh": lane_max.ravel().tolist(),
        "green_s": green.ravel().tolist(),
        "green_utilisation": _utilisation(throughput, green).ravel().tolist(),
    }
    start = begin_s if measure_from_s is None else measure_from_s
    keep = lo >= start - 1e-9
    if n_appr == 0 or not keep.any():
        empty = IntersectionTables()
        return IntersectionTables(columns={**empty.columns, "timeseries": timeseries})
    w = span[keep]
    sums = {
        "time_loss_s": time_loss[:, keep].sum(axis=1),
        "waiting_time_s": waiting[:, keep].sum(axis=1),
        "vehicles": vehicles[:, keep].sum(axis=1),
        "throughput_veh": throughput[:, keep].sum(axis=1),
        "green_s": green[:, keep].sum(axis=1),
    }
    # Time-weighted mean over intervals; a signal's mean queue is the sum of its approaches'.
    approach_queue = (queue_mean[:, keep] * w).sum(axis=1) / w.sum()
    approach_max = lane_max[:, keep].max(axis=1)
    approach_cols: dict[str, list[Any]] = {
        "tls": list(appr_tls),
        "approach": list(appr_edge),
        **_derived(sums, approach_queue, approach_max),
        "lanes": [len(lanes) for lanes in appr_lanes],
    }
    # Traffic lights: their approaches are consecutive rows.
    firsts = np.flatnonzero(np.r_[True, np.array(appr_tls[1:]) != np.array(appr_tls[:-1])])
    tls_sums = {c: np.add.reduceat(v, firsts) for c, v in sums.items()}
    tls_cols: dict[str, list[Any]] = {
        "tls": [appr_tls[i] for i in firsts],
        **_derived(
            tls_sums, np.add.reduceat(approach_queue, firsts), np.maximum.reduceat(approach_max, firsts)
        ),
    }
    return IntersectionTables(
        columns={
            "timeseries": timeseries,
            "approaches": {c: approach_cols[c] for c in APPROACH_COLUMNS},
            "intersections": {c: tls_cols[c] for c in INTERSECTION_COLUMNS},
        }
    )


def _utilisation(throughput: np.ndarray, green_lane_s: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(green_lane_s > 0, throughput / (green_lane_s * SATURATION_FLOW_VEH_S), math.nan)


def _derived(
    sums: dict[str, np.ndarray], queue_mean: np.ndarray, queue_max: np.ndarray
) -> dict[str, list[Any]]:
    """Columns of an aggregated table from its sums and queues (ratios recomputed from the sums)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        per_veh = np.where(sums["vehicles"] > 0, sums["time_loss_s"] / sums["vehicles"], math.nan)
    return {
        **{c: v.tolist() for c, v in sums.items()},
        "queue_mean_veh": queue_mean.tolist(),
        "queue_max_veh": queue_max.tolist(),
        "green_utilisation": _utilisation(sums["throughput_veh"], sums["green_s"]).tolist(),
        "time_loss_per_veh_s": per_veh.tolist(),
    }
