"""Rasters to serve over HTTP in tests: a cloud-optimised GeoTIFF made from a real scene, its bands as
single-band COGs, and STAC items pointing at them."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parents[1] / "data"


@lru_cache(maxsize=4)
def scene_cog(side: int = 2048, block: int = 256) -> bytes:
    """``tests/data/naip_2020.tif`` (real NAIP imagery, RGB) resampled to ``side`` x ``side`` px and written as
    a COG: ``block`` px tiles, DEFLATE, overviews down to one block. Deterministic bytes."""
    return _cog(_scene(side), block)


@lru_cache(maxsize=4)
def band_cogs(side: int = 1024, block: int = 256) -> tuple[bytes, bytes, bytes]:
    """The red, green and blue bands of the same scene as three single-band COGs on one grid."""
    pixels, profile = _scene(side)
    return tuple(_cog((pixels[i:i + 1], profile), block) for i in range(3))  # type: ignore[return-value]


def _scene(side: int):
    import rasterio
    from rasterio.enums import Resampling

    with rasterio.open(DATA / "naip_2020.tif") as src:
        pixels = src.read(indexes=[1, 2, 3], out_shape=(3, side, side), resampling=Resampling.bilinear)
        transform = src.transform @ src.transform.scale(src.width / side, src.height / side)
        return pixels, {"crs": src.crs, "transform": transform}


def _cog(scene, block: int) -> bytes:
    from rasterio.io import MemoryFile

    pixels, profile = scene
    count, height, width = pixels.shape
    with MemoryFile() as mem:
        with mem.open(driver="COG", width=width, height=height, count=count, dtype=pixels.dtype.name,
                      crs=profile["crs"], transform=profile["transform"], blocksize=block, compress="DEFLATE",
                      overview_resampling="average") as dst:
            dst.write(pixels)
        return mem.read()


def stac_item(assets: dict[str, dict[str, Any]], *, self_href: str | None = None, item_id: str = "scene") -> dict:
    """A STAC 1.0 item with ``assets`` (key -> asset object); ``self_href`` adds a ``self`` link."""
    links = [{"rel": "self", "href": self_href, "type": "application/geo+json"}] if self_href else []
    return {"type": "Feature", "stac_version": "1.0.0", "stac_extensions": [], "id": item_id,
            "geometry": None, "properties": {"datetime": "2020-07-01T00:00:00Z"}, "links": links, "assets": assets}


COG_TYPE = "image/tiff; application=geotiff; profile=cloud-optimized"


def visual_asset(href: str) -> dict[str, Any]:
    return {"href": href, "type": COG_TYPE, "roles": ["visual"]}


def band_asset(href: str, common_name: str, name: str) -> dict[str, Any]:
    return {"href": href, "type": COG_TYPE, "roles": ["data"],
            "eo:bands": [{"name": name, "common_name": common_name}]}
