"""The server engine: any OpenAI-compatible ``/v1/chat/completions`` endpoint (vLLM, SGLang, Ollama...).

Images travel as base64 PNG data URLs. Several requests may be in flight at once (``concurrency``)
so the server can batch them; failures that a later try can fix (HTTP 429 and 5xx, refused or
dropped connections) are retried with exponential backoff, honouring ``Retry-After``.
"""

from __future__ import annotations

import email.utils
import json
import math
import threading
import time
from datetime import datetime, timezone
from typing import Any, Mapping

import httpx

from ..errors import ConfigError, EngineError
from .base import Engine, EngineRequest, EngineResponse, TokenProb
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
    """A model behind an OpenAI-compatible chat completions server.

    Settings: ``base_url`` (e.g. ``http://localhost:8000/v1``; ``/v1`` is added to a bare host),
    ``model`` (served model name; default: the first the server lists), ``api_key`` (sent as a
    bearer token), ``dialect``, ``connect_timeout`` and ``read_timeout`` (seconds), ``retries``
    (extra tries after a retryable failure), ``backoff`` and ``max_backoff`` (seconds: waits are
    ``backoff * 2**try`` up to ``max_backoff``, or the server's ``Retry-After`` up to ``max_backoff``),
    ``concurrency`` (requests in flight), ``logprobs`` (ask for token log-probabilities),
    ``extra_body`` (merged into every request, e.g. ``{"top_k": 1}``), ``max_images``.
    """

    name = "openai"
    constrains_output = True  # servers honour response_format (vLLM, SGLang, Ollama)

    def __init__(
        self,
        base_url: str,
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
        self.base_url = normalise_base_url(base_url)
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
        self._slots = threading.BoundedSemaphore(self.concurrency)
        self._client: httpx.Client | None = None
        self._logprobs_rejected = False

    # -- connection --------------------------------------------------------------------------

    def load(self) -> None:
        """Open the connection pool and check the server answers (and picks ``model`` if unset)."""
        with self._lock:
            if self._client is not None:
                return
            headers = {"Accept": "application/json"}
            if self._api_key:
                headers["Authorization"] = f"Bearer {self._api_key}"
            client = httpx.Client(
                timeout=httpx.Timeout(self.read_timeout, connect=self.connect_timeout),
                limits=httpx.Limits(
                    max_connections=self.concurrency, max_keepalive_connections=self.concurrency
                ),
                headers=headers,
            )
            try:
                served = self._list_models(client)
            except BaseException:
                client.close()
                raise
            if self.model is None:
                if not served:
                    client.close()
                    raise EngineError(f"the server at {self.base_url} lists no models; set the model setting")
                self.model = served[0]
            elif served and self.model not in served:
                client.close()
                raise EngineError(
                    f"the server at {self.base_url} does not serve model {self.model!r}; it serves: "
                    f"{', '.join(served[:10])}"
                )
            self._client = client

    def _list_models(self, client: httpx.Client) -> list[str]:
        """Served model ids from ``GET /models``; ``[]`` if the server has no such route."""
        response, _ = self._send(client, "GET", "/models", None)
        if response.status_code >= 400:
            if self.model is None:
                raise EngineError(
                    f"the server at {self.base_url} does not list its models (HTTP {response.status_code}); "
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
            if self._client is not None:
                self._client.close()
                self._client = None

    def _wait(self, attempt: int, response: httpx.Response | None) -> None:
        delay = self.backoff * (2**attempt)
        if response is not None:
            after = retry_after_seconds(response.headers.get("Retry-After"))
            if after is not None:
                delay = after
        time.sleep(min(delay, self.max_backoff))

    def _send(self, client: httpx.Client, method: str, path: str, payload: Any) -> tuple[httpx.Response, int]:
        """One HTTP exchange with retries on 429/5xx and connection failures: (response, attempts).
        Any other status is returned to the caller. Holds one of ``concurrency`` slots while a
        request is in flight, none while waiting to retry."""
        url = self.base_url + path
        attempt = 0
        while True:
            try:
                with self._slots:
                    response = client.request(method, url, json=payload)
            except httpx.ReadTimeout:
                raise EngineError(
                    f"the model server at {self.base_url} did not answer within {self.read_timeout:g} s; "
                    "raise read_timeout or lower max_new_tokens"
                ) from None
            except (httpx.TransportError, httpx.TimeoutException) as exc:
                if attempt < self.retries:
                    self._wait(attempt, None)
                    attempt += 1
                    continue
                raise EngineError(
                    f"cannot reach the model server at {self.base_url} ({type(exc).__name__}: {exc}) after "
                    f"{attempt + 1} attempt(s): is it running? check the server URL"
                ) from None
            if response.status_code == 429 or response.status_code >= 500:
                if attempt < self.retries:
                    self._wait(attempt, response)
                    attempt += 1
                    continue
                raise EngineError(
                    f"the model server at {self.base_url} answered HTTP {response.status_code} after "
                    f"{attempt + 1} attempt(s): {_server_message(response)}"
                )
            return response, attempt + 1

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
        client = self._client
        if client is None:
            raise EngineError("the engine was closed; load it again")
        started = time.perf_counter()
        with_logprobs = self.logprobs and not self._logprobs_rejected
        payload = self._payload(request, with_logprobs)
        response, attempts = self._send(client, "POST", "/chat/completions", payload)
        if response.status_code == 400 and with_logprobs:
            # Some servers refuse logprobs outright; retry once without and stop asking if that works.
            payload.pop("logprobs", None)
            retry, more = self._send(client, "POST", "/chat/completions", payload)
            if retry.status_code < 400:
                with self._lock:
                    self._logprobs_rejected = True
            response, attempts = retry, attempts + more
        if response.status_code >= 400:
            hint = " (check the api_key setting)" if response.status_code in (401, 403) else ""
            raise EngineError(
                f"the model server at {self.base_url} refused the request "
                f"(HTTP {response.status_code}){hint}: {_server_message(response)}"
            )
        return self._parse(response, started, attempts)

    def _parse(self, response: httpx.Response, started: float, attempts: int) -> EngineResponse:
        try:
            data = json.loads(response.content)
        except ValueError:
            raise EngineError(
                f"the model server at {self.base_url} answered with invalid JSON: {response.text[:200]!r}"
            ) from None
        try:
            choice = data["choices"][0]
            message = choice["message"]
        except (KeyError, IndexError, TypeError):
            raise EngineError(
                f"the model server at {self.base_url} answered without choices[0].message: "
                f"{response.text[:200]!r}"
            ) from None
        content = message.get("content") if isinstance(message, Mapping) else None
        if isinstance(content, list):  # some servers return content parts
            content = "".join(p.get("text", "") for p in content if isinstance(p, Mapping))
        if content is None:
            content = ""
        if not isinstance(content, str):
            raise EngineError(
                f"the model server at {self.base_url} answered with non-text content: {content!r}"[:300]
            )
        tokens = parse_logprobs(content, choice.get("logprobs"))
        info: dict[str, Any] = {
            "finish_reason": choice.get("finish_reason"),
            "model": data.get("model", self.model),
            "seconds": time.perf_counter() - started,
            "attempts": attempts,
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
            "dtype": None,
            "family": None,
            "dialect": self.dialect,
            "concurrency": self.concurrency,
            "logprobs": self.logprobs and not self._logprobs_rejected,
        }


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
