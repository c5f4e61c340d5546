"""The runtime: how one run is assembled and driven.

:class:`Session` (scenario -> SUMO configuration -> backend -> network model) builds every run
of signalbench: trials, training episodes, the reinforcement-learning environments, ``watch``
and the conformance kit. :class:`Episode` is the decision loop: observe, ask the controller,
let the safety actuator turn requests into legal signals, advance SUMO to the next decision.
"""

from signalbench.runtime._episode import BATCH_MIN_LIGHTS, DecisionHook, Episode, EpisodeStats
from signalbench.runtime._session import OUTPUT_NAMES, Session, SimOptions

__all__ = [
    "BATCH_MIN_LIGHTS",
    "OUTPUT_NAMES",
    "DecisionHook",
    "Episode",
    "EpisodeStats",
    "Session",
    "SimOptions",
]
