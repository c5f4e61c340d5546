"""signalbench: a SUMO-based adaptive traffic-signal experiment harness.

Python controllers drive public SUMO networks through TraCI (libsumo by default) behind a
safety actuator; experiments expand networks x controllers x seeds into frozen trials whose
delay metrics come from SUMO's own trip accounting.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

#: Where each public name lives: imported on first use (PEP 562), so ``import signalbench``
#: (and every ``signalbench`` command, which imports this package first) costs milliseconds,
#: and a script pays for numpy, pandas or the controllers only when it touches them.
_LAZY = {
    "__version__": "signalbench._version",
    **dict.fromkeys(
        ("read_approaches", "read_intersections", "read_results", "read_timeseries"), "signalbench.analysis"
    ),
    **dict.fromkeys(
        ("BaseController", "Controller", "IntersectionObs", "PhaseRequest", "registry"),
        "signalbench.controllers",
    ),
    "SignalbenchError": "signalbench.errors",
    **dict.fromkeys(
        ("ExperimentSpec", "TrialResult", "TrialSpec", "load_spec", "run_experiment", "run_trial"),
        "signalbench.experiments",
    ),
    **dict.fromkeys(("IntersectionSpec", "NetworkModel", "load_network_model"), "signalbench.networks"),
    "SignalTiming": "signalbench.signals",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'signalbench' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # the next access is a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


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
