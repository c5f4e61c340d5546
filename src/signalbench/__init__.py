"""signalbench: a SUMO-based adaptive traffic-signal experiment harness.

Python controllers drive public SUMO networks through TraCI (libsumo by default) behind a
safety actuator; experiments expand networks x controllers x seeds into frozen trials whose
delay metrics come from SUMO's own trip accounting.
"""

from signalbench._version import __version__
from signalbench.analysis import read_approaches, read_intersections, read_results, read_timeseries
from signalbench.controllers import (
    BaseController,
    Controller,
    IntersectionObs,
    PhaseRequest,
    registry,
)
from signalbench.errors import SignalbenchError
from signalbench.experiments import (
    ExperimentSpec,
    TrialResult,
    TrialSpec,
    load_spec,
    run_experiment,
    run_trial,
)
from signalbench.networks import IntersectionSpec, NetworkModel, load_network_model
from signalbench.signals import SignalTiming

__all__ = [
    "BaseController",
    "Controller",
    "ExperimentSpec",
    "IntersectionObs",
    "IntersectionSpec",
    "NetworkModel",
    "PhaseRequest",
    "SignalTiming",
    "SignalbenchError",
    "TrialResult",
    "TrialSpec",
    "__version__",
    "load_network_model",
    "load_spec",
    "read_approaches",
    "read_intersections",
    "read_results",
    "read_timeseries",
    "registry",
    "run_experiment",
    "run_trial",
]
