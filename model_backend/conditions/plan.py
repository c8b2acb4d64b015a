"""The typed plan: what an instruction asks for, as every parser produces it and every consumer reads it.

A ``Plan`` holds

- ``targets``: what the model must find (a class phrase and the grounding task);
- ``references``: what conditions are measured against, each with an ``id`` the conditions use: a
  context layer by name (``source="layer"``) or a phrase the model must find first
  (``source="model"``, grounded by detection for objects and segmentation for areas and lines);
- ``where``: the GIS conditions as a boolean tree (``Distance``, ``Topology``, ``Direction``,
  ``Between``, ``Measure``, ``ImagePart`` combined by ``And``, ``Or``, ``Not``), measured on the
  georeferenced results by ``executor.execute_plan``;
- ``visual``: conditions a GIS cannot measure (colour, state, "damaged"): model steps of the chain,
  each keeping a subset of the previous step's objects (all must hold);
- ``rank``: keep the k best objects by a measure ("the 3 largest", "the closest to X");
- ``count``: answer with the number of objects kept ("how many ... <conditions>");
- ``question``: the text sent as it is for tasks that take no conditions (caption, VQA, ...);
- ``parser`` and ``warnings``: which parser produced the plan and what it noticed.

Every type is a frozen dataclass; ``Plan.to_dict``/``Plan.from_dict`` round-trip through JSON and
``plan_schema()`` is the JSON Schema generated from these types (what LLM parsers must emit). The
meaning of each condition (frames, units, defaults) is in the README, "The instruction language".
"""

from __future__ import annotations

import dataclasses
import functools
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, Iterator, Literal, Optional, Union

from pydantic import Field

from ..errors import ConfigError
from .units import Quantity

if TYPE_CHECKING:
    from .describe import Sentence

GRAMMAR_PARSER = "grammar"
NO_CONDITIONS_PARSER = "none (this task takes no conditions)"

#: "near X" without a distance: within this distance, stated in the plan as an assumption
NEAR_DEFAULT = Quantity(100, "m")
#: "far from X" without a distance: farther than this, stated in the plan as an assumption
FAR_DEFAULT = Quantity(1, "km")

TaskName = Literal["detection", "seg", "change", "caption", "identify", "vqa", "classify", "geolocation"]
ObjectTask = Literal["detection", "seg", "change"]
GroundingTask = Literal["detection", "seg"]
Comparison = Literal["<", "<=", ">", ">=", "between"]
CompassDirection = Literal[
    "north", "north-east", "east", "south-east", "south", "south-west", "west", "north-west"
]
#: parts of the run's image: halves for the four sides, quarters for the corners, the middle third
ImagePartName = Literal[
    "north", "south", "east", "west", "north-east", "north-west", "south-east", "south-west", "centre"
]
MeasureName = Literal["area", "length", "width", "perimeter"]
RankKey = Literal["area", "length", "width", "perimeter", "distance", "northing", "easting"]

TEXT_TASKS = frozenset({"caption", "identify", "vqa", "classify", "geolocation"})
OBJECT_TASKS = ("detection", "seg", "change")


class PlanError(ConfigError):
    """A plan that breaks the rules of the plan types (unknown reference, bad range...)."""


def _check_range(op: str, value: Quantity, upper: Quantity | None, dimension: str, what: str) -> None:
    if value.dimension != dimension:
        raise PlanError(f"{what} needs a {dimension}, got {value}")
    if op == "between":
        if upper is None:
            raise PlanError(f"{what} 'between' needs an upper bound")
        if upper.dimension != dimension:
            raise PlanError(f"{what} needs a {dimension}, got {upper}")
        if upper.si < value.si:
            raise PlanError(f"{what} 'between {value} and {upper}': the lower bound is above the upper one")
    elif upper is not None:
        raise PlanError(f"{what} with {op!r} takes one value, not an upper bound")


# --------------------------------------------------------------------------------------------------
# what to find, and what to measure against


@dataclass(frozen=True)
class Target:
    """What the model must find: ``phrase`` as the analyst wrote it ("ships", "white cars") and the
    task that grounds it (``detection``: rotated boxes, ``seg``: polygons, ``change``: change
    polygons between two images)."""

    phrase: Annotated[str, Field(description="the class phrase the model must find, e.g. 'ships'")]
    task: Annotated[ObjectTask, Field(description="how it is found")] = "detection"

    def __post_init__(self):
        if not self.phrase.strip():
            raise PlanError("a target needs a phrase")


