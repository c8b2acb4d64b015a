"""Writing a run's features: one GeoPackage layer per geometry kind (and an optional GeoJSON copy), with the
run recipe in the layer metadata. A run that finds nothing still writes its (empty) layer, in the raster's
CRS, so that the next step of a Processing model or a script finds the output it expects."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from ..tasks import Task
from ..vector.features import Feature, RunInfo
from .config import RunConfig
from .result import RunResult

if TYPE_CHECKING:
    from .references import ReferenceLayer

#: The layer kind a task writes when it finds nothing (see ``vector.features.KINDS``).
EMPTY_LAYER_KIND = {
    Task.DETECTION: "boxes",
    Task.SEGMENTATION: "polygons",
    Task.CHANGE: "polygons",
    Task.CLASSIFY: "polygons",
    Task.IDENTIFY: "polygons",
    Task.CAPTION: "polygons",
    Task.VQA: "polygons",
    Task.GEOLOCATION: "points",
}


@dataclass(frozen=True)
class RunOutput:
    """Where one run writes: the GeoPackage ``gpkg`` (layers ``<run_name>_<kind>``) and an optional GeoJSON copy
    (EPSG:4326)."""

    gpkg: str
    run_name: str
    geojson: str | None = None

    def write(self, features: Sequence[Feature], result: RunResult, config: RunConfig, *, crs: str | None,
              partial: bool, references: Sequence["ReferenceLayer"] = ()) -> None:
        """Write (or rewrite, for a checkpoint) the run's layers in ``crs`` (the raster's CRS, its warp's for
        GCP-only rasters; ``None`` for a pixel-coordinate run) and record them in ``result.outputs``.
        ``references``: what the model found for the plan's model-found references, each written in the same
        atomic step as its own layer ``<run>_<stem>_<kind>`` (empty when nothing was found), listed in
        ``outputs["layers"]`` under ``<stem>_<kind>``."""
        from ..vector.geojson import write_geojson
        from ..vector.gpkg import commit_layers, run_layers

        recipe = self.recipe(result, config)
        run = RunInfo(run_id=result.run_id, task=result.task, instruction=config.instruction,
                      model=str(result.engine.get("model")), dialect=result.dialect,
                      source=str(config.to_dict()["raster"]), recipe=recipe)
        note = "nothing found: an empty layer was written"
        if not features and not partial and note not in result.warnings:
            result.warnings.append(note)  # (a cancelled run's result already says it stopped early)
        empty_kind = EMPTY_LAYER_KIND.get(Task(result.task))
        if (result.plan.get("plan") or {}).get("count"):
            empty_kind = "boxes"  # a counting question counts detections: none found is an empty box layer
        built = run_layers(self.run_name, features, crs=crs, run=run, partial=partial, empty_kind=empty_kind)
        for ref in references:
            ref_run = dataclasses.replace(run, task=ref.ref_pass.task.value,
                                          recipe=recipe | {"reference": ref.recipe()})
            for kind, layer in run_layers(f"{self.run_name}_{ref.stem}", ref.features, crs=crs, run=ref_run,
                                          partial=partial, empty_kind=ref.kind).items():
                built[f"{ref.stem}_{kind}"] = layer
        if built:
            commit_layers(self.gpkg, built.values())
        layers = {key: layer.name for key, layer in built.items()}
        result.outputs = {"gpkg": str(Path(self.gpkg).resolve()), "layers": layers, "geojson": None}
        if self.geojson and crs is not None:
            write_geojson(self.geojson, features, crs=crs, run=run, name=self.run_name, partial=partial)
            result.outputs["geojson"] = str(Path(self.geojson).resolve())

    @staticmethod
    def recipe(result: RunResult, config: RunConfig) -> dict[str, Any]:
        """What the run was, stored with each layer so that it can be reproduced."""
        recipe = {**config.to_dict(), "tiles_total": result.tiles_total, "tiles_done": result.tiles_done,
                  "plan": result.plan}
        if result.followup:  # which result it follows up on, and every step since the first search
            recipe["followup"] = {k: v for k, v in result.followup.items() if k != "chain"}
            recipe["chain"] = result.followup.get("chain", [])
        return recipe
