"""The plugin's server-sent-events parser: what the backend writes parses back, however it is split."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from plugin.logic.sse import SseEvent, SseParser


def parse(lines):
    parser = SseParser()
    return [e for e in (parser.feed_line(line) for line in lines) if e is not None]


def test_a_backend_event_block():
    text = 'id: 3\nevent: tile\ndata: {"kind": "tile", "tiles_done": 1}\n\n: keep-alive\n\n'
    assert parse(text.splitlines(keepends=True)) == [
        SseEvent(event="tile", data='{"kind": "tile", "tiles_done": 1}', id="3")
    ]


def test_comments_and_blocks_without_data_dispatch_nothing():
    assert parse([": keep-alive\n", "\n", "event: x\n", "\n", "id: 4\n", "\n"]) == []


def test_multi_line_data_and_default_event_name():
    assert parse(["data: a\n", "data:b\n", "data:  c\n", "\n"]) == [SseEvent("message", "a\nb\n c", None)]


def test_crlf_line_ends():
    assert parse(["event: done\r\n", "data: {}\r\n", "\r\n"]) == [SseEvent("done", "{}", None)]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=6)


@settings(suppress_health_check=[HealthCheck.too_slow], deadline=None)  # the shared CPUs are busy
@given(st.lists(st.tuples(st.sampled_from(["plan", "tile", "warning", "done"]), json_values), max_size=6))
def test_serialised_events_round_trip(events):
    # The backend's framing: "id: N\nevent: KIND\ndata: JSON\n\n" (json.dumps never emits a newline).
    text = "".join(f"id: {i}\nevent: {kind}\ndata: {json.dumps(value)}\n\n: keep-alive\n\n"
                   for i, (kind, value) in enumerate(events))
    parsed = parse(text.splitlines(keepends=True))
    assert [(e.event, json.loads(e.data), e.id) for e in parsed] == [
        (kind, value, str(i)) for i, (kind, value) in enumerate(events)]
