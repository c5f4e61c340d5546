"""Controllers: the contract, the registry and the built-in policies.

A controller sees frozen :class:`IntersectionObs` and answers :class:`PhaseRequest`s (a
:class:`Controller` per intersection, or a :class:`NetworkController`), or installs SUMO
programs (:class:`ProgramWriter`, :mod:`signalbench.controllers.programs`); a learning one is
also :class:`Trainable`. :data:`registry` builds any of them into a :class:`BuiltController`
whose :class:`Traits` are resolved once.
"""

from signalbench.controllers._api import (
    BuiltController,
    Controller,
    IntersectionObs,
    NetworkController,
    PhaseRequest,
    ProgramWriter,
    Scope,
    Trainable,
    TrainingRun,
    TrainingSettings,
    Traits,
)
from signalbench.controllers._base import BaseController, NoParams, PerIntersection
from signalbench.controllers._batch import HOLD, BatchDecider, NetworkLayout, NetworkObs
from signalbench.controllers._detection import QueueTracker
from signalbench.controllers._registry import (
    ENTRY_POINT_GROUP,
    ControllerEntry,
    ControllerRegistry,
    is_file_reference,
    registry,
)
from signalbench.controllers._sources import controller_sources
from signalbench.controllers.actuated import Actuated
from signalbench.controllers.greedy import Greedy
from signalbench.controllers.longest_queue import LongestQueueFirst
from signalbench.controllers.max_pressure import MaxPressure
from signalbench.controllers.programs import FixedTime, GreenWave, SumoActuated, SumoDelayBased, Webster
from signalbench.controllers.q_learning import QLearning
from signalbench.controllers.random_phase import RandomPhase
from signalbench.controllers.sotl import Sotl

__all__ = [
    "ENTRY_POINT_GROUP",
    "HOLD",
    "Actuated",
    "BaseController",
    "BatchDecider",
    "BuiltController",
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
    "NetworkLayout",
    "NetworkObs",
    "NoParams",
    "PerIntersection",
    "PhaseRequest",
    "ProgramWriter",
    "QLearning",
    "QueueTracker",
    "RandomPhase",
    "Scope",
    "Sotl",
    "SumoActuated",
    "SumoDelayBased",
    "Trainable",
    "TrainingRun",
    "TrainingSettings",
    "Traits",
    "Webster",
    "controller_sources",
    "is_file_reference",
    "registry",
]
