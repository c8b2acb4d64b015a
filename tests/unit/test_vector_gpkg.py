"""GeoPackage output: round trip through pyogrio, layers kept, atomic replacement, incremental writer."""

from __future__ import annotations

import contextlib
import json
import os
import stat

import numpy as np
import pyogrio
import pytest
import shapely
from pyogrio.raw import read as raw_read

from model_backend.errors import OutputError
from model_backend.geometry import GeoPoint, PolygonRegion, RotatedBox, SegTarget, box_corners
from model_backend.vector import gpkg
from model_backend.vector.features import (
    BASE_FIELDS,
    Feature,
    RunInfo,
    layer_name,
    safe_layer_name,
    with_measure_fields,
)
from model_backend.vector.gpkg import GpkgRunWriter, read_layer_metadata, write_layer, write_run

UTM = "EPSG:32618"
E0, N0 = 500_000.0, 4_000_000.0  # map coordinates in UTM 18N


def run_info(run_id="run-1", **kw) -> RunInfo:
    base = dict(
        task="detection",
        instruction="find ships",
        model="tiny-model",
        dialect="georsmllm",
        source="RGB.byte.tif",
        created="2026-11-26T10:00:00Z",
        recipe={"tile_px": 512, "overlap": 0.1, "labels": ["ship"]},
    )
    base.update(kw)
    return RunInfo(run_id, **base)


def map_box(i: int, label="ship", score=0.5) -> RotatedBox:
    x, y = E0 + 100 * i, N0
    return RotatedBox(tuple(box_corners((x, y, x + 50, y + 30))), label=label, score=score)


def read_layer(path, layer):
    meta, _fids, wkb, columns = raw_read(str(path), layer=layer)
    rows = [dict(zip(meta["fields"], values)) for values in zip(*columns)]
    return meta, list(shapely.from_wkb(wkb)), rows


def folder_listing(path):
    return sorted(os.listdir(path))


def test_round_trip_fields_crs_geometry(tmp_path):
    path = tmp_path / "out.gpkg"
    hole = ((E0 + 10, N0 + 10), (E0 + 20, N0 + 10), (E0 + 20, N0 + 20), (E0 + 10, N0 + 20))
    features = [
        Feature(map_box(0, score=0.9), tile="r0_c0", extra={"caption": "a ship", "answer": None}),
        SegTarget((E0, N0, E0 + 5, N0 + 5), keypoints=((E0 + 1, N0 + 1),), label="buoy"),
        PolygonRegion(box_corners((E0, N0, E0 + 40, N0 + 40)), holes=(hole,), label="lake", score=0.25),
        GeoPoint(38.5, -77.25, label="here"),
    ]
    layers = write_run(path, "ships 2024", features, crs=UTM, run=run_info(), partial=False)
    assert layers == {
        "boxes": "ships_2024_boxes",
        "polygons": "ships_2024_polygons",
        "points": "ships_2024_points",
    }
    assert sorted(pyogrio.list_layers(path)[:, 0]) == sorted(layers.values())

    meta, geoms, rows = read_layer(path, "ships_2024_boxes")
    assert meta["crs"] == UTM
    assert meta["geometry_type"] == "Polygon"
    assert list(meta["fields"]) == [*with_measure_fields(list(BASE_FIELDS)), "caption", "answer", "partial"]
    assert rows[0]["label"] == "ship" and rows[0]["score"] == pytest.approx(0.9)
    assert rows[0]["area_m2"] == pytest.approx(50 * 30) and rows[0]["length_m"] == pytest.approx(50)
    assert rows[0]["tile"] == "r0_c0" and rows[0]["caption"] == "a ship" and rows[0]["answer"] is None
    assert rows[0]["task"] == "detection" and rows[0]["instruction"] == "find ships"
    assert rows[0]["model"] == "tiny-model" and rows[0]["dialect"] == "georsmllm"
    assert rows[0]["source"] == "RGB.byte.tif" and rows[0]["run_id"] == "run-1"
    assert rows[0]["created"] == "2026-11-26T10:00:00Z" and rows[0]["partial"] == "false"
    assert rows[1]["label"] == "buoy" and np.isnan(rows[1]["score"])  # null reads back as NaN
    assert geoms[0].equals(shapely.box(E0, N0, E0 + 50, N0 + 30))
    assert geoms[1].equals(shapely.box(E0, N0, E0 + 5, N0 + 5))

    meta, geoms, rows = read_layer(path, "ships_2024_polygons")
    assert meta["crs"] == UTM
    assert len(geoms[0].interiors) == 1 and geoms[0].area == pytest.approx(1600 - 100)
    assert rows[0]["score"] == pytest.approx(0.25)

    meta, geoms, rows = read_layer(path, "ships_2024_points")
    assert meta["crs"] == "EPSG:4326" and meta["geometry_type"] == "Point"
    assert (geoms[0].x, geoms[0].y) == (-77.25, 38.5)  # lon, lat


