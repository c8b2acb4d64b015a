"""The command line end to end, in a subprocess, with a scripted engine on real rasters."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyogrio
import pytest
import shapely
import shapely.ops

ROOT = Path(__file__).resolve().parents[2]
POND = "<ref>pond</ref>{(100,100),(300,100),(300,300),(100,300)}"


def cli(*args, env=None, timeout=120):
    full_env = {**os.environ, **(env or {})}
    full_env.pop("GEORSMLLM_CONFIG", None)
    return subprocess.run([sys.executable, "-m", "model_backend", *map(str, args)], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout, env=full_env)


@pytest.fixture
def script(tmp_path):
    path = tmp_path / "answers.json"
    path.write_text(json.dumps({"answers": [POND]}))
    return path


def test_detection_run_writes_layers_with_every_field(tmp_path, data_dir, script):
    out = tmp_path / "out.gpkg"
    proc = cli("run", "--raster", data_dir / "naip_2020.tif", "-i", "find the ponds", "-o", out, "--engine",
               "scripted", "--script", script, "--tile-size", 512, "--overlap", 64, "--run-name", "ponds",
               "--geojson", tmp_path / "out.geojson", "-q")
    assert proc.returncode == 0, proc.stderr
    assert "pond: " in proc.stdout and "detection" in proc.stdout and "time" in proc.stdout
    layers = [name for name, _ in pyogrio.list_layers(out)]
    assert layers == ["ponds_boxes"]
    meta, _fids, wkb, fields = pyogrio.raw.read(out, layer="ponds_boxes")
    names = list(meta["fields"])
    for required in ("label", "score", "task", "instruction", "model", "dialect", "source", "tile", "run_id",
                     "created"):
        assert required in names
    values = dict(zip(names, fields))
    assert set(values["label"]) == {"pond"}
    assert set(values["task"]) == {"detection"}
    assert "26914" in meta["crs"]
    geoms = shapely.from_wkb(wkb)
    assert all(g.is_valid and g.area > 0 for g in geoms)
    collection = json.loads((tmp_path / "out.geojson").read_text())
    lon, lat = collection["features"][0]["geometry"]["coordinates"][0][0]
    assert -100 < lon < -98 and 46 < lat < 48  # North Dakota


def test_existing_layers_survive_a_second_run(tmp_path, data_dir, script):
    out = tmp_path / "out.gpkg"
    for name in ("first", "second"):
        proc = cli("run", "--raster", data_dir / "naip_2020.tif", "-i", "[detection] ponds", "-o", out,
                   "--engine", "scripted", "--script", script, "--run-name", name, "-q")
        assert proc.returncode == 0, proc.stderr
    assert sorted(n for n, _ in pyogrio.list_layers(out)) == ["first_boxes", "second_boxes"]


@pytest.mark.parametrize("raster,needle", [
    ("does-not-exist.tif", "does not exist"),
    ("corrupt.tif", "corrupt.tif"),
    ("float_nan.tif", "CRS"),
    ("all-nodata.tif", "nodata"),
])
def test_bad_input_fails_with_one_clear_line_and_writes_nothing(tmp_path, data_dir, script, raster, needle):
    out = tmp_path / "out.gpkg"
    proc = cli("run", "--raster", data_dir / raster, "-i", "[detection] ponds", "-o", out, "--engine", "scripted",
               "--script", script, "-q")
    assert proc.returncode != 0
    error_lines = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(error_lines) == 1 and needle.lower() in error_lines[0].lower(), proc.stderr
    assert "Traceback" not in proc.stderr
    assert not out.exists()
    assert not any(p.name.startswith(".") or "tmp" in p.name for p in tmp_path.iterdir() if p.name != "answers.json")


def test_settings_from_toml_and_environment(tmp_path, data_dir, script):
    config = tmp_path / "georsmllm.toml"
    config.write_text(f'[run]\nengine = "scripted"\nscript = "{script}"\ntile_size = 400\noverlap = 0\n')
    out = tmp_path / "out.gpkg"
    proc = subprocess.run([sys.executable, "-m", "model_backend", "run", "--config", str(config), "--raster",
                           str(data_dir / "naip_2020.tif"), "-i", "[detection] ponds", "-o", str(out), "-q"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "GEORSMLLM_OVERLAP": "20"})
    assert proc.returncode == 0, proc.stderr
    # 934 x 723 raster, 400 px tiles with 20 px overlap (environment beats the file) -> 3 x 2 tiles
    assert "6/6" in proc.stdout


def test_unloadable_model_exits_3_with_how_to_point_at_a_folder_or_server(tmp_path, data_dir):
    proc = cli("run", "--raster", data_dir / "naip_2020.tif", "-i", "[detection] ponds", "-o", tmp_path / "o.gpkg",
               "--model", tmp_path / "no-such-model", "-q", env={"HF_HUB_OFFLINE": "1"})
    assert proc.returncode == 3, proc.stderr
    assert "--base-url" in proc.stderr and "folder" in proc.stderr


def test_plan_command_shows_the_plan_as_numbered_sentences(data_dir, script):
    args = ["plan", "--raster", data_dir / "naip_2020.tif", "-i",
            "detect ponds larger than 500 m2 on the east side of the field", "--engine", "scripted", "--script", script]
    proc = cli(*args)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == "task: detection (wording 'detect')" and lines[1] == "Plan (detection), read by grammar:"
    assert lines[2].startswith("1. Model (segmentation): find the field first")
    assert lines[3] == "2. Model (detection): find ponds in every tile."
    assert "GIS measure" in lines[4] and "500 m²" in lines[4] and "{" not in proc.stdout  # never a raw dict
    proc = cli(*args, "--json")
    plan = json.loads(proc.stdout)
    assert plan["task"] == "detection" and plan["plan"]["where"]["kind"] == "and"
    assert [s["kind"] for s in plan["sentences"]] == ["model", "model", "gis", "gis"]


def test_eval_plans_prints_accuracy_per_construct(data_dir):
    proc = cli("eval-plans", data_dir / "instructions.jsonl")
    assert proc.returncode == 0, proc.stderr
    rows = {line.split()[0]: line for line in proc.stdout.splitlines() if line and not line.startswith("-")}
    assert "grammar" in rows["construct"]
    for construct in ("distance", "between", "negation", "direction", "rank", "count", "model-reference"):
        assert "%" in rows[construct]
    assert float(rows["all"].split()[-2].lstrip("(")) >= 95


def test_eval_command_is_wired_into_the_main_cli(tmp_path):
    from PIL import Image

    Image.new("RGB", (100, 100)).save(tmp_path / "a.png")
    record = {"id": "1", "task": "detection", "image": "a.png", "conversations": [
        {"from": "human", "value": "<image>\n[detection] plane"},
        {"from": "gpt", "value": "{(100,100),(500,100),(500,500),(100,500)}"}]}
    (tmp_path / "bench.jsonl").write_text(json.dumps(record) + "\n")
    # the answer covers x 10..50, y 10..30 px of the reference x,y 10..50: IoU 800 / 1600 = 0.5 -> a hit
    (tmp_path / "s.json").write_text(json.dumps({"answers": ["{(100,100),(500,100),(500,300),(100,300)}"]}))
    proc = cli("eval", "--data", tmp_path / "bench.jsonl", "--root", tmp_path, "--engine", "scripted", "--script",
               tmp_path / "s.json", "--json", tmp_path / "out.json")
    assert proc.returncode == 0, proc.stderr
    metrics = json.loads((tmp_path / "out.json").read_text())["metrics"]
    assert [m["value"] for m in metrics if m["metric"] == "acc@0.5"] == [1.0]


@pytest.mark.slow
@pytest.mark.parametrize("builder", ["build_llava_onevision", "build_qwen2_5_vl"])
def test_run_with_a_real_checkpoint_folder_through_the_transformers_engine(tmp_path, data_dir, builder):
    """The whole path with a real (tiny, random-weight) checkpoint loaded from a folder: its answers are
    meaningless, so this checks loading, device, generation and a clean finish, not what is found."""
    from tests.helpers import tiny_models

    folder = getattr(tiny_models, builder)(tmp_path / "model")
    out = tmp_path / "out.gpkg"
    proc = cli("run", "--raster", data_dir / "naip_2020.tif", "-i", "[detection] ponds", "-o", out,
               "--model", folder, "--device", "cpu", "--tile-size", 512, "--overlap", 0, "-q",
               env={"HF_HUB_OFFLINE": "1"}, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "tiles     4/4" in proc.stdout and "device    cpu" in proc.stdout
    assert str(folder) in proc.stdout


def test_regions_file_in_another_crs_is_reprojected_to_the_rasters(tmp_path, data_dir):
    """--regions in EPSG:4326 over a UTM raster: the feature is captioned where it lies, and written back in
    the raster's CRS."""
    import pyproj
    import rasterio

    with rasterio.open(data_dir / "naip_2020.tif") as src:
        left, bottom, right, top = src.bounds
        crs = src.crs.to_wkt()
    utm_box = shapely.box(left + 100, bottom + 100, left + 300, bottom + 300)
    to_wgs84 = pyproj.Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    wgs84_box = shapely.ops.transform(to_wgs84.transform, utm_box)
    regions = tmp_path / "regions.geojson"
    pyogrio.raw.write(str(regions), np.array([shapely.to_wkb(wgs84_box)], dtype=object), [np.array(["p1"], dtype=object)],
                      ["name"], driver="GeoJSON", crs="EPSG:4326", geometry_type="Polygon")
    (tmp_path / "s.json").write_text(json.dumps({"answers": ["a small pond"]}))
    out = tmp_path / "out.gpkg"
    proc = cli("run", "--raster", data_dir / "naip_2020.tif", "-i", "[identify] describe this", "--regions", regions,
               "-o", out, "--engine", "scripted", "--script", tmp_path / "s.json", "--run-name", "r", "-q")
    assert proc.returncode == 0, proc.stderr
    meta, _fids, wkb, _fields = pyogrio.raw.read(str(out), layer="r_polygons")
    (written,) = shapely.from_wkb(wkb)
    assert written.intersection(utm_box).area > 0.99 * utm_box.area  # back in UTM, where it was


def test_run_that_finds_nothing_leaves_an_empty_layer(tmp_path, data_dir):
    (tmp_path / "s.json").write_text(json.dumps({"answers": ["None"]}))
    out = tmp_path / "out.gpkg"
    proc = cli("run", "--raster", data_dir / "naip_2020.tif", "-i", "[detection] planes", "-o", out, "--engine",
               "scripted", "--script", tmp_path / "s.json", "--run-name", "none", "-q")
    assert proc.returncode == 0, proc.stderr
    assert [list(x) for x in pyogrio.list_layers(str(out))] == [["none_boxes", "Polygon"]]
    assert "nothing found: an empty layer was written" in proc.stdout
