"""Rasters read by http(s) URL: GDAL's HTTP settings, a checked first request, and URLs fit for logs.

A URL names a cloud-optimised GeoTIFF (or any tiled GeoTIFF); GDAL reads it through ``/vsicurl/`` with HTTP
range requests, fetching only the header and the blocks a read touches. Before GDAL sees a URL, ``probe``
asks for its first bytes with redirects followed by hand, each hop passing the same checks as the URL
itself: GDAL is then given the final URL, which must start like a TIFF, and opens it with the GeoTIFF
driver only (never a driver chosen from what the server sends).

Who may open what: ``source_guard`` installs a check (the backend server's ``--allow-url`` and folder
rules) for the code that runs inside it; ``checked`` applies it to every location a raster open touches (the
raster, a STAC item, each asset, each redirect). Outside any guard (the command line) everything is allowed.

Credentials in URLs (signed query strings, user names) never reach logs, messages or layer metadata:
``redact`` keeps scheme, host and path; ``scrub`` does the same to every URL inside a text.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import re
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Callable, Iterator
from urllib.parse import urljoin, urlsplit, urlunsplit

from ..errors import RasterError

#: GDAL's HTTP settings while a remote raster is opened and read. A variable of the same name in the
#: environment wins (GDAL reads its own environment variables).
#: * no directory listing, hence no request for side files (``.ovr``, ``.aux.xml``, ``.msk``): an open is one
#:   HEAD and one ranged GET of the header. That is also why ``CPL_VSIL_CURL_ALLOWED_EXTENSIONS`` stays
#:   unset: it would refuse URLs without a ``.tif`` name (signed links, API downloads) and guard nothing more;
#: * a request gives up after ``GDAL_HTTP_TIMEOUT`` s (connecting: ``GDAL_HTTP_CONNECTTIMEOUT``); 429 and 5xx
#:   answers are retried ``GDAL_HTTP_MAX_RETRY`` times, ``GDAL_HTTP_RETRY_DELAY`` s apart (doubling);
#: * neighbouring byte ranges of one read are merged into one request.
GDAL_HTTP_DEFAULTS: dict[str, str] = {
    "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR",
    "GDAL_HTTP_TIMEOUT": "60",
    "GDAL_HTTP_CONNECTTIMEOUT": "15",
    "GDAL_HTTP_MAX_RETRY": "3",
    "GDAL_HTTP_RETRY_DELAY": "1",
    "GDAL_HTTP_MERGE_CONSECUTIVE_RANGES": "YES",
}
#: Seconds the backend's own requests (probe, STAC items) wait for an answer.
REQUEST_TIMEOUT_S = 30.0
#: Redirects followed (each checked) before giving up.
MAX_REDIRECTS = 5
#: The GDAL driver every URL is opened with (cloud-optimised GeoTIFFs are GeoTIFFs).
URL_DRIVER = "GTiff"

_URL_IN_TEXT = re.compile(r"(?:/vsicurl/)?https?://[^\s'\"<>]+", re.IGNORECASE)
_TIFF_MAGIC = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")

#: The check ``checked`` applies: ``(location, kind, what) -> location to use``, raising ``PermissionError``.
#: ``kind`` is ``"raster"`` (GDAL will open it) or ``"item"`` (a STAC item: only this module parses it).
Guard = Callable[[str, str, str], str]
_GUARD: contextvars.ContextVar[Guard | None] = contextvars.ContextVar("georsmllm_source_guard", default=None)


def is_url(text: str) -> bool:
    """Whether ``text`` names an http(s) URL (plain or as GDAL's ``/vsicurl/URL``)."""
    text = str(text)
    return text.lower().startswith(("http://", "https://", "/vsicurl/http://", "/vsicurl/https://"))


def plain_url(text: str) -> str:
    """The http(s) URL in ``text`` without GDAL's ``/vsicurl/`` prefix."""
    return text[len("/vsicurl/"):] if text.startswith("/vsicurl/") else text


def gdal_path(url: str) -> str:
    """What GDAL opens for ``url``."""
    return "/vsicurl/" + plain_url(url)


def redact(url: str) -> str:
    """``url`` without credentials: user name, password, query string and fragment go (a signed URL's
    signature lives in its query string); ``?…`` marks that a query string was dropped."""
    parts = urlsplit(plain_url(url))
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    kept = urlunsplit((parts.scheme, host, parts.path, "", ""))
    return kept + ("?…" if parts.query else "")


def scrub(text: str) -> str:
    """``text`` with every URL in it redacted (GDAL's messages quote the URL they failed on)."""
    return _URL_IN_TEXT.sub(lambda m: redact(m.group(0)), str(text))


def http_options() -> dict[str, str]:
    """``GDAL_HTTP_DEFAULTS`` less the settings the environment gives GDAL itself."""
    return {key: value for key, value in GDAL_HTTP_DEFAULTS.items() if key not in os.environ}


def http_env():
    """A ``rasterio.Env`` with ``http_options`` (nests inside a run's own ``Env``)."""
    import rasterio

    return rasterio.Env(**http_options())


@contextlib.contextmanager
def source_guard(check: Guard) -> Iterator[None]:
    """Inside this block every raster location is passed through ``check`` (see the module docstring)."""
    token = _GUARD.set(check)
    try:
        yield
    finally:
        _GUARD.reset(token)


class Refused(RasterError):
    """A location the source guard in force refused; the message is the guard's."""


def checked(location: str, what: str, kind: str = "raster") -> str:
    """``location`` as the guard in force accepts it (unchanged without one); a refusal becomes
    ``Refused`` with the guard's message. ``kind``: see ``Guard``."""
    guard = _GUARD.get()
    if guard is None:
        return location
    try:
        return guard(location, kind, what)
    except PermissionError as exc:
        raise Refused(str(exc)) from None


@dataclass(frozen=True)
class Reply:
    """An HTTP answer: the ``url`` that gave it (after redirects), its status, content type and the first
    bytes of its body."""

    url: str
    status: int
    content_type: str
    body: bytes


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # answered 3xx: ``get`` checks and follows by hand
        return None


_OPENER = urllib.request.build_opener(_NoRedirect())


def get(url: str, what: str, *, max_bytes: int, first_bytes: int | None = None, kind: str = "raster",
        timeout_s: float = REQUEST_TIMEOUT_S) -> Reply:
    """GET ``url`` (only its first ``first_bytes`` when given, by a range request), following redirects
    by hand: each hop passes ``checked`` (as ``kind``). More than ``max_bytes`` of body is an error. Raises
    ``RasterError`` naming the (redacted) URL and what went wrong."""
    current = checked(plain_url(url), what, kind)
    for _hop in range(MAX_REDIRECTS + 1):
        headers = {"User-Agent": "GeoRSMLLM"}
        if first_bytes is not None:
            headers["Range"] = f"bytes=0-{first_bytes - 1}"
        request = urllib.request.Request(current, headers=headers)
        try:
            with _OPENER.open(request, timeout=timeout_s) as response:
                limit = max_bytes if first_bytes is None else min(max_bytes, first_bytes)
                body = response.read(limit + 1)
                if first_bytes is None and len(body) > max_bytes:
                    raise RasterError(f"{what}: {redact(current)} is larger than {max_bytes // 1024} KB")
                return Reply(current, response.status, response.headers.get("Content-Type", ""), body[:limit])
        except urllib.error.HTTPError as exc:
            location = exc.headers.get("Location") if 300 <= exc.code < 400 else None
            if not location:
                raise RasterError(f"{what}: {redact(current)} answered HTTP {exc.code} {exc.reason}"
                                  + _status_hint(exc.code)) from None
            current = checked(urljoin(current, location), f"{what} (redirected)", kind)
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise RasterError(f"{what}: {redact(current)} cannot be reached ({scrub(str(reason))})") from None
    raise RasterError(f"{what}: {redact(url)} redirects more than {MAX_REDIRECTS} times")


def _status_hint(code: int) -> str:
    if code in (401, 403):
        return " (a private or expired link? signed URLs expire)"
    if code == 404:
        return " (no such file)"
    return ""


def probe(url: str, what: str = "raster") -> Reply:
    """The first bytes of a remote raster or STAC item (redirects checked and followed); ``reply.url`` is
    where GDAL should read from."""
    return get(url, what, max_bytes=64, first_bytes=64)


def is_tiff(head: bytes) -> bool:
    """Whether ``head`` (a file's first bytes) starts like a (Big)TIFF."""
    return head[:4] in _TIFF_MAGIC


def diagnose(url: str) -> str:
    """Why ``url`` cannot be read now, in words, for an error raised while reading (GDAL's own message
    then only says a block came back empty)."""
    try:
        probe(url)
    except RasterError as exc:
        text = str(exc)
        return text.split(": ", 1)[1] if ": " in text else text
    return "the server answers again: the read may have been cut off (try again)"
