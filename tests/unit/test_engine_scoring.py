"""Token spans and per-object scores (pure functions)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from model_backend.engines import TokenProb, attach_scores
from model_backend.engines.scoring import (
    common_prefix_len,
    mean_prob,
    spans_from_pieces,
    spans_from_prefix_texts,
    spans_from_utf8_bytes,
)
from model_backend.geometry import GeoPoint, PolygonRegion, RotatedBox, SegTarget

_text = st.text(alphabet=st.characters(codec="utf-8"), max_size=40)


def _box(span, score=None):
    return RotatedBox(((0, 0), (4, 0), (4, 2), (0, 2)), label="plane", span=span, score=score)


def test_attach_scores_means_overlapping_tokens():
    # answer: "plane{<1><2><3><4>|0} ship{...}" with made-up token spans
    tokens = [TokenProb(0, 5, 0.9), TokenProb(5, 10, 0.5), TokenProb(10, 20, 0.7), TokenProb(20, 30, 0.1)]
    first, second, third = attach_scores([_box((0, 10)), _box((12, 25)), _box((30, 31))], tokens)
    assert first.score == pytest.approx((0.9 + 0.5) / 2)
    assert second.score == pytest.approx((0.7 + 0.1) / 2)
    assert third.score is None  # past the last token: nothing to average
    assert first.span == (0, 10) and first.label == "plane"


def test_attach_scores_without_tokens_gives_none_never_a_number():
    objects = [
        _box((0, 3), score=0.42),
        SegTarget((0, 0, 5, 5), span=(3, 9)),
        GeoPoint(10.0, 20.0, span=None),
    ]
    assert [o.score for o in attach_scores(objects, None)] == [None, None, None]
    assert [o.score for o in attach_scores(objects, [])] == [None, None, None]


def test_attach_scores_object_without_span():
    region = PolygonRegion([(0, 0), (1, 0), (1, 1)])
    (scored,) = attach_scores([region], [TokenProb(0, 4, 0.8)])
    assert scored.score is None


def test_empty_token_spans_never_count():
    tokens = [TokenProb(0, 0, 0.01), TokenProb(0, 3, 0.6), TokenProb(3, 3, 0.02)]
    assert mean_prob(tokens, (0, 3)) == pytest.approx(0.6)
    assert mean_prob(tokens, (3, 3)) is None


@given(
    st.lists(st.tuples(st.integers(0, 30), st.integers(0, 8), st.floats(0.0, 1.0)), max_size=12),
    st.integers(0, 35),
    st.integers(0, 10),
)
def test_mean_prob_matches_brute_force(raw, start, length):
    tokens = [TokenProb(s, s + n, p) for s, n, p in raw]
    end = start + length
    chars = set(range(start, end))
    hits = [t.prob for t in tokens if chars & set(range(t.start, t.end))]
    result = mean_prob(tokens, (start, end))
    if hits:
        assert result == pytest.approx(sum(hits) / len(hits))
    else:
        assert result is None


@given(st.lists(_text, max_size=10))
def test_spans_from_pieces_tile_the_text(pieces):
    text = "".join(pieces)
    spans = spans_from_pieces(pieces)
    assert [text[s:e] for s, e in spans] == pieces


@given(_text, st.lists(st.integers(0, 200), max_size=12))
def test_spans_from_utf8_bytes_split_anywhere(text, cuts):
    data = text.encode("utf-8")
    points = sorted({min(c, len(data)) for c in cuts} | {0, len(data)})
    chunks = [list(data[a:b]) for a, b in zip(points, points[1:])] or [[]]
    decoded, spans = spans_from_utf8_bytes(chunks)
    assert decoded == text
    assert len(spans) == len(chunks)
    assert spans[0][0] == 0 and spans[-1][1] == len(text)
    for (s1, e1), (s2, _) in zip(spans, spans[1:]):
        assert e1 == s2 and s1 <= e1
    # Each character belongs to the token holding its last byte.
    offset = 0
    for char_index, char in enumerate(text):
        offset += len(char.encode("utf-8"))
        owner = next(i for i, (a, b) in enumerate(zip(points, points[1:])) if a < offset <= b)
        assert spans[owner][0] <= char_index < spans[owner][1]


def test_spans_from_utf8_bytes_rejects_invalid_utf8():
    with pytest.raises(ValueError):
        spans_from_utf8_bytes([[0xFF], [0x41]])


@given(_text, st.lists(st.integers(0, 60), max_size=10))
def test_spans_from_prefix_texts_with_replacement_characters(text, cuts):
    """Prefixes decoded from partial UTF-8 end in U+FFFD, as tokenizers do; spans stay exact."""
    data = text.encode("utf-8")
    points = sorted({min(c, len(data)) for c in cuts if c} | {len(data)}) if data else [0]
    prefixes = [data[:p].decode("utf-8", errors="replace") for p in points]
    spans = spans_from_prefix_texts(prefixes, text)
    assert spans[0][0] == 0 and spans[-1][1] == len(text)
    assert "".join(text[s:e] for s, e in spans) == text
    for prefix, (_, end) in zip(prefixes, spans):
        assert text.startswith(prefix[:end])


def test_common_prefix_len():
    assert common_prefix_len("abc", "abd") == 2
    assert common_prefix_len("", "x") == 0
    assert common_prefix_len("same", "same") == 4
