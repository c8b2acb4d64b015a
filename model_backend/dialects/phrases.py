"""The object phrase of a user's instruction, for prompts that have their own verb.

Users write instructions with their own verb ("detect all planes", "find the ships", "Where are the ships?"),
and the condition chain's later steps read "select the ones on the east bank of the river". A family's
grounding template already says what to do ("Locate ... in the image", ``<OPEN_VOCABULARY_DETECTION>``,
``[refer] Give me the location of <p> ... </p>``), so prompts are built from the *phrase* the instruction
is about, never by putting another verb in front of the user's.

- :func:`object_phrase`: the instruction without the request around it -- "all planes", "the ships",
  "buildings that are damaged".
- :func:`bare_phrase`: the same without a leading quantifier ("planes"), for templates that quote a
  description or a category.
- :func:`combined_phrase`: a later chain step's refinement ("the ones on the east bank of the river") with
  "the ones" replaced by the first step's objects ("planes on the east bank of the river"), for families that
  cannot read the previous step's boxes and are asked again with one referring phrase instead.

Pure string functions; English wording (instructions in other languages pass through unchanged).
"""

from __future__ import annotations

import re

from ..tasks import split_tag

_POLITE = r"(?:please|kindly|(?:can|could|would|will) you|i (?:want|need|would like) you to|help me)"
#: request verbs, longest first so that "show me" wins over "show"
_VERBS = (
    "give me the location of", "give me the locations of", "tell me the location of", "point out", "look for",
    "search for", "show me", "give me", "detect", "find", "locate", "segment", "select", "show",
    "mark", "identify", "outline", "highlight", "count", "get", "extract", "delineate", "map", "label",
    "box", "keep", "list", "return", "output",
)
_VERB_RE = re.compile(
    rf"^(?:{_POLITE}\s+)?(?:{'|'.join(re.escape(v) for v in _VERBS)})\b\s*(?:out\s+)?", re.IGNORECASE
)
_WHERE_RE = re.compile(r"^where\s+(?:is|are|were|was|can\s+i\s+see)\s+", re.IGNORECASE)
#: "which buildings are damaged" -> "buildings that are damaged"
_WHICH_RE = re.compile(r"^which\s+(?P<obj>.+?)\s+(?P<rest>(?:are|is|were|was|have|has|can|do|does)\s+.+)$",
                       re.IGNORECASE)
_QUANTIFIER_RE = re.compile(r"^(?:all\s+of\s+the|all\s+the|all|every|each|any)\s+", re.IGNORECASE)
#: the head of a chain step's refinement that stands for the previous step's objects
_ONES_RE = re.compile(r"^(?:only\s+)?(?:the\s+ones|ones|those(?:\s+ones)?|the\s+objects|them)\b\s*", re.IGNORECASE)
_TRAILING = " \t\r\n.?!;:,"


def object_phrase(instruction: str) -> str:
    """What the instruction is about, without its task tag, request verb and final punctuation.

    "detect all planes" -> "all planes"; "Where are the ships?" -> "the ships"; "Which buildings are
    damaged?" -> "buildings that are damaged"; "select the ones on the east bank" -> "the ones on the east
    bank"; "planes" -> "planes". An instruction that is only a verb gives ``""``.
    """
    _tag, text = split_tag(instruction or "")
    text = " ".join(text.split()).strip(_TRAILING)
    which = _WHICH_RE.match(text)
    if which:
        return f"{which.group('obj')} that {which.group('rest')}".strip(_TRAILING)
    text = _WHERE_RE.sub("", text, count=1)
    text = _VERB_RE.sub("", text, count=1)
    return text.strip(_TRAILING)


def strip_quantifier(phrase: str) -> str:
    """``phrase`` without a leading "all", "all the", "every", "each" or "any": "all planes" -> "planes"."""
    return _QUANTIFIER_RE.sub("", phrase, count=1)


def bare_phrase(instruction: str) -> str:
    """:func:`object_phrase` without a leading quantifier: "detect all planes" -> "planes"."""
    return strip_quantifier(object_phrase(instruction))


def refers_to_previous(phrase: str) -> bool:
    """Whether a refinement phrase starts with words standing for the previous step's objects ("the ones")."""
    return bool(_ONES_RE.match(phrase))


def combined_phrase(first_step: str, later_step: str) -> str:
    """One referring phrase for a later chain step: its refinement with "the ones" replaced by the first
    step's objects. ("detect all planes", "select the ones on the east bank") -> "planes on the east bank";
    a refinement that names its own objects ("planes near hangars") is kept as it is."""
    refinement = object_phrase(later_step)
    objects = bare_phrase(first_step)
    if not objects or not refers_to_previous(refinement):
        return refinement
    rest = _ONES_RE.sub("", refinement, count=1)
    return f"{objects} {rest}".strip()


_QUESTION_RE = re.compile(r"^(?:what|which|where|when|who|whose|why|how|is|are|was|were|does|do|did|can|could)\b",
                          re.IGNORECASE)


def as_sentence(text: str) -> str:
    """``text`` with a capital first letter and final punctuation, "?" for a question (a user's own words
    before the family's part of the request)."""
    text = " ".join((text or "").split())
    if not text:
        return text
    text = text[0].upper() + text[1:]
    if text[-1] in ".?!":
        return text
    return text + ("?" if _QUESTION_RE.match(text) else ".")
