"""Reading the wording of an instruction: which task it asks for (its tag, else the user's choice, else its
wording), what a counting question counts, which classes a classification offers, and which class an answer
names. Heuristics for English; everything here is a pure function of text."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence

from ..conditions.lexicon import WORD_CLASSES
from ..tasks import Task, split_tag

_SUPERLATIVE_WORDS = "|".join(w for name in ("LARGEST", "SMALLEST", "LONGEST", "SHORTEST", "WIDEST", "NARROWEST",
                                               "NORTHMOST", "SOUTHMOST", "EASTMOST", "WESTMOST", "NEAREST",
                                               "FARTHEST") for w in WORD_CLASSES[name])
_COUNT_WORDS = r"\d+|two|three|four|five|six|seven|eight|nine|ten"
#: "the largest", "the 3 smallest", "the ship closest", "the three ships farthest", "the most distant"
_SUPERLATIVE_PHRASE = (rf"the\s+(?:(?:{_COUNT_WORDS})\s+)?(?:[\w-]+\s+)?(?:{_SUPERLATIVE_WORDS}|most\s+(?:distant|remote|"
                       rf"extensive|northerly|southerly|easterly|westerly))\b")

# Ordered: the first rule that matches wins. Patterns are matched on the lower-cased instruction.
_WORDING_RULES: list[tuple[Task, re.Pattern[str]]] = [
    (Task.CHANGE, re.compile(r"\bchang(e|es|ed)\b|\bnew (\w+ )?(buildings?|roads?|structures?)\b|"
                             r"\b(appeared|disappeared|demolished|between (the|these) two)\b|\bbefore and after\b")),
    (Task.GEOLOCATION, re.compile(r"\bgeolocat|"
                                  r"\bwhere (was|is|were) (this|these|the|it)( image| photo| picture| scene| tile)? ?"
                                  r"(taken|located|captured)|"
                                  r"\b(latitude|longitude|coordinates of this (image|scene))\b")),
    (Task.IDENTIFY, re.compile(r"\b(describe|caption) (these|the selected|this|each) (features?|regions?|objects?|boxes?)\b")),
    (Task.CLASSIFY, re.compile(r"\bclassify\b|\bscene (class|type|category)\b|\bwhich (class|category)\b|"
                               r"\bwhat kind of scene\b|\bone of\b.*[,/]")),
    (Task.SEGMENTATION, re.compile(r"\bsegment|\bmask(s)?\b|\boutline|\bdelineat|\bfootprints?\b|\bextent of\b")),
    (Task.CAPTION, re.compile(r"\b(describe|caption|summari[sz]e)\b( (this|the))? (image|scene|picture|area|tile)\b|"
                              r"^describe\b|\bwhat does (this|the) (image|scene) show\b")),
    # "Where are the ships?", "Which buildings are damaged?": questions about *which objects* are detection
    # (with an answer that says how many were found), not free-text question answering.
    (Task.DETECTION, re.compile(r"^(where (are|is)|which (of the )?(?!(class|category|kind|type)\b)\w+)\b")),
    (Task.DETECTION, re.compile(r"^(which|what) (is|are) " + _SUPERLATIVE_PHRASE)),
    (Task.DETECTION, re.compile(r"^what are (the|all the|all) [\w -]+? (that|which) ")),
    (Task.VQA, re.compile(r"\bhow many\b|\bcount\b|\?\s*$|^(is|are|does|do|what|which|why|how)\b")),
    (Task.DETECTION, re.compile(r"\b(detect|find|locate|where are|box(es)?|mark|show me|identify all)\b")),
]


@dataclass(frozen=True)
class TaskChoice:
    """The task chosen and why: ``source`` is "tag", "user" or "inferred"; ``instruction`` has the tag removed
    and, for a question about which objects ("Where are the ships?"), is rewritten as the request for those
    objects ("the ships"), the question being kept in ``question`` so that the run can answer it."""

    task: Task
    source: str
    instruction: str
    reason: str = ""
    question: str | None = None


def infer_task(instruction: str, user_task: Task | str | None = None, n_rasters: int = 1) -> TaskChoice:
    """Pick the task for an instruction.

    Precedence: a leading tag (``[seg] ...``) wins, then ``user_task``, then the wording. With two rasters and no
    tag or choice the task is change detection. The returned ``reason`` says what decided, for the run summary.
    """
    tag_task, text = split_tag(instruction)
    if tag_task is not None:
        return TaskChoice(tag_task, "tag", text, f"tag {tag_task.tag}")
    if user_task:
        task = user_task if isinstance(user_task, Task) else parse_task_name(user_task)
        return TaskChoice(task, "user", text, "chosen by the user")
    if n_rasters >= 2:
        return TaskChoice(Task.CHANGE, "inferred", text, "two rasters given")
    lowered = text.lower().strip()
    for task, pattern in _WORDING_RULES:
        match = pattern.search(lowered)
        if match:
            reason = f"wording {match.group(0)!r}"
            request = object_request(text) if task is Task.DETECTION else None
            if request is not None:
                return TaskChoice(task, "inferred", request, reason + " (a question about which objects)", text)
            return TaskChoice(task, "inferred", text, reason)
    return TaskChoice(Task.DETECTION, "inferred", text, "no cue in the wording: detection by default")


_WHERE = re.compile(r"^\s*where\s+(?:are|is)\s+(?P<what>.+?)\s*(?:located|situated)?\s*\??\s*$", re.IGNORECASE)
# "What is the largest building?", "Which are the three ships closest to the pier?": asking for the objects
_SUPERLATIVE = re.compile(rf"^\s*(?:which|what)\s+(?:is|are)\s+(?P<what>{_SUPERLATIVE_PHRASE}.*?)\s*\??\s*$",
                          re.IGNORECASE)
# "What are the ships that are within 500 m of the river?": the objects of the relative clause
_WHAT_THAT = re.compile(r"^\s*what\s+are\s+(?P<what>(?:the|all the|all)\s+[\w -]+?\s+(?:that|which)\s+.+?)\s*\??\s*$",
                        re.IGNORECASE)
_WHICH = re.compile(r"^\s*which\s+(?:(?P<of>of\s+)?(?P<what>(?:the\s+|these\s+|those\s+)?[\w-]+))"
                    r"(?:\s+(?P<verb>are|is|have|has|were|was|lie|lies|stand|stands)\b)?\s*(?P<rest>.*?)\s*\??\s*$",
                    re.IGNORECASE)


def object_request(question: str) -> str | None:
    """A question about which objects -> the request for those objects, or ``None`` when it is not one:
    "Where are the ships?" -> "the ships"; "Which buildings are damaged?" -> "buildings that are damaged";
    "Which of the ships are moored at the pier?" -> "the ships that are moored at the pier"."""
    where = _WHERE.match(question) or _SUPERLATIVE.match(question) or _WHAT_THAT.match(question)
    if where:
        return where.group("what").strip()
    which = _WHICH.match(question)
    if not which:
        return None
    what = which.group("what").strip()
    verb = (which.group("verb") or "").lower()
    rest = which.group("rest").strip()
    if not rest and not verb:
        return what
    return f"{what} that {verb + ' ' if verb else ''}{rest}".strip()


_ALIASES = {
    "detect": Task.DETECTION, "detection": Task.DETECTION, "rec": Task.DETECTION,
    "seg": Task.SEGMENTATION, "segment": Task.SEGMENTATION, "segmentation": Task.SEGMENTATION, "res": Task.SEGMENTATION,
    "change": Task.CHANGE, "rcd": Task.CHANGE, "change-detection": Task.CHANGE,
    "caption": Task.CAPTION, "describe": Task.CAPTION,
    "identify": Task.IDENTIFY, "region-caption": Task.IDENTIFY, "reg": Task.IDENTIFY,
    "vqa": Task.VQA, "question": Task.VQA, "count": Task.VQA,
    "classify": Task.CLASSIFY, "classification": Task.CLASSIFY,
    "geolocation": Task.GEOLOCATION, "geolocate": Task.GEOLOCATION,
}


def parse_task_name(name: str) -> Task:
    """A task from a user-facing name (``"segment"``, ``"seg"``, ``"region-caption"``...)."""
    from ..errors import ConfigError

    key = name.strip().lower().strip("[]")
    if key in _ALIASES:
        return _ALIASES[key]
    raise ConfigError(f"unknown task {name!r}; choose one of: {', '.join(sorted(set(_ALIASES)))}")


#: Scene classes offered when a classification instruction names none (the 45 classes of NWPU-RESISC45, a
#: common remote-sensing scene taxonomy): labels then agree across tiles and runs.
DEFAULT_CLASSES = tuple(
    "airplane, airport, baseball diamond, basketball court, beach, bridge, chaparral, church, circular farmland, "
    "cloud, commercial area, dense residential, desert, forest, freeway, golf course, ground track field, harbor, "
    "industrial area, intersection, island, lake, meadow, medium residential, mobile home park, mountain, overpass, "
    "palace, parking lot, railway, railway station, rectangular farmland, river, roundabout, runway, sea ice, ship, "
    "snowberg, sparse residential, stadium, storage tank, tennis court, terrace, thermal power station, wetland"
    .split(", ")
)

_COUNT = re.compile(r"^\s*(how many|count(?: how many| the| all)?|number of|(?:is|are) there(?: any| an| a)?)\s+"
                    r"(?P<what>.+?)(\s+(are|is|can|do|does|there|in|on|"
                    r"within|visible|appear)\b.*)?\??\s*$", re.IGNORECASE)


def counted_objects(instruction: str) -> str | None:
    """What a counting question counts ("How many ships are there?" -> "ships"), or ``None``."""
    match = _COUNT.match(instruction)
    return match.group("what") if match else None


def classes_from(instruction: str) -> list[str] | None:
    """Candidate classes written in the instruction: "... as forest, farmland or urban" -> 3 classes."""
    match = re.search(r"\b(?:as|into|among|between|one of)\s*:?\s+(.+)$", instruction, re.IGNORECASE)
    if not match:
        return None
    parts = [p.strip(" .?!'\"") for p in re.split(r",|\bor\b|\band\b|/", match.group(1))]
    parts = [p for p in parts if p]
    return parts if len(parts) >= 2 else None


def match_class(answer: str, classes: Sequence[str]) -> str:
    """The candidate class the answer names (longest match first, case-insensitive), else the answer."""
    lowered = answer.lower()
    for name in sorted(classes, key=len, reverse=True):
        if re.search(r"\b" + re.escape(name.lower()) + r"\b", lowered):
            return name
    return answer.strip().splitlines()[0][:80] if answer.strip() else "(no answer)"
