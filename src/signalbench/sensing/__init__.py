"""Sensing: what controllers see of the street, and how it is measured.

A :class:`SensingModel` fills every controller's :class:`~signalbench.controllers.IntersectionObs`
at each decision; the episode asks it through a :class:`Sensor` bound to the running backend.
:data:`PERFECT` gives the simulator's own lane truths (the default). A :class:`SensingConfig`
(a spec's ``[[sensing]]`` entry) describes a realistic alternative: induction loops, cameras or
connected-vehicle probes, with seeded faults and attacks; :func:`sensing_model` builds it.
See docs/sensing.md.
"""

from signalbench.sensing._api import BatchSensor, SensingModel, Sensor, SignalStatus
from signalbench.sensing._config import (
    ATTACK_KINDS,
    FAULT_KINDS,
    MODELS,
    Attack,
    Diagnostics,
    Fault,
    SensingConfig,
    field_set,
    parse_sensing,
    sensing_problems,
)
from signalbench.sensing._model import ConfiguredSensing
from signalbench.sensing._perfect import PerfectSensing

#: The default sensing: the simulator's own lane truths.
PERFECT = PerfectSensing()


def sensing_model(config: SensingConfig | None) -> SensingModel:
    """Return the sensing of a configuration: :data:`PERFECT` for None or bare perfect lane truths."""
    if config is None or config.is_perfect:
        return PERFECT
    return ConfiguredSensing(config)


__all__ = [
    "ATTACK_KINDS",
    "FAULT_KINDS",
    "MODELS",
    "PERFECT",
    "Attack",
    "BatchSensor",
    "ConfiguredSensing",
    "Diagnostics",
    "Fault",
    "PerfectSensing",
    "SensingConfig",
    "SensingModel",
    "Sensor",
    "SignalStatus",
    "field_set",
    "parse_sensing",
    "sensing_model",
    "sensing_problems",
]
