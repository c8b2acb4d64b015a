"""Follow-ups: an instruction about the objects of the previous result ("now only those larger than 500 m²",
"which of these are north of the river?", "remove the ones inside the parks layer", "how many of them are
damaged?"), read into a ``FollowUp``: a plan over *these objects* -- no new search by the model.

How it is read (pure text, no model):

1. **The lead.** Filler words ("ok", "and", "now"...), an optional "of these," / "among them,", then a verb
   saying what to do: *count* ("how many", "count"), *which* (a question: "which of these ..."), *remove*
   ("remove", "drop", "exclude", "leave out"...) or *keep* ("keep", "only", "show me", "select"...),
   optionally followed by "only".
2. **The anaphor**: what names the previous objects -- "these", "those", "them", "the ones", "these ones",
   "the damaged ones" (words before "ones" are a visual condition), "all of them", "the previous
   objects"; or "of these" at the end ("the 3 largest of these"). It is replaced by a placeholder noun and
   the rest is read by the instruction grammar (``grammar.lark``) like any instruction: GIS conditions,
   visual conditions, a ranking, counting. Words the grammar leaves around the placeholder in the target
   ("which of these *ships* ...") filter by label when they name a class of the previous result (and are
   dropped when every object has it), else they are a visual condition ("that are ships").
3. **Is it a follow-up?** In automatic mode only with a clear reference to the previous objects: an "of
   these" clause, or an anaphor right after the verb (or the "the objects/results" kind after a verb). A
   client may force it (``forced=True``: the whole text is read as conditions on the previous objects).

The plan's ``targets`` hold the previous objects' class phrase (what visual steps ask the model about);
``FollowUp.mode`` says whether the objects that meet the conditions are kept, removed or counted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Literal, Sequence

from ..errors import ConfigError
from ..nouns import singular
from .describe import Sentence, plan_sentences
from .grammar import GrammarError, parse_with_grammar
from .plan import Plan, PlanError, Target, _as_relative

FollowUpMode = Literal["keep", "remove", "count"]
#: the noun that stands for the previous objects while the grammar reads the text (no real word)
PLACEHOLDER = "previousobjects"

_FILLERS = frozenset("ok okay and so then now next also please well right good great thanks thank you".split())
_OF_WORDS = (("out", "of"), ("of",), ("among",), ("from",))
_PRONOUNS = frozenset({"these", "those", "them"})
_NOUNS = frozenset({"ones", "one", "objects", "object", "results", "result", "features", "feature", "detections",
                    "detection", "items", "item"})
_QUANTIFIERS = frozenset({"all", "any", "each", "some", "both"})
_RECENCY = frozenset({"previous", "last", "same", "above", "earlier"})
#: verbs of the lead, longest first within each mode
_VERBS: tuple[tuple[FollowUpMode | Literal["which"], tuple[str, ...]], ...] = tuple(
    (mode, tuple(phrase.split()))
    for mode, phrases in (
        ("count", ("what is the number of", "what number of", "the number of", "number of", "how many", "count",
                   "are there any", "is there any", "are any", "is any")),
        ("which", ("which",)),
        ("remove", ("get rid of", "filter out", "leave out", "take out", "throw out", "weed out", "all but",
                    "everything but", "remove", "drop", "exclude", "discard", "delete", "eliminate", "omit",
                    "hide", "ignore", "reject", "without", "except", "not")),
        ("keep", ("narrow it down to", "narrow them down to", "narrow down to", "restrict it to", "restrict them to",
                  "limit it to", "limit them to", "restrict to", "limit to", "filter to", "filter for", "show me",
                  "give me", "keep", "retain", "select", "show", "return", "list", "filter", "only", "just")),
    )
    for phrase in phrases
)
#: words that end a run of adjectives before "ones" (a condition starts there instead)
_RELATIVE = frozenset({"that", "which", "who", "are", "is", "were", "was"})
_CLAUSE_WORDS = frozenset("that which who than of from to within with without in on at near by are is were".split())
#: words a condition starts with, after a bare quantifier ("any within 20 m", "all larger than 1 ha")
_CONDITION_STARTS = _CLAUSE_WORDS | frozenset(
    "inside outside larger smaller bigger longer shorter wider narrower more less over under above below north south "
    "east west crossing touching intersecting between closer nearer farther further close next along".split())
_TOKEN_RE = re.compile(r"[^\W_][\w'’²³.-]*|[,;]|\S", re.UNICODE)


@dataclass(frozen=True)
class _Tok:
    text: str
    start: int
    end: int

    @property
    def low(self) -> str:
        return self.text.lower().rstrip(".")


@dataclass(frozen=True)
class FollowUp:
    """A follow-up on the previous result. ``plan``: conditions over the previous objects (its ``targets`` are
    their class phrase; ``count`` for "how many of these"); ``mode``: the objects meeting them are kept,
    removed, or kept and counted; ``labels``: only objects with one of these labels (singular, lower case)
    meet them; ``question``: the question to answer with what was kept ("which of these ...?");
    ``text``: the instruction as written; ``warnings``: what the reading noticed."""

    text: str
    mode: FollowUpMode
    plan: Plan
    labels: tuple[str, ...] = ()
    question: str | None = None
    warnings: tuple[str, ...] = field(default_factory=tuple)

    @property
    def filter_steps(self) -> tuple[str, ...]:
        """The model steps of the visual conditions (``"select the ones that are damaged"``)."""
        return tuple(step.text for step in self.plan.model_steps[1:])

    @property
    def uses_model(self) -> bool:
        return bool(self.plan.visual)

    @property
    def has_conditions(self) -> bool:
        plan = self.plan
        return bool(plan.where is not None or plan.visual or plan.rank is not None or self.labels)

    def sentences(self, previous: str = "the objects of the previous result") -> list[Sentence]:
        """The follow-up in numbered-sentence form (see ``describe``): where the objects come from, the model
        and GIS steps, the label filter, then what becomes of the objects selected."""
        plan = self.plan
        out = [Sentence("gis", f"Start from {previous}: no new search by the model.")]
        if self.labels:
            out.append(Sentence("gis", "Attribute: keep the objects labelled " +
                                " or ".join(f"\u2018{label}\u2019" for label in self.labels) + "."))
        for clause in plan.visual:
            out.append(Sentence("model", f"Model: keep the ones {_as_relative(clause)} (the model judges this on "
                                         "the image, shown only these objects, in the tiles that hold them)."))
        out += plan_sentences(plan.replace(targets=(), visual=(), count=False))
        if self.mode == "remove":  # the steps above select what goes
            out = out[:1] + [Sentence(s.kind, s.text.replace(": keep the ", ": select the ", 1)) for s in out[1:]]
            out.append(Sentence("gis", "Remove the objects selected above and keep the others."))
        if plan.count:
            out.append(Sentence("answer", "Answer: the number of objects kept."))
        return out

    def describe(self, previous: str = "the objects of the previous result") -> str:
        lines = [f"Follow-up ({self.mode}) on {previous}, read by {self.plan.parser}:"]
        lines += [f"{i}. {s.text}" for i, s in enumerate(self.sentences(previous), 1)]
        lines += [f"Warning: {w}" for w in self.all_warnings]
        return "\n".join(lines)

    @property
    def all_warnings(self) -> tuple[str, ...]:
        return tuple(self.plan.warnings) + tuple(self.warnings)

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "mode": self.mode, "labels": list(self.labels), "question": self.question,
                "plan": self.plan.to_dict(), "warnings": list(self.warnings)}

    def report(self, previous: str = "the objects of the previous result") -> dict[str, Any]:
        """What the CLI, the server and the recipe show (the keys of ``Plan.report``, plus ``followup``)."""
        sentences = [s.to_dict() for s in self.sentences(previous)]
        return {"plan": self.plan.to_dict(), "parser": self.plan.parser, "warnings": list(self.all_warnings),
                "sentences": sentences, "steps": sentences, "text": self.describe(previous),
                "followup": self.to_dict()}


# --------------------------------------------------------------------------------------------------
# the lead


def _tokens(text: str) -> list[_Tok]:
    return [_Tok(m.group(0), m.start(), m.end()) for m in _TOKEN_RE.finditer(text)]


def _at(toks: Sequence[_Tok], i: int, phrase: Sequence[str]) -> bool:
    return i + len(phrase) <= len(toks) and all(toks[i + k].low == w for k, w in enumerate(phrase))


def _skip(toks: Sequence[_Tok], i: int, words: Iterable[str]) -> int:
    words = set(words)
    while i < len(toks) and (toks[i].low in words or toks[i].text in (",", ";")):
        i += 1
    return i


def _anaphor(toks: Sequence[_Tok], i: int, label_words: set[str]) -> tuple[int, int, str] | None:
    """An anaphor starting at token ``i``: ``(first token replaced, end, strength)``. The tokens from the
    first replaced one to ``end`` become the placeholder; tokens before it (a determiner and adjectives:
    "the damaged" of "the damaged ones") stay for the grammar. ``strength`` is ``"strong"`` ("these",
    "them", "the ones", "the previous objects") or ``"weak"`` ("the objects", "the results")."""
    j = i
    if j < len(toks) and toks[j].low in _QUANTIFIERS:  # "all of them", "any of these"
        j += 1
        if j < len(toks) and toks[j].low == "of":
            j += 1
    if j >= len(toks):
        return None
    word = toks[j].low
    if word == "them" or (word in ("ones", "one") and j == i):
        return i, j + 1, "strong"
    if j > i and word in _RELATIVE:  # "any that are ...", "all which lie ..."
        return i, j, "strong"
    if j > i and word in _CONDITION_STARTS:
        return i, j, "strong"  # "exclude any within 20 m of the roads", "keep all inside the parks"
    if j == i and singular(word) in label_words:
        return i, j + 1, "weak"  # "keep only buildings larger than ...": the previous result's own class
    if word not in ("the", "these", "those"):
        return None
    k = j + 1
    if k < len(toks) and toks[k].low in _RECENCY:
        k += 1
    if k < len(toks) and (toks[k].low in _NOUNS or (word != "the" and singular(toks[k].low) in label_words)):
        # "the ones", "these objects", "those ships" (a class of the previous result), "the previous results"
        weak = word == "the" and toks[k].low not in ("ones", "one") and k == j + 1
        return i, k + 1, "weak" if weak else "strong"
    for m in range(j + 1, min(j + 6, len(toks))):  # "the damaged ones", "those 3 largest ones"
        low = toks[m].low
        if low in ("ones", "one"):
            return m, m + 1, "strong"
        if low in _CLAUSE_WORDS or not toks[m].text[0].isalnum():
            break
    if word in _PRONOUNS:
        return i, k, "strong"  # "those larger than ...", "these north of the river"
    return None


def _trailing_of_these(toks: list[_Tok]) -> tuple[list[_Tok], bool]:
    """``"... of these"`` / ``"... among them"`` at the end: dropped, and a clear sign of a follow-up."""
    for words in (("of",), ("among",), ("out", "of"), ("from",)):
        n = len(words)
        if len(toks) > n and all(toks[-n - 1 + k].low == w for k, w in enumerate(words)) \
                and toks[-1].low in _PRONOUNS:
            return toks[: -n - 1], True
    return toks, False


@dataclass
class _Lead:
    mode: FollowUpMode = "keep"
    question: bool = False
    verb: bool = False
    strong: bool = False
    weak: bool = False
    rest: list[_Tok] = field(default_factory=list)
    placeholder_at: tuple[int, int] | None = None  # token span of ``rest`` the placeholder replaces
    named: list[str] = field(default_factory=list)  # a noun of the "of these ships" clause


def _read_lead(text: str, label_words: set[str]) -> _Lead:
    toks = [t for t in _tokens(text) if t.text not in ("?", "!", ".", ":")]
    lead = _Lead()
    i = _skip(toks, 0, _FILLERS)
    for words in _OF_WORDS:  # "of these, ...", "among them: ...", "of these ships, ..."
        if _at(toks, i, words) and i + len(words) < len(toks) and toks[i + len(words)].low in _PRONOUNS:
            lead.strong = True
            i += len(words) + 1
            if i < len(toks) and (toks[i].low in _NOUNS or singular(toks[i].low) in label_words):
                lead.named.append(toks[i].text)
                i += 1
            i = _skip(toks, i, _FILLERS)
            break
    for mode, words in _VERBS:
        if _at(toks, i, words):
            lead.verb = True
            lead.question = mode == "which"
            lead.mode = "keep" if mode == "which" else mode
            i = _skip(toks, i + len(words), ("only", "just", "me", "of"))
            break
    rest = toks[i:]
    rest, trailing = _trailing_of_these(rest)
    lead.strong = lead.strong or trailing
    found = _anaphor(rest, 0, label_words)
    if found is not None:
        first, end, strength = found
        lead.placeholder_at = (first, end)
        lead.strong = lead.strong or strength == "strong"
        lead.weak = strength == "weak"
    lead.rest = rest
    return lead


# --------------------------------------------------------------------------------------------------
# the conditions


def _synthetic(text: str, lead: _Lead) -> list[str]:
    """The instruction(s) the grammar reads: the rest of the text with the anaphor replaced by the
    placeholder (or, without one, the placeholder before or after it)."""
    rest = lead.rest
    if not rest:
        return [PLACEHOLDER]

    def cut(a: int, b: int) -> str:
        return text[rest[a].start: rest[b - 1].end] if b > a else ""

    if lead.placeholder_at is not None:
        first, end = lead.placeholder_at
        return [" ".join(p for p in (cut(0, first), PLACEHOLDER, cut(end, len(rest))) if p)]
    body = cut(0, len(rest))
    return [f"{PLACEHOLDER} {body}", f"{body} {PLACEHOLDER}"]


def _target_words(phrase: str) -> list[str]:
    """The words of the grammar's target other than the placeholder and determiners."""
    drop = {"the", "a", "an", "all", "any", "each", "every", "some", "these", "those", "of", PLACEHOLDER}
    return [w for w in re.findall(r"[\w'’²³-]+", phrase) if w.lower() not in drop]


