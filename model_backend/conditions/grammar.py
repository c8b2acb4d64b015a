"""The default instruction parser: the grammar in ``grammar.lark``, read with lark (Earley).

1. The lexer (``lexer.py``) turns the instruction into words and keywords, reads numbers ("3", "1,000",
   "three") and quantities (a number and a length or area unit, read by pint: "500 m²", "2 ha", "a mile"),
   splits contractions ("don't" -> "do not") and keeps quoted names whole.
2. Earley parses with every reading kept (ambiguity "explicit"). Free words may make phrases, so an
   instruction often has several readings ("ships north of the pier": a direction, or a target named
   "ships north of the pier"); the reading kept scores best: each GIS condition or ranking counts for
   much, each visual condition (a model step) and each keyword used as a free word counts against.
3. The chosen tree becomes a ``Plan`` (``builder.py``): references are matched against the context layers' names
   (``layers.find_layer``); an unmatched reference is found by the model (segmentation for areas and
   lines, detection otherwise, see ``lexicon``) unless the text calls it a layer or quotes its name.

``parse_with_grammar`` raises ``GrammarError`` when no reading covers the instruction.
"""

from __future__ import annotations

import functools
import itertools
from pathlib import Path
from typing import Sequence

from lark import Lark, Token, Tree
from lark.parsers.earley_forest import ForestToParseTree, PackedNode, TokenNode
from lark.exceptions import LarkError

from ..errors import ConfigError
from .builder import PlanBuilder, split_conditions
from .lexer import InstructionLexer
from .plan import Plan, PlanError, Rank, Target

GRAMMAR_FILE = Path(__file__).with_name("grammar.lark")


class GrammarError(ConfigError):
    """The grammar found no reading of the instruction."""


#: Longer instructions go to the model whole: Earley parsing grows with the cube of the length (96 words of
#: chained clauses take 1.5 s; 800 took 3 minutes and 5 GB), and analysts' instructions are far shorter.
MAX_WORDS = 120
#: Up to this many readings are compared one by one; beyond it (long chains of clauses, whose readings
#: multiply) the best reading is found part by part on the shared parse forest, never listed.
MAX_READINGS = 2000


def _lark(ambiguity: str) -> Lark:
    return Lark(
        GRAMMAR_FILE.read_text(encoding="utf-8"),
        parser="earley",
        lexer=InstructionLexer,
        ambiguity=ambiguity,
        keep_all_tokens=True,
        propagate_positions=True,
        start=["start", "count_start"],
    )


@functools.lru_cache(maxsize=1)
def _parser() -> Lark:
    """The grammar's parser; it answers the shared parse forest (every reading, not listed)."""
    return _lark("forest")


@functools.lru_cache(maxsize=1)
def _tree_callbacks() -> dict:
    """How each rule of the grammar becomes a tree node (aliases, inlined rules, positions): lark builds these
    only for a parser that returns trees."""
    return _lark("explicit").parser.parser.callbacks


# --------------------------------------------------------------------------------------------------
# choosing among readings

_PREDICATES = frozenset({"dist_within", "dist_cmp", "dist_or", "dist_between", "near", "far", "inside", "outside",
                         "intersects", "direction", "between", "m_cmp", "m_or", "m_between", "image_part", "image_part_out"})
_RANKS = frozenset({"rank_pre", "rank_prox", "rank_measure", "rank_of", "rank_sup"})
_FREE = frozenset({"tw", "tw_first", "rw", "rw_first"})
_PLAIN = frozenset({"WORD", "NUMBER", "QUOTED"})
_SHAPE_WORDS = frozenset({"larger", "bigger", "greater", "longer", "wider", "higher", "smaller", "shorter",
                          "narrower", "lower"})


#: rules whose score depends on the tokens they cover
_SPAN_SCORED = frozenset({"far", "dist_two", "visual", "visual_bare", "ref_any", "ref_all"}) | _FREE


def _node_score(node: Tree) -> float:
    """The score of one node of a reading (``_rule_score`` of its rule and tokens)."""
    span = list(node.scan_values(lambda v: isinstance(v, Token))) if node.data in _SPAN_SCORED else []
    return _rule_score(node.data, span)


