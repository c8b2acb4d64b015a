"""The previous result a follow-up works on ("now only those larger than 500 m²"): a result layer read from a
GeoPackage (``PATH|LAYER``, e.g. an earlier run's ``<run>_boxes``) or sent inline as GeoJSON in the raster's
CRS, with its recipe (the ``GEORSMLLM_RECIPE`` layer metadata the writer stores, or given by the client).

Objects come back in MAP coordinates of the raster's CRS (layers in another CRS are reprojected), as the
types the writer takes: polygons of four corners from a ``_boxes`` layer as ``RotatedBox`` (so a follow-up of
boxes writes boxes), single polygons as ``PolygonRegion``, multipolygons as shapely geometries. Each keeps its
attributes (label, score, tile and any extra text field) for the follow-up's layer.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

from ..errors import ConfigError
from ..geometry import PolygonRegion, RotatedBox
from ..vector.features import BASE_FIELDS, KINDS, MEASURE_FIELDS, PARTIAL_FIELD, Feature
from .inputs import _transformed

#: attributes the follow-up's own run sets (or measures) instead of copying them
_OWN_FIELDS = frozenset(BASE_FIELDS) - {"label", "score", "tile"} | set(MEASURE_FIELDS) | {PARTIAL_FIELD, "fid"}
#: most objects a previous result may hold (a follow-up measures all of them at once)
MAX_PREVIOUS_OBJECTS = 100_000
_KIND_SUFFIX = re.compile(r"_(" + "|".join(KINDS) + r")$")
_THEN = re.compile(r"(_then_\d+)+$")


@dataclass(frozen=True)
class PreviousResult:
    """What a follow-up starts from. ``objects``: map coordinates of the raster's CRS; ``attributes``: one
    dict per object (label, score, tile and extra text fields); ``name``: the layer it came from;
    ``run_name``: that layer's run (its name without ``_boxes``/``_polygons``); ``task``: the task that
    found the objects; ``recipe``: that run's recipe (``{}`` when unknown); ``source``: ``PATH|LAYER`` or
    ``"inline"``; ``gpkg``: the GeoPackage it came from, if any; ``siblings``: the layer names beside it in its
    file (read, or told by the client), which a follow-up's layer names must not take."""

    objects: list[Any]
    attributes: list[dict[str, Any]]
    name: str
    run_name: str
    task: str
    recipe: Mapping[str, Any] = field(default_factory=dict)
    source: str = "inline"
    gpkg: str | None = None
    run_id: str | None = None
    siblings: tuple[str, ...] = ()  # the other layers of its file: a follow-up's name must be new there too

    def __len__(self) -> int:
        return len(self.objects)

    @property
    def labels(self) -> list[str]:
        return [str(a.get("label")) for a in self.attributes if a.get("label")]

    @property
    def class_phrase(self) -> str | None:
        """What the previous run found ("the ponds"): its plan's target, else its most common label."""
        plan = (self.recipe.get("plan") or {}).get("plan") or {}
        targets = plan.get("targets") or []
        if targets and targets[0].get("phrase"):
            return str(targets[0]["phrase"])
        common = Counter(self.labels).most_common(1)
        return common[0][0] if common else None

    @property
    def instruction(self) -> str:
        return str(self.recipe.get("instruction") or (self.attributes[0].get("instruction") if self.attributes
                                                      else "") or "")

    def describe(self) -> str:
        """``"the 8 objects of layer ponds_boxes"``, for plans and messages."""
        n = len(self)
        return f"the {n} object{'s' if n != 1 else ''} of layer {self.name}"

    def features(self, indices: Sequence[int]) -> list[Feature]:
        """The objects at ``indices`` as features carrying their attributes (the writer adds the run's own)."""
        out = []
        for i in indices:
            attrs = self.attributes[i]
            score = attrs.get("score")
            extra = {k: (None if v is None else str(v)) for k, v in attrs.items()
                     if k not in ("label", "score", "tile") and k not in _OWN_FIELDS}
            out.append(Feature(self.objects[i], label=attrs.get("label") or None,
                               score=None if score is None else float(score), tile=attrs.get("tile"), extra=extra))
        return out


