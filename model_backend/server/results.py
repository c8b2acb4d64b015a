"""What ``GET /v1/jobs/{id}/result?format=gpkg`` serves: the job's own layers, never a whole database.

A job writes into its own folder by default, and that GeoPackage holds only its layers. A job may instead
add its layers to an existing GeoPackage the client named; serving that file would hand out every other
layer in it, so the job's layers are copied into ``<job folder>/own-layers.gpkg`` (rebuilt when the source
is newer) and that copy is served.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..vector.atomic import atomic_replace

EXPORT_NAME = "own-layers.gpkg"


def own_layers_gpkg(result: dict[str, Any], job_dir: Path) -> Path | None:
    """The GeoPackage to serve for a job's ``result`` summary, or ``None`` when it wrote none."""
    outputs = result.get("outputs") or {}
    source = result.get("gpkg") or outputs.get("gpkg")
    if not source or not os.path.isfile(source):
        return None
    source_path = Path(source).resolve()
    if source_path.parent == job_dir.resolve():
        return source_path
    layers = [name for name in (outputs.get("layers") or {}).values() if name]
    export = job_dir / EXPORT_NAME
    if not export.is_file() or export.stat().st_mtime < source_path.stat().st_mtime:
        _copy_layers(source_path, layers, export)
    return export


def _copy_layers(source: Path, layers: list[str], dest: Path) -> None:
    """Copy ``layers`` (geometry, fields, CRS, layer metadata) of ``source`` into a new GeoPackage ``dest``."""
    import pyogrio
    from pyogrio.raw import read, write

    with atomic_replace(dest) as tmp:
        for i, layer in enumerate(layers):
            meta, _fids, geometry, field_data = read(str(source), layer=layer)
            info = pyogrio.read_info(str(source), layer=layer)
            write(tmp, geometry, field_data, fields=meta["fields"], layer=layer, driver="GPKG",
                  geometry_type=meta["geometry_type"], crs=meta["crs"], append=i > 0,
                  layer_metadata=info.get("layer_metadata") or None)
