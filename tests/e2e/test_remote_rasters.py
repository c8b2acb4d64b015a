"""Rasters by URL end to end, against a loopback HTTP server with range support that counts what it serves:
the command line on a COG (a small area of interest fetches a small part of the file) and on STAC items, a
server that drops mid-run (a clear error, finished tiles kept and marked partial), and the backend server's
``--allow-url`` rules (403 outside, jobs run inside, STAC assets and redirects checked too)."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import httpx
import pyogrio
import pytest
import rasterio
from rasterio.io import MemoryFile
from shapely.geometry import box, mapping

from model_backend.engines import get_engine
from model_backend.errors import RasterError
from model_backend.pipeline.config import RunConfig
from model_backend.pipeline.runner import Pipeline
from tests.e2e.test_server import ROOT, start_server, submit
from tests.e2e.test_server_security import wait_end
from tests.helpers.range_server import RangeServer
from tests.helpers.remote_rasters import band_asset, band_cogs, scene_cog, stac_item, visual_asset

POND = "<ref>pond</ref>{(100,100),(300,100),(300,300),(100,300)}"
SECRET = "sig=5ecret-token"
TOKEN = "remote-token-1"


@pytest.fixture(scope="module")
def served():
    red, green, blue = band_cogs()
    files = {"/data/scene.tif": scene_cog(), "/data/red.tif": red, "/data/green.tif": green,
             "/data/blue.tif": blue, "/private/scene.tif": scene_cog()}
    with RangeServer(files) as server:
        server.files["/data/bands.json"] = json.dumps(stac_item(
            {"B04": band_asset("red.tif", "red", "B04"), "B03": band_asset("green.tif", "green", "B03"),
             "B02": band_asset("blue.tif", "blue", "B02")})).encode()
        server.files["/data/visual.json"] = json.dumps(stac_item({"visual": visual_asset("scene.tif")})).encode()
        server.files["/data/leaky.json"] = json.dumps(stac_item(
            {"visual": visual_asset(server.url("private/scene.tif"))})).encode()
        server.redirects["/data/moved.tif"] = server.url("private/scene.tif")
        yield server


def _cli(tmp_path, *args: str) -> subprocess.CompletedProcess:
    script = tmp_path / "answers.json"
    script.write_text(json.dumps({"answers": [POND]}))
    return subprocess.run([sys.executable, "-m", "model_backend", "run", "-i", "[detection] ponds", "--engine",
                           "scripted", "--script", str(script), "-q", "--tile-size", "256", "--overlap", "0", *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)


def _window_polygon(data: bytes, col: int, row: int, side: int) -> dict:
    """A GeoJSON polygon over pixels ``col..col+side, row..row+side`` of the raster, in its CRS."""
    with MemoryFile(data) as mem, mem.open() as ds:
        x0, y0 = ds.transform @ (col, row + side)
        x1, y1 = ds.transform @ (col + side, row)
        crs = ds.crs.to_string()
    return {"type": "FeatureCollection", "crs": {"type": "name", "properties": {"name": crs}},
            "features": [{"type": "Feature", "properties": {}, "geometry": mapping(box(x0, y0, x1, y1))}]}


def test_cli_small_area_of_a_cog_fetches_a_small_part_of_it(served, tmp_path):
    cog = served.files["/data/scene.tif"]
    area = tmp_path / "area.geojson"
    area.write_text(json.dumps(_window_polygon(cog, 1024, 1024, 256)))
    served.reset_counts()
    out = tmp_path / "out.gpkg"
    run = _cli(tmp_path, "--raster", served.url("data/scene.tif") + "?" + SECRET, "--area", str(area), "-o", str(out))
    assert run.returncode == 0, run.stderr
    fetched = served.bytes_served("data/scene.tif")
    ratio = fetched / len(cog)
    print(f"\nsmall area of interest (256x256 px of 2048x2048): {fetched} of {len(cog)} bytes = {ratio:.2%}, "
          f"{len(served.requests('data/scene.tif'))} requests")
    assert ratio < 0.10
    assert "tiles     1/1" in run.stdout  # one 256-px tile read: the rest of the raster was never asked for
    info = pyogrio.read_info(str(out), layer=pyogrio.list_layers(str(out))[0][0])
    assert info["features"] == 1
    with open(out, "rb") as fh:
        assert b"5ecret" not in fh.read()  # the signed query string is not in the layer metadata


def test_cli_reads_stac_items_visual_and_band_assets(served, tmp_path):
    local_item = tmp_path / "item.json"  # a local item whose hrefs are URLs
    local_item.write_text(json.dumps(stac_item(
        {c: band_asset(served.url(f"data/{c}.tif"), c, c) for c in ("red", "green", "blue")})))
    for raster, extra in ((served.url("data/visual.json"), ()), (served.url("data/bands.json"), ()),
                          (str(local_item), ("--stac-assets", "red,green,blue"))):
        run = _cli(tmp_path, "--raster", raster, *extra, "-o", str(tmp_path / "out.gpkg"), "--max-tiles", "100")
        assert run.returncode == 0, run.stderr
        assert "objects   pond:" in run.stdout
    run = _cli(tmp_path, "--raster", served.url("data/bands.json"), "--stac-assets", "B04,nir,B02",
               "-o", str(tmp_path / "out.gpkg"))
    assert run.returncode == 1 and "no asset 'nir'" in run.stderr and "B03 (image/tiff, data, green)" in run.stderr


def test_a_server_that_drops_mid_run_keeps_the_finished_tiles(tmp_path):
    with RangeServer({"/scene.tif": scene_cog()}) as server:
        cfg = RunConfig(raster=server.url("scene.tif") + "?" + SECRET, instruction="[detection] ponds",
                        engine="scripted", output=str(tmp_path / "out.gpkg"), tile_size=256, overlap=0,
                        concurrency=1, run_name="dropped")
        done = []

        def on_event(event):
            if event.kind == "tile":
                done.append(event.tiles_done)
                if event.tiles_done == 3:
                    server.kill()

        started = time.monotonic()
        with pytest.raises(RasterError) as caught:
            Pipeline(cfg, get_engine("scripted", answers=POND)).run(on_event=on_event)
        elapsed = time.monotonic() - started
    message = str(caught.value)
    assert "over HTTP" in message and "cannot be reached" in message and "Connection refused" in message
    assert f"tiles finished before were written to {tmp_path / 'out.gpkg'}" in message
    assert "5ecret" not in message
    assert elapsed < 30  # refused connections are not retried for minutes
    finished = done[-1]
    assert 3 <= finished < 64
    meta, _fids, _wkb, fields = pyogrio.raw.read(str(tmp_path / "out.gpkg"), layer="dropped_boxes")
    fields = dict(zip(meta["fields"], fields))
    assert len(fields["partial"]) == finished and set(fields["partial"]) == {"true"}  # one pond per tile done
    assert sorted(int(t) for t in fields["tile"]) == sorted(set(int(t) for t in fields["tile"]))


@pytest.fixture(scope="module")
def backend(tmp_path_factory, served):
    tmp = tmp_path_factory.mktemp("remote")
    proc, url = start_server(tmp, "--token", TOKEN, "--allow-dir", str(tmp), "--allow-url", served.url("data/"),
                             script={"answers": [POND], "latency": 0.0})
    client = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60)
    yield client, tmp
    client.close()
    proc.terminate()
    proc.wait(10)
    assert "5ecret" not in (tmp / "server.log").read_text()


def _job(client, **body) -> dict:
    body.setdefault("instruction", "[detection] ponds")
    body.setdefault("tile_size", 512)
    body.setdefault("overlap", 0)
    return wait_end(client, submit(client, **body), timeout=90)


def test_backend_server_reads_urls_inside_allow_url_only(backend, served):
    client, _tmp = backend
    status = _job(client, raster=served.url("data/scene.tif") + "?" + SECRET)
    assert status["state"] == "done", status
    assert status["result"]["counts"] == {"pond": 16} and status["result"]["partial"] is False
    assert "5ecret" not in json.dumps(client.get("/v1/jobs").json())  # listings show the URL redacted
    other_port = served.url("data/scene.tif").replace(str(served.port), "9")
    for refused in (served.url("private/scene.tif"), served.url("database/scene.tif"), other_port,
                    "/vsicurl/" + served.url("private/scene.tif")):
        response = client.post("/v1/jobs", json={"raster": refused, "instruction": "[detection] ponds"})
        assert response.status_code == 403 and "--allow-url" in response.json()["detail"], refused
    assert not served.requests("private/scene.tif")  # nothing was fetched for a refused URL


def test_backend_server_checks_stac_assets_and_redirects(backend, served):
    client, _tmp = backend
    status = _job(client, raster=served.url("data/bands.json"), stac_assets=["red", "green", "blue"])
    assert status["state"] == "done", status
    assert status["result"]["counts"] == {"pond": 4}  # 1024 px bands: 4 tiles
    response = client.post("/v1/jobs", json={"raster": served.url("data/leaky.json"), "instruction": "ponds"})
    assert response.status_code == 403
    assert "STAC asset 'visual'" in response.json()["detail"] and "--allow-url" in response.json()["detail"]
    # a URL inside that redirects outside: the job fails when the redirect is seen, before GDAL follows it
    status = _job(client, raster=served.url("data/moved.tif"))
    assert status["state"] == "error" and "redirected" in status["error"] and "--allow-url" in status["error"]
    assert not served.requests("private/scene.tif")


def test_local_stac_item_in_an_allowed_folder(backend, served):
    client, tmp = backend
    item = tmp / "item.json"
    item.write_text(json.dumps(stac_item({"visual": visual_asset(served.url("data/scene.tif"))})))
    status = _job(client, raster=str(item), tile_size=1024)
    assert status["state"] == "done" and status["result"]["counts"] == {"pond": 4}
    item.write_text(json.dumps(stac_item({"visual": visual_asset("/etc/hostname.tif")})))
    response = client.post("/v1/jobs", json={"raster": str(item), "instruction": "ponds"})
    assert response.status_code == 403 and "allowed folders" in response.json()["detail"]


def test_rasterio_reads_what_was_served_unchanged(served):
    # the fixture's COG is a real cloud-optimised layout: tiled, with overviews
    with MemoryFile(served.files["/data/scene.tif"]) as mem, mem.open() as ds:
        assert ds.block_shapes[0] == (256, 256) and ds.overviews(1) == [2, 4, 8]
        assert ds.profile["compress"].lower() == "deflate" and isinstance(ds, rasterio.io.DatasetReader)
