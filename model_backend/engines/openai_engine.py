"""The server engine: any OpenAI-compatible ``/v1/chat/completions`` endpoint (vLLM, SGLang, Ollama...),
or several of them serving the same model.

Images travel as base64 PNG data URLs. Several requests may be in flight at once (``concurrency`` per
endpoint) so a server can batch them. With several endpoints each request goes to the one with the
fewest requests outstanding (see ``endpoints.EndpointPool``). Failures that a later try can fix (HTTP
429 and 5xx, refused or dropped connections, and with several endpoints a timeout) make the endpoint
rest, with exponential backoff honouring ``Retry-After``, and the request is tried again on another
endpoint, or on the same one once its rest ends.
"""

from __future__ import annotations

import email.utils
import json
import math
import re
import threading
import time
from datetime import datetime, timezone
from typing import Any, Mapping, Sequence

import httpx

from ..errors import ConfigError, EngineError
from .base import Engine, EngineRequest, EngineResponse, TokenProb
from .endpoints import EndpointPool, Lease
from .images import check_images, fit_to_model_frame, png_data_url
from .scoring import spans_from_pieces, spans_from_utf8_bytes


def normalise_base_url(url: str) -> str:
    """``http://host:8000`` -> ``http://host:8000/v1``; a URL with a path is kept (no trailing slash)."""
    try:
        parsed = httpx.URL(str(url).strip())
    except Exception:
        parsed = None
    if parsed is None or parsed.scheme not in ("http", "https") or not parsed.host:
        raise ConfigError(f"server URL {url!r} is not valid; use e.g. http://localhost:8000/v1")
    text = str(parsed).rstrip("/")
    if parsed.path in ("", "/"):
        text += "/v1"
    return text


def normalise_base_urls(urls: str | Sequence[str]) -> list[str]:
    """One URL, or several (a list, or one text with URLs separated by commas, semicolons or spaces) ->
    normalised ``/v1`` base URLs without duplicates, in the order given. ``ConfigError`` if none."""
    items = [urls] if isinstance(urls, str) else list(urls or [])
    parts = [p for item in items for p in re.split(r"[,;\s]+", str(item)) if p]
    if not parts:
        raise ConfigError(f"server URL {urls!r} is not valid: it names no server; use e.g. http://localhost:8000/v1")
    return list(dict.fromkeys(normalise_base_url(p) for p in parts))


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta seconds or an HTTP date); ``None`` if absent
    or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        seconds = (when - (now or datetime.now(timezone.utc))).total_seconds()
    if not math.isfinite(seconds):
        return None
    return max(seconds, 0.0)


def _server_message(response: httpx.Response) -> str:
    """The error text a server put in its answer body (OpenAI and vLLM shapes), shortened."""
    try:
        data = response.json()
    except ValueError:
        return response.text.strip()[:300]
    if isinstance(data, Mapping):
        error = data.get("error")
        if isinstance(error, Mapping) and error.get("message"):
            return str(error["message"])[:300]
        if isinstance(error, str):
            return error[:300]
        if data.get("message"):
            return str(data["message"])[:300]
        if data.get("detail"):
            return str(data["detail"])[:300]
    return response.text.strip()[:300]


def parse_logprobs(content: str, logprobs: Any) -> list[TokenProb] | None:
    """Token spans and probabilities from ``choices[0].logprobs`` (``content[*].token/logprob/bytes``).

    Spans come from the tokens' UTF-8 ``bytes`` where every token has them, else from the token
    strings; ``None`` when the tokens do not spell out ``content`` exactly (no made-up alignment).
    """
    if not isinstance(logprobs, Mapping):
        return None
    entries = logprobs.get("content")
    if not isinstance(entries, list) or not entries:
        return None
    try:
        probs = [math.exp(float(e["logprob"])) for e in entries]
        if all(isinstance(e.get("bytes"), list) for e in entries):
            text, spans = spans_from_utf8_bytes([e["bytes"] for e in entries])
        else:
            pieces = [str(e["token"]) for e in entries]
            text, spans = "".join(pieces), spans_from_pieces(pieces)
    except (KeyError, TypeError, ValueError, OverflowError):
        return None
    if text != content:
        return None
    return [TokenProb(start, end, prob) for (start, end), prob in zip(spans, probs)]


