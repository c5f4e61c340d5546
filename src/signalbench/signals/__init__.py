"""The safety actuator: yellow, all-red, min and max green, enforced for every controller."""

from signalbench.signals._actuator import Actuator, InvalidRequest, Mode, Override, PhaseRequest
from signalbench.signals._audit import audit_timeline
from signalbench.signals._timing import SignalTiming, all_red_state, loses_green, yellow_state

__all__ = [
    "Actuator",
    "InvalidRequest",
    "Mode",
    "Override",
    "PhaseRequest",
    "SignalTiming",
    "all_red_state",
    "audit_timeline",
    "loses_green",
    "yellow_state",
]
