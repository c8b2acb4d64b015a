"""From the grammar's chosen parse tree to the pieces of a plan (``PlanBuilder``, a lark ``Transformer``):
targets and phrases cut from the text as written, references matched against the context layers,
conditions, visual conditions and the ranking."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

from lark import Token, Transformer, Tree, v_args

from ..errors import ConfigError
from .layers import find_layer
from .lexicon import grounding_task
from .plan import (
    FAR_DEFAULT,
    NEAR_DEFAULT,
    And,
    Between,
    Direction,
    Distance,
    ImagePart,
    Measure,
    Not,
    Or,
    PlanError,
    Reference,
    Topology,
    all_of,
)
from .units import Quantity, parse_quantity


@dataclass(frozen=True)
class _Visual:
    text: str


@dataclass(frozen=True)
class _RefSpec:
    phrase: str
    explicit_layer: bool


_SUPERLATIVES = {
    "largest": ("area", True), "smallest": ("area", False), "longest": ("length", True),
    "shortest": ("length", False), "widest": ("width", True), "narrowest": ("width", False),
    "northmost": ("northing", True), "southmost": ("northing", False), "eastmost": ("easting", True),
    "westmost": ("easting", False), "nearest": ("distance", False), "farthest": ("distance", True),
}
_DIRECTIONS = {"dir_n": "north", "dir_s": "south", "dir_e": "east", "dir_w": "west", "dir_ne": "north-east",
               "dir_nw": "north-west", "dir_se": "south-east", "dir_sw": "south-west"}
_PARTS = {"part_n": "north", "part_s": "south", "part_e": "east", "part_w": "west", "part_ne": "north-east",
          "part_nw": "north-west", "part_se": "south-east", "part_sw": "south-west", "part_centre": "centre"}
#: nouns that name a part of the image, by the kind of part they fit ("the northern corner" is no part)
_ANY_PART_NOUNS = frozenset({"part", "parts", "portion", "section", "region", "area"})
_PART_NOUNS = {"side": _ANY_PART_NOUNS | {"half", "side", "sides"},
               "corner": _ANY_PART_NOUNS | {"corner", "quarter"},
               "centre": _ANY_PART_NOUNS}
_OPS = {"gt": ">", "ge": ">=", "lt": "<", "le": "<="}
_LESS_WORDS = frozenset({"less", "smaller", "shorter", "narrower", "closer", "nearer", "below", "under"})
# "diameter" is the width: for a round object the short side of its minimum rotated rectangle
_WIDTH_WORDS = frozenset({"width", "wide", "wider", "narrower", "across", "diameter"})
_AREA_NOUNS = frozenset({"area", "size", "surface", "footprint"})


def _tokens(node) -> list[Token]:
    if isinstance(node, Token):
        return [node]
    return [t for t in node.scan_values(lambda v: isinstance(v, Token))]


def _words(node) -> list[str]:
    return [t.value.lower() for t in _tokens(node)]


def _subtrees(children) -> list:
    return [c for c in children if not isinstance(c, Token)]


def _measure_name(quantity: Quantity, hints: Iterable[str]) -> str:
    words = set(hints)
    if quantity.dimension == "area":
        if words & {"length", "width", "perimeter", "long", "wide", "across", "diameter"}:
            raise PlanError(f"{quantity} is an area, but the words say a length")
        return "area"
    if "perimeter" in words:
        return "perimeter"
    if words & _WIDTH_WORDS:
        return "width"
    return "length"


class PlanBuilder(Transformer):
    """Bottom-up: tree nodes -> plan pieces. Holds the references met so far."""

    def __init__(self, text: str, layer_names: Sequence[str] | None):
        super().__init__(visit_tokens=False)
        self.text = text
        self.layer_names = None if layer_names is None else list(layer_names)
        self.references: list[Reference] = []
        self.warnings: list[str] = []

    # -- helpers -------------------------------------------------------------------------------

    def _span(self, meta) -> str:
        return " ".join(self.text[meta.start_pos : meta.end_pos].split())

    def _reference(self, spec: _RefSpec) -> str:
        phrase = spec.phrase
        if not spec.explicit_layer and phrase.lower() in ("it", "them"):
            if not self.references:
                raise PlanError(f"{phrase!r} refers to no place named before it")
            return self.references[-1].id  # "south of the river, within 500 m of it": the place named last
        if not spec.explicit_layer and phrase.lower() in ("other", "others", "another", "one another"):
            raise PlanError("conditions between the objects themselves (\"each other\") are not measured")
        layer = None
        if self.layer_names is not None:
            try:
                layer = find_layer(phrase, self.layer_names)
            except ConfigError as exc:
                self.warnings.append(str(exc))
                layer = phrase
        if layer is None and spec.explicit_layer:
            layer = phrase
        for r in self.references:
            if (layer is not None and r.layer == layer) or (layer is None and r.source == "model"
                                                             and r.phrase.lower() == phrase.lower()):
                return r.id
        ref_id = f"r{len(self.references) + 1}"
        if layer is not None:
            self.references.append(Reference(ref_id, phrase, "layer", layer=layer))
        else:
            self.references.append(Reference(ref_id, phrase, "model", task=grounding_task(phrase)))
        return ref_id

    @staticmethod
    def _over(refs, make):
        """One condition per reference: "of X or Y" -> Or, "of X and Y" -> And."""
        mode, ids = refs
        items = tuple(make(r) for r in ids)
        if len(items) == 1:
            return items[0]
        return Or(items) if mode == "any" else And(items)

    # -- phrases -------------------------------------------------------------------------------

    @v_args(meta=True)
    def target(self, meta, _children):
        return ("target", self._span(meta))

    @v_args(meta=True)
    def rwords(self, meta, _children):
        return self._span(meta)

    def ref(self, children):
        explicit = False
        phrase = None
        for c in children:
            if isinstance(c, Tree) and c.data == "layer_kw":
                explicit = True
            elif isinstance(c, Token) and c.type == "QUOTED":
                phrase, explicit = c.value, True
            elif isinstance(c, str) and not isinstance(c, Token):
                phrase = c
        return self._reference(_RefSpec(phrase, explicit))

    def ref_one(self, children):
        return ("one", _subtrees(children))

    def ref_any(self, children):
        return ("any", _subtrees(children))

    def ref_all(self, children):
        return ("all", _subtrees(children))

    def k(self, children):
        return int(float(children[0].value))

    # -- quantities and comparisons --------------------------------------------------------------

    def cmp(self, children):
        (inner,) = _subtrees(children)
        return _OPS[inner.data], _words(inner)

    def more_less(self, children):
        word = _words(children[0])[0]
        return ("<=" if word in _LESS_WORDS else ">="), [word]

    def range(self, children):
        values = [c for c in children if isinstance(c, Token) and c.type in ("NUMBER", "QUANTITY")]
        high = parse_quantity(values[1].value)
        low = parse_quantity(values[0].value) if values[0].type == "QUANTITY" else Quantity(float(values[0].value),
                                                                                             high.unit)
        return (low, high) if low.si <= high.si else (high, low)

    def mlead(self, children):
        return [w for c in children for w in (_words(c) if isinstance(c, Tree) else [c.value.lower()])]

    def msuffix(self, children):
        return [w for c in children for w in _words(c)]

    def mnoun(self, children):
        return Tree("mnoun", children)  # kept as a tree: its words are read by the parent

    # -- predicates ----------------------------------------------------------------------------

    @staticmethod
    def _quantity(children) -> Quantity:
        (q,) = [c for c in children if isinstance(c, Token) and c.type == "QUANTITY"]
        return parse_quantity(q.value)

    @staticmethod
    def _refs(children):
        return next(c for c in children if isinstance(c, tuple) and c and c[0] in ("one", "any", "all"))

    def dist_within(self, children):
        q = self._quantity(children)
        return self._over(self._refs(children), lambda r: Distance(r, "<=", q))

    def dist_cmp(self, children):
        op, _ = next(c for c in children if isinstance(c, tuple) and len(c) == 2 and c[0] in _OPS.values())
        q = self._quantity(children)
        return self._over(self._refs(children), lambda r: Distance(r, op, q))

    def dist_or(self, children):
        op, _ = next(c for c in children if isinstance(c, tuple) and c[0] in ("<=", ">="))
        q = self._quantity(children)
        return self._over(self._refs(children), lambda r: Distance(r, op, q))

    def dist_two(self, children):
        """"more than 100 m but less than 300 m from X": both bounds on the distance to each reference."""
        (op1, _), (op2, _) = [c for c in children if isinstance(c, tuple) and len(c) == 2 and c[0] in _OPS.values()]
        q1, q2 = [parse_quantity(c.value) for c in children if isinstance(c, Token) and c.type == "QUANTITY"]
        return self._over(self._refs(children), lambda r: all_of([Distance(r, op1, q1), Distance(r, op2, q2)]))

    def dist_between(self, children):
        low, high = next(c for c in children if isinstance(c, tuple) and isinstance(c[0], Quantity))
        return self._over(self._refs(children), lambda r: Distance(r, "between", low, high))

    def near(self, children):
        return self._over(self._refs(children), lambda r: Distance(r, "<=", NEAR_DEFAULT, default=True))

    def far(self, children):
        return self._over(self._refs(children), lambda r: Distance(r, ">", FAR_DEFAULT, default=True))

    def inside(self, children):
        return self._over(self._refs(children), lambda r: Topology(r, "inside"))

    def outside(self, children):
        return self._over(self._refs(children), lambda r: Not(Topology(r, "intersects")))

    def intersects(self, children):
        return self._over(self._refs(children), lambda r: Topology(r, "intersects"))

    def direction(self, children):
        word = next(_DIRECTIONS[c.data] for c in children if isinstance(c, Tree) and c.data in _DIRECTIONS)
        return self._over(self._refs(children), lambda r: Direction(r, word))

    def between(self, children):
        """"between the pier and the coastline": the two references, in the order written."""
        ref_a, ref_b = [c for c in children if isinstance(c, str) and not isinstance(c, Token)]
        if ref_a == ref_b:
            raise PlanError("\u201cbetween\u201d names the same reference twice: name two different ones")
        return Between(ref_a, ref_b)

    def part_noun(self, children):
        return ("part_noun", _words(children[0])[0])

    alone_noun = part_noun

    def image_part(self, children):
        """"in the northern half of the image": the part, checked against its noun ("the northern corner" is
        no part of an image)."""
        part = next(_PARTS[c.data] for c in children if isinstance(c, Tree) and c.data in _PARTS)
        noun = next((c[1] for c in children if isinstance(c, tuple) and c[0] == "part_noun"), None)
        kind = "centre" if part == "centre" else ("corner" if "-" in part else "side")
        if noun is not None and noun not in _PART_NOUNS[kind]:
            fits = {"side": "a half, side or part", "corner": "a corner, quarter or part", "centre": "a part"}[kind]
            raise PlanError(f"\u201c{noun}\u201d is no part of the image this parser reads ({part}: {fits})")
        return ImagePart(part)

    def image_part_out(self, children):
        return Not(self.image_part(children))

    def _measure(self, children, op, q, upper=None):
        hints: list[str] = []
        for c in children:
            if isinstance(c, list):
                hints += c
            elif isinstance(c, tuple) and len(c) == 2 and isinstance(c[1], list):
                hints += c[1]
        return Measure(_measure_name(q, hints), op, q, upper)

    def m_cmp(self, children):
        op, _ = next(c for c in children if isinstance(c, tuple) and c[0] in _OPS.values())
        return self._measure(children, op, self._quantity(children))

    def m_or(self, children):
        op, _ = next(c for c in children if isinstance(c, tuple) and c[0] in ("<=", ">="))
        return self._measure(children, op, self._quantity(children))

    def m_between(self, children):
        low, high = next(c for c in children if isinstance(c, tuple) and isinstance(c[0], Quantity))
        return self._measure(children, "between", low, high)

    # -- combining -------------------------------------------------------------------------------

    def negation(self, _children):
        return "not"

    def condition(self, children):
        items = [c for c in children if not isinstance(c, Token)]
        pred = items[-1]
        return Not(pred) if "not" in items[:-1] else pred

    @v_args(meta=True)
    def visual(self, meta, _children):
        return _Visual(self._span(meta))

    visual_bare = visual

    def clause(self, children):
        return _subtrees(children)[-1]

    cond_more = clause

    def all_of(self, children):
        return ("and", _subtrees(children))

    @v_args(meta=True)
    def any_of(self, meta, children):
        items = _subtrees(children)
        if any(_has_visual(i) for i in items):
            self.warnings.append(
                f"'or' joins a visual condition with others in {self._span(meta)!r}: the model is asked for all of it"
            )
            return _Visual(self._span(meta))
        return Or(tuple(_gis(i) for i in items))

    either = any_of

    def except_(self, children):
        """"except those on the runway": not that condition."""
        (condition,) = [c for c in children if not isinstance(c, (Token, str))]
        return Not(condition)

    def neither(self, children):
        """"neither A nor B": not A and not B."""
        first, second = [c for c in children if not isinstance(c, (Token, str))]
        return all_of([Not(first), Not(second)])

    def conds(self, children):
        (tree,) = _subtrees(children)
        return ("conds", tree)

    # -- ranking ---------------------------------------------------------------------------------

    def _superlative(self, children):
        return next(_SUPERLATIVES[c.data] for c in children if isinstance(c, Tree) and c.data in _SUPERLATIVES)

    def rank_pre(self, children):
        by, desc = self._superlative(children)
        ks = [c for c in children if isinstance(c, int)]
        return ("rank", by, desc, ks[0] if ks else None, None)

    rank_sup = rank_pre  # "(the ships) that are the 3 longest"

    def rank_ref(self, children):
        return ("rank_ref", self._refs(children))

    def proximity(self, children):
        return self._superlative(children)

    def rank_prox(self, children):
        by, desc = next(c for c in children if isinstance(c, tuple) and c[0] == "distance")
        ks = [c for c in children if isinstance(c, int)]
        return ("rank", by, desc, ks[0] if ks else None, self._refs(children))

    def rank_measure(self, children):
        _by, desc = self._superlative(children)
        noun = next(_words(c) for c in children if isinstance(c, Tree) and c.data == "mnoun")
        by = "area" if set(noun) & _AREA_NOUNS else ("perimeter" if "perimeter" in noun else
                                                      "width" if set(noun) & _WIDTH_WORDS else "length")
        ks = [c for c in children if isinstance(c, int)]
        return ("rank", by, desc, ks[0] if ks else None, None)

    def rank_of(self, children):
        ks = [c for c in children if isinstance(c, int)]
        prox = [c for c in children if isinstance(c, tuple) and c[0] == "distance"]
        if prox:
            return ("rank", prox[0][0], prox[0][1], ks[0] if ks else None, self._refs(children))
        by, desc = self._superlative(children)
        return ("rank", by, desc, ks[0] if ks else None, None)

    # -- bodies ----------------------------------------------------------------------------------

    def _body(self, children, count: bool = False):
        target = next(c[1] for c in children if isinstance(c, tuple) and c[0] == "target")
        conds = next((c[1] for c in children if isinstance(c, tuple) and c[0] == "conds"), None)
        rank = None
        ks = [c for c in children if isinstance(c, int)]
        for c in children:
            if isinstance(c, tuple) and c[0] == "rank":
                _, by, desc, k, refs = c
                rank = [by, desc, k if k is not None else (ks[0] if ks else 1), refs]
            elif isinstance(c, tuple) and c[0] == "rank_ref" and rank is not None:
                rank[3] = c[1]
        return {"target": target, "conds": conds, "rank": rank, "count": count}

    def plain_body(self, children):
        return self._body(children)

    rank_first = rank_after = rank_last = of_body = plain_body

    def count_body(self, children):
        return self._body(children, count=True)

    def start(self, children):
        (body,) = [c for c in children if isinstance(c, dict)]
        return body

    count_start = start


def _has_visual(item) -> bool:
    if isinstance(item, _Visual):
        return True
    if isinstance(item, tuple) and item and item[0] == "and":
        return any(_has_visual(i) for i in item[1])
    return False


def _gis(item):
    """An all_of tuple of GIS conditions -> ``And``; a condition as is."""
    if isinstance(item, tuple) and item and item[0] == "and":
        return all_of([_gis(i) for i in item[1]])
    return item


def split_conditions(conds) -> tuple[object, list[str]]:
    """The top-level condition tree -> (GIS condition or None, visual condition texts)."""
    if conds is None:
        return None, []
    items = conds[1] if isinstance(conds, tuple) and conds[0] == "and" else [conds]
    gis, visual = [], []
    for item in items:
        if isinstance(item, _Visual):
            visual.append(item.text)
        else:
            gis.append(_gis(item))
    return all_of(gis), visual
