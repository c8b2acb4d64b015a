"""STAC items as rasters: read the item (a JSON file or URL), pick its assets, resolve their hrefs.

What is read from an item (https://github.com/radiantearth/stac-spec, item and ``eo`` extension): its
``assets`` (key -> ``href``, ``type``, ``roles``, and band names in ``eo:bands`` / ``bands`` with
``common_name`` / ``eo:common_name``) and its ``self`` link. The choice, unless assets are named:

1. the RGB picture: the asset keyed ``visual`` or with the role ``visual``;
2. else three single-band assets whose band common names are red, green and blue (or so keyed), read
   together as one RGB raster;
3. else the only GeoTIFF asset with the role ``data`` (unless it says it holds a single band).

Assets named by the caller (``--stac-assets``) are one asset (a multi-band file; ``--bands`` then picks in
it) or three (R, G, B, one band each), matched by key, else by band common name. Only GeoTIFF assets are
read (media type ``image/tiff…`` or none given). Relative hrefs are resolved against the item's ``self``
link, else against where the item was read from.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any, Sequence
from urllib.parse import urljoin, urlsplit

from ..errors import ConfigError, RasterError
from .remote import get, is_url, plain_url, redact

#: Largest STAC item read (bytes); items are a few KB, search results with hundreds of items a few MB.
MAX_ITEM_BYTES = 4 * 2**20
_ITEM_SUFFIXES = (".json", ".geojson")
_RGB = ("red", "green", "blue")


@dataclass(frozen=True)
class StacAsset:
    """One asset picked from an item: its ``key``, resolved ``href`` (URL or local path) and media type."""

    key: str
    href: str
    media_type: str = ""


def names_item(location: str) -> bool:
    """Whether ``location`` (path or URL) is named like a STAC item file (``.json``, ``.geojson``)."""
    path = urlsplit(plain_url(location)).path if is_url(location) else location
    return path.lower().endswith(_ITEM_SUFFIXES)


def read_item(location: str, text: bytes | None = None) -> dict[str, Any]:
    """The STAC item at ``location`` (local file or URL; ``text`` when already fetched). Raises
    ``RasterError`` when it cannot be read or is not an item."""
    label = redact(location) if is_url(location) else location
    if text is None:
        if is_url(location):
            text = get(location, "STAC item", max_bytes=MAX_ITEM_BYTES, kind="item").body
        else:
            try:
                if os.path.getsize(location) > MAX_ITEM_BYTES:
                    raise RasterError(f"{label}: larger than {MAX_ITEM_BYTES // 2**20} MB, not a STAC item")
                with open(location, "rb") as fh:
                    text = fh.read()
            except OSError as exc:
                raise RasterError(f"{label}: cannot be read ({exc.strerror or exc})") from None
    try:
        item = json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise RasterError(f"{label}: not valid JSON ({exc})") from None
    if not isinstance(item, dict):
        raise RasterError(f"{label}: not a STAC item (a JSON object with assets)")
    if item.get("type") == "FeatureCollection":
        n = len(item.get("features") or [])
        raise RasterError(f"{label}: a collection of {n} STAC items (a search result?); give one item")
    if not isinstance(item.get("assets"), dict) or not item["assets"]:
        raise RasterError(f"{label}: not a STAC item: it has no assets")
    return item


def _band_names(asset: dict[str, Any]) -> list[str]:
    """Common names of an asset's bands (STAC 1.0 ``eo:bands``, STAC 1.1 ``bands``), lower case."""
    names = []
    for band in (asset.get("eo:bands") or asset.get("bands") or []):
        if isinstance(band, dict):
            name = band.get("common_name") or band.get("eo:common_name")
            if isinstance(name, str):
                names.append(name.lower())
    return names


def _roles(asset: dict[str, Any]) -> list[str]:
    roles = asset.get("roles") or []
    return [r.lower() for r in roles if isinstance(r, str)] if isinstance(roles, list) else []


def _is_tiff(asset: dict[str, Any]) -> bool:
    media = str(asset.get("type") or "").lower()
    return not media or media.startswith("image/tiff") or media.startswith("image/geotiff")


