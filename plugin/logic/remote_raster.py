"""Rasters by URL on the plugin side (no Qt): what a "Raster from URL…" entry turns into a GDAL layer
source, and the URL a layer's source names, which the backend then reads itself.

A URL names a cloud-optimised GeoTIFF, or a STAC item whose RGB picture (the asset keyed ``visual``, or
with the role ``visual``) is shown. Items without one (only band assets) are refused here with a hint: the
backend's command line reads them (``--stac-assets red,green,blue``). ``resolve`` asks the network: call it
from a worker thread.
"""

from __future__ import annotations

import json
import urllib.request
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit, urlunsplit

#: Largest STAC item read (bytes).
MAX_ITEM_BYTES = 4 * 2**20
#: Seconds a request for a STAC item or a file's first bytes waits.
TIMEOUT_S = 30.0


class RemoteRasterError(Exception):
    """A URL cannot be shown as a raster layer; the message is for the user."""


@dataclass(frozen=True)
class RemoteRaster:
    """What to add: ``url`` of the GeoTIFF (the STAC item's asset, or the URL given) and a layer ``name``."""

    url: str
    name: str

    @property
    def gdal_source(self) -> str:
        return "/vsicurl/" + self.url


def layer_url(source: str) -> str | None:
    """The http(s) URL a GDAL layer source names (``/vsicurl/URL`` or a bare URL), or ``None``."""
    text = source.split("|")[0].strip()
    if text.startswith("/vsicurl/"):
        text = text[len("/vsicurl/"):]
    return text if text.lower().startswith(("http://", "https://")) else None


def origin(url: str) -> str:
    """``scheme://host[:port]/``: the prefix a local backend is allowed to read for ``url``."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc.rpartition("@")[2], "/", "", ""))


def display_name(url: str) -> str:
    """The file name in ``url`` (without its query string), for a layer name."""
    path = urlsplit(url).path.rstrip("/")
    return path.rpartition("/")[2] or urlsplit(url).hostname or url


def _get(url: str, first_bytes: int | None = None) -> bytes:
    headers = {"User-Agent": "GeoRSMLLM-QGIS"}
    if first_bytes:
        headers["Range"] = f"bytes=0-{first_bytes - 1}"
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=TIMEOUT_S) as response:
            body = response.read((first_bytes or MAX_ITEM_BYTES) + 1)
    except OSError as exc:  # URLError, HTTPError, timeouts
        raise RemoteRasterError(f"{display_name(url)} cannot be read: {getattr(exc, 'reason', exc)}") from None
    if first_bytes is None and len(body) > MAX_ITEM_BYTES:
        raise RemoteRasterError(f"{display_name(url)} is too large for a STAC item")
    return body[:first_bytes] if first_bytes else body


def resolve(url: str) -> RemoteRaster:
    """The raster a URL shows (worker thread: this asks the network). Raises ``RemoteRasterError``."""
    url = url.strip()
    if not url.lower().startswith(("http://", "https://")):
        raise RemoteRasterError("Give an http:// or https:// URL of a cloud-optimised GeoTIFF or a STAC item.")
    head = _get(url, first_bytes=8)
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return RemoteRaster(url, display_name(url))
    if head.lstrip()[:1] != b"{":
        raise RemoteRasterError(f"{display_name(url)} is neither a GeoTIFF nor a STAC item.")
    try:
        item = json.loads(_get(url))
    except ValueError as exc:
        raise RemoteRasterError(f"{display_name(url)} is not valid JSON: {exc}") from None
    return visual_asset(item, url)


def visual_asset(item: dict, item_url: str) -> RemoteRaster:
    """A STAC item's RGB picture (``visual`` key or role, a GeoTIFF), its href resolved against the item's
    ``self`` link or URL."""
    assets = item.get("assets") if isinstance(item, dict) else None
    if not isinstance(assets, dict) or not assets:
        raise RemoteRasterError(f"{display_name(item_url)} is not a STAC item (it has no assets).")
    for key, asset in assets.items():
        if not isinstance(asset, dict) or not isinstance(asset.get("href"), str):
            continue
        roles = asset.get("roles") if isinstance(asset.get("roles"), list) else []
        media = str(asset.get("type") or "image/tiff").lower()
        if (key.lower() == "visual" or "visual" in roles) and "tiff" in media:
            base = next((link.get("href") for link in item.get("links") or []
                         if isinstance(link, dict) and link.get("rel") == "self"
                         and str(link.get("href", "")).startswith(("http://", "https://"))), item_url)
            name = str(item.get("id") or display_name(item_url))
            return RemoteRaster(urljoin(base, asset["href"]), f"{name} ({key})")
    raise RemoteRasterError(
        f"{display_name(item_url)} has no RGB ('visual') GeoTIFF asset to show. Its assets: "
        f"{', '.join(list(assets)[:20])}. The backend's command line reads band assets: "
        "--raster ITEM --stac-assets red,green,blue")
