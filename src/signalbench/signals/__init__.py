"""The safety actuator: yellow, all-red, min and max green, enforced for every controller.

Pure code, no SUMO: the actuator's state machine, its independent audit, the timing rules and
the signal alphabet (what a green, a yellow and a transition string are).
"""

from signalbench.signals._actuator import Actuator, InvalidRequest, Mode, Override, PhaseRequest
from signalbench.signals._audit import audit_timeline
from signalbench.signals._timing import (
    GREEN,
    SignalTiming,
    all_red_state,
    is_green_state,
    loses_green,
    yellow_state,
)

__all__ = [
    "GREEN",
    "Actuator",
    "InvalidRequest",
    "Mode",
    "Override",
    "PhaseRequest",
    "SignalTiming",
    "all_red_state",
    "audit_timeline",
    "is_green_state",
    "loses_green",
    "yellow_state",
]