@dataclass(frozen=True)
class Reference:
    """What a condition is measured against. ``source="layer"``: the context layer named ``layer``;
    ``source="model"``: the model finds ``phrase`` first (with ``task``: ``detection`` for objects,
    ``seg`` for areas and lines such as rivers or roads) and its results are the reference.
    ``phrase`` is the reference as written, without its article ("pier", "roads")."""

    id: Annotated[str, Field(description="short id the conditions use, e.g. 'r1'")]
    phrase: Annotated[str, Field(description="the reference as written, without article, e.g. 'runway'")]
    source: Annotated[Literal["layer", "model"], Field(description="a context layer, or found by the model")]
    layer: Annotated[Optional[str], Field(description="the context layer's name when source is 'layer'")] = None
    task: Annotated[
        Optional[GroundingTask], Field(description="when source is 'model': detection for objects, seg for areas/lines")
    ] = None

    def __post_init__(self):
        if not self.id.strip() or not self.phrase.strip():
            raise PlanError("a reference needs an id and a phrase")
        if self.source == "layer" and (not self.layer or self.task is not None):
            raise PlanError(f"reference {self.id}: a layer reference names its layer and has no task")
        if self.source == "model" and (self.task is None or self.layer is not None):
            raise PlanError(f"reference {self.id}: a reference found by the model has a task and no layer")

    def describe(self) -> str:
        if self.source == "layer":
            return f"the layer '{self.layer}'"
        return f"the {self.phrase} the model finds"


# --------------------------------------------------------------------------------------------------
# conditions: a boolean tree of measures


@dataclass(frozen=True)
class Distance:
    """The distance from an object to the nearest feature of reference ``ref`` (edge to edge, metres)
    compared with ``value`` (``op``), or within ``[value, upper]`` for ``between``. ``default``: the
    value is the plan's default for "near"/"far" (an assumption the plan states)."""

    ref: str
    op: Comparison
    value: Quantity
    upper: Optional[Quantity] = None
    default: Annotated[bool, Field(description="true when the distance is the default for 'near'/'far'")] = False
    kind: Literal["distance"] = "distance"

    def __post_init__(self):
        _check_range(self.op, self.value, self.upper, "length", "a distance")


@dataclass(frozen=True)
class Topology:
    """``inside``: the object is covered by a feature of ``ref`` (for a line or point reference, it
    touches one); ``intersects``: the object shares at least a point with a feature of ``ref``."""

    ref: str
    relation: Literal["inside", "intersects"]
    kind: Literal["topology"] = "topology"


@dataclass(frozen=True)
class Direction:
    """The object lies in ``direction`` of reference ``ref``: its centroid against the reference's
    nearest point (for a line, the side of the line it is on)."""

    ref: str
    direction: CompassDirection
    kind: Literal["direction"] = "direction"


@dataclass(frozen=True)
class Between:
    """The object lies between references ``ref_a`` and ``ref_b`` (the order does not matter): seen from
    its centroid, the nearest point of ``ref_a`` and the nearest point of ``ref_b`` lie in opposite
    directions (the angle between the two is more than 90 degrees). An object touching or inside either
    reference is not between them."""

    ref_a: Annotated[str, Field(description="id of one reference, e.g. 'r1'")]
    ref_b: Annotated[str, Field(description="id of the other reference, e.g. 'r2'")]
    kind: Literal["between"] = "between"

    def __post_init__(self):
        if self.ref_a == self.ref_b:
            raise PlanError(f"'between' needs two different references, got {self.ref_a!r} twice")

    @property
    def refs(self) -> tuple[str, str]:
        return (self.ref_a, self.ref_b)


@dataclass(frozen=True)
class Measure:
    """The object's own ``measure`` (area in square units; length, width, perimeter in length units)
    compared with ``value`` (``op``), or within ``[value, upper]`` for ``between``."""

    measure: MeasureName
    op: Comparison
    value: Quantity
    upper: Optional[Quantity] = None
    kind: Literal["measure"] = "measure"

    def __post_init__(self):
        _check_range(self.op, self.value, self.upper, "area" if self.measure == "area" else "length",
                     f"the {self.measure}")


@dataclass(frozen=True)
class ImagePart:
    """The object's centroid lies in ``part`` of the run's image (map directions, north up): ``north``
    ... ``west``: that half; ``north-east`` ...: that quarter; ``centre``: the middle third in both
    axes. Measured against the axis-aligned bounds of the raster's footprint in its CRS."""

    part: Annotated[ImagePartName, Field(description="which part of the image ('top'/'upper' is north, "
                                                     "'left' is west, 'middle' is centre)")]
    kind: Literal["image_part"] = "image_part"


def _combines_two(node) -> None:
    object.__setattr__(node, "items", tuple(node.items))
    if len(node.items) < 2:
        raise PlanError(f"'{node.kind}' combines at least two conditions")


