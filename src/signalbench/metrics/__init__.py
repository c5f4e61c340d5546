"""Metrics: trip and intersection metrics from SUMO's own outputs, each with its definition and unit."""

from signalbench.metrics._intersections import (
    APPROACH_COLUMNS,
    INTERSECTION_COLUMNS,
    SATURATION_FLOW_VEH_S,
    TIMESERIES_COLUMNS,
    IntersectionTables,
    read_intersection_tables,
    write_measurement_file,
)
from signalbench.metrics._trips import (
    EMISSION_METRICS,
    GRIDLOCK_SHARE,
    STUCK_WAITING_S,
    TRIP_METRICS,
    TripMetrics,
    is_gridlocked,
    read_statistics,
    read_trip_metrics,
)

__all__ = [
    "APPROACH_COLUMNS",
    "EMISSION_METRICS",
    "GRIDLOCK_SHARE",
    "INTERSECTION_COLUMNS",
    "SATURATION_FLOW_VEH_S",
    "STUCK_WAITING_S",
    "TIMESERIES_COLUMNS",
    "TRIP_METRICS",
    "IntersectionTables",
    "TripMetrics",
    "is_gridlocked",
    "read_intersection_tables",
    "read_statistics",
    "read_trip_metrics",
    "write_measurement_file",
]
