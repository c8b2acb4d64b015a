"""Instructions as plans: ``parse_plan`` reads an instruction into a typed ``Plan`` (targets,
references, GIS conditions, visual model steps, ranking, counting); ``run_model_chain`` runs its model
steps on a tile; ``execute_plan`` applies its GIS part to the merged, georeferenced results;
``check_plan`` settles its references against the context layers before a run."""

from .chain import ChainResult, StepRun, run_model_chain
from .executor import PlanResult, execute_plan
from .grammar import GrammarError, parse_with_grammar
from .image_parts import ImageExtent
from .layers import check_plan, find_layer, resolve_layer
from .parse import parse_plan
from .plan import (
    FAR_DEFAULT,
    NEAR_DEFAULT,
    And,
    Between,
    Direction,
    Distance,
    ImagePart,
    Measure,
    ModelStep,
    Not,
    Or,
    Plan,
    PlanError,
    Rank,
    Reference,
    Target,
    Topology,
    plan_schema,
)
from .units import Quantity, parse_quantity

__all__ = [
    "FAR_DEFAULT",
    "NEAR_DEFAULT",
    "And",
    "Between",
    "ChainResult",
    "Direction",
    "Distance",
    "GrammarError",
    "ImageExtent",
    "ImagePart",
    "Measure",
    "ModelStep",
    "Not",
    "Or",
    "Plan",
    "PlanError",
    "PlanResult",
    "Quantity",
    "Rank",
    "Reference",
    "StepRun",
    "Target",
    "Topology",
    "check_plan",
    "execute_plan",
    "find_layer",
    "parse_plan",
    "parse_quantity",
    "parse_with_grammar",
    "plan_schema",
    "resolve_layer",
    "run_model_chain",
]