def run_name_of(layer_name: str) -> str:
    """The run a result layer belongs to: ``ponds_20261202_boxes`` -> ``ponds_20261202``."""
    return _KIND_SUFFIX.sub("", layer_name) or layer_name


def followup_run_name(previous_run: str, taken: Sequence[str] = (), limit: int = 60) -> str:
    """The name of a follow-up of ``previous_run``: ``<base>_then_<n>``, ``base`` being the chain's first run
    (earlier ``_then_<k>`` dropped) and ``n`` the first number whose name is not in ``taken`` (run names
    already in the output). At most ``limit`` characters, the number always kept."""
    base = _THEN.sub("", previous_run) or "run"
    taken = set(taken)
    n = 1
    while True:
        suffix = f"_then_{n}"
        name = base[: limit - len(suffix)] + suffix
        if name not in taken:
            return name
        n += 1


def _object(geom, kind: str):
    """A shapely geometry (map coordinates) as what the writer takes for a layer of ``kind``."""
    if geom.geom_type == "Polygon":
        ring = list(geom.exterior.coords)[:-1]
        if kind == "boxes" and len(ring) == 4 and not geom.interiors:
            return RotatedBox(tuple(ring))
        return PolygonRegion(tuple(ring), tuple(tuple(r.coords)[:-1] for r in geom.interiors))
    return geom


def _checked_kind(name: str, geoms: Sequence[Any]) -> str:
    match = _KIND_SUFFIX.search(name)
    if match:
        kind = match.group(1)
    else:
        kind = "boxes" if geoms and all(g.geom_type == "Polygon" and len(g.exterior.coords) == 5 for g in geoms) \
            else "polygons"
    if kind not in ("boxes", "polygons") or any(g.geom_type not in ("Polygon", "MultiPolygon") for g in geoms):
        raise ConfigError(f"the previous result {name} holds {kind if kind not in ('boxes', 'polygons') else 'other'} "
                          "geometries: a follow-up filters objects (boxes or polygons)")
    return kind


def _task_of(recipe: Mapping[str, Any], attributes: Sequence[Mapping[str, Any]]) -> str:
    plan = (recipe.get("plan") or {}).get("plan") or {}
    task = plan.get("task") or (attributes[0].get("task") if attributes else None) or recipe.get("task")
    return str(task) if task in ("detection", "seg", "change") else "detection"


def build_previous(name: str, geoms: Sequence[Any], attributes: list[dict[str, Any]],
                   recipe: Mapping[str, Any] | None, *, source: str = "inline",
                   gpkg: str | None = None, siblings: Sequence[str] = ()) -> PreviousResult:
    """A ``PreviousResult`` from shapely geometries in the raster's CRS and their attributes."""
    if len(geoms) > MAX_PREVIOUS_OBJECTS:
        raise ConfigError(f"the previous result {name} has {len(geoms):,} objects, more than a follow-up takes "
                          f"({MAX_PREVIOUS_OBJECTS:,})")
    kind = _checked_kind(name, geoms)
    recipe = dict(recipe or {})
    objects = [_object(g, kind) for g in geoms]
    run_ids = {a.get("run_id") for a in attributes if a.get("run_id")}
    return PreviousResult(objects=objects, attributes=attributes, name=name, run_name=run_name_of(name),
                          task=_task_of(recipe, attributes), recipe=recipe, source=source, gpkg=gpkg,
                          run_id=next(iter(run_ids)) if len(run_ids) == 1 else None,
                          siblings=tuple(str(n) for n in siblings))