def _best(node, memo: dict) -> tuple[object, float]:
    if isinstance(node, Token):
        return node, 0.0
    key = id(node)
    if key in memo:
        return memo[key]
    if node.data == "_ambig":
        choices = [_best(child, memo) for child in node.children]
        result = max(choices, key=lambda c: c[1])  # the first of equals: deterministic
    else:
        children, total = [], 0.0
        for child in node.children:
            picked, score = _best(child, memo)
            children.append(picked)
            total += score
        picked_node = Tree(node.data, children, meta=node.meta)
        result = (picked_node, total + _node_score(picked_node))
    memo[key] = result
    return result


# --------------------------------------------------------------------------------------------------
# the parse forest: readings counted, or the best one found without listing them


def _kids(node) -> list:
    if isinstance(node, TokenNode):
        return []
    if isinstance(node, PackedNode):
        return [node.left, node.right]
    return list(node.children)


def _bottom_up(root, combine) -> dict:
    """``combine(node, child_values)`` for every forest node, children first (iterative: a long instruction
    makes a deep forest). A child on a cycle back to its ancestor has no value (``None``); an absent child of a
    packed node is ``_ABSENT``."""
    memo: dict[int, object] = {}
    on_path: set[int] = set()
    stack = [(root, False)]
    while stack:
        node, expanded = stack.pop()
        key = id(node)
        if key in memo:
            continue
        kids = _kids(node)
        if not expanded:
            on_path.add(key)
            stack.append((node, True))
            stack.extend((k, False) for k in kids if k is not None and id(k) not in memo and id(k) not in on_path)
            continue
        on_path.discard(key)
        memo[key] = combine(node, [_ABSENT if k is None else memo.get(id(k)) for k in kids])
    return memo


_ABSENT = object()


def _count_readings(forest, cap: int) -> int:
    """How many readings the forest holds, counted up to ``cap + 1``."""
    def combine(node, values):
        if isinstance(node, TokenNode):
            return 1
        if isinstance(node, PackedNode):
            product = 1
            for v in values:
                product *= 1 if v is _ABSENT else (v or 0)
            return min(product, cap + 1)
        return min(sum(v or 0 for v in values), cap + 1)

    return _bottom_up(forest, combine)[id(forest)]


def _rule_score(name: str, span: list[Token]) -> float:
    """What one rule application adds to a reading's score, from its name (the tree node's, alias included) and
    the tokens it covers: each GIS condition or ranking counts for much, each visual condition (a model step)
    and each keyword used as a free word counts against."""
    first = span[0] if span else None
    if name == "far" and first is not None and first.value.lower() == "away":
        # bare "away from X" is "far from X" only when nothing else reads it: in "1 km away from X" the
        # quantity is the distance
        return -0.5
    if name in _PREDICATES or name in _RANKS:
        return 10.0
    if name == "dist_two":  # two bounds on one distance; a shape word in the first comparison says a measure
        first_cmp = itertools.takewhile(lambda t: t.type != "QUANTITY", span)
        return 0.0 if any(t.value.lower() in _SHAPE_WORDS for t in first_cmp) else 20.5
    if name in ("visual", "visual_bare"):
        return -3.0 - 0.05 * len(span)  # one child per token
    if name in ("ref_any", "ref_all"):  # 5 for each reference after the first: count the joints between them
        words = [t.value.lower() for t in span]
        joints = sum(1 for i, w in enumerate(words)
                     if w in ("or", "and") or (w == "," and words[i + 1:i + 2] not in (["or"], ["and"])))
        return 5.0 * joints
    if name in _FREE:
        return -0.1 if first is not None and first.type in _PLAIN else -0.5
    return 0.0


