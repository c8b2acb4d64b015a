"""Condition chains: split a multi-condition instruction into single-condition steps (``parse_plan``),
run the model steps on a tile (``run_model_chain``) and apply the GIS-measurable steps to the
georeferenced results (``apply_gis_filters``)."""

from .chain import ChainResult, StepRun, run_model_chain
from .gis_filters import (
    AreaFilter,
    DirectionFilter,
    DistanceFilter,
    ExtentFilter,
    GisFilter,
    IntersectsFilter,
    WithinFilter,
    apply_gis_filters,
    find_layer,
    resolve_layer,
)
from .plan import Plan, Step, parse_plan
from .units import Quantity, parse_quantity

__all__ = [
    "AreaFilter",
    "ChainResult",
    "DirectionFilter",
    "DistanceFilter",
    "ExtentFilter",
    "GisFilter",
    "IntersectsFilter",
    "Plan",
    "Quantity",
    "Step",
    "StepRun",
    "WithinFilter",
    "apply_gis_filters",
    "find_layer",
    "parse_plan",
    "parse_quantity",
    "resolve_layer",
    "run_model_chain",
]
