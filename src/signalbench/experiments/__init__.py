"""Experiments: specs expanded into frozen trials, run by launchers into a result store.

Owns the spec and its parsing (every error at once), the trial (``TrialSpec``/``TrialResult``,
whose content hash is the trial id), running one trial (:func:`run_trial`), the runner that
resumes and retries (:func:`run_experiment`), the launchers (serial, local processes, Ray),
the result store and provenance. Reading results back is :mod:`signalbench.analysis`.
"""

from signalbench.experiments._execute import (
    run_trial,
    training_request,
    trial_scenario,
    trial_session,
    trial_sumo_binary,
)
from signalbench.experiments._fingerprint import Fingerprinter, TrialInputs, describe_changes, harness_digest
from signalbench.experiments._launchers import (
    LAUNCHERS,
    LaunchOptions,
    check_ray_address,
    default_timeout_s,
    launch,
    prestart,
)
from signalbench.experiments._parse import bundled_specs, load_spec, spec_from_dict
from signalbench.experiments._plan import ExperimentPlan, PlannedTrial, TrialStatus, plan_trials
from signalbench.experiments._runner import SCRATCH_DIR, run_experiment
from signalbench.experiments._spec import (
    MAX_SEED,
    MAX_TIME_S,
    MAX_TRIALS,
    ControllerRef,
    ExperimentSpec,
    NetworkRef,
    RunSettings,
    needs_socket,
)
from signalbench.experiments._store import TABLES, ResultStore, StoredTrial
from signalbench.experiments._trial import TrialResult, TrialSpec, TrialState

__all__ = [
    "LAUNCHERS",
    "MAX_SEED",
    "MAX_TIME_S",
    "MAX_TRIALS",
    "SCRATCH_DIR",
    "TABLES",
    "ControllerRef",
    "ExperimentPlan",
    "ExperimentSpec",
    "Fingerprinter",
    "LaunchOptions",
    "NetworkRef",
    "PlannedTrial",
    "ResultStore",
    "RunSettings",
    "StoredTrial",
    "TrialInputs",
    "TrialResult",
    "TrialSpec",
    "TrialState",
    "TrialStatus",
    "bundled_specs",
    "check_ray_address",
    "default_timeout_s",
    "describe_changes",
    "harness_digest",
    "launch",
    "load_spec",
    "needs_socket",
    "plan_trials",
    "prestart",
    "run_experiment",
    "run_trial",
    "spec_from_dict",
    "training_request",
    "trial_scenario",
    "trial_session",
    "trial_sumo_binary",
]
