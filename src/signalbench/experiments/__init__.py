"""Experiments: specs, trials, the episode loop, launchers and the result store."""

from signalbench.experiments._episode import Episode, EpisodeStats
from signalbench.experiments._launchers import LAUNCHERS, LaunchOptions, launch
from signalbench.experiments._parse import bundled_specs, load_spec, spec_from_dict
from signalbench.experiments._report import Comparison, ReportOptions, paired_change, write_report
from signalbench.experiments._results import (
    read_approaches,
    read_intersections,
    read_results,
    read_timeseries,
    sumo_version_key,
)
from signalbench.experiments._runner import run_experiment
from signalbench.experiments._spec import ControllerRef, ExperimentSpec, NetworkRef, RunSettings
from signalbench.experiments._store import ResultStore, atomic_write_text
from signalbench.experiments._summary import SummaryRow, mean_ci95, summarise
from signalbench.experiments._trial import TrialResult, TrialSpec, TrialState, run_trial

__all__ = [
    "LAUNCHERS",
    "Comparison",
    "ControllerRef",
    "Episode",
    "EpisodeStats",
    "ExperimentSpec",
    "LaunchOptions",
    "NetworkRef",
    "ReportOptions",
    "ResultStore",
    "RunSettings",
    "SummaryRow",
    "TrialResult",
    "TrialSpec",
    "TrialState",
    "atomic_write_text",
    "bundled_specs",
    "launch",
    "load_spec",
    "mean_ci95",
    "paired_change",
    "read_approaches",
    "read_intersections",
    "read_results",
    "read_timeseries",
    "run_experiment",
    "run_trial",
    "spec_from_dict",
    "summarise",
    "sumo_version_key",
    "write_report",
]
