"""Reading a result store back as pandas tables: one row per trial, and the intersection tables."""

from __future__ import annotations

import math
import shlex
from pathlib import Path
from typing import TYPE_CHECKING, Any

from signalbench.errors import SignalbenchError
from signalbench.experiments import ResultStore, TrialResult, TrialSpec
from signalbench.metrics import EMISSION_METRICS, TRIP_METRICS, is_gridlocked
from signalbench.sim import SumoVersion

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "CONTROL_COLUMNS",
    "TRIAL_COLUMNS",
    "demand_level",
    "demand_text",
    "read_approaches",
    "read_intersections",
    "read_results",
    "read_timeseries",
    "result_rows",
    "store_at",
    "sumo_version_key",
]

#: Identifying columns of every per-trial row, in order.
TRIAL_COLUMNS = (
    "trial_id", "network", "demand", "controller", "label", "seed", "state", "error", "flow_veh_h",
)  # fmt: skip


def demand_text(demand: float, frame: pd.DataFrame | None = None) -> str:
    """Return ``demand x 1.5`` for a scale factor, ``600 veh/h`` for a generated network's flow.

    ``frame`` holds the rows the demand level belongs to (with their ``flow_veh_h`` column).
    """
    generated = frame is not None and "flow_veh_h" in frame and bool(frame["flow_veh_h"].notna().any())
    return f"{demand:g} veh/h" if generated else f"demand x {demand:g}"


def demand_level(spec: TrialSpec) -> float:
    """Return the trial's demand level as one number.

    The scale factor, or for a generated network (whose levels are flows, see
    docs/networks.md#generated-networks) its veh/h per approach times the scale.
    """
    return spec.scale if spec.flow_veh_h is None else spec.flow_veh_h * spec.scale


#: Controller-side columns (from the record's ``control``).
CONTROL_COLUMNS = ("decisions", "switches", "overrides_total", "controller_ms_per_decision")


def store_at(directory: Path | str) -> ResultStore:
    root = Path(directory)
    if not root.is_dir():
        raise SignalbenchError(f"{root}: no such directory")
    store = ResultStore(root)
    if not store.trials_dir.is_dir() or not any(store.trials_dir.glob("*.json")):
        raise SignalbenchError(
            f"{root}: not a signalbench experiment directory (no trials/*.json records); "
            "give the folder `signalbench run` wrote, e.g. runs/quickstart"
        )
    return store


def result_rows(results: list[TrialResult]) -> list[dict[str, Any]]:
    """One flat dict per trial: identity, state, every metric, control numbers, provenance."""
    rows = []
    for r in results:
        row: dict[str, Any] = {
            "trial_id": r.trial_id,
            "network": r.spec.network,
            "demand": demand_level(r.spec),
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
        row["sumo_version"] = r.versions.get("sumo", "")
        row["wall_time_s"] = r.wall_time_s
        row["sim_time_s"] = r.sim_time_s
        row["sumo_command"] = shlex.join(r.sumo_command)
        rows.append(row)
    return rows


def read_results(directory: Path | str) -> pd.DataFrame:
    """Read an experiment directory: one row per trial (failed trials with their error).

    Columns: :data:`TRIAL_COLUMNS`, every trip metric under its documented name (see
    docs/metrics.md; emission metrics are NaN when not measured), :data:`CONTROL_COLUMNS`,
    ``sumo_version``, ``wall_time_s``, ``sim_time_s`` and ``sumo_command`` (one shell line).
    Rows are in trial id order, read from the experiment's consolidated dataset (brought up to
    date with the records first, see :mod:`signalbench.analysis._dataset`).

    Raises:
        SignalbenchError: the directory does not exist or holds no trial records.

    """
    from signalbench.analysis._dataset import open_dataset

    return open_dataset(store_at(directory)).rows().to_pandas()


def sumo_version_key(version: str) -> tuple[int, SumoVersion | str]:
    """Sort key putting SUMO releases in numeric order (1.9.2 before 1.28.0); unknown ones last."""
    try:
        return (0, SumoVersion.parse(str(version)))
    except SignalbenchError:
        return (1, str(version))


def _read_table(directory: Path | str, table: str) -> pd.DataFrame:
    import pandas as pd

    from signalbench.analysis._dataset import open_dataset

    data = open_dataset(store_at(directory)).table(table)
    return pd.DataFrame() if data is None else data.to_pandas()


def read_intersections(directory: Path | str) -> pd.DataFrame:
    """Per trial x traffic light, over the measurement window (see docs/metrics.md)."""
    return _read_table(directory, "intersections")


def read_approaches(directory: Path | str) -> pd.DataFrame:
    """Per trial x traffic light x approach (incoming edge), over the measurement window."""
    return _read_table(directory, "approaches")


def read_timeseries(directory: Path | str) -> pd.DataFrame:
    """Per trial x traffic light x approach x interval (every interval, warm-up included)."""
    return _read_table(directory, "timeseries")
