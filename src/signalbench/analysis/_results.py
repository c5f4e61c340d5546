"""Reading a result store back as pandas tables: one row per trial, and the intersection tables."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from signalbench.analysis._dataset import CONSOLIDATED, open_dataset
from signalbench.analysis._rows import (
    CONTROL_COLUMNS,
    TRIAL_COLUMNS,
    demand_level,
    is_perfect_sensing,
    result_rows,
)
from signalbench.errors import SignalbenchError
from signalbench.experiments import ResultStore
from signalbench.sim import SumoVersion

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "CONTROL_COLUMNS",
    "TRIAL_COLUMNS",
    "demand_level",
    "demand_text",
    "is_perfect_sensing",
    "read_approaches",
    "read_intersections",
    "read_results",
    "read_timeseries",
    "result_rows",
    "store_at",
    "sumo_version_key",
]


def demand_text(demand: float, frame: pd.DataFrame | None = None) -> str:
    """Return ``demand x 1.5`` for a scale factor, ``600 veh/h`` for a generated network's flow.

    ``frame`` holds the rows the demand level belongs to (with their ``flow_veh_h`` column).
    """
    generated = frame is not None and "flow_veh_h" in frame and bool(frame["flow_veh_h"].notna().any())
    return f"{demand:g} veh/h" if generated else f"demand x {demand:g}"


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
    return open_dataset(store_at(directory)).rows()


def sumo_version_key(version: str) -> tuple[int, SumoVersion | str]:
    """Sort key putting SUMO releases in numeric order (1.9.2 before 1.28.0); unknown ones last."""
    try:
        return (0, SumoVersion.parse(str(version)))
    except SignalbenchError:
        return (1, str(version))


def _read_table(directory: Path | str, table: str) -> pd.DataFrame:
    import pandas as pd

    store = store_at(directory)
    dataset = open_dataset(store)
    data = dataset.table(table) if table in CONSOLIDATED else dataset.trial_table(table)
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