def _parse(candidates: list[str], task: str, layer_names, counting: bool) -> tuple[Plan | None, str]:
    reason = ""
    for body in candidates:
        text = f"how many {body}" if counting else body
        try:
            plan = parse_with_grammar(text, task, layer_names, counting=counting)
        except (GrammarError, PlanError) as exc:
            reason = str(exc)
            continue
        if PLACEHOLDER in plan.targets[0].phrase.lower().split():
            return plan, ""
        reason = "the previous objects are not what it is about"
    return None, reason


def read_followup(
    text: str,
    *,
    task: str = "detection",
    labels: Iterable[str] = (),
    class_phrase: str | None = None,
    layer_names: Sequence[str] | None = None,
    forced: bool = False,
) -> FollowUp | None:
    """``text`` read as a follow-up on a previous result, or ``None`` when it does not read as one (never
    ``None`` when ``forced``).

    ``task``: the previous result's task (``detection``, ``seg``, ``change``); ``labels``: its objects'
    labels and ``class_phrase`` what it found ("ponds"), to tell a class named in the text ("which of these
    ships") from a visual condition; ``layer_names``: the context layers conditions may name.
    ``ConfigError`` when a forced follow-up cannot be read at all (an empty text).
    """
    if not text or not text.strip():
        if forced:
            raise ConfigError("a follow-up needs an instruction, e.g. \u201cnow only those larger than 500 m\u00b2\u201d")
        return None
    known = {singular(str(label).lower()) for label in labels if label}
    phrase_words = [singular(w.lower()) for w in re.findall(r"[\w-]+", class_phrase or "")]
    label_words = known | set(phrase_words[-1:])
    lead = _read_lead(text, label_words)
    if not (forced or lead.strong or (lead.verb and lead.weak)):
        return None
    task = task if task in ("detection", "seg", "change") else "detection"
    counting = lead.mode == "count"
    warnings: list[str] = []
    plan, reason = _parse(_synthetic(text, lead), task, layer_names, counting)
    if plan is None:
        # what the grammar cannot read is asked of the model, as for any instruction
        kept = [t for k, t in enumerate(lead.rest) if lead.placeholder_at is None or
                not lead.placeholder_at[0] <= k < lead.placeholder_at[1]]
        words = [t.text for t in kept]
        while words and words[0].lower() in _RELATIVE:
            words = words[1:]
        clause = " ".join(words)
        shown = " ".join(t.text for t in lead.rest)
        warnings.append(f"the grammar did not understand {shown!r} ({reason})" +
                        (f": the model is asked to keep the ones that are {clause}" if clause else ""))
        plan = Plan(task, targets=(Target(PLACEHOLDER, task),), visual=(f"that are {clause}",) if clause else (),
                    count=counting)
    extra = _target_words(plan.targets[0].phrase)
    named = [w for w in lead.named if singular(w.lower()) in known]
    if lead.placeholder_at is not None:  # "which of these ships ...": the class went with the anaphor
        first, end = lead.placeholder_at
        named += [t.text for t in lead.rest[first:end] if singular(t.low) in known]
    extra = named[-1:] + extra
    label_filter: tuple[str, ...] = ()
    visual = list(plan.visual)
    if extra:
        named = singular(" ".join(extra).lower())
        if named in known or (not known and named.split()[-1] == (phrase_words or [""])[-1]):
            if len(known) > 1:
                label_filter = (named,)  # with one class, every object has it: nothing to filter
        else:
            visual.insert(0, f"that are {' '.join(extra)}")
    what = class_phrase or (sorted(known)[0] if len(known) == 1 else "objects")
    plan = plan.replace(targets=(Target(what, task),), visual=tuple(visual))
    question = text.strip() if lead.question else None
    return FollowUp(text=text.strip(), mode=lead.mode, plan=plan, labels=label_filter, question=question,
                    warnings=tuple(warnings))


def looks_like_followup(text: str) -> bool:
    """Whether ``text`` clearly refers to an earlier result ("now only those ...", "which of these ...")."""
    return read_followup(text) is not None


__all__ = ["PLACEHOLDER", "FollowUp", "FollowUpMode", "looks_like_followup", "read_followup"]