def test_layer_metadata_holds_recipe(tmp_path):
    path = tmp_path / "out.gpkg"
    write_run(path, "r", [map_box(0)], crs=UTM, run=run_info(), partial=True)
    md = read_layer_metadata(path, "r_boxes")
    assert json.loads(md["GEORSMLLM_RECIPE"]) == {"tile_px": 512, "overlap": 0.1, "labels": ["ship"]}
    assert md["GEORSMLLM_RUN_ID"] == "run-1"
    assert md["GEORSMLLM_STATUS"] == "partial"
    summary, recipe = md["DESCRIPTION"].split("\n\nRecipe: ")
    assert summary.startswith("GeoRSMLLM detection run run-1: find ships")
    assert summary.endswith("[partial]")
    assert json.loads(recipe) == json.loads(md["GEORSMLLM_RECIPE"])


def test_new_file_is_geopackage_1_2(tmp_path):
    import sqlite3

    path = tmp_path / "out.gpkg"
    write_run(path, "r", [map_box(0)], crs=UTM, run=run_info())
    write_run(path, "s", [map_box(0)], crs=UTM, run=run_info())
    with contextlib.closing(sqlite3.connect(path)) as db:
        assert db.execute("PRAGMA application_id").fetchone()[0] == 0x47504B47  # "GPKG"
        assert db.execute("PRAGMA user_version").fetchone()[0] == 10200


def test_crs_from_wkt_and_partial_field_absent_by_default(tmp_path):
    import pyproj

    path = tmp_path / "out.gpkg"
    wkt = pyproj.CRS.from_epsg(32618).to_wkt()
    write_layer(path, "boxes", [map_box(0)], crs=wkt, run=run_info())
    meta, _, _ = read_layer(path, "boxes")
    assert pyproj.CRS.from_user_input(meta["crs"]).to_epsg() == 32618
    assert "partial" not in list(meta["fields"])


def test_existing_layers_preserved_and_layer_replaced(tmp_path):
    path = tmp_path / "out.gpkg"
    write_run(path, "first", [map_box(0), map_box(1)], crs=UTM, run=run_info("a"))
    write_run(path, "second", [map_box(2, label="plane")], crs="EPSG:3857", run=run_info("b"))
    assert sorted(pyogrio.list_layers(path)[:, 0]) == ["first_boxes", "second_boxes"]
    meta, geoms, rows = read_layer(path, "first_boxes")
    assert len(rows) == 2 and meta["crs"] == UTM and rows[0]["run_id"] == "a"
    # rewriting a layer replaces it, nothing else changes
    write_run(path, "first", [map_box(5)], crs=UTM, run=run_info("c"))
    _, geoms, rows = read_layer(path, "first_boxes")
    assert [r["run_id"] for r in rows] == ["c"]
    meta, _, rows = read_layer(path, "second_boxes")
    assert meta["crs"] == "EPSG:3857" and rows[0]["label"] == "plane"


@pytest.mark.parametrize("exc", [RuntimeError("disk on fire"), KeyboardInterrupt()])
def test_failure_mid_write_leaves_file_identical_and_no_temp(tmp_path, monkeypatch, exc):
    path = tmp_path / "out.gpkg"
    write_run(path, "first", [map_box(0)], crs=UTM, run=run_info())
    before = path.read_bytes()
    listing = folder_listing(tmp_path)
    real_write = gpkg._write_layer_file
    calls = []

    def write_then_fail(tmp, layer):
        real_write(tmp, layer)  # the temporary copy really gets a new layer first
        calls.append(tmp)
        if len(calls) == 2:
            raise exc

    monkeypatch.setattr(gpkg, "_write_layer_file", write_then_fail)
    features = [map_box(1), PolygonRegion(box_corners((E0, N0, E0 + 9, N0 + 9)), label="lake")]
    with pytest.raises(type(exc)):
        write_run(path, "first", features, crs=UTM, run=run_info("other"))
    assert len(calls) == 2 and os.path.dirname(calls[0]) != str(tmp_path)
    assert path.read_bytes() == before
    assert folder_listing(tmp_path) == listing
    assert not os.path.exists(calls[0])


