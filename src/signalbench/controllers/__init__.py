"""Controllers: the contract, the registry and the built-in policies."""

from signalbench.controllers._api import (
    Controller,
    IntersectionObs,
    NetworkController,
    PhaseRequest,
)
from signalbench.controllers._base import BaseController, NoParams, PerIntersection
from signalbench.controllers._registry import (
    ENTRY_POINT_GROUP,
    ControllerEntry,
    ControllerRegistry,
    registry,
)
from signalbench.controllers.fixed_time import FixedTime
from signalbench.controllers.max_pressure import MaxPressure

__all__ = [
    "ENTRY_POINT_GROUP",
    "BaseController",
    "Controller",
    "ControllerEntry",
    "ControllerRegistry",
    "FixedTime",
    "IntersectionObs",
    "MaxPressure",
    "NetworkController",
    "NoParams",
    "PerIntersection",
    "PhaseRequest",
    "registry",
]
