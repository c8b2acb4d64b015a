"""Put a finished run on the map: its GeoPackage layers in a group named after the run, styled from
``resources/styles/*.qml``, with the run's recipe in the layer metadata. Main thread only (touches the
project). Layers keep the raster's CRS, as the backend wrote them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from qgis.core import QgsLayerMetadata, QgsLayerTreeGroup, QgsProject, QgsVectorLayer

from ..toolbelt.i18n import tr
from .plan_view import plan_lines
from .refine import KIND_PROPERTY

STYLES_DIR = Path(__file__).resolve().parents[2] / "resources" / "styles"
TEXT_TASKS = ("caption", "vqa", "classify", "identify")


def style_for(task: str, kind: str) -> Path:
    """The QML for a layer of ``kind`` (boxes, polygons, points) written by a ``task`` run; a reference the
    model found for the run's conditions (``ref_<phrase>_<kind>``) as what it was found by."""
    if kind.startswith("ref_"):
        kind = kind.rsplit("_", 1)[-1]
        task = "detection" if kind == "boxes" else "seg"
    if kind == "points":
        name = "points"
    elif kind == "boxes":
        name = "boxes"
    elif task == "change":
        name = "change"
    elif task in TEXT_TASKS:
        name = "answers"
    else:
        name = "segmentation"
    return STYLES_DIR / f"{name}.qml"


def recipe_text(recipe: dict[str, Any], result: dict[str, Any]) -> str:
    """The run's recipe as the lines of a layer abstract."""
    engine = result.get("engine") or {}
    raster = recipe.get("raster", "") + (f" → {recipe['raster_b']}" if recipe.get("raster_b") else "")
    lines = [
        tr("Instruction: {text}").format(text=recipe.get("instruction", "")),
        tr("Task: {task} ({reason})").format(task=result.get("task") or recipe.get("task", ""),
                                              reason=result.get("task_reason", "")),
        tr("Model: {model} [{engine}, {device}]").format(model=engine.get("model", ""),
                                                         engine=engine.get("engine", ""),
                                                         device=engine.get("device", "")),
        tr("Dialect: {dialect}").format(dialect=result.get("dialect", "")),
        tr("Raster: {name}").format(name=raster),
        tr("Tiles: {done}/{total}; tile size {size}, overlap {overlap}, GSD {gsd}").format(
            done=result.get("tiles_done", 0), total=result.get("tiles_total", 0), size=recipe.get("tile_size"),
            overlap=recipe.get("overlap"), gsd=recipe.get("gsd")),
        tr("Time: {seconds} s").format(seconds=result.get("elapsed_s", 0)),
        tr("Run id: {run_id}").format(run_id=result.get("run_id", "")),
    ]
    if result.get("partial"):
        lines.append(tr("Partial result: the run was cancelled."))
    sentences = plan_lines(result.get("plan") or {})
    if sentences:
        lines += [tr("Plan:"), *sentences]
    followup = result.get("followup") or {}
    if followup:
        of = followup.get("of") or {}
        lines.append(tr("Follows up on: {layer} ({count} objects); no new search").format(
            layer=of.get("layer", ""), count=of.get("objects", "")))
        steps = [f"{i}. {step.get('instruction', '')} → {step.get('objects', '')}"
                 for i, step in enumerate(followup.get("chain") or [], start=1)]
        lines.append(tr("Chain (objects after each step): {steps}").format(steps="; ".join(steps)))
    return "\n".join(lines)


def layer_metadata(recipe: dict[str, Any], result: dict[str, Any], title: str) -> QgsLayerMetadata:
    engine = result.get("engine") or {}
    metadata = QgsLayerMetadata()
    metadata.setTitle(title)
    metadata.setIdentifier(str(result.get("run_id", "")))
    metadata.setAbstract(recipe_text(recipe, result))
    metadata.setKeywords({
        "georsmllm": [str(v) for v in (result.get("task"), engine.get("model"), result.get("dialect")) if v],
        "instruction": [str(recipe.get("instruction", ""))],
    })
    return metadata


def demo_title(title: str) -> str:
    """The name of a run whose answers were scripted (the demo engine), saying so."""
    return tr("{title} — demo (scripted answers)").format(title=title)


def load_run_layers(gpkg: str, result: dict[str, Any], recipe: dict[str, Any], title: str,
                    project: QgsProject | None = None, demo: bool = False,
                    group: QgsLayerTreeGroup | None = None) -> list[QgsVectorLayer]:
    """Add the run's layers (``result["outputs"]["layers"]``: kind → layer name) from ``gpkg`` to
    ``project`` under a new top group ``title`` (or on top of ``group``: a follow-up joins the group of the
    run it filtered); returns them (empty when the run wrote none). ``demo``: the answers were scripted, and
    each layer's name says so too."""
    project = project or QgsProject.instance()
    layers_by_kind = (result.get("outputs") or {}).get("layers") or {}
    task = str(result.get("task") or "")
    loaded: list[QgsVectorLayer] = []
    for kind, name in layers_by_kind.items():
        shown = tr("{name} (demo)").format(name=name) if demo else name
        layer = QgsVectorLayer(f"{gpkg}|layername={name}", shown, "ogr")
        if not layer.isValid():
            continue
        qml = style_for(task, kind)
        if qml.is_file():
            layer.loadNamedStyle(str(qml))
        layer.setMetadata(layer_metadata(recipe, result, title))
        layer.setCustomProperty(KIND_PROPERTY, kind)
        loaded.append(layer)
    if not loaded:
        return []
    if group is None:
        group = project.layerTreeRoot().insertGroup(0, title)
        for layer in loaded:
            project.addMapLayer(layer, False)
            group.addLayer(layer)
        return loaded
    for layer in reversed(loaded):  # on top of the group, drawn over the layer it filtered
        project.addMapLayer(layer, False)
        group.insertLayer(0, layer)
    return loaded
