"""From what a user names as a raster (a file, an http(s) URL of a GeoTIFF, a STAC item file or URL) to
the files GDAL opens, each passing the source guard in force (``remote.checked``).

A URL is probed first (``remote.probe``: redirects checked and followed): a TIFF is read from where the
redirects ended; JSON is a STAC item. A local file named ``*.json`` / ``*.geojson`` is a STAC item; any
other local file is a raster GDAL identifies itself (as before; the server checks its format first).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Sequence

from ..errors import ConfigError, RasterError
from . import remote, stac


@dataclass(frozen=True)
class Part:
    """One file to open: ``path`` as GDAL takes it (``/vsicurl/URL`` for a URL); ``url`` when remote
    (opened with the GeoTIFF driver only); ``name`` (the STAC asset key, or empty)."""

    path: str
    url: str | None = None
    name: str = ""

    @property
    def driver(self) -> str | None:
        return remote.URL_DRIVER if self.url else None


@dataclass(frozen=True)
class Located:
    """Where a raster's pixels are: one part (the raster) or three (red, green and blue single-band assets,
    read as one raster). ``label`` names it in messages, logs and layer metadata (URLs redacted)."""

    label: str
    parts: tuple[Part, ...]

    @property
    def remote(self) -> bool:
        return any(p.url for p in self.parts)

    @property
    def urls(self) -> list[str]:
        return [p.url for p in self.parts if p.url]


def locate(location: str, assets: Sequence[str] | None = None) -> Located:
    """Resolve ``location`` (see the module docstring). ``assets``: STAC asset keys (or band common names)
    to read instead of the default choice (``stac.choose_assets``). Raises ``RasterError`` (unreadable,
    refused by the guard, not a raster) or ``ConfigError`` (assets named for something not a STAC item)."""
    location = os.fspath(location)
    assets = [a for a in (assets or []) if a and a.strip()] or None
    if remote.is_url(location):
        url = remote.plain_url(location)
        reply = remote.probe(url)  # checks the URL and each redirect
        if remote.is_tiff(reply.body):
            _no_assets(assets, remote.redact(url))
            return Located(remote.redact(reply.url), (Part(remote.gdal_path(reply.url), reply.url),))
        if reply.body.lstrip()[:1] == b"{":
            return _from_item(stac.read_item(reply.url), reply.url, assets)
        kind = reply.content_type.split(";")[0] or "unknown content"
        raise RasterError(f"{remote.redact(url)} is neither a GeoTIFF nor a STAC item ({kind}); URLs must name a "
                          "cloud-optimised GeoTIFF or a STAC item")
    if stac.names_item(location):
        path = remote.checked(location, "STAC item", "item")
        return _from_item(stac.read_item(path), path, assets)
    _no_assets(assets, location)
    return Located(location, (Part(remote.checked(location, "raster")),))


def _no_assets(assets: Sequence[str] | None, label: str) -> None:
    if assets:
        raise ConfigError(f"STAC assets ({', '.join(assets)}) were named, but {label} is a raster, not a STAC item")


def _from_item(item: dict, location: str, names: Sequence[str] | None) -> Located:
    picked = stac.item_assets(item, location, names)
    parts = []
    for asset in picked:
        what = f"STAC asset {asset.key!r}"
        if remote.is_url(asset.href):
            reply = remote.probe(asset.href, what)
            if not remote.is_tiff(reply.body):
                raise RasterError(f"{what}: {remote.redact(reply.url)} is not a GeoTIFF")
            parts.append(Part(remote.gdal_path(reply.url), reply.url, asset.key))
        else:
            parts.append(Part(remote.checked(asset.href, what), None, asset.key))
    where = remote.redact(location) if remote.is_url(location) else location
    return Located(f"{where} (STAC assets {', '.join(a.key for a in picked)})", tuple(parts))
