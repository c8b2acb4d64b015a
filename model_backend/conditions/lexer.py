"""The instruction lexer: words and keywords for the grammar, numbers and quantities.

Words become the grammar's keyword terminals (its quoted strings), the terminal of their synonym class
(``lexicon.WORD_CLASSES``: VERB, MORE, DIR_N...) or WORD; numbers written in digits or words ("1,000",
"three", "two hundred", "half a") become NUMBER; a number followed by a length or area unit read by pint
("500 m²", "2 ha", "a mile") one QUANTITY token, whose text is the canonical "value unit". Contractions
are split ("don't" -> "do not"), possessive "'s" dropped, "north-east" joined, "top-left" split, quoted names
kept whole. A bare "half" with no unit after it is a word ("the northern half"), not the number 0.5.
Every token keeps its character span in the text, so phrases are cut from the text as written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lark import Token
from lark.lexer import Lexer

from .lexicon import NUMBER_WORDS, WORD_CLASS, words_to_number
from .units import NUMBER_RE, format_number, parse_number, read_unit

_RAW_RE = re.compile(
    r"""(?P<quoted>"[^"]+"|“[^”]+”|(?<![\w'])'[^']+'(?![\w']))
      | (?P<sym><=|>=|≤|≥|<|>)
      | (?P<number>""" + NUMBER_RE.pattern + r""")
      | (?P<word>[^\W\d_][\w²³]*(?:\^\d)?(?:['’][a-z]+)?(?:-[^\W_][\w²³]*)*)
      | (?P<punct>[,;])
      | (?P<dash>[-–—])
      | (?P<other>\S)""",
    re.VERBOSE | re.IGNORECASE,
)
#: "top-left", "lower-right": two words of a part of the image
_POSITION_WORDS = frozenset({"top", "bottom", "upper", "lower", "left", "right"})
_SPLIT_NOT = {"don't": "do", "doesn't": "does", "aren't": "are", "isn't": "is", "can't": "can",
              "cannot": "can", "won't": "will", "didn't": "did", "weren't": "were", "wasn't": "was"}


@dataclass
class _Raw:
    kind: str  # word, number, quoted, sym, punct, dash
    text: str
    start: int
    end: int


def _raw_tokens(text: str) -> list[_Raw]:
    out: list[_Raw] = []
    for m in _RAW_RE.finditer(text):
        kind = m.lastgroup
        if kind == "other":
            continue  # ? ! . ( ) : carry nothing the grammar reads
        piece = m.group(kind).replace("’", "'")
        start, end = m.start(), m.end()
        if kind == "word":
            low = piece.lower()
            if low in _SPLIT_NOT:
                cut = start + len(_SPLIT_NOT[low])
                out += [_Raw("word", _SPLIT_NOT[low], start, cut), _Raw("word", "not", cut, end)]
                continue
            if low.endswith("'s"):
                piece, end = piece[:-2], end - 2
            if low.startswith(("north-", "south-")) and low.split("-")[1] in ("east", "west", "eastern", "western",
                                                                              "eastward", "westward"):
                piece = piece.replace("-", "")
            halves = low.split("-")
            if len(halves) == 2 and set(halves) <= _POSITION_WORDS:  # "top-left" is "top left"
                cut = start + len(halves[0])
                out += [_Raw("word", piece[: len(halves[0])], start, cut), _Raw("word", piece[-len(halves[1]):],
                                                                                 cut + 1, end)]
                continue
        if kind == "quoted":
            piece = piece[1:-1].strip()
        out.append(_Raw(kind, piece, start, end))
    return out


def _number_run(raw: list[_Raw], i: int) -> tuple[float, int] | None:
    """A number at ``raw[i]`` (digits, or number words such as "two hundred"): (value, tokens used)."""
    if raw[i].kind == "number":
        return parse_number(raw[i].text), 1
    words: list[str] = []
    j = i
    while j < len(raw) and raw[j].kind == "word" and all(p in NUMBER_WORDS for p in raw[j].text.lower().split("-")):
        words.append(raw[j].text)
        j += 1
    if raw[i].kind == "word" and raw[i].text.lower() == "a" and j == i:  # "a hundred", "a dozen"
        j = i + 1
        while j < len(raw) and raw[j].kind == "word" and raw[j].text.lower() in ("hundred", "thousand", "dozen"):
            words.append(raw[j].text)
            j += 1
        words = ["a"] + words if len(words) else []
    if not words:
        return None
    if [w.lower() for w in words] == ["half"] and j < len(raw) and raw[j].text.lower() in ("a", "an"):
        j += 1  # "half a mile"
    value = words_to_number(words)
    return (value, j - i) if value is not None else None


def _unit_at(raw: list[_Raw], i: int) -> tuple[str, int] | None:
    """A length or area unit spelled by ``raw[i:i+3]`` (longest first): (symbol, tokens used)."""
    for n in (3, 2, 1):
        if i + n > len(raw) or any(r.kind != "word" for r in raw[i : i + n]):
            continue
        read = read_unit(" ".join(r.text for r in raw[i : i + n]))
        if read is not None:
            return read[0], n
    return None


class InstructionLexer(Lexer):
    """Words -> keyword terminals (the grammar's quoted strings) or WORD; numbers and quantities."""

    def __init__(self, lexer_conf):
        self.keywords = {t.pattern.value: t.name for t in lexer_conf.terminals if t.pattern.type == "str"}

    def _keyword_or(self, text: str, default: str) -> str:
        low = text.lower()
        return WORD_CLASS.get(low) or self.keywords.get(low, default)

    def lex(self, data: str):
        raw = _raw_tokens(data)
        i = 0
        previous: Token | None = None
        while i < len(raw):
            r = raw[i]
            token = None
            run = _number_run(raw, i) if r.kind in ("number", "word") else None
            if run is None and r.kind == "word" and r.text.lower() in ("a", "an") and i + 1 < len(raw):
                unit = _unit_at(raw, i + 1)
                if unit is not None and len(raw[i + 1].text) > 2:  # "a kilometre", "an acre"; not "a m"
                    run = (1.0, 1)
            if run is not None:
                value, used = run
                unit = _unit_at(raw, i + used)
                if unit is not None:
                    symbol, n = unit
                    end = raw[i + used + n - 1].end
                    token = Token("QUANTITY", f"{format_number(value)} {symbol}", start_pos=r.start, end_pos=end)
                    i += used + n
                elif r.kind == "word" and used == 1 and r.text.lower() == "half":
                    pass  # "the northern half (of the image)": a word, read below
                elif r.kind == "number" or used > 1 or r.text.lower() not in ("a", "an"):
                    token = Token("NUMBER", format_number(value), start_pos=r.start, end_pos=raw[i + used - 1].end)
                    i += used
            if token is None:
                i += 1
                if r.kind == "quoted":
                    token = Token("QUOTED", r.text, start_pos=r.start, end_pos=r.end)
                elif r.kind == "dash":
                    # "100-300 m" is a range; a dash elsewhere is punctuation
                    if previous is not None and previous.type in ("NUMBER", "QUANTITY") and i < len(raw) \
                            and raw[i].kind == "number":
                        token = Token(self._keyword_or("to", "WORD"), "to", start_pos=r.start, end_pos=r.end)
                else:
                    token = Token(self._keyword_or(r.text, "WORD"), r.text, start_pos=r.start, end_pos=r.end)
            if token is not None:
                previous = token
                yield token
