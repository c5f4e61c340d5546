"""Networks: the static model of a signalised network, the catalog, lint, demand and generators.

Owns everything about a scenario that exists before SUMO runs: the network model read with
sumolib (:func:`load_network_model`, :func:`load_scenario_model` with the programs of the
scenario's additional files), the catalog of public networks and user paths
(:func:`resolve_network` to a :class:`Scenario`), the lint of ``signalbench networks check``,
the one reader of SUMO route files (:func:`count_vehicles`, :func:`edge_pair_flows`), and the
generated networks (:mod:`signalbench.networks.generate`).
"""

from signalbench.networks._catalog import (
    NetworkEntry,
    Scenario,
    canonical_network,
    catalog,
    looks_like_path,
    resolve_network,
)
from signalbench.networks._demand import (
    DemandCount,
    count_edge_pairs,
    count_vehicles,
    edge_pair_flows,
    parse_time_s,
    route_file_pairs,
)
from signalbench.networks._lint import Finding, LintReport, lint_model, lint_scenario
from signalbench.networks._model import (
    GreenPhase,
    IntersectionSpec,
    LaneSpec,
    Movement,
    NetworkModel,
    has_traffic_lights,
    load_network_model,
    load_scenario_model,
)
from signalbench.networks._netfile import count_traffic_lights
from signalbench.networks._saturation import (
    MAX_HEADWAY_S,
    Discharge,
    DischargeTable,
    describe_discharge,
    lane_class,
    measure_discharge,
)
from signalbench.networks.generate import (
    GENERATORS,
    PRESETS,
    RECIPE_KEYS,
    FlowRecipe,
    NetRecipe,
    generated_scenario,
    parse_generator_ref,
    preset_scenario,
    recipe_from_dict,
)
from signalbench.signals import is_green_state

__all__ = [
    "GENERATORS",
    "MAX_HEADWAY_S",
    "PRESETS",
    "RECIPE_KEYS",
    "DemandCount",
    "Discharge",
    "DischargeTable",
    "Finding",
    "FlowRecipe",
    "GreenPhase",
    "IntersectionSpec",
    "LaneSpec",
    "LintReport",
    "Movement",
    "NetRecipe",
    "NetworkEntry",
    "NetworkModel",
    "Scenario",
    "canonical_network",
    "catalog",
    "count_edge_pairs",
    "count_traffic_lights",
    "count_vehicles",
    "describe_discharge",
    "edge_pair_flows",
    "generated_scenario",
    "has_traffic_lights",
    "is_green_state",
    "lane_class",
    "lint_model",
    "lint_scenario",
    "load_network_model",
    "load_scenario_model",
    "looks_like_path",
    "measure_discharge",
    "parse_generator_ref",
    "parse_time_s",
    "preset_scenario",
    "recipe_from_dict",
    "resolve_network",
    "route_file_pairs",
]
