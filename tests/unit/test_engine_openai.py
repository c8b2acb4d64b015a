"""The OpenAI-compatible server engine against a real HTTP server on loopback (tests/helpers)."""

from __future__ import annotations

import base64
import io
import math
import socket
import threading
import time
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import numpy as np
import pytest

from model_backend.engines import EngineRequest, TokenProb, get_engine
from model_backend.engines.openai_engine import (
    OpenAIEngine,
    normalise_base_url,
    parse_logprobs,
    retry_after_seconds,
)
from model_backend.errors import ConfigError, EngineError
from tests.helpers.fake_openai import FakeOpenAIServer, Reply, completion


@pytest.fixture
def server():
    with FakeOpenAIServer(models=("tiny", "other")) as srv:
        yield srv


def _engine(server, **settings) -> OpenAIEngine:
    settings.setdefault("backoff", 0.01)
    return get_engine("openai", base_url=server.url, **settings)


def _image(seed: int, h: int = 9, w: int = 13) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def _decode_data_url(url: str) -> np.ndarray:
    from PIL import Image

    prefix = "data:image/png;base64,"
    assert url.startswith(prefix)
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(url[len(prefix) :]))).convert("RGB"))


def test_success_picks_served_model_and_sends_images_as_png_data_urls(server):
    server.replies.append(Reply(body=completion("{<1><2><3><4>|0}")))
    before, after = _image(1), _image(2)
    with _engine(server, dialect="geochat") as engine:  # a normalised dialect: images go as they are
        response = engine.generate(
            EngineRequest("[change] new roads", images=[before, after], system="be brief", max_new_tokens=64)
        )
        assert engine.describe()["model"] == "tiny"
        assert engine.describe()["dialect"] == "geochat"
    assert response.text == "{<1><2><3><4>|0}"
    assert response.info["finish_reason"] == "stop" and response.info["attempts"] == 1
    (request,) = server.chat_requests()
    body = request["body"]
    assert body["model"] == "tiny" and body["max_tokens"] == 64 and body["temperature"] == 0.0
    assert body["logprobs"] is True
    system, user = body["messages"]
    assert system == {"role": "system", "content": "be brief"}
    parts = user["content"]
    assert [p["type"] for p in parts] == ["image_url", "image_url", "text"]
    assert np.array_equal(_decode_data_url(parts[0]["image_url"]["url"]), before)  # before first
    assert np.array_equal(_decode_data_url(parts[1]["image_url"]["url"]), after)
    assert parts[2]["text"] == "[change] new roads"
    assert "authorization" not in {k.lower() for k in request["headers"]}


def test_bearer_token_is_sent(server):
    with _engine(server, api_key="s3cret", model="other") as engine:
        engine.generate(EngineRequest("x"))
    assert all(r["headers"].get("Authorization") == "Bearer s3cret" for r in server.requests)
    assert server.chat_requests()[0]["body"]["model"] == "other"


def test_logprobs_become_character_spans(server):
    tokens = [("{", -0.1), ("<1", -0.2), (">", -0.05), (" é", -1.0), ("湖", -0.5)]
    server.replies.append(Reply(body=completion("{<1> é湖", logprobs=tokens)))
    with _engine(server) as engine:
        response = engine.generate(EngineRequest("x"))
    assert response.tokens == [
        TokenProb(0, 1, pytest.approx(math.exp(-0.1))),
        TokenProb(1, 3, pytest.approx(math.exp(-0.2))),
        TokenProb(3, 4, pytest.approx(math.exp(-0.05))),
        TokenProb(4, 6, pytest.approx(math.exp(-1.0))),
        TokenProb(6, 7, pytest.approx(math.exp(-0.5))),
    ]


def test_logprobs_with_bytes_split_inside_a_character():
    # vLLM-style: a token may hold part of a multi-byte character; its text is unusable, bytes are not.
    entries = [
        {"token": "a", "logprob": -0.1, "bytes": [0x61]},
        {"token": "\\xe6", "logprob": -0.2, "bytes": [0xE6]},
        {"token": "\\xb9\\x96", "logprob": -0.3, "bytes": [0xB9, 0x96]},
    ]
    tokens = parse_logprobs("a湖", {"content": entries})
    assert [(t.start, t.end) for t in tokens] == [(0, 1), (1, 1), (1, 2)]


def test_logprobs_that_do_not_spell_the_answer_are_dropped(server):
    server.replies.append(Reply(body=completion("hello", logprobs=[("help", -0.1)])))
    with _engine(server) as engine:
        assert engine.generate(EngineRequest("x")).tokens is None
    assert parse_logprobs("x", None) is None
    assert parse_logprobs("x", {"content": [{"token": "x"}]}) is None


def test_read_timeout_is_a_clear_error(server):
    server.replies.append(Reply(body=completion("late"), delay=1.5))
    with _engine(server, read_timeout=0.3) as engine:
        started = time.perf_counter()
        with pytest.raises(EngineError, match=r"did not answer within 0.3 s.*read_timeout"):
            engine.generate(EngineRequest("x"))
        assert time.perf_counter() - started < 1.2
    assert len(server.chat_requests()) == 1  # a slow generation is not sent again


