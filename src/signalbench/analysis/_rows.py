"""One flat row per trial record: what ``signalbench results`` prints and the report reads."""

from __future__ import annotations

import math
import shlex
from typing import Any

from signalbench.experiments import TrialResult, TrialSpec
from signalbench.metrics import EMISSION_METRICS, TRIP_METRICS, is_gridlocked

__all__ = [
    "CONTROL_COLUMNS",
    "TRIAL_COLUMNS",
    "demand_level",
    "gridlocked",
    "is_perfect_sensing",
    "result_rows",
]

#: Identifying columns of every per-trial row, in order.
TRIAL_COLUMNS = (
    "trial_id", "network", "demand", "sensing", "controller", "label", "seed", "state", "error", "flow_veh_h",
)  # fmt: skip


def demand_level(spec: TrialSpec) -> float:
    """Return the trial's demand level as one number.

    The scale factor, or for a generated network (whose levels are flows, see
    docs/networks.md#generated-networks) its veh/h per approach times the scale.
    """
    return spec.scale if spec.flow_veh_h is None else spec.flow_veh_h * spec.scale


#: Controller-side columns (from the record's ``control``).
CONTROL_COLUMNS = ("decisions", "switches", "overrides_total", "controller_ms_per_decision")


def is_perfect_sensing(spec: TrialSpec) -> bool:
    """Tell whether a trial saw perfect lane truths (no sensing, or a perfect entry without faults)."""
    sensing = spec.sensing
    if sensing is None:
        return True
    return sensing.get("model", "perfect") == "perfect" and not (
        sensing.get("faults") or sensing.get("attacks")
    )


def gridlocked(r: TrialResult) -> bool:
    """Tell whether a trial gridlocked (summaries; records before the 5 % rule kept a flag)."""
    stuck, total = r.metrics.get("vehicles_stuck"), r.metrics.get("vehicles_total")
    if stuck is None or total is None or math.isnan(float(stuck)) or math.isnan(float(total)):
        return bool(r.metrics.get("gridlocked", 0))
    return bool(is_gridlocked(stuck, total))


def result_rows(results: list[TrialResult]) -> list[dict[str, Any]]:
    """One flat dict per trial: identity, state, every metric, control numbers, provenance."""
    rows = []
    for r in results:
        row: dict[str, Any] = {
            "trial_id": r.trial_id,
            "network": r.spec.network,
            "demand": demand_level(r.spec),
            "sensing": r.spec.sensing_label,
            "controller": r.spec.controller,
            "label": r.spec.display_label,
            "seed": r.spec.seed,
            "state": r.state,
            "error": r.error or "",
            "flow_veh_h": math.nan if r.spec.flow_veh_h is None else r.spec.flow_veh_h,
        }
        for name in (*TRIP_METRICS, *EMISSION_METRICS):
            value = r.metrics.get(name, math.nan)
            row[name] = math.nan if value is None else value
        if r.state == "complete" and "vehicles_stuck" in r.metrics and "vehicles_total" in r.metrics:
            # Derived: records written before the 5 % rule said 1 for any stuck vehicle.
            row["gridlocked"] = is_gridlocked(r.metrics["vehicles_stuck"], r.metrics["vehicles_total"])
        for name in CONTROL_COLUMNS:
            control = r.control.get(name)
            row[name] = math.nan if control is None else control  # strict JSON stores NaN as null
        row["perfect_sensing"] = is_perfect_sensing(r.spec)
        row["fallback"] = str(r.control.get("sensing", {}).get("fallback", ""))
        row["sumo_version"] = r.versions.get("sumo", "")
        row["wall_time_s"] = r.wall_time_s
        row["sim_time_s"] = r.sim_time_s
        row["sumo_command"] = shlex.join(r.sumo_command)
        rows.append(row)
    return rows
