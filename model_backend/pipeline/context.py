"""Context vector layers an instruction may name ("within 150 m of the runway"), read with pyogrio.

A file given once exposes each of its layers under the layer's own name (a GeoPackage holding
``runway``, ``apron`` and ``river`` gives all three); a file holding one layer is also known by its file
stem. ``PATH|LAYER`` reads one layer (named ``LAYER``); ``NAME=PATH[|LAYER]`` names it as the
instruction does. Instructions match names tolerantly (``conditions.layers.find_layer``: case,
articles and plurals ignored).
"""

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


def _layer_names(path: str, spec: str) -> list[str]:
    import pyogrio

    try:
        return [str(row[0]) for row in pyogrio.list_layers(path)]
    except Exception as exc:  # pyogrio raises several DataSource error types
        raise ConfigError(f"context layer {spec} cannot be read: {exc}") from None


def _read(path: str, layer: str, spec: str):
    import pyogrio
    import shapely

    try:
        info = pyogrio.read_info(path, layer=layer)
        _meta, _fids, wkb, _fields = pyogrio.raw.read(path, layer=layer, read_geometry=True)
    except Exception as exc:  # pyogrio raises several DataSource/Layer error types
        raise ConfigError(f"context layer {spec} cannot be read: {exc}") from None
    geoms = [g for g in shapely.from_wkb(wkb) if g is not None and not g.is_empty]
    return geoms, info.get("crs")


def read_context_layers(specs: Iterable[str]) -> ContextLayers:
    """``{layer name: (shapely geometries, CRS WKT)}`` for the specs (``path``, ``path|layer`` or
    ``name=path[|layer]``; see the module docstring). ``ConfigError`` for a missing or unreadable file,
    a layer the file does not hold, a name given to a file of several layers without ``|layer``, and
    two layers of the same name."""
    layers: dict = {}
    aliases: dict = {}  # file stems of one-layer files: used unless a layer has that name

    def add(name: str, value, spec: str) -> None:
        if name in layers:
            raise ConfigError(f"two context layers are named {name!r} (the second from {spec}); "
                              "name one of them: NAME=PATH|LAYER")
        layers[name] = value

    for spec in specs:
        given_name, location = split_context_spec(spec)
        path, _, layer = location.partition("|")
        if not Path(path).exists():
            raise ConfigError(f"context layer {path} does not exist")
        names = _layer_names(path, spec)
        if not names:
            raise ConfigError(f"context layer {spec} holds no vector layer")
        if layer and layer not in names:
            raise ConfigError(f"{path} has no layer {layer!r}; its layers: {', '.join(names) or 'none'}")
        if not layer and given_name and len(names) > 1:
            raise ConfigError(f"{path} holds several layers ({', '.join(names)}): say which one is "
                              f"{given_name!r} with {given_name}={path}|LAYER")
        chosen = [layer] if layer else names
        for name in chosen:
            add(given_name or name, _read(path, name, spec), spec)
        stem = Path(path).stem
        if not layer and not given_name and len(names) == 1 and stem != names[0]:
            aliases[stem] = layers[names[0]]
    for stem, value in aliases.items():
        layers.setdefault(stem, value)
    return layers