class OpenAIEngine(Engine):
    """A model behind one or several OpenAI-compatible chat completions servers.

    Settings: ``base_url`` (e.g. ``http://localhost:8000/v1``; ``/v1`` is added to a bare host), or a
    list of them (each serving ``model``; see ``normalise_base_urls``), ``model`` (served model name;
    default: the first the first answering server lists), ``api_key`` (sent as a bearer token to every
    server), ``dialect``, ``connect_timeout`` and ``read_timeout`` (seconds), ``retries`` (extra tries
    per endpoint after a retryable failure), ``backoff`` and ``max_backoff`` (seconds: an endpoint
    that failed rests ``backoff * 2**(failures in a row - 1)`` up to ``max_backoff``, or the server's
    ``Retry-After`` up to ``max_backoff``), ``concurrency`` (requests in flight per endpoint),
    ``logprobs`` (ask for token log-probabilities), ``extra_body`` (merged into every request, e.g.
    ``{"top_k": 1}``), ``max_images``.
    """

    name = "openai"
    constrains_output = True  # servers honour response_format (vLLM, SGLang, Ollama)

    def __init__(
        self,
        base_url: str | Sequence[str],
        *,
        model: str | None = None,
        api_key: str | None = None,
        dialect: str = "georsmllm",
        connect_timeout: float = 5.0,
        read_timeout: float = 300.0,
        retries: int = 3,
        backoff: float = 0.5,
        max_backoff: float = 60.0,
        concurrency: int = 4,
        logprobs: bool = True,
        extra_body: Mapping[str, Any] | None = None,
        max_images: int = 2,
    ) -> None:
        self.base_urls = normalise_base_urls(base_url)
        self.base_url = self.base_urls[0]
        self.model = model or None
        self._api_key = api_key or None
        self.dialect = dialect
        self.connect_timeout = _positive("connect_timeout", connect_timeout)
        self.read_timeout = _positive("read_timeout", read_timeout)
        self.backoff = _positive("backoff", backoff, allow_zero=True)
        self.max_backoff = _positive("max_backoff", max_backoff, allow_zero=True)
        if int(retries) < 0:
            raise ConfigError(f"retries must be 0 or more, got {retries!r}")
        self.retries = int(retries)
        if int(concurrency) < 1:
            raise ConfigError(f"concurrency must be at least 1, got {concurrency!r}")
        self.concurrency = int(concurrency)
        self.logprobs = bool(logprobs)
        self.extra_body = dict(extra_body or {})
        self.max_images = int(max_images)
        self._lock = threading.Lock()
        self._pool: EndpointPool | None = None
        self._logprobs_rejected = False

    # -- connection --------------------------------------------------------------------------

    def _new_pool(self) -> EndpointPool:
        pool = EndpointPool(self.base_urls, self.concurrency, backoff=self.backoff, max_backoff=self.max_backoff)
        headers = {"Accept": "application/json"}
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        for endpoint in pool.endpoints:
            endpoint.client = httpx.Client(
                timeout=httpx.Timeout(self.read_timeout, connect=self.connect_timeout),
                limits=httpx.Limits(max_connections=self.concurrency, max_keepalive_connections=self.concurrency),
                headers=headers,
            )
        return pool

    def load(self) -> None:
        """Open the connections and check the servers answer (and pick ``model`` if unset). Loading
        succeeds when at least one server answers; the others rest and are tried again later. Every
        server that answers must serve ``model``."""
        with self._lock:
            if self._pool is not None:
                return
            pool = self._new_pool()
            try:
                self._check_models(pool)
            except BaseException:
                _close_pool(pool)
                raise
            self._pool = pool

    def _check_models(self, pool: EndpointPool) -> None:
        """``GET /models`` on every endpoint, in rounds with backoff until one answers."""
        served: dict[str, list[str]] = {}
        for round_ in range(self.retries + 1):
            for endpoint in pool.endpoints:
                if endpoint.url in served:
                    continue
                lease = pool.take(endpoint)
                failure, response = self._try(lease, "GET", "/models", None)
                if failure is None:
                    pool.succeeded(lease)
                    served[endpoint.url] = self._model_ids(endpoint.url, response)
                else:
                    pool.failed(lease, failure[0], failure[1])
            if served:
                break
            if round_ < self.retries:
                time.sleep(min(self.backoff * 2**round_, self.max_backoff))
        if not served:
            raise EngineError(self._all_failed_message(pool, self.retries + 1, "GET /models"))
        if self.model is None:
            first = next(ids for ids in served.values())
            if not first:
                raise EngineError(f"the server at {next(iter(served))} lists no models; set the model setting")
            self.model = first[0]
        for url, ids in served.items():
            if ids and self.model not in ids:
                raise EngineError(
                    f"the server at {url} does not serve model {self.model!r}; it serves: {', '.join(ids[:10])}"
                )

    def _model_ids(self, url: str, response: httpx.Response) -> list[str]:
        """Served model ids from a ``GET /models`` answer; ``[]`` if the server has no such route."""
        if response.status_code >= 400:
            if self.model is None:
                raise EngineError(
                    f"the server at {url} does not list its models (HTTP {response.status_code}); "
                    "set the model setting"
                )
            return []
        try:
            data = response.json()
            return [str(m["id"]) for m in data.get("data", []) if isinstance(m, Mapping) and "id" in m]
        except (ValueError, AttributeError, TypeError):
            return []

    def close(self) -> None:
        with self._lock:
            if self._pool is not None:
                _close_pool(self._pool)
                self._pool = None

    def _try(
        self, lease: Lease, method: str, path: str, payload: Any
    ) -> tuple[tuple[str, float | None] | None, httpx.Response | None]:
        """One HTTP exchange on ``lease``'s endpoint: ``(None, response)`` for an answer the caller
        keeps (2xx, and 4xx other than 429), else ``((reason, retry_after_s), response or None)``.
        A read timeout is reported as the reason ``"timeout"``."""
        endpoint = lease.endpoint
        try:
            response = endpoint.client.request(method, endpoint.url + path, json=payload)
        except httpx.ReadTimeout:
            return ("timeout", None), None
        except (httpx.TransportError, httpx.TimeoutException) as exc:
            return (f"{type(exc).__name__}: {exc}", None), None
        if response.status_code == 429 or response.status_code >= 500:
            after = retry_after_seconds(response.headers.get("Retry-After"))
            return (f"HTTP {response.status_code}: {_server_message(response)}", after), response
        return None, response

    def _send(self, path: str, payload: Any) -> tuple[httpx.Response, int, str]:
        """POST ``payload`` with failover: ``(response, attempts, endpoint URL)``. Each failure makes
        its endpoint rest and the request goes to the best endpoint again (another one while this one
        rests). A timed-out request is not sent again to the endpoint that timed out (a slow generation
        stays slow). Gives up after ``retries + 1`` attempts per endpoint, or when every endpoint timed
        out, with a message naming each endpoint's last failure."""
        pool = self._pool
        if pool is None:
            raise EngineError("the engine was closed; load it again")
        timed_out: set[str] = set()
        most = (self.retries + 1) * len(pool)
        attempts = 0
        while True:
            lease = pool.acquire(exclude=timed_out)
            if lease is None:  # every endpoint timed out on this request
                raise EngineError(self._timeout_message(pool))
            attempts += 1
            failure, response = self._try(lease, "POST", path, payload)
            if failure is None:
                pool.succeeded(lease)
                return response, attempts, lease.endpoint.url
            reason, after = failure
            if reason == "timeout":
                reason = f"no answer within {self.read_timeout:g} s"
                timed_out.add(lease.endpoint.url)
            pool.failed(lease, reason, after)
            if attempts >= most:
                if len(timed_out) == len(pool):
                    raise EngineError(self._timeout_message(pool))
                raise EngineError(self._all_failed_message(pool, attempts, "the request"))

    def _timeout_message(self, pool: EndpointPool) -> str:
        where = ("the model server at " + pool.endpoints[0].url if len(pool) == 1
                 else f"none of the {len(pool)} model servers ({', '.join(e.url for e in pool.endpoints)})")
        return (f"{where} did not answer within {self.read_timeout:g} s; "
                "raise read_timeout or lower max_new_tokens")

    def _all_failed_message(self, pool: EndpointPool, attempts: int, what: str) -> str:
        if len(pool) == 1:
            endpoint = pool.endpoints[0]
            error = endpoint.last_error or "no answer"
            if error.startswith("HTTP "):
                return (f"the model server at {endpoint.url} answered {error.split(':', 1)[0]} after "
                        f"{attempts} attempt(s): {error.split(':', 1)[1].strip()}")
            return (f"cannot reach the model server at {endpoint.url} ({error}) after {attempts} attempt(s): "
                    "is it running? check the server URL")
        listing = "; ".join(f"{e.url}: {e.last_error or 'not tried'}" for e in pool.endpoints)
        return (f"none of the {len(pool)} model servers answered {what} ({attempts} attempt(s) in all): "
                f"{listing}; are they running? check the server URLs")

    # -- generation --------------------------------------------------------------------------

    def _payload(self, request: EngineRequest, with_logprobs: bool) -> dict[str, Any]:
        images = check_images(request.images, max_images=self.max_images)
        images = fit_to_model_frame(images, self.dialect)
        content: list[dict[str, Any]] = [
            {"type": "image_url", "image_url": {"url": png_data_url(a)}} for a in images
        ]
        content.append({"type": "text", "text": request.prompt})
        messages: list[dict[str, Any]] = []
        if request.system:
            messages.append({"role": "system", "content": request.system})
        messages.append({"role": "user", "content": content})
        payload: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "max_tokens": int(request.max_new_tokens),
            "temperature": float(request.temperature),
            "stream": False,
        }
        if with_logprobs:
            payload["logprobs"] = True
        if request.response_format is not None:
            payload["response_format"] = request.response_format
        payload.update(self.extra_body)
        return payload

    def generate(self, request: EngineRequest) -> EngineResponse:
        if request.max_new_tokens < 1:
            raise EngineError(f"max_new_tokens must be at least 1, got {request.max_new_tokens}")
        self.load()
        started = time.perf_counter()
        with_logprobs = self.logprobs and not self._logprobs_rejected
        payload = self._payload(request, with_logprobs)
        response, attempts, url = self._send("/chat/completions", payload)
        if response.status_code == 400 and with_logprobs:
            # Some servers refuse logprobs outright; retry once without and stop asking if that works.
            payload.pop("logprobs", None)
            retry, more, url = self._send("/chat/completions", payload)
            if retry.status_code < 400:
                with self._lock:
                    self._logprobs_rejected = True
            response, attempts = retry, attempts + more
        if response.status_code >= 400:
            hint = " (check the api_key setting)" if response.status_code in (401, 403) else ""
            raise EngineError(
                f"the model server at {url} refused the request "
                f"(HTTP {response.status_code}){hint}: {_server_message(response)}"
            )
        return self._parse(response, started, attempts, url)

    def _parse(self, response: httpx.Response, started: float, attempts: int, url: str) -> EngineResponse:
        try:
            data = json.loads(response.content)
        except ValueError:
            raise EngineError(
                f"the model server at {url} answered with invalid JSON: {response.text[:200]!r}"
            ) from None
        try:
            choice = data["choices"][0]
            message = choice["message"]
        except (KeyError, IndexError, TypeError):
            raise EngineError(
                f"the model server at {url} answered without choices[0].message: "
                f"{response.text[:200]!r}"
            ) from None
        content = message.get("content") if isinstance(message, Mapping) else None
        if isinstance(content, list):  # some servers return content parts
            content = "".join(p.get("text", "") for p in content if isinstance(p, Mapping))
        if content is None:
            content = ""
        if not isinstance(content, str):
            raise EngineError(
                f"the model server at {url} answered with non-text content: {content!r}"[:300]
            )
        tokens = parse_logprobs(content, choice.get("logprobs"))
        info: dict[str, Any] = {
            "finish_reason": choice.get("finish_reason"),
            "model": data.get("model", self.model),
            "seconds": time.perf_counter() - started,
            "attempts": attempts,
            "endpoint": url,
        }
        if isinstance(data.get("usage"), Mapping):
            info["usage"] = dict(data["usage"])
        return EngineResponse(text=content, tokens=tokens, info=info)

    def describe(self) -> dict[str, Any]:
        return {
            "engine": self.name,
            "model": self.model,
            "device": "server",
            "url": self.base_url,
            "urls": list(self.base_urls),
            "endpoints": self._pool.describe() if self._pool is not None else [],
            "dtype": None,
            "family": None,
            "dialect": self.dialect,
            "concurrency": self.concurrency,  # per endpoint
            "logprobs": self.logprobs and not self._logprobs_rejected,
        }


def _close_pool(pool: EndpointPool) -> None:
    for endpoint in pool.endpoints:
        if endpoint.client is not None:
            endpoint.client.close()
            endpoint.client = None


def _positive(name: str, value: Any, allow_zero: bool = False) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be a number of seconds, got {value!r}") from None
    if not math.isfinite(number) or number < 0 or (number == 0 and not allow_zero):
        raise ConfigError(
            f"{name} must be a {'non-negative' if allow_zero else 'positive'} number of seconds, "
            f"got {value!r}"
        )
    return number
