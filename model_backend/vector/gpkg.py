"""GeoPackage output through pyogrio, written atomically.

Every write builds the new file beside the target (a copy of it when it exists, so its other layers are
kept), adds or replaces the run's layers there, then renames it into place (``vector.atomic``). A
failure at any point leaves the existing file byte-identical and no temporary file behind.

Layers: one per run and geometry kind, named ``<run name>_<kind>`` (``boxes``, ``polygons``,
``points``, ``lines``). Geometry is in map coordinates of the raster's CRS; a layer made only of
``GeoPoint``s is written as lon/lat points in EPSG:4326. Fields: ``features.BASE_FIELDS`` (polygon layers:
with the measures ``area_m2`` and ``length_m`` in metres after ``score``, see ``vector.measures``) then the
extra text fields, plus ``partial`` ("true"/"false") when the caller says whether the run finished.

Run recipe: stored twice. The layer's ``gpkg_contents`` description (the GeoPackage's own per-layer
description; GDAL shows it as the layer metadata item ``DESCRIPTION``, QGIS 3.22 as the layer's
metadata *abstract*) gets a one-line summary, a blank line and ``Recipe: <JSON>``. The GDAL layer
metadata items ``GEORSMLLM_RECIPE`` (the recipe as JSON), ``GEORSMLLM_RUN_ID`` and
``GEORSMLLM_STATUS`` (``partial``/``complete``) go into the ``gpkg_metadata`` table, for programs
(``ogrinfo``, ``pyogrio.read_info``, ``read_layer_metadata``); QGIS does not show those.
New files are GeoPackage 1.2, which the GDAL inside QGIS 3.22 reads without warnings.

Incremental writing: ``GpkgRunWriter`` keeps the run's features in memory and re-commits all of the
run's layers atomically at checkpoints (every N features or T seconds). Each checkpoint is a complete,
valid file marked partial; a cancelled run keeps its last checkpoint plus what ``cancel`` commits.
The cost is a copy of the file and a rewrite of the run's layers per checkpoint, fine for the
thousands of features of one run.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Callable, Iterable, Mapping, Sequence

import numpy as np
import pyogrio
import pyogrio.errors
import pyproj
import shapely
from pyogrio.raw import write as _pyogrio_write

from ..errors import OutputError
from .atomic import atomic_replace, check_target
from .features import (
    NUMERIC_FIELDS,
    PARTIAL_FIELD,
    Feature,
    FeatureLike,
    RunInfo,
    add_measures,
    as_feature,
    crs_for_gdal,
    field_names,
    geometry_kind,
    group_by_kind,
    layer_crs,
    layer_geometries,
    layer_name,
    properties,
    resolve_crs,
    safe_layer_name,
    with_measure_fields,
)
from .gpkgfile import is_geopackage_header, is_sqlite_header, read_header

_GEOMETRY_TYPES = {"boxes": "Polygon", "polygons": "Polygon", "points": "Point", "lines": "LineString"}
#: layer kinds whose features carry ``area_m2`` and ``length_m``
MEASURED_KINDS = ("boxes", "polygons")
_PYOGRIO_ERRORS = (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError)


@dataclass(frozen=True)
class LayerData:
    """One layer ready to write: WKB geometries in ``crs`` and one array per field."""

    name: str
    geometry_type: str
    crs: str | None
    wkb: np.ndarray
    fields: list[str]
    columns: list[np.ndarray]
    metadata: dict[str, str]
    description: str


def _check_existing_gpkg(path: str) -> bool:
    """Whether ``path`` exists; ``OutputError`` when it exists but is not a GeoPackage (GDAL would otherwise
    overwrite it). A plain SQLite database is refused too: its header lacks the GeoPackage application id,
    and adding layers would rewrite someone else's database."""
    if not os.path.exists(path):
        return False
    try:
        head = read_header(path)
    except OSError as exc:
        raise OutputError(f"cannot read {path} ({exc.strerror or exc}): choose another file") from exc
    if is_sqlite_header(head) and not is_geopackage_header(head):
        raise OutputError(f"{path} is a SQLite database but not a GeoPackage (no GeoPackage application id): "
                          "choose another file name")
    if not is_geopackage_header(head):
        raise OutputError(f"{path} exists but is not a GeoPackage: choose another file name")
    return True


def _description(run: RunInfo, partial: bool | None) -> str:
    words = ["GeoRSMLLM"]
    if run.task:
        words.append(run.task)
    words.append(f"run {run.run_id}")
    text = " ".join(words)
    if run.instruction:
        text += f": {run.instruction}"
    if run.model:
        text += f" ({run.model})"
    if partial:
        text += " [partial]"
    return f"{text}\n\nRecipe: {run.recipe_json()}"


