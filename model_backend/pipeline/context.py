"""Context vector layers an instruction may name ("within 200 m of the roads layer"), read with pyogrio."""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

from ..conditions.measure import ContextLayers
from ..errors import ConfigError


def read_context_layers(paths: Iterable[str]) -> ContextLayers:
    """``{layer name: (shapely geometries, CRS WKT)}`` for each file (``path`` or ``path|layer``).

    The name is the file's stem (or the layer name given after ``|``), which is what instructions say.
    """
    import pyogrio
    import shapely

    layers: dict = {}
    for spec in paths:
        path, _, layer = str(spec).partition("|")
        if not Path(path).exists():
            raise ConfigError(f"context layer {path} does not exist")
        try:
            info = pyogrio.read_info(path, layer=layer or None)
            _meta, _fids, wkb, _fields = pyogrio.raw.read(path, layer=layer or None, read_geometry=True)
        except Exception as exc:  # pyogrio raises several DataSource/Layer error types
            raise ConfigError(f"context layer {spec} cannot be read: {exc}") from None
        geoms = [g for g in shapely.from_wkb(wkb) if g is not None and not g.is_empty]
        name = layer or Path(path).stem
        layers[name] = (geoms, info.get("crs"))
    return layers
