"""Who may call the server (standard library only; the plugin imports ``is_loopback`` from here).

A server on 127.0.0.1 is reachable from every web page the user opens: a page can send "simple" requests
(no preflight) to it, and a page whose host name re-resolves to 127.0.0.1 (DNS rebinding) talks to it as if
same-origin. So every request must:

* carry a ``Host`` header naming this server: ``localhost``, a loopback address or the bound address, or
  (when bound to all interfaces) any IP address literal, or a name the owner listed (``--allow-host``), with
  the bound port. A rebinding page's requests carry its own host name and fail here;
* carry no ``Origin`` header, or one equal to ``http(s)://<its Host>`` (the server serves no pages, so any
  other origin is a foreign page);
* carry the bearer token, which the command line now requires by default (it generates one) even on
  loopback; ``--no-token`` turns it off explicitly.

Files and URLs a job may read are checked in ``sources.py``.
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets
from collections.abc import Iterable
from urllib.parse import urlsplit

from ..errors import ConfigError


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and ``localhost``."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _is_wildcard(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.strip("[]")).is_unspecified
    except ValueError:
        return False


def check_bind(host: str, token: str | None) -> None:
    """Refuse to serve off loopback without a token: anyone on the network could read files and use the GPU."""
    if not is_loopback(host) and not token:
        raise ConfigError(
            f"refusing to bind {host} without a token: set --token (or GEORSMLLM_TOKEN) when serving off loopback"
        )


def check_token_text(token: str | None) -> None:
    """A token given explicitly must be usable: blank or whitespace-padded ones are refused at start."""
    if token is None:
        return
    if not token.strip():
        raise ConfigError("the token is blank: give a real one (or let the server generate it), or use --no-token")
    if token != token.strip() or any(c.isspace() for c in token):
        raise ConfigError("the token contains spaces: clients could not send it in a header; choose another")


def new_token() -> str:
    """A random bearer token (32 bytes, URL-safe text)."""
    return secrets.token_urlsafe(32)


def token_matches(header: str | None, token: str | None) -> bool:
    """Constant-time check of an ``Authorization: Bearer <token>`` header; always true when no token is set."""
    if not token:
        return True
    if not header or not header.startswith("Bearer "):
        return False
    return hmac.compare_digest(header[len("Bearer "):].strip().encode(), token.encode())


def _split_host(value: str) -> tuple[str, int | None] | None:
    """``host[:port]`` (IPv6 in brackets) -> ``(host lowercased, port or None)``; ``None`` if malformed."""
    try:
        parts = urlsplit("//" + value)
        port = parts.port
    except ValueError:
        return None
    host = parts.hostname
    if not host or parts.username is not None or parts.path or parts.query or parts.fragment:
        return None
    return host.lower(), port


class HostPolicy:
    """Which ``Host`` (and ``Origin``) headers name this server; see the module docstring."""

    def __init__(self, bound_host: str, port: int, extra_hosts: Iterable[str] = ()):
        self.bound_host = bound_host.strip("[]").lower()
        self.port = port
        self.wildcard = _is_wildcard(self.bound_host)
        self.extra: set[tuple[str, int | None]] = set()
        for item in extra_hosts:
            split = _split_host(item)
            if split is None:
                raise ConfigError(f"--allow-host {item!r} is not a host name or HOST:PORT")
            self.extra.add(split)

    def host_ok(self, value: str | None) -> bool:
        if not value:
            return False
        split = _split_host(value)
        if split is None:
            return False
        host, port = split
        if (host, port) in self.extra or ((host, None) in self.extra and port in (None, self.port)):
            return True
        if port is None and self.port != 80:
            return False  # browsers always send the port when it is not the scheme's default
        if port is not None and port != self.port:
            return False
        if host == "localhost" or host == self.bound_host:
            return True
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return False  # a DNS name: exactly what a rebinding page sends
        return address.is_loopback or self.wildcard

    def origin_ok(self, origin: str | None, host: str | None) -> bool:
        """No ``Origin`` (non-browser clients) or the server's own origin; anything else is a foreign page."""
        if origin is None:
            return True
        parts = urlsplit(origin)
        if parts.scheme not in ("http", "https") or not host:
            return False  # includes "null" (sandboxed frames, file:// pages)
        return parts.netloc.lower() == host.lower() and self.host_ok(parts.netloc)