def build_layer(
    name: str,
    kind: str,
    features: Sequence[FeatureLike],
    *,
    crs: str | pyproj.CRS | None,
    run: RunInfo,
    partial: bool | None = None,
) -> LayerData:
    """Prepare one layer of one ``kind`` from features in map coordinates (see module doc)."""
    feats = [as_feature(f) for f in features]
    for feat in feats:
        if geometry_kind(feat.geometry) != kind:
            raise OutputError(
                f"a {geometry_kind(feat.geometry)} feature cannot go into the {kind} layer {name}"
            )
    crs_obj = resolve_crs(crs)
    target_crs = layer_crs(feats, crs_obj)
    geoms = layer_geometries(feats, crs_obj)
    geometry_type = _GEOMETRY_TYPES[kind]
    if any(g.geom_type.startswith("Multi") for g in geoms):
        geometry_type = "Multi" + geometry_type
    names = field_names(feats)
    if kind in MEASURED_KINDS:
        names = with_measure_fields(names)
    if partial is not None and PARTIAL_FIELD not in names:
        names.append(PARTIAL_FIELD)
    rows = [properties(f, run, names) for f in feats]
    if kind in MEASURED_KINDS:
        add_measures(rows, geoms, target_crs)
    if partial is not None:
        for row in rows:
            row[PARTIAL_FIELD] = "true" if partial else "false"
    columns = []
    for fname in names:
        if fname in NUMERIC_FIELDS:
            columns.append(np.array([np.nan if r[fname] is None else r[fname] for r in rows], dtype=float))
        else:
            columns.append(np.array([r[fname] for r in rows] if rows else [], dtype=object))
    metadata = {"GEORSMLLM_RECIPE": run.recipe_json(), "GEORSMLLM_RUN_ID": str(run.run_id)}
    if partial is not None:
        metadata["GEORSMLLM_STATUS"] = "partial" if partial else "complete"
    return LayerData(
        name=safe_layer_name(name),
        geometry_type=geometry_type,
        crs=crs_for_gdal(target_crs),
        wkb=np.asarray(shapely.to_wkb(np.asarray(geoms, dtype=object)), dtype=object)
        if geoms
        else np.array([], dtype=object),
        fields=names,
        columns=columns,
        metadata=metadata,
        description=_description(run, partial),
    )


def _write_layer_file(path: str, layer: LayerData) -> None:
    """Create or replace ``layer`` in the GeoPackage at ``path`` (the temporary copy)."""
    # pyogrio's GDAL creates GeoPackage 1.4 files, which the GDAL 3.6 inside QGIS 3.22 reads with a
    # "may only be partially supported" warning; 1.2 has everything these layers use.
    dataset_options = None if os.path.exists(path) else {"VERSION": "1.2"}
    _pyogrio_write(
        path,
        layer.wkb,
        layer.columns,
        layer.fields,
        layer=layer.name,
        driver="GPKG",
        geometry_type=layer.geometry_type,
        crs=layer.crs,
        promote_to_multi=layer.geometry_type.startswith("Multi"),
        layer_metadata=layer.metadata,
        layer_options={"DESCRIPTION": layer.description},
        dataset_options=dataset_options,
    )


def commit_layers(path: str | os.PathLike, layers: Iterable[LayerData]) -> None:
    """Add or replace ``layers`` in the GeoPackage at ``path`` in one atomic step; other layers kept."""
    layers = list(layers)
    target = check_target(path)
    exists = _check_existing_gpkg(target)
    with atomic_replace(target, copy_existing=exists) as tmp:
        for layer in layers:
            try:
                _write_layer_file(tmp, layer)
            except _PYOGRIO_ERRORS as exc:
                raise OutputError(f"cannot write layer {layer.name} to {target}: {exc}") from exc


def write_layer(
    path: str | os.PathLike,
    name: str,
    features: Sequence[FeatureLike],
    *,
    crs: str | pyproj.CRS | None,
    run: RunInfo,
    kind: str | None = None,
    partial: bool | None = None,
) -> str:
    """Write one layer (all features of one ``kind``; guessed from the first feature when not
    given) atomically into the GeoPackage at ``path``; returns the layer name used."""
    feats = [as_feature(f) for f in features]
    if kind is None:
        if not feats:
            raise OutputError(f"layer {name} has no features: say which kind of layer to create")
        kind = geometry_kind(feats[0].geometry)
    layer = build_layer(name, kind, feats, crs=crs, run=run, partial=partial)
    commit_layers(path, [layer])
    return layer.name


