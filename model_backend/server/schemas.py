"""Request and response bodies of the backend's HTTP API (typed, validated by pydantic)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class JobRequest(BaseModel):
    """A run submitted by a client. Paths must lie in the server's allowed folders; ``upload:<id>`` names
    an image uploaded through ``POST /v1/uploads``. Sizes are pixels of the image sent to the model."""

    model_config = ConfigDict(extra="forbid")

    raster: str
    raster_b: str | None = None
    instruction: str = Field(min_length=1, max_length=4000)
    task: str | None = None
    tile_size: int | None = Field(default=None, ge=32, le=8192)
    overlap: int | None = Field(default=None, ge=0, le=4096)
    gsd: float | None = Field(default=None, gt=0)
    bands: list[int] | None = None
    classes: list[str] | None = None
    context_layers: list[str] = Field(
        default_factory=list, description="vector files the instruction may name: PATH, PATH|LAYER or NAME=PATH[|LAYER]"
    )
    context_geojson: dict[str, dict[str, Any]] | None = Field(
        default=None, description="context layers sent inline: layer name -> GeoJSON FeatureCollection in the "
        "raster's CRS (for clients whose files the server cannot open)"
    )
    regions: dict[str, Any] | None = Field(
        default=None, description="GeoJSON FeatureCollection in the raster's CRS: the regions to caption ([identify])"
    )
    area: dict[str, Any] | None = Field(
        default=None, description="GeoJSON geometry, Feature or FeatureCollection in the raster's CRS: the area "
        "of interest (tiles cover its bounds; objects and tiles not touching it are dropped)"
    )
    window: list[float] | None = Field(
        default=None, description="area of interest as map bounds [xmin, ymin, xmax, ymax] in the raster's CRS"
    )
    run_name: str | None = Field(default=None, max_length=80)
    output: str | None = Field(default=None, description="GeoPackage path; default: the job's folder on the server")
    concurrency: int | None = Field(default=None, ge=1, le=64)
    refine: Literal["none", "sam2"] | None = Field(
        default=None, description="sam2: boxes of detection and change prompt SAM2, giving outlines (polygons layer) "
        "and rotated boxes (boxes layer); default: the server's setting"
    )


class PlanRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    instruction: str = Field(min_length=1, max_length=4000)
    task: str | None = None
    n_rasters: int = Field(default=1, ge=1, le=2)
    layer_names: list[str] = Field(default_factory=list, description="context layers the instruction may name")


class UploadRequest(BaseModel):
    """An image chunk rendered by the client (e.g. a WMS layer): PNG bytes plus where they lie on the map.

    ``geotransform`` is GDAL's six numbers (x0, dx, rx, y0, ry, dy) from the image's top-left *corner*, in
    units of ``crs`` (WKT, ``EPSG:n`` or PROJ string)."""

    model_config = ConfigDict(extra="forbid")

    png_base64: str
    geotransform: list[float] = Field(min_length=6, max_length=6)
    crs: str = Field(min_length=1)
    name: str | None = Field(default=None, max_length=80)


class JobCreated(BaseModel):
    id: str
    state: Literal["queued", "running", "done", "cancelled", "error"]
    events: str
    result: str