def test_pyogrio_error_becomes_output_error_and_file_kept(tmp_path, monkeypatch):
    path = tmp_path / "out.gpkg"
    write_run(path, "first", [map_box(0)], crs=UTM, run=run_info())
    before = path.read_bytes()

    def broken(*args, **kwargs):
        raise pyogrio.errors.DataSourceError("simulated GDAL failure")

    monkeypatch.setattr(gpkg, "_pyogrio_write", broken)
    with pytest.raises(OutputError, match="cannot write layer first_boxes"):
        write_run(path, "first", [map_box(3)], crs=UTM, run=run_info())
    assert path.read_bytes() == before
    assert folder_listing(tmp_path) == ["out.gpkg"]


def test_file_mode_kept(tmp_path):
    path = tmp_path / "out.gpkg"
    write_run(path, "a", [map_box(0)], crs=UTM, run=run_info())
    os.chmod(path, 0o640)
    write_run(path, "b", [map_box(0)], crs=UTM, run=run_info())
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o640


def test_output_errors(tmp_path):
    run = run_info()
    with pytest.raises(OutputError, match="is a folder"):
        write_run(tmp_path, "r", [map_box(0)], crs=UTM, run=run)
    with pytest.raises(OutputError, match="does not exist"):
        write_run(tmp_path / "missing" / "o.gpkg", "r", [map_box(0)], crs=UTM, run=run)
    a_file = tmp_path / "plain.txt"
    a_file.write_text("not a folder")
    with pytest.raises(OutputError, match="not a folder"):
        write_run(a_file / "o.gpkg", "r", [map_box(0)], crs=UTM, run=run)
    with pytest.raises(OutputError, match="unknown CRS"):
        write_run(tmp_path / "o.gpkg", "r", [map_box(0)], crs="EPSG:999999", run=run)
    with pytest.raises(OutputError, match="unknown CRS"):
        write_run(tmp_path / "o.gpkg", "r", [map_box(0)], crs="not a crs", run=run)
    # an existing file of another format is never overwritten
    other = tmp_path / "notes.gpkg"
    other.write_text("my notes")
    with pytest.raises(OutputError, match="not a GeoPackage"):
        write_run(other, "r", [map_box(0)], crs=UTM, run=run)
    assert other.read_text() == "my notes"
    assert folder_listing(tmp_path) == ["notes.gpkg", "plain.txt"]


def test_a_plain_sqlite_database_is_never_rewritten(tmp_path):
    import sqlite3

    db = tmp_path / "places.sqlite"
    with contextlib.closing(sqlite3.connect(db)) as conn:
        conn.execute("create table visits (url text)")
        conn.commit()
    before = db.read_bytes()
    with pytest.raises(OutputError, match="SQLite database but not a GeoPackage"):
        write_run(db, "r", [map_box(0)], crs=UTM, run=run_info())
    assert db.read_bytes() == before


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root ignores folder permissions")
def test_unwritable_folder(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    os.chmod(folder, 0o555)
    try:
        with pytest.raises(OutputError, match="cannot write in folder"):
            write_run(folder / "o.gpkg", "r", [map_box(0)], crs=UTM, run=run_info())
    finally:
        os.chmod(folder, 0o755)


def test_unwritable_folder_via_mkdtemp(tmp_path, monkeypatch):
    # Same path as above when running as root, where permissions cannot make a folder unwritable.
    import tempfile

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "mkdtemp", denied)
    with pytest.raises(OutputError, match="cannot write in folder .*Permission denied"):
        write_run(tmp_path / "o.gpkg", "r", [map_box(0)], crs=UTM, run=run_info())


def test_layer_names():
    assert layer_name("my run/2024", "points") == "my_run_2024_points"
    with pytest.raises(OutputError, match="no usable characters"):
        safe_layer_name("///")
    assert layer_name("///", "boxes") == "boxes"


def test_write_layer_rejects_wrong_kind(tmp_path):
    with pytest.raises(OutputError, match="cannot go into the boxes layer"):
        features = [map_box(0), GeoPoint(1, 2)]
        write_layer(tmp_path / "o.gpkg", "x", features, crs=UTM, run=run_info(), kind="boxes")


def test_multipolygons_promote_layer(tmp_path):
    path = tmp_path / "o.gpkg"
    multi = shapely.MultiPolygon(
        [shapely.box(E0, N0, E0 + 1, N0 + 1), shapely.box(E0 + 5, N0, E0 + 6, N0 + 1)]
    )
    single = shapely.box(E0, N0, E0 + 2, N0 + 2)
    write_run(path, "r", [Feature(multi, label="a"), Feature(single, label="b")], crs=UTM, run=run_info())
    meta, geoms, _ = read_layer(path, "r_polygons")
    assert meta["geometry_type"] == "MultiPolygon"
    assert [g.geom_type for g in geoms] == ["MultiPolygon", "MultiPolygon"]
    assert geoms[1].area == pytest.approx(4)


# ---- incremental writer --------------------------------------------------------------------------