def _describe(assets: dict[str, Any]) -> str:
    parts = []
    for key, asset in list(assets.items())[:30]:
        if not isinstance(asset, dict):
            continue
        extra = [str(asset.get("type") or "").split(";")[0]] + _roles(asset) + _band_names(asset)
        parts.append(f"{key} ({', '.join(e for e in extra if e)})" if any(extra) else key)
    return "; ".join(parts)


def _find(assets: dict[str, Any], name: str) -> str | None:
    """The key of the asset ``name`` names: its key (any case), else the one asset with that band name."""
    lowered = {k.lower(): k for k in assets}
    if name.lower() in lowered:
        return lowered[name.lower()]
    by_band = [k for k, a in assets.items() if isinstance(a, dict) and name.lower() in _band_names(a)]
    return by_band[0] if len(by_band) == 1 else None


def choose_assets(item: dict[str, Any], names: Sequence[str] | None, label: str) -> list[str]:
    """The keys of the assets to read (1: one raster; 3: red, green, blue). See the module docstring."""
    assets = {k: a for k, a in item["assets"].items() if isinstance(a, dict)}
    if names:
        names = [n.strip() for n in names if n and n.strip()]
        if len(names) not in (1, 3):
            raise ConfigError(f"give one STAC asset (a multi-band picture) or three (red, green, blue), got "
                              f"{len(names)}: {', '.join(names)}")
        keys = []
        for name in names:
            key = _find(assets, name)
            if key is None:
                raise RasterError(f"{label}: no asset {name!r}; the item has: {_describe(assets)}")
            keys.append(key)
        return keys
    for key, asset in assets.items():
        if (key.lower() == "visual" or "visual" in _roles(asset)) and _is_tiff(asset):
            return [key]
    rgb = [_find(assets, colour) for colour in _RGB]
    if all(rgb):
        return [k for k in rgb if k]
    data = [k for k, a in assets.items() if "data" in _roles(a) and _is_tiff(a) and len(_band_names(a)) != 1]
    if len(data) == 1:
        return data
    raise RasterError(f"{label}: no RGB picture to read (no 'visual' asset, no red/green/blue band assets); "
                      f"name the assets to read (--stac-assets KEY or R,G,B); the item has: {_describe(assets)}")


def item_assets(item: dict[str, Any], location: str, names: Sequence[str] | None = None) -> list[StacAsset]:
    """The assets to read from ``item`` (read from ``location``), hrefs resolved; only GeoTIFFs."""
    label = redact(location) if is_url(location) else location
    base = _base(item, location)
    picked = []
    for key in choose_assets(item, names, label):
        asset = item["assets"][key]
        href = asset.get("href")
        if not isinstance(href, str) or not href.strip():
            raise RasterError(f"{label}: asset {key!r} has no href")
        if not _is_tiff(asset):
            raise RasterError(f"{label}: asset {key!r} is {asset.get('type')}; only GeoTIFF (COG) assets are read")
        picked.append(StacAsset(key, _resolve(href.strip(), base), str(asset.get("type") or "")))
    return picked


def _base(item: dict[str, Any], location: str) -> str:
    """What relative hrefs are relative to: the ``self`` link when absolute, else the item's location."""
    for link in item.get("links") or []:
        if isinstance(link, dict) and link.get("rel") == "self" and isinstance(link.get("href"), str):
            href = link["href"]
            if is_url(href) or os.path.isabs(href):
                return href
    return plain_url(location) if is_url(location) else os.path.abspath(location)


def _resolve(href: str, base: str) -> str:
    if is_url(href):
        return plain_url(href)
    if href.lower().startswith("file://"):
        href = urlsplit(href).path
    if "://" in href:
        raise RasterError(f"asset href {href.split('://')[0]}://… is not http(s) or a file path")
    if is_url(base):
        return urljoin(base, href)
    return os.path.normpath(href if os.path.isabs(href) else os.path.join(os.path.dirname(base), href))
