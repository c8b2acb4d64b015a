"""Token probabilities -> character spans -> per-object scores.

Spans are character offsets ``[start, end)`` in the answer text exactly as the engine returns it
(``EngineResponse.text``). A score is the mean probability of the generated tokens overlapping an
object's span; nothing is invented where an engine exposes no token probabilities.
"""

from __future__ import annotations

from typing import Sequence, TypeVar

from ..geometry.types import Span
from .base import TokenProb

T = TypeVar("T")


def common_prefix_len(a: str, b: str) -> int:
    """Length of the longest common prefix of two strings."""
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


def spans_from_prefix_texts(prefix_texts: Sequence[str], final_text: str) -> list[Span]:
    """Character spans of tokens from the decoded text of each token prefix.

    ``prefix_texts[i]`` is the decoding of tokens ``0..i``; ``final_text`` the decoding of all of
    them. Token ``i`` covers the characters its prefix adds to the part agreeing with the final text,
    so a token holding the first bytes of a multi-byte character (decoded as U+FFFD until the character
    completes) gets an empty span and the completing token the character. Spans are contiguous,
    non-overlapping and cover ``final_text`` exactly.
    """
    spans: list[Span] = []
    end_prev = 0
    for i, text in enumerate(prefix_texts):
        reach = len(final_text) if i == len(prefix_texts) - 1 else common_prefix_len(text, final_text)
        reach = max(reach, end_prev)
        spans.append((end_prev, reach))
        end_prev = reach
    return spans


def spans_from_pieces(pieces: Sequence[str]) -> list[Span]:
    """Character spans of consecutive text pieces whose concatenation is the answer text."""
    spans: list[Span] = []
    pos = 0
    for piece in pieces:
        spans.append((pos, pos + len(piece)))
        pos += len(piece)
    return spans


def spans_from_utf8_bytes(token_bytes: Sequence[Sequence[int]]) -> tuple[str, list[Span]]:
    """Answer text and character spans from each token's raw UTF-8 bytes (OpenAI ``logprobs.bytes``).

    A token ending inside a multi-byte character gets the characters completed so far, so its span
    may be empty. Raises ``ValueError`` if the bytes are not valid UTF-8 as a whole.
    """
    data = bytearray()
    spans: list[Span] = []
    end_prev = 0
    for chunk in token_bytes:
        data.extend(chunk)
        # An incomplete trailing character is dropped by "ignore" until its last byte arrives.
        reach = max(len(bytes(data).decode("utf-8", errors="ignore")), end_prev)
        spans.append((end_prev, reach))
        end_prev = reach
    text = bytes(data).decode("utf-8")  # strict: reject byte soup rather than misplace spans
    if spans and spans[-1][1] != len(text):
        raise ValueError("token bytes do not decode to a consistent text")
    return text, spans


def mean_prob(tokens: Sequence[TokenProb], span: Span) -> float | None:
    """Mean probability of the tokens whose span overlaps ``span`` (``[start, end)`` characters);
    ``None`` when none does. Empty spans (token or object) never overlap."""
    start, end = span
    if start >= end:
        return None
    probs = [t.prob for t in tokens if t.start < end and t.end > start and t.start < t.end]
    if not probs:
        return None
    return float(sum(probs) / len(probs))


def attach_scores(objects: Sequence[T], tokens: Sequence[TokenProb] | None) -> list[T]:
    """Copies of parsed objects with ``score`` set to the mean probability of the tokens overlapping
    each object's ``span`` (character offsets in the answer text).

    ``score`` is ``None`` where the engine exposes no probabilities (``tokens=None``), where the
    object has no span, or where its span overlaps no token: a score is never invented.
    """
    scored = []
    for obj in objects:
        span = getattr(obj, "span", None)
        score = mean_prob(tokens, span) if tokens is not None and span is not None else None
        scored.append(obj.with_(score=score))
    return scored
