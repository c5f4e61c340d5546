"""Controllers: the contract, the registry and the built-in policies."""

from signalbench.controllers._api import (
    Controller,
    IntersectionObs,
    NetworkController,
    PhaseRequest,
    ProgramWriter,
)
from signalbench.controllers._base import BaseController, NoParams, PerIntersection
from signalbench.controllers._detection import QueueTracker
from signalbench.controllers._registry import (
    ENTRY_POINT_GROUP,
    ControllerEntry,
    ControllerRegistry,
    registry,
)
from signalbench.controllers.actuated import Actuated
from signalbench.controllers.fixed_time import FixedTime
from signalbench.controllers.greedy import Greedy
from signalbench.controllers.green_wave import GreenWave
from signalbench.controllers.longest_queue import LongestQueueFirst
from signalbench.controllers.max_pressure import MaxPressure
from signalbench.controllers.random_phase import RandomPhase
from signalbench.controllers.sotl import Sotl
from signalbench.controllers.sumo_actuated import SumoActuated
from signalbench.controllers.sumo_delay_based import SumoDelayBased
from signalbench.controllers.webster import Webster

__all__ = [
    "ENTRY_POINT_GROUP",
    "Actuated",
    "BaseController",
    "Controller",
    "ControllerEntry",
    "ControllerRegistry",
    "FixedTime",
    "Greedy",
    "GreenWave",
    "IntersectionObs",
    "LongestQueueFirst",
    "MaxPressure",
    "NetworkController",
    "NoParams",
    "PerIntersection",
    "PhaseRequest",
    "ProgramWriter",
    "QueueTracker",
    "RandomPhase",
    "Sotl",
    "SumoActuated",
    "SumoDelayBased",
    "Webster",
    "registry",
]
