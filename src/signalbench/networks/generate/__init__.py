"""Networks and demand made by our own code: netgenerate recipes, seeded flows, OSM import.

A :class:`NetRecipe` (single intersection, grid, arterial) and a :class:`FlowRecipe` (veh/h per
approach, turning ratios, time profile, OD flows) become files in the cache (``generated``),
keyed by the recipe's hash; :func:`import_osm` converts an OpenStreetMap extract.
"""

from signalbench.networks.generate._flows import PROFILES, FlowRecipe, generate_demand
from signalbench.networks.generate._osm import NETCONVERT_OSM_OPTIONS, import_osm
from signalbench.networks.generate._recipes import (
    GENERATORS,
    PRESETS,
    RECIPE_KEYS,
    NetRecipe,
    generate_network,
    generated_scenario,
    parse_generator_ref,
    preset_scenario,
    recipe_from_dict,
)

__all__ = [
    "GENERATORS",
    "NETCONVERT_OSM_OPTIONS",
    "PRESETS",
    "PROFILES",
    "RECIPE_KEYS",
    "FlowRecipe",
    "NetRecipe",
    "generate_demand",
    "generate_network",
    "generated_scenario",
    "import_osm",
    "parse_generator_ref",
    "preset_scenario",
    "recipe_from_dict",
]