def read_previous_layer(spec: str, raster_crs=None) -> PreviousResult:
    """The result layer ``PATH|LAYER`` (``PATH`` alone for a file of one layer), reprojected into
    ``raster_crs`` (a pyproj CRS; ``None``: kept as it is), with the recipe stored in its metadata."""
    import pyogrio
    import pyproj
    import shapely

    path, _, layer = str(spec).partition("|")
    if not Path(path).is_file():
        raise ConfigError(f"the previous result {path} does not exist")
    try:
        names = [str(row[0]) for row in pyogrio.list_layers(path)]
    except Exception as exc:  # pyogrio raises several DataSource error types
        raise ConfigError(f"the previous result {spec} cannot be read: {exc}") from None
    if not layer:
        if len(names) != 1:
            raise ConfigError(f"{path} holds {len(names)} layers ({', '.join(names) or 'none'}): say which result "
                              f"to follow up on with {path}|LAYER")
        layer = names[0]
    if layer not in names:
        raise ConfigError(f"{path} has no layer {layer!r}; its layers: {', '.join(names) or 'none'}")
    try:
        info = pyogrio.read_info(path, layer=layer)
        meta, _fids, wkb, field_data = pyogrio.raw.read(path, layer=layer, read_geometry=True)
    except Exception as exc:  # pyogrio raises several DataSource/Layer error types
        raise ConfigError(f"the previous result {spec} cannot be read: {exc}") from None
    geoms = shapely.from_wkb(wkb)
    layer_crs = meta.get("crs")
    if layer_crs and raster_crs is not None and not pyproj.CRS.from_user_input(layer_crs).equals(raster_crs):
        transformer = pyproj.Transformer.from_crs(layer_crs, raster_crs, always_xy=True)
        geoms = shapely.transform(geoms, lambda xy: _transformed(transformer, xy))
    fields = list(meta["fields"])
    kept_geoms, attributes = [], []
    for i, geom in enumerate(geoms):
        if geom is None or geom.is_empty:
            continue
        kept_geoms.append(geom)
        attributes.append({name: _plain(values[i]) for name, values in zip(fields, field_data)})
    recipe = _recipe((info.get("layer_metadata") or {}).get("GEORSMLLM_RECIPE"))
    return build_previous(layer, kept_geoms, attributes, recipe, source=f"{Path(path).resolve()}|{layer}",
                          gpkg=str(Path(path).resolve()) if path.lower().endswith(".gpkg") else None, siblings=names)


def previous_from_geojson(collection: Mapping[str, Any], name: str, recipe: Mapping[str, Any] | None = None,
                          siblings: Sequence[str] = ()) -> PreviousResult:
    """The previous result sent inline: a GeoJSON FeatureCollection in the raster's CRS (structure checked
    by the request schema), named ``name`` (its layer name, e.g. ``ponds_20261202_boxes``); ``siblings``: the
    layer names beside it in the client's file."""
    import shapely.geometry

    geoms, attributes = [], []
    features = collection.get("features", []) if collection.get("type") == "FeatureCollection" else [collection]
    for i, feature in enumerate(features):
        try:
            geom = shapely.geometry.shape(feature.get("geometry"))
        except Exception as exc:  # shapely raises ValueError, TypeError, GeometryTypeError, GEOSException...
            raise ConfigError(f"feature {i} of the previous result is not valid GeoJSON: {exc}") from None
        if geom.is_empty:
            continue
        geoms.append(geom)
        attributes.append({k: _plain(v) for k, v in (feature.get("properties") or {}).items()})
    return build_previous(name, geoms, attributes, recipe, siblings=siblings)


def _plain(value: Any) -> Any:
    """A field value as JSON-ready Python (numpy scalars and NaN made plain)."""
    if value is None:
        return None
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and value != value:
        return None
    return value


def _recipe(text: str | None) -> dict[str, Any]:
    if not text:
        return {}
    try:
        recipe = json.loads(text)
    except ValueError:
        return {}
    return recipe if isinstance(recipe, dict) else {}


def existing_run_names(gpkg: str | None) -> list[str]:
    """The runs whose layers a GeoPackage holds already (none when it does not exist yet)."""
    import pyogrio

    if not gpkg or not Path(gpkg).is_file():
        return []
    try:
        return [run_name_of(str(row[0])) for row in pyogrio.list_layers(gpkg)]
    except Exception:  # not readable as a GeoPackage: the writer says what is wrong with it
        return []
