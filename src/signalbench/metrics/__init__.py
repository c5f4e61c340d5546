"""Metrics: trip metrics from SUMO's own outputs, each with its definition and unit."""

from signalbench.metrics._trips import TRIP_METRICS, TripMetrics, read_statistics, read_trip_metrics

__all__ = ["TRIP_METRICS", "TripMetrics", "read_statistics", "read_trip_metrics"]