def run_layers(
    run_name: str,
    features: Iterable[FeatureLike],
    *,
    crs: str | pyproj.CRS | None,
    run: RunInfo,
    partial: bool | None = None,
    empty_kind: str | None = None,
) -> dict[str, LayerData]:
    """The layers of a run's features, one per geometry kind (``<run_name>_<kind>``), not yet written:
    ``{kind: layer}``. Kinds without features get no layer, except that a run with no features at all
    gets an empty layer of ``empty_kind`` (when given) so that its output exists."""
    groups = group_by_kind(features)
    if not groups and empty_kind is not None:
        groups = {empty_kind: []}
    return {kind: build_layer(layer_name(run_name, kind), kind, feats, crs=crs, run=run, partial=partial)
            for kind, feats in groups.items()}


def write_run(
    path: str | os.PathLike,
    run_name: str,
    features: Iterable[FeatureLike],
    *,
    crs: str | pyproj.CRS | None,
    run: RunInfo,
    partial: bool | None = None,
    empty_kind: str | None = None,
) -> dict[str, str]:
    """Write all features of a run, one layer per geometry kind (see ``run_layers``), in one atomic step.
    Returns ``{kind: layer name}``."""
    layers = run_layers(run_name, features, crs=crs, run=run, partial=partial, empty_kind=empty_kind)
    if layers:
        commit_layers(path, layers.values())
    return {kind: layer.name for kind, layer in layers.items()}


class GpkgRunWriter:
    """Writes a run's features into a GeoPackage as they arrive, safely.

    ``add`` keeps features in memory and commits every ``checkpoint_every`` features or
    ``checkpoint_seconds`` seconds (whichever first; ``None`` disables either); each commit rewrites
    all of the run's layers atomically with ``partial = "true"``. ``finish`` commits the whole run
    with ``partial = "false"``; ``cancel`` commits what has arrived, still marked partial. As a
    context manager it finishes on normal exit and cancels (keeping what is done) on an exception.
    A failed commit raises ``OutputError`` and leaves the previous checkpoint in place; the features
    stay in memory for the next commit.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        run_name: str,
        *,
        crs: str | pyproj.CRS | None,
        run: RunInfo,
        checkpoint_every: int | None = 100,
        checkpoint_seconds: float | None = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.path = check_target(path)
        self.run_name = run_name
        self.crs = resolve_crs(crs)
        self.run = run
        self.checkpoint_every = checkpoint_every
        self.checkpoint_seconds = checkpoint_seconds
        self._clock = clock
        self._features: list[Feature] = []
        self._uncommitted = 0
        self._last_commit = clock()
        self.layers: dict[str, str] = {}
        self.closed = False

    def __len__(self) -> int:
        return len(self._features)

    def add(self, *features: FeatureLike) -> bool:
        """Queue features (map coordinates); commits when a checkpoint is due. Returns whether it
        committed."""
        if self.closed:
            raise OutputError(f"the writer for {self.path} is closed: start a new one")
        for item in features:
            feat = as_feature(item)
            geometry_kind(feat.geometry)  # reject unwritable geometry now, not at the next commit
            self._features.append(feat)
            self._uncommitted += 1
        if self._checkpoint_due():
            self.checkpoint()
            return True
        return False

    def _checkpoint_due(self) -> bool:
        if self._uncommitted == 0:
            return False
        if self.checkpoint_every is not None and self._uncommitted >= self.checkpoint_every:
            return True
        return (
            self.checkpoint_seconds is not None
            and self._clock() - self._last_commit >= self.checkpoint_seconds
        )

    def _commit(self, partial: bool) -> dict[str, str]:
        self.layers = write_run(
            self.path, self.run_name, self._features, crs=self.crs, run=self.run, partial=partial
        )
        self._uncommitted = 0
        self._last_commit = self._clock()
        return self.layers

    def checkpoint(self) -> dict[str, str]:
        """Commit everything so far, marked partial. Returns ``{kind: layer name}``."""
        return self._commit(partial=True)

    def finish(self) -> dict[str, str]:
        """Commit the complete run (``partial = "false"``) and close the writer."""
        layers = self._commit(partial=False)
        self.closed = True
        return layers

    def cancel(self) -> dict[str, str]:
        """Commit what has arrived, marked partial, and close the writer."""
        layers = self._commit(partial=True) if self._features else dict(self.layers)
        self.closed = True
        return layers

    def __enter__(self) -> "GpkgRunWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        if self.closed:
            return False
        if exc_type is None:
            self.finish()
            return False
        try:
            self.cancel()
        except Exception:
            self.closed = True
        return False


def read_layer_metadata(path: str | os.PathLike, layer: str) -> Mapping[str, str]:
    """The GDAL layer metadata of one layer (``GEORSMLLM_*`` items, ``DESCRIPTION``)."""
    try:
        return pyogrio.read_info(os.fspath(path), layer=layer).get("layer_metadata") or {}
    except _PYOGRIO_ERRORS as exc:
        raise OutputError(f"cannot read layer {layer} of {path}: {exc}") from exc
