"""Who may call the server and which files it may read: bearer token, loopback binding, allowed folders."""

from __future__ import annotations

import hmac
import ipaddress
import os
from pathlib import Path

from ..errors import ConfigError


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and ``localhost``."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_bind(host: str, token: str | None) -> None:
    """Refuse to serve off loopback without a token: anyone on the network could read files and use the GPU."""
    if not is_loopback(host) and not token:
        raise ConfigError(
            f"refusing to bind {host} without a token: set --token (or GEORSMLLM_TOKEN) when serving off loopback"
        )


def token_matches(header: str | None, token: str | None) -> bool:
    """Constant-time check of an ``Authorization: Bearer <token>`` header; always true when no token is set."""
    if not token:
        return True
    if not header or not header.startswith("Bearer "):
        return False
    return hmac.compare_digest(header[len("Bearer "):].strip().encode(), token.encode())


class PathPolicy:
    """Raster and vector paths a client names must resolve (symlinks followed) inside an allowed folder."""

    def __init__(self, allowed_dirs: list[str | Path]):
        self.allowed = [Path(d).expanduser().resolve() for d in allowed_dirs]

    def check(self, path: str) -> Path:
        """The resolved path, or ``PermissionError`` naming the allowed folders."""
        resolved = Path(os.path.expanduser(path)).resolve()
        for root in self.allowed:
            if resolved == root or root in resolved.parents:
                return resolved
        raise PermissionError(
            f"path {path} is outside the server's allowed folders ({', '.join(map(str, self.allowed)) or 'none'}); "
            "start the server with --allow-dir to add one"
        )
