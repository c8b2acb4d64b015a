"""Following up on the panel's last result in words ("now only those larger than 500 m²", "which of these are
north of the river?"): which layer of a finished run a follow-up works on, how it is sent to the backend (its
GeoPackage layer by path, or its features inline for a server on another machine), and how the follow-up's
layer joins the previous run's GeoPackage. The backend decides from the wording whether an instruction follows
up (``follow_up: "auto"``), or is told to (``"yes"``) or not to (``"no"``). No widgets.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Any

from qgis.core import QgsCoordinateReferenceSystem, QgsProject, QgsVectorLayer

#: how an instruction relates to the last result: decided by the backend from the wording, always, never
FOLLOW_UP_MODES = ("auto", "yes", "no")
#: result tasks whose layers hold objects a follow-up can filter
_TEXT_TASKS = ("caption", "classify", "identify", "geolocation")
_THEN = re.compile(r"_then_(\d+)_([a-z]+)$")


@dataclass(frozen=True)
class LastResult:
    """A finished run's objects, which the next instruction may follow up on. ``title``: the run's title;
    ``group_name``: its layer-tree group (a follow-up's layer joins it); ``layer_id``: the QGIS layer of its
    objects; ``gpkg`` and ``layer_name``: where that layer lives; ``recipe``: what a backend that cannot read the
    file needs of it (instruction, plan, the chain of earlier steps)."""

    title: str
    group_name: str
    layer_id: str
    gpkg: str
    layer_name: str
    recipe: dict[str, Any] = field(default_factory=dict)


def result_layer(result: dict[str, Any], layers: list[QgsVectorLayer]) -> tuple[QgsVectorLayer, str] | None:
    """The loaded layer of a finished run that holds its objects, with its name in the GeoPackage: polygons for
    segmentation and change, boxes otherwise (the other kind when the run wrote only that); ``None`` for runs
    of text tasks or without objects layers."""
    if str(result.get("task") or "") in _TEXT_TASKS:
        return None
    by_kind = (result.get("outputs") or {}).get("layers") or {}
    order = ("polygons", "boxes") if result.get("task") in ("seg", "change") else ("boxes", "polygons")
    for kind in order:
        name = by_kind.get(kind)
        for layer in layers:
            if name and layer.source().endswith(f"|layername={name}"):
                return layer, name
    return None


def last_result(title: str, group_name: str, gpkg: str, result: dict[str, Any],
                layers: list[QgsVectorLayer]) -> LastResult | None:
    """What a follow-up of this finished run would start from (``None``: nothing to follow up on)."""
    found = result_layer(result, layers)
    if found is None:
        return None
    layer, name = found
    recipe = {"instruction": result.get("instruction"), "plan": result.get("plan"),
              "chain": (result.get("followup") or {}).get("chain")}
    return LastResult(title, group_name, layer.id(), gpkg, name, {k: v for k, v in recipe.items() if v})


def layer_result(layer: QgsVectorLayer) -> LastResult:
    """Any result layer as what a follow-up starts from (Processing): its GeoPackage and layer name when it
    is a GeoPackage layer, else its features go inline."""
    parts = layer.source().split("|")
    names = [p.split("=", 1)[1] for p in parts[1:] if p.startswith("layername=")]
    gpkg = parts[0] if layer.providerType() == "ogr" and parts[0].lower().endswith(".gpkg") else ""
    name = names[0] if names and gpkg else layer.name()
    return LastResult(layer.name(), "", layer.id(), gpkg, name)


def gpkg_layer_names(path: str) -> list[str]:
    """The layers of a GeoPackage (empty when it cannot be read)."""
    from osgeo import ogr

    dataset = ogr.Open(path)
    if dataset is None:
        return []
    try:
        return [dataset.GetLayerByIndex(i).GetName() for i in range(dataset.GetLayerCount())]
    finally:
        dataset = None


def previous_body(last: LastResult, layer: QgsVectorLayer, crs: QgsCoordinateReferenceSystem, inline: bool,
                  project: QgsProject | None = None) -> tuple[dict[str, Any], str | None]:
    """The job's ``previous`` field for a follow-up of ``last`` (whose objects are ``layer``), and the folder the
    local backend must be allowed to read (``None`` when the features go ``inline``). The backend the plugin
    starts itself reads the layer from its GeoPackage; a server at a URL (whose allowed folders the plugin does
    not choose) gets the features in ``crs`` (the raster's), the recipe, and the layer names beside it in our
    file, so that the follow-up's name is new there."""
    from .prepare import features_geojson  # prepare reads this module: imported here, when used

    if inline or not last.gpkg:
        return {"geojson": features_geojson(layer, crs, selected_only=False, project=project),
                "name": last.layer_name, "recipe": last.recipe,
                "siblings": gpkg_layer_names(last.gpkg) if last.gpkg else []}, None
    return {"layer": f"{last.gpkg}|{last.layer_name}"}, os.path.dirname(last.gpkg)


def merge_into(source: str, dest: str, layers: dict[str, str]) -> dict[str, str]:
    """Copy a follow-up's layers (kind -> name) from the GeoPackage it was downloaded to into ``dest``, the
    previous run's GeoPackage (its other layers kept, their metadata too), then delete ``source``. A name
    already in ``dest`` takes the next ``_then_<n>``. Returns the names in ``dest``; ``OSError`` when GDAL
    cannot write there (``source`` is then left as it is). Worker thread."""
    from osgeo import ogr

    taken = set(gpkg_layer_names(dest))
    renamed = _free_names(layers, taken)
    src = ogr.Open(source)
    dst = ogr.Open(dest, 1)
    if src is None or dst is None:
        raise OSError(f"cannot open {source if src is None else dest} to add the follow-up's layers")
    try:
        for kind, name in layers.items():
            layer = src.GetLayerByName(name)
            if layer is None:
                raise OSError(f"{source} has no layer {name}")
            description = layer.GetMetadataItem("DESCRIPTION")
            options = [f"DESCRIPTION={description}"] if description else []
            copied = dst.CopyLayer(layer, renamed[kind], options)
            if copied is None:
                raise OSError(f"cannot write the layer {renamed[kind]} into {dest}")
            metadata = {k: v for k, v in (layer.GetMetadata() or {}).items() if k != "DESCRIPTION"}
            if metadata:
                copied.SetMetadata(metadata)
        dst.FlushCache()
    finally:
        src = dst = None
    os.remove(source)
    return renamed


def _free_names(layers: dict[str, str], taken: set[str]) -> dict[str, str]:
    """The run's layer names, with the ``_then_<n>`` number raised until none of them is taken."""
    names = dict(layers)
    while any(name in taken for name in names.values()):
        bumped = {}
        for kind, name in names.items():
            match = _THEN.search(name)
            if match is None:
                bumped[kind] = f"{name[: -len(kind) - 1]}_then_1_{kind}"
            else:
                bumped[kind] = f"{name[: match.start()]}_then_{int(match.group(1)) + 1}_{match.group(2)}"
        names = bumped
    return names