@dataclass(frozen=True)
class And:
    """Every item holds."""

    items: tuple[Condition, ...]
    kind: Literal["and"] = "and"

    __post_init__ = _combines_two


@dataclass(frozen=True)
class Or:
    """At least one item holds."""

    items: tuple[Condition, ...]
    kind: Literal["or"] = "or"

    __post_init__ = _combines_two


@dataclass(frozen=True)
class Not:
    """The item does not hold."""

    item: Condition
    kind: Literal["not"] = "not"


Condition = Annotated[Union[Distance, Topology, Direction, Between, Measure, ImagePart, And, Or, Not],
                      Field(discriminator="kind")]
CONDITION_TYPES = (Distance, Topology, Direction, Between, Measure, ImagePart, And, Or, Not)


def walk(condition) -> Iterator[Any]:
    """Every node of a condition tree, parents first."""
    if condition is None:
        return
    yield condition
    if isinstance(condition, (And, Or)):
        for item in condition.items:
            yield from walk(item)
    elif isinstance(condition, Not):
        yield from walk(condition.item)


def condition_refs(condition) -> tuple[str, ...]:
    """The reference ids one condition node measures against (none for ``Measure``, ``ImagePart`` and the
    boolean nodes themselves)."""
    if isinstance(condition, Between):
        return condition.refs
    ref = getattr(condition, "ref", None)
    return () if ref is None else (ref,)


def all_of(items) -> Any:
    """``And`` of ``items``, flattened; a single item itself; ``None`` for none."""
    flat: list = []
    for item in items:
        if item is None:
            continue
        flat.extend(item.items if isinstance(item, And) else (item,))
    if not flat:
        return None
    return flat[0] if len(flat) == 1 else And(tuple(flat))


# --------------------------------------------------------------------------------------------------
# ranking and the plan


@dataclass(frozen=True)
class Rank:
    """Keep the ``k`` objects with the largest (``descending``) or smallest values of ``by``:
    ``area``, ``length``, ``width``, ``perimeter``, ``distance`` to reference ``ref``, ``northing``
    (the northernmost first when descending) or ``easting``. Objects tied with the k-th are kept too."""

    by: RankKey
    descending: bool
    k: Annotated[int, Field(ge=1)] = 1
    ref: Optional[str] = None

    def __post_init__(self):
        if self.k < 1:
            raise PlanError(f"a ranking keeps at least one object, not {self.k}")
        if (self.by == "distance") != (self.ref is not None):
            raise PlanError("a ranking by distance names its reference, and only it does")


@dataclass(frozen=True)
class ModelStep:
    """One step of the model chain: ``find`` the targets, or ``filter`` the previous step's objects
    by a visual condition. ``text`` is what the dialect puts in the prompt."""

    text: str
    role: Literal["find", "filter"] = "find"