def test_writer_checkpoints_and_finishes(tmp_path):
    path = tmp_path / "o.gpkg"
    write_run(path, "older", [map_box(9)], crs=UTM, run=run_info("older"))
    older = read_layer(path, "older_boxes")[2]
    run = run_info("live")
    with GpkgRunWriter(path, "live", crs=UTM, run=run, checkpoint_every=3, checkpoint_seconds=None) as w:
        assert w.add(map_box(0), map_box(1)) is False
        assert not (set(pyogrio.list_layers(path)[:, 0]) & {"live_boxes"})
        assert w.add(map_box(2)) is True  # third feature: checkpoint
        rows = read_layer(path, "live_boxes")[2]
        assert len(rows) == 3 and {r["partial"] for r in rows} == {"true"}
        assert read_layer_metadata(path, "live_boxes")["GEORSMLLM_STATUS"] == "partial"
        w.add(PolygonRegion(box_corners((E0, N0, E0 + 3, N0 + 3)), label="lake"))
    assert w.layers == {"boxes": "live_boxes", "polygons": "live_polygons"}
    rows = read_layer(path, "live_boxes")[2]
    assert len(rows) == 3 and {r["partial"] for r in rows} == {"false"}
    assert read_layer_metadata(path, "live_boxes")["GEORSMLLM_STATUS"] == "complete"
    assert len(read_layer(path, "live_polygons")[2]) == 1
    assert read_layer(path, "older_boxes")[2] == older
    with pytest.raises(OutputError, match="closed"):
        w.add(map_box(3))


def test_writer_cancelled_run_keeps_what_is_done_marked_partial(tmp_path):
    path = tmp_path / "o.gpkg"
    with pytest.raises(KeyboardInterrupt):
        run = run_info()
        with GpkgRunWriter(path, "live", crs=UTM, run=run, checkpoint_every=2, checkpoint_seconds=None) as w:
            w.add(map_box(0), map_box(1))  # committed at this checkpoint
            w.add(map_box(2))  # only in memory when the run is cancelled
            raise KeyboardInterrupt
    rows = read_layer(path, "live_boxes")[2]
    assert len(rows) == 3 and {r["partial"] for r in rows} == {"true"}
    assert read_layer_metadata(path, "live_boxes")["GEORSMLLM_STATUS"] == "partial"
    assert [n for n in os.listdir(tmp_path)] == ["o.gpkg"]


def test_writer_failed_checkpoint_keeps_previous_and_retries(tmp_path, monkeypatch):
    path = tmp_path / "o.gpkg"
    w = GpkgRunWriter(path, "live", crs=UTM, run=run_info(), checkpoint_every=1, checkpoint_seconds=None)
    w.add(map_box(0))
    good = path.read_bytes()
    real = gpkg._write_layer_file

    def fail(tmp, layer):
        real(tmp, layer)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(gpkg, "_write_layer_file", fail)
    with pytest.raises(OSError):
        w.add(map_box(1))
    assert path.read_bytes() == good
    monkeypatch.setattr(gpkg, "_write_layer_file", real)
    w.finish()
    rows = read_layer(path, "live_boxes")[2]
    assert len(rows) == 2 and {r["partial"] for r in rows} == {"false"}


def test_writer_time_checkpoint(tmp_path):
    now = [0.0]
    path = tmp_path / "o.gpkg"
    w = GpkgRunWriter(
        path, "t", crs=UTM, run=run_info(), checkpoint_every=None, checkpoint_seconds=5.0,
        clock=lambda: now[0],
    )
    assert w.add(map_box(0)) is False and not path.exists()
    now[0] = 5.0
    assert w.add(map_box(1)) is True
    assert len(read_layer(path, "t_boxes")[2]) == 2
    w.cancel()
    assert w.closed


def test_mixed_point_layer_projects_geopoints_and_extra_overrides_run_field(tmp_path):
    path = tmp_path / "o.gpkg"
    features = [
        Feature(GeoPoint(0.0, -75.0, label="geo"), extra={"instruction": "where is this?"}),
        Feature(shapely.Point(E0, N0), label="map"),
    ]
    write_run(path, "pts", features, crs=UTM, run=run_info())
    meta, geoms, rows = read_layer(path, "pts_points")
    assert meta["crs"] == UTM  # not all GeoPoints: the raster's CRS
    # lat 0, lon -75 is on UTM 18N's central meridian at the equator
    assert geoms[0].x == pytest.approx(500_000.0, abs=1e-6) and geoms[0].y == pytest.approx(0.0, abs=1e-6)
    assert (geoms[1].x, geoms[1].y) == (E0, N0)
    assert [r["instruction"] for r in rows] == ["where is this?", "find ships"]