def _prioritise(forest) -> None:
    """Give every packed node of the forest the score of the best reading below it (``_node_score`` summed),
    so that lark's ambiguity resolution, which follows priorities, takes the best reading."""
    tokens: dict[int, Token] = {}

    def collect(node, _values):
        if isinstance(node, TokenNode):
            tokens[node.token.start_pos] = node.token
        return 0

    _bottom_up(forest, collect)
    ordered = [tokens[k] for k in sorted(tokens)]

    def combine(node, values):
        if isinstance(node, TokenNode):
            return 0.0
        if isinstance(node, PackedNode):
            if any(v is None for v in values):
                node.priority = float("-inf")
                return node.priority
            total = sum(0.0 if v is _ABSENT else v for v in values)
            if not node.parent.is_intermediate:
                rule = node.rule
                name = rule.alias or rule.origin.name
                total += _rule_score(str(name), ordered[node.parent.start:node.parent.end])
            node.priority = total
            return total
        return max((v for v in values if v is not None), default=float("-inf"))

    _bottom_up(forest, combine)


def _reading(text: str, start: str) -> Tree:
    """The best reading of ``text``: every reading compared (``_best``) when there are few, else the best
    found part by part on the forest (the same scores, ties broken by the grammar's order)."""
    lark = _parser()
    forest = lark.parse(text, start=start)
    callbacks = _tree_callbacks()
    if _count_readings(forest, MAX_READINGS) <= MAX_READINGS:
        tree = ForestToParseTree(Tree, callbacks, None, resolve_ambiguity=False).transform(forest)
        return _best(tree, {})[0]
    _prioritise(forest)
    return ForestToParseTree(Tree, callbacks, None, resolve_ambiguity=True, use_cache=False).transform(forest)


# --------------------------------------------------------------------------------------------------
# entry point


def parse_with_grammar(body: str, task: str, layer_names: Sequence[str] | None = None, *,
                       counting: bool = False) -> Plan:
    """The plan of ``body`` (an instruction without its task tag) for ``task`` (a ``Task`` value).

    ``counting``: parse only "how many / count ... <conditions>" (for VQA). ``layer_names``: the
    context layers available (``None``: unknown, so only references called layers are layers).
    Raises ``GrammarError`` when the grammar has no reading of ``body``.
    """
    text = " ".join(str(body).split()).rstrip(" .?!")
    if not text:
        raise GrammarError("the instruction is empty")
    if len(text.split()) > MAX_WORDS:
        raise GrammarError(f"it is longer than the grammar reads ({len(text.split())} words; at most {MAX_WORDS})")
    try:
        best = _reading(text, "count_start" if counting else "start")
    except LarkError as exc:
        raise GrammarError(_lark_reason(exc, text)) from None
    builder = PlanBuilder(text, layer_names)
    try:
        body_parts = builder.transform(best)
    except LarkError as exc:  # errors in the builder (a contradictory measure) arrive wrapped
        cause = getattr(exc, "orig_exc", exc)
        raise GrammarError(f"no plan can be made of it: {cause}") from None
    where, visual = split_conditions(body_parts["conds"])
    object_task = "detection" if task not in ("detection", "seg", "change") else task
    rank = None
    if body_parts["rank"] is not None:
        by, desc, k, refs = body_parts["rank"]
        ref = None
        if by == "distance":
            if refs is None or refs[0] != "one" or len(refs[1]) != 1:
                raise GrammarError("a ranking by distance needs one reference ('closest to the pier')")
            ref = refs[1][0]
        rank = Rank(by, desc, k, ref)
    try:
        return Plan(
            task=task,
            targets=(Target(body_parts["target"], object_task),),
            references=tuple(builder.references),
            where=where,
            visual=tuple(visual),
            rank=rank,
            count=body_parts["count"],
            warnings=tuple(builder.warnings),
        )
    except PlanError as exc:
        raise GrammarError(f"no plan can be made of it: {exc}") from None


def _lark_reason(exc: LarkError, text: str) -> str:
    token = getattr(exc, "token", None)
    if token is not None and getattr(token, "type", "") not in ("$END", "<EOF>"):  # lark's Earley says "<EOF>"
        before = text[: getattr(token, "start_pos", 0) or 0].strip()
        return f"unexpected {str(token)!r}" + (f" after {before!r}" if before else " at the start")
    if token is not None:
        return "it ends too early"
    return f"not read ({type(exc).__name__})"


__all__ = ["GrammarError", "parse_with_grammar"]
