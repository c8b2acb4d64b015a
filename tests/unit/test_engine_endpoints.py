"""Several model servers behind one OpenAI engine: spreading, per-endpoint limits, rests and failover,
against real HTTP servers on loopback (tests/helpers/fake_openai.py), and the pool's rules on a fake clock."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from model_backend.engines import EngineRequest, get_engine
from model_backend.engines.endpoints import EndpointPool
from model_backend.engines.openai_engine import normalise_base_urls
from model_backend.errors import ConfigError, EngineError
from tests.helpers.fake_openai import FakeOpenAIServer, Reply, completion


def _slow(text: str, delay: float):
    return lambda body: Reply(body=completion(text), delay=delay)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _generate_all(engine, n: int) -> list:
    """``n`` requests at once from ``n`` threads; their responses in order."""
    out: list = [None] * n

    def one(i: int) -> None:
        out[i] = engine.generate(EngineRequest(f"q{i}", max_new_tokens=4))

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


def test_urls_are_read_from_lists_and_text():
    assert normalise_base_urls("http://a:1, http://b:2/v1;http://a:1/v1") == ["http://a:1/v1", "http://b:2/v1"]
    assert normalise_base_urls(["http://a:1", "http://b:2"]) == ["http://a:1/v1", "http://b:2/v1"]
    with pytest.raises(ConfigError, match="not valid"):
        normalise_base_urls([" , "])


def test_requests_go_to_the_endpoint_with_fewest_outstanding():
    with FakeOpenAIServer(default=_slow("a", 0.3)) as a, FakeOpenAIServer(default=_slow("b", 0.3)) as b:
        with get_engine("openai", base_url=[a.url, b.url], concurrency=4) as engine:
            responses = _generate_all(engine, 4)
            described = engine.describe()
    # each endpoint could take all four; fewest outstanding spreads them two and two, in parallel
    assert sorted(r.text for r in responses) == ["a", "a", "b", "b"]
    assert {r.info["endpoint"] for r in responses} == {a.url, b.url}
    assert a.max_in_flight == 2 and b.max_in_flight == 2
    assert described["urls"] == [a.url, b.url]
    assert [e["served"] for e in described["endpoints"]] == [3, 3]  # GET /models at load, then two each


def test_each_endpoint_keeps_its_own_concurrency_limit():
    with FakeOpenAIServer(default=_slow("a", 0.15)) as a, FakeOpenAIServer(default=_slow("b", 0.15)) as b:
        with get_engine("openai", base_url=[a.url, b.url], concurrency=1) as engine:
            started = time.perf_counter()
            responses = _generate_all(engine, 6)
            elapsed = time.perf_counter() - started
    assert a.max_in_flight == 1 and b.max_in_flight == 1
    assert len(a.chat_requests()) == 3 and len(b.chat_requests()) == 3
    assert all(r.text in ("a", "b") for r in responses)
    assert elapsed < 6 * 0.15  # two at a time, not one


def test_a_failing_endpoint_rests_while_the_other_serves_and_is_tried_again_later():
    with FakeOpenAIServer(default=_slow("a", 0.0)) as a, FakeOpenAIServer(default=_slow("b", 0.0)) as b:
        with get_engine("openai", base_url=[a.url, b.url], concurrency=1, backoff=0.4) as engine:
            a.replies.append(Reply(status=503, body={"error": {"message": "restarting"}}))
            first = engine.generate(EngineRequest("one"))
            assert first.text == "b" and first.info["attempts"] == 2  # failed on a, answered by b
            rest = engine.describe()["endpoints"][0]
            assert rest["failed"] == 1 and rest["resting_s"] > 0.2 and "503" in rest["last_error"]
            during = [engine.generate(EngineRequest("x")).text for _ in range(3)]
            assert during == ["b", "b", "b"]  # a rests
            time.sleep(0.45)
            after = [engine.generate(EngineRequest("x")).text for _ in range(2)]
    assert sorted(after) == ["a", "b"]  # a's rest is over: it is tried again and answers


def test_refused_connection_fails_over_and_load_survives_a_dead_endpoint():
    dead = f"http://127.0.0.1:{_free_port()}/v1"
    with FakeOpenAIServer(default=_slow("live", 0.0)) as live:
        with get_engine("openai", base_url=[dead, live.url], backoff=5.0, retries=1) as engine:
            texts = [engine.generate(EngineRequest("x")).text for _ in range(4)]
            endpoints = engine.describe()["endpoints"]
    assert texts == ["live"] * 4
    assert endpoints[0]["url"] == dead and endpoints[0]["served"] == 0
    assert endpoints[0]["resting_s"] > 1 and "ConnectError" in endpoints[0]["last_error"]


def test_all_endpoints_down_is_one_clear_error():
    dead = [f"http://127.0.0.1:{_free_port()}/v1" for _ in range(2)]
    engine = get_engine("openai", base_url=dead, retries=1, backoff=0.01)
    with pytest.raises(EngineError, match=r"none of the 2 model servers answered.*127\.0\.0\.1.*ConnectError.*"
                                          r"127\.0\.0\.1.*ConnectError.*running"):
        engine.load()


def test_all_endpoints_failing_during_a_request_is_one_clear_error():
    with FakeOpenAIServer() as a, FakeOpenAIServer() as b:
        with get_engine("openai", base_url=[a.url, b.url], retries=1, backoff=0.01) as engine:
            a.default = b.default = lambda body: Reply(status=502, body={"error": {"message": "bad gateway"}})
            with pytest.raises(EngineError, match=r"none of the 2 model servers answered the request \(4 attempt"
                                                  r".*HTTP 502: bad gateway"):
                engine.generate(EngineRequest("x"))
    assert len(a.chat_requests()) == 2 and len(b.chat_requests()) == 2


def test_a_timeout_is_retried_on_another_endpoint_not_the_same():
    with FakeOpenAIServer(default=_slow("slow", 1.0)) as slow, FakeOpenAIServer(default=_slow("fast", 0.0)) as fast:
        with get_engine("openai", base_url=[slow.url, fast.url], read_timeout=0.3) as engine:
            # the first request goes to the first endpoint (both idle); it times out and moves on
            response = engine.generate(EngineRequest("x"))
    assert response.text == "fast" and response.info["attempts"] == 2
    assert len(slow.chat_requests()) == 1


def test_a_server_killed_mid_request_fails_over():
    with FakeOpenAIServer(default=_slow("a", 0.6)) as a, FakeOpenAIServer(default=_slow("b", 0.05)) as b:
        with get_engine("openai", base_url=[a.url, b.url], concurrency=1, backoff=5.0) as engine:
            killer = threading.Timer(0.2, a.kill)
            killer.start()
            responses = _generate_all(engine, 2)  # one is in service on a when it dies
            killer.join()
            later = engine.generate(EngineRequest("x")).text
    assert sorted(r.text for r in responses) == ["b", "b"]
    assert later == "b"


# -- the pool's rules, on a fake clock --------------------------------------------------------------
class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_rests_double_in_a_row_are_capped_honour_retry_after_and_reset_on_success():
    clock = Clock()
    pool = EndpointPool(["u"], 1, backoff=1.0, max_backoff=5.0, clock=clock)
    rests = []
    for _ in range(4):
        lease = pool.acquire(wait=False)
        rests.append(pool.failed(lease, "boom"))
        clock.now += rests[-1]
    assert rests == [1.0, 2.0, 4.0, 5.0]
    lease = pool.acquire(wait=False)
    assert pool.failed(lease, "busy", retry_after=3.0) == 3.0
    assert pool.acquire(wait=False) is None  # resting
    clock.now += 3.0
    pool.succeeded(pool.acquire(wait=False))
    assert pool.failed(pool.acquire(wait=False), "again") == 1.0


def test_requests_in_flight_when_a_rest_began_do_not_lengthen_it():
    clock = Clock()
    pool = EndpointPool(["u"], 4, backoff=1.0, max_backoff=60.0, clock=clock)
    leases = [pool.acquire(wait=False) for _ in range(4)]
    clock.now += 0.1
    assert [pool.failed(lease, "down") for lease in leases] == [1.0, 0.0, 0.0, 0.0]
    assert pool.endpoints[0].rest_until == pytest.approx(101.1)


def test_ties_take_turns_and_excluded_endpoints_are_skipped():
    pool = EndpointPool(["a", "b", "c"], 2, backoff=1.0, max_backoff=1.0, clock=Clock())
    picks = []
    for _ in range(3):
        lease = pool.acquire()
        picks.append(lease.endpoint.url)
        pool.succeeded(lease)
    assert picks == ["a", "b", "c"]
    assert pool.acquire(exclude={"a", "b"}).endpoint.url == "c"
    assert pool.acquire(exclude={"a", "b", "c"}) is None
