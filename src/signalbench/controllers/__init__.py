"""Controllers: the contract, the registry and the built-in policies."""

from signalbench.controllers._api import (
    Controller,
    IntersectionObs,
    NetworkController,
    PhaseRequest,
    ProgramWriter,
)
from signalbench.controllers._base import BaseController, NoParams, PerIntersection
from signalbench.controllers._registry import (
    ENTRY_POINT_GROUP,
    ControllerEntry,
    ControllerRegistry,
    registry,
)
from signalbench.controllers.fixed_time import FixedTime
from signalbench.controllers.green_wave import GreenWave
from signalbench.controllers.max_pressure import MaxPressure
from signalbench.controllers.sumo_actuated import SumoActuated
from signalbench.controllers.sumo_delay_based import SumoDelayBased
from signalbench.controllers.webster import Webster

__all__ = [
    "ENTRY_POINT_GROUP",
    "BaseController",
    "Controller",
    "ControllerEntry",
    "ControllerRegistry",
    "FixedTime",
    "GreenWave",
    "IntersectionObs",
    "MaxPressure",
    "NetworkController",
    "NoParams",
    "PerIntersection",
    "PhaseRequest",
    "ProgramWriter",
    "SumoActuated",
    "SumoDelayBased",
    "Webster",
    "registry",
]