def test_server_error_then_success_is_retried(server):
    with _engine(server, retries=2) as engine:
        server.replies.extend(
            [Reply(status=500, body={"error": {"message": "boom"}}), Reply(body=completion("fine"))]
        )
        response = engine.generate(EngineRequest("x"))
    assert response.text == "fine" and response.info["attempts"] == 2
    assert len(server.chat_requests()) == 2


def test_dropped_connection_is_retried(server):
    with _engine(server, retries=1) as engine:
        server.replies.extend([Reply(drop=True), Reply(body=completion("back"))])
        response = engine.generate(EngineRequest("x"))
    assert response.text == "back" and response.info["attempts"] == 2


def test_retries_are_bounded(server):
    with _engine(server, retries=2) as engine:
        server.replies.extend([Reply(status=503, body={"message": "overloaded"})] * 5)
        with pytest.raises(EngineError, match="HTTP 503 after 3 attempt.*overloaded"):
            engine.generate(EngineRequest("x"))
    assert len(server.chat_requests()) == 3


def test_429_honours_retry_after(server):
    with _engine(server, backoff=0.0) as engine:
        server.replies.extend([Reply(status=429, headers={"Retry-After": "1"}), Reply(body=completion("ok"))])
        started = time.perf_counter()
        assert engine.generate(EngineRequest("x")).text == "ok"
        assert time.perf_counter() - started >= 0.95


def test_retry_after_parsing():
    now = datetime(2026, 1, 1, tzinfo=timezone.utc)
    assert retry_after_seconds("3") == 3.0
    assert retry_after_seconds(format_datetime(now + timedelta(seconds=7), usegmt=True), now=now) == 7.0
    assert retry_after_seconds(format_datetime(now - timedelta(seconds=7), usegmt=True), now=now) == 0.0
    assert retry_after_seconds("soon") is None and retry_after_seconds(None) is None


def test_malformed_json_answer(server):
    with _engine(server) as engine:
        server.replies.append(Reply(body="<html>gateway</html>"))
        with pytest.raises(EngineError, match="invalid JSON.*gateway"):
            engine.generate(EngineRequest("x"))
        server.replies.append(Reply(body={"object": "chat.completion", "choices": []}))
        with pytest.raises(EngineError, match=r"without choices\[0\].message"):
            engine.generate(EngineRequest("x"))


def test_logprobs_refused_with_400_is_retried_without_and_remembered(server):
    with _engine(server) as engine:
        server.replies.extend(
            [
                Reply(status=400, body={"error": {"message": "logprobs not supported"}}),
                Reply(body=completion("a")),
            ]
        )
        assert engine.generate(EngineRequest("x")).text == "a"
        assert engine.generate(EngineRequest("y")).text == "ok"
        assert engine.describe()["logprobs"] is False
    bodies = [r["body"] for r in server.chat_requests()]
    assert [b.get("logprobs") for b in bodies] == [True, None, None]


def test_other_400_is_reported_with_the_server_message(server):
    with _engine(server, logprobs=False) as engine:
        server.replies.append(Reply(status=400, body={"error": {"message": "image too large"}}))
        with pytest.raises(EngineError, match="HTTP 400.*image too large"):
            engine.generate(EngineRequest("x"))
    assert len(server.chat_requests()) == 1


def test_unauthorised_mentions_the_api_key(server):
    with _engine(server) as engine:
        server.replies.append(Reply(status=401, body={"error": {"message": "bad token"}}))
        with pytest.raises(EngineError, match="HTTP 401.*api_key.*bad token"):
            engine.generate(EngineRequest("x"))


def test_concurrency_limit_is_respected():
    with FakeOpenAIServer(default=lambda body: Reply(body=completion("ok"), delay=0.15)) as server:
        engine = _engine(server, concurrency=2)
        engine.load()
        threads = [threading.Thread(target=engine.generate, args=(EngineRequest(f"q{i}"),)) for i in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        engine.close()
        assert len(server.chat_requests()) == 6
        assert server.max_in_flight == 2


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_server():
    engine = get_engine("openai", base_url=f"http://127.0.0.1:{_free_port()}", retries=1, backoff=0.01)
    with pytest.raises(
        EngineError, match=r"cannot reach the model server at http://127.0.0.1:\d+/v1.*2 attempt.*running"
    ):
        engine.load()


def test_unknown_model_names_served_ones(server):
    with pytest.raises(EngineError, match="does not serve model 'big'.*tiny, other"):
        _engine(server, model="big").load()


def test_settings_are_checked():
    assert normalise_base_url("http://localhost:8000") == "http://localhost:8000/v1"
    assert normalise_base_url("https://h/api/v1/") == "https://h/api/v1"
    for bad in ("localhost:8000", "ftp://h/v1", ""):
        with pytest.raises(ConfigError, match="not valid"):
            OpenAIEngine(bad)
    with pytest.raises(ConfigError, match="concurrency"):
        OpenAIEngine("http://h", concurrency=0)
    with pytest.raises(ConfigError, match="read_timeout"):
        OpenAIEngine("http://h", read_timeout=0)
