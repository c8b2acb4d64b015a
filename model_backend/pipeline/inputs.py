"""Vector inputs given as files on the command line: regions to caption (``--regions``) and the area of
interest (``--area``), read with pyogrio and reprojected into the raster's CRS (the frame every run works in)."""

from __future__ import annotations

from typing import Any, Sequence

from ..errors import ConfigError


def raster_crs(raster: str, assets: Sequence[str] | None = None):
    """The raster's CRS as a pyproj CRS, or ``None`` when it has none. ``raster``: anything ``open_raster``
    takes (a file, a URL, a STAC item with ``assets``)."""
    import pyproj

    from ..raster.source import peek_crs

    crs = peek_crs(raster, assets)
    return None if crs is None else pyproj.CRS.from_user_input(crs.to_wkt())


def read_features(path: str, raster: str, assets: Sequence[str] | None = None) -> list[tuple[Any, dict[str, str | None]]]:
    """``(shapely geometry in the raster's CRS, text properties)`` for each feature of the vector file at
    ``path`` (``FILE`` or ``FILE|LAYER``). Features in another CRS are reprojected; a file without a CRS is
    taken to be in the raster's (``raster`` and ``assets`` as ``open_raster`` takes them)."""
    import pyogrio
    import pyproj
    import shapely

    location, _, layer = str(path).partition("|")
    try:
        meta, _fids, wkb, field_data = pyogrio.raw.read(location, layer=layer or None, read_geometry=True)
    except Exception as exc:  # pyogrio raises several DataSource/Layer error types
        raise ConfigError(f"{path} cannot be read as a vector layer: {exc}") from None
    geoms = shapely.from_wkb(wkb)
    source_crs, target_crs = meta.get("crs"), raster_crs(raster, assets)
    if source_crs and target_crs is not None and not pyproj.CRS.from_user_input(source_crs).equals(target_crs):
        transformer = pyproj.Transformer.from_crs(source_crs, target_crs, always_xy=True)
        geoms = shapely.transform(geoms, lambda xy: _transformed(transformer, xy))
    names = list(meta["fields"])
    features = []
    for i, geom in enumerate(geoms):
        if geom is None or geom.is_empty:
            continue
        props = {name: (None if values[i] is None else str(values[i])) for name, values in zip(names, field_data)}
        props.setdefault("id", str(i))
        features.append((geom, props))
    return features


def _transformed(transformer, xy):
    import numpy as np

    x, y = transformer.transform(xy[:, 0], xy[:, 1])
    return np.column_stack([x, y])


def read_area(path: str, raster: str, assets: Sequence[str] | None = None):
    """The union of a vector file's features in the raster's CRS (the area of interest)."""
    import shapely

    geoms = [geom for geom, _props in read_features(path, raster, assets)]
    area = shapely.union_all(geoms) if geoms else None
    if area is None or area.is_empty:
        raise ConfigError(f"area file {path} has no geometry")
    return area
