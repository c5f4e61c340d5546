"""Networks: the static model of a signalised network, and the catalog of public ones."""

from signalbench.networks._catalog import (
    NetworkEntry,
    Scenario,
    canonical_network,
    catalog,
    looks_like_path,
    resolve_network,
)
from signalbench.networks._generate import (
    GENERATORS,
    FlowRecipe,
    NetRecipe,
    generated_scenario,
    parse_generator_ref,
)
from signalbench.networks._model import (
    GreenPhase,
    IntersectionSpec,
    LaneSpec,
    Movement,
    NetworkModel,
    has_traffic_lights,
    is_green_state,
    load_network_model,
)

__all__ = [
    "GENERATORS",
    "FlowRecipe",
    "GreenPhase",
    "IntersectionSpec",
    "LaneSpec",
    "Movement",
    "NetRecipe",
    "NetworkEntry",
    "NetworkModel",
    "Scenario",
    "canonical_network",
    "catalog",
    "generated_scenario",
    "has_traffic_lights",
    "is_green_state",
    "load_network_model",
    "looks_like_path",
    "parse_generator_ref",
    "resolve_network",
]
