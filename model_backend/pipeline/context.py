"""Context vector layers an instruction may name ("within 200 m of the roads layer"), read with pyogrio."""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

from ..conditions.measure import ContextLayers
from ..errors import ConfigError


def split_context_spec(spec: str) -> tuple[str | None, str]:
    """``"roads=/data/osm.gpkg|lines"`` -> ``("roads", "/data/osm.gpkg|lines")``; a spec without a name
    (or whose whole text is an existing path) -> ``(None, spec)``. The name is what instructions say
    ("within 200 m of the roads layer"), e.g. the layer's name in QGIS."""
    text = str(spec)
    if "=" in text and not Path(text.split("|")[0]).exists():
        name, rest = text.split("=", 1)
        if name.strip() and not any(c in name for c in "/\\|"):
            return name.strip(), rest
    return None, text


def read_context_layers(paths: Iterable[str]) -> ContextLayers:
    """``{layer name: (shapely geometries, CRS WKT)}`` for each spec: ``path``, ``path|layer`` or
    ``name=path[|layer]``. Without a name, the layer is named by the layer given after ``|`` or else
    the file's stem.
    """
    import pyogrio
    import shapely

    layers: dict = {}
    for spec in paths:
        given_name, location = split_context_spec(spec)
        path, _, layer = location.partition("|")
        if not Path(path).exists():
            raise ConfigError(f"context layer {path} does not exist")
        try:
            info = pyogrio.read_info(path, layer=layer or None)
            _meta, _fids, wkb, _fields = pyogrio.raw.read(path, layer=layer or None, read_geometry=True)
        except Exception as exc:  # pyogrio raises several DataSource/Layer error types
            raise ConfigError(f"context layer {spec} cannot be read: {exc}") from None
        geoms = [g for g in shapely.from_wkb(wkb) if g is not None and not g.is_empty]
        name = given_name or layer or Path(path).stem
        layers[name] = (geoms, info.get("crs"))
    return layers
