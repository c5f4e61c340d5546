"""Networks: the static model of a signalised network, and the catalog of public ones."""

from signalbench.networks._catalog import NetworkEntry, Scenario, catalog, resolve_network
from signalbench.networks._model import (
    GreenPhase,
    IntersectionSpec,
    LaneSpec,
    Movement,
    NetworkModel,
    is_green_state,
    load_network_model,
)

__all__ = [
    "GreenPhase",
    "IntersectionSpec",
    "LaneSpec",
    "Movement",
    "NetworkEntry",
    "NetworkModel",
    "Scenario",
    "catalog",
    "is_green_state",
    "load_network_model",
    "resolve_network",
]
