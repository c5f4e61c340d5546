"""Sensing: what controllers see of the street, and how it is measured.

A :class:`SensingModel` fills every controller's :class:`~signalbench.controllers.IntersectionObs`
at each decision; the episode asks it through a :class:`Sensor` bound to the running backend.
:data:`PERFECT` gives the simulator's own lane truths (the default).
"""

from signalbench.sensing._api import BatchSensor, SensingModel, Sensor, SignalStatus
from signalbench.sensing._perfect import PerfectSensing

#: The default sensing: the simulator's own lane truths.
PERFECT = PerfectSensing()

__all__ = ["PERFECT", "BatchSensor", "PerfectSensing", "SensingModel", "Sensor", "SignalStatus"]