@dataclass(frozen=True)
class Plan:
    """An instruction as the backend runs it (see the module docstring)."""

    task: TaskName
    targets: tuple[Target, ...] = ()
    references: tuple[Reference, ...] = ()
    where: Optional[Condition] = None
    visual: Annotated[
        tuple[str, ...], Field(description="conditions only the model can check, e.g. 'that are damaged'")
    ] = ()
    rank: Optional[Rank] = None
    count: Annotated[bool, Field(description="answer with the number of objects kept")] = False
    question: Annotated[Optional[str], Field(description="for caption/vqa/classify/...: the text as sent")] = None
    parser: str = GRAMMAR_PARSER
    warnings: tuple[str, ...] = ()

    def __post_init__(self):
        for name in ("targets", "references", "visual", "warnings"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        ids = [r.id for r in self.references]
        if len(set(ids)) != len(ids):
            raise PlanError(f"reference ids must be unique, got {ids}")
        known = set(ids)
        used = [ref for n in walk(self.where) for ref in condition_refs(n)]
        if self.rank is not None and self.rank.ref is not None:
            used.append(self.rank.ref)
        unknown = sorted(set(used) - known)
        if unknown:
            raise PlanError(f"conditions refer to unknown reference(s) {', '.join(unknown)}; known: "
                            f"{', '.join(ids) or 'none'}")
        if self.task in TEXT_TASKS and not self.count and (self.targets or self.where or self.rank or self.visual):
            raise PlanError(f"the {self.task} task takes no targets or conditions (only 'how many' counts)")
        if self.count and not self.targets:
            raise PlanError("counting needs something to count")

    # -- what the pipeline reads -----------------------------------------------------------------

    @property
    def is_text_task(self) -> bool:
        return self.task in TEXT_TASKS and not self.count

    @property
    def model_steps(self) -> tuple[ModelStep, ...]:
        """The chain run on every tile: find the targets, then one step per visual condition."""
        if not self.targets:
            return ()
        first = ModelStep(_join_phrases([t.phrase for t in self.targets]), "find")
        return (first,) + tuple(ModelStep(f"select the ones {_as_relative(v)}", "filter") for v in self.visual)

    @property
    def needs_gis(self) -> bool:
        """Whether the merged results go through the executor (conditions or a ranking)."""
        return self.where is not None or self.rank is not None

    def reference(self, ref_id: str) -> Reference:
        for r in self.references:
            if r.id == ref_id:
                return r
        raise PlanError(f"no reference {ref_id!r} in the plan")

    @property
    def layer_references(self) -> tuple[Reference, ...]:
        return tuple(r for r in self.references if r.source == "layer")

    @property
    def model_references(self) -> tuple[Reference, ...]:
        return tuple(r for r in self.references if r.source == "model")

    def replace(self, **changes) -> "Plan":
        return dataclasses.replace(self, **changes)

    # -- JSON ----------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (``from_dict`` reads it back to an equal plan)."""
        return _adapter().dump_python(self, mode="json")

    @classmethod
    def from_dict(cls, data: Any) -> "Plan":
        """A plan from its JSON form; ``PlanError`` saying what is wrong otherwise."""
        from pydantic import ValidationError

        try:
            return _adapter().validate_python(data)
        except ValidationError as exc:  # PlanError from the types' own checks passes through
            raise PlanError(f"not a valid plan: {_validation_summary(exc)}") from None

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False)

    # -- for people ----------------------------------------------------------------------------

    def sentences(self) -> list["Sentence"]:
        """The plan as numbered sentences (model steps, GIS measures, assumptions)."""
        from .describe import plan_sentences

        return plan_sentences(self)

    def describe(self) -> str:
        """The sentences, numbered, one a line, with the parser and the warnings."""
        from .describe import describe_plan

        return describe_plan(self)

    def report(self) -> dict[str, Any]:
        """What the CLI, the server and the recipe show: the typed plan and its sentences."""
        from .describe import plan_report

        return plan_report(self)


def _join_phrases(phrases: list[str]) -> str:
    if len(phrases) <= 2:
        return " and ".join(phrases)
    return ", ".join(phrases[:-1]) + " and " + phrases[-1]


def _as_relative(clause: str) -> str:
    """``"which are damaged"``, ``"are damaged"`` -> ``"that are damaged"`` (the chain's wording)."""
    words = clause.split()
    if words and words[0].lower() in ("which", "who"):
        words[0] = "that"
    elif words and words[0].lower() in ("are", "is", "were", "was", "have", "has"):
        words.insert(0, "that")
    return " ".join(words)


def _validation_summary(exc) -> str:
    parts = []
    for err in exc.errors()[:3]:
        where = ".".join(str(p) for p in err.get("loc", ()))
        parts.append(f"{where or 'plan'}: {err.get('msg')}")
    more = len(exc.errors()) - len(parts)
    return "; ".join(parts) + (f" (and {more} more)" if more > 0 else "")


@functools.lru_cache(maxsize=1)
def _adapter():
    from pydantic import TypeAdapter

    return TypeAdapter(Plan)


#: fields a parser adds: not part of what an LLM parser emits
METADATA_FIELDS = ("parser", "warnings")


@functools.lru_cache(maxsize=1)
def _schema_json() -> str:
    schema = _adapter().json_schema()
    for name in METADATA_FIELDS:
        schema["properties"].pop(name, None)
    _tighten(schema)
    return json.dumps(schema, sort_keys=True)


def _tighten(node: Any) -> None:
    """Drop titles (noise for a model), forbid unknown keys and make the ``kind`` tags required, so
    that constrained decoders write complete, unambiguous objects."""
    if isinstance(node, dict):
        node.pop("title", None)
        props = node.get("properties")
        if isinstance(props, dict):
            node["additionalProperties"] = False
            if "kind" in props:
                node["required"] = sorted(set(node.get("required", [])) | {"kind"})
        for key, value in list(node.items()):
            if key != "properties":
                _tighten(value)
            else:
                for prop in value.values():
                    _tighten(prop)
    elif isinstance(node, list):
        for item in node:
            _tighten(item)


def plan_schema() -> dict[str, Any]:
    """The JSON Schema of a plan as a parser emits it (the ``Plan`` type without ``parser`` and
    ``warnings``), generated from the dataclasses above."""
    return json.loads(_schema_json())
