"""Rule-based splitting of an instruction into single-condition steps (the fallback parser).

English only, heuristic, used when no parser model is configured or its answer is unusable:

1. The object clause is the verb and the words up to the first *condition marker*: a relative
   pronoun ("that", "which", "whose"), "with"/"without", a comparative ("larger than", "over 5"),
   a spatial preposition ("on", "near", "within", "between", "north of", ...), an intersection verb
   ("intersecting") or a participle ("located", "parked", "docked"). "in the image" is not a condition.
2. The rest is cut into conditions at "and" / "," / ";" / "but" when a marker follows, and at a marker
   that follows a condition already holding a content word ("larger than 500 m² within 200 m of ...").
   "and" that joins nouns ("between the bridge and the pier", "red and white roofs") does not cut.
3. Each condition becomes "select the ones <condition>", with "that are" / "which is" dropped:
   "detect all planes on the east bank of the river" ->
   ["detect all planes", "select the ones on the east bank of the river"].
"""

from __future__ import annotations

import re

from .clauses import FILLER

_F = re.IGNORECASE

VERBS = (
    "detect", "find", "locate", "segment", "identify", "show", "mark", "outline", "extract",
    "delineate", "map", "count", "highlight", "get", "give me", "list", "search for", "look for",
    "spot", "label", "select", "pick", "return", "draw",
)
_VERB_ALT = "|".join(v.replace(" ", r"\s+") for v in VERBS)
_VERB_RE = re.compile(rf"^\s*(?:please\s+)?(?:{_VERB_ALT})\b", _F)

_DIR = r"(?:north|south|east|west)(?:[\s-]?(?:east|west))?(?:ern|wards?)?"
_PREPS = (
    r"on|in|inside|within|outside|near|nearby|beside|along|alongside|next\s+to|close\s+to|adjacent\s+to"
    r"|around|at|by|between|across|behind|beyond|beneath|under|over|above|below|among|amid|off"
    r"|far\s+from|away\s+from|upstream\s+of|downstream\s+of"
)
_PARTICIPLES = (
    r"located|situated|lying|parked|moored|docked|anchored|standing|sitting|placed|positioned"
    r"|surrounded|covered|facing|bordering|surrounding|intersecting|overlapping|touching|crossing"
    r"|connected|attached|built|running|flowing|adjacent"
)
_COMPARATIVE = (
    r"(?:larger|bigger|smaller|greater|longer|shorter|wider|narrower|taller|higher|lower|less|more"
    r"|fewer|closer|nearer|farther|further)\s+than"
    r"|(?:at\s+least|at\s+most|exceeding|up\s+to)(?=\s+\d)"
)
_MARKER = (
    rf"(?:not\s+|no\s+)?(?:that|which|who|whose|where|with|without|having|{_COMPARATIVE}"
    rf"|(?:to\s+the\s+)?{_DIR}(?:\s+side)?\s+of|{_PREPS}|{_PARTICIPLES})\b"
)
MARKER_RE = re.compile(rf"\b{_MARKER}", _F)
#: phrases that look like conditions but only say where to look
_NOT_A_CONDITION = re.compile(
    r"\b(?:in|on|within|from)\s+(?:the|this|these)\s+(?:whole\s+|entire\s+)?"
    r"(?:image|images|picture|photo|scene|tile|raster|view|area\s+shown)\b"
    r"|\bin\s+(?:length|width|area|size|height|diameter|total)\b",
    _F,
)
_CONNECTOR_RE = re.compile(r"\s*(?:,\s*and\b|,|;|\band\b|\bbut\b|\bas\s+well\s+as\b)\s*", _F)
# Words after which a marker continues the phrase instead of starting a new condition.
_BINDS_NEXT = frozenset(
    "of is are be been a an the to at by than not and or with that which who from as its their".split()
)
_MARKER_WORDS = frozenset(
    w
    for w in re.findall(r"[a-z]+", (_PREPS + "|" + _PARTICIPLES + "|" + _COMPARATIVE).replace(r"\s+", " "))
    if len(w) > 1
)


def _words(text: str) -> list[str]:
    return re.findall(r"[\w²'-]+", text.lower())


def _has_content(text: str) -> bool:
    return any(w not in FILLER and w not in _MARKER_WORDS for w in _words(text))


def _markers(text: str) -> list[re.Match]:
    excluded = [(m.start(), m.end()) for m in _NOT_A_CONDITION.finditer(text)]
    return [m for m in MARKER_RE.finditer(text) if not any(a <= m.start() < b for a, b in excluded)]


def _starts_with_marker(text: str) -> bool:
    t = re.sub(r"^(?:are|is|that\s+are|which\s+are)\s+", "", text.lstrip(), flags=_F)
    m = MARKER_RE.match(t)
    return m is not None and not _NOT_A_CONDITION.match(t)


def split_conditions(text: str) -> list[str]:
    """Cut the condition part of an instruction (everything after the object) into conditions."""
    cuts: list[tuple[int, int]] = []  # (end of previous condition, start of next)
    seg_start = 0
    # Connectors followed by a marker cut; the marker right after such a connector must not cut again.
    for c in _CONNECTOR_RE.finditer(text):
        follows_marker = _starts_with_marker(text[c.end() :])
        if c.start() > seg_start and follows_marker and _has_content(text[seg_start : c.start()]):
            cuts.append((c.start(), c.end()))
            seg_start = c.end()
    cut_starts = {b for _, b in cuts}
    bounds = sorted(cuts)
    # Markers that follow a condition with content start a new one ("... 500 m² within 200 m ...").
    for m in _markers(text):
        if m.start() == 0 or m.start() in cut_starts:
            continue
        seg_begin = max([b for _, b in bounds if b <= m.start()], default=0)
        before = text[seg_begin : m.start()]
        prev = _words(before)[-1:] or [""]
        if _has_content(before) and prev[0] not in _BINDS_NEXT and before.strip()[-1:] not in "(-/":
            bounds.append((m.start(), m.start()))
            bounds.sort()
    pieces, pos = [], 0
    for end, nxt in bounds:
        pieces.append(text[pos:end])
        pos = nxt
    pieces.append(text[pos:])
    return [p for p in (" ".join(x.split()).strip(" ,;") for x in pieces) if p]


_COPULA = re.compile(r"^(?:that|which|who)\s+(?:are|is)\s+(?:also\s+)?", _F)
_REL = re.compile(r"^(?:which|who)\s+", _F)
_LEAD = re.compile(r"^(?:and|but|also|are|is)\s+", _F)


def condition_step(condition: str) -> str:
    """``"that are north of X"`` -> ``"select the ones north of X"``."""
    c = condition.strip()
    prev = None
    while prev != c:
        prev = c
        c = _LEAD.sub("", c).strip()
    c = _COPULA.sub("", c)
    c = _REL.sub("that ", c)
    return f"select the ones {c}"


def split_instruction(instruction: str) -> list[str]:
    """Instruction (task tag already stripped) -> step texts; the first step finds the objects."""
    text = " ".join(instruction.split()).rstrip(" .?!")
    if not text:
        return []
    verb = _VERB_RE.match(text)
    head_end = verb.end() if verb else 0
    split_at = None
    for m in _markers(text):
        if m.start() > head_end and _has_content(text[head_end : m.start()]):
            split_at = m.start()
            break
    if split_at is None:
        return [text]
    obj = text[:split_at].strip(" ,;")
    obj = re.sub(r"(?:\s*,|\s+and|\s+but)+$", "", obj, flags=_F).strip()
    return [obj] + [condition_step(c) for c in split_conditions(text[split_at:])]
