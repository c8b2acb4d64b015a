"""Follow-ups through the server process: a job about "these" objects of an earlier job's layer, given by path
(checked like any file a job reads) or inline as GeoJSON, filtered without a model call."""

from __future__ import annotations

import httpx
import pyogrio
import pytest
import rasterio
import shapely
from shapely.geometry import mapping

from tests.e2e.test_server import TOKEN, events, start_server, submit


@pytest.fixture(scope="module")
def server(tmp_path_factory, data_dir):
    tmp = tmp_path_factory.mktemp("server-followup")
    proc, url = start_server(tmp, "--token", TOKEN, "--allow-dir", str(data_dir), "--allow-dir", str(tmp))
    client = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30)
    yield client, tmp
    client.close()
    proc.terminate()
    proc.wait(10)


def west_half(raster) -> dict:
    with rasterio.open(raster) as src:
        left, bottom, right, top = src.bounds
    middle = (left + right) / 2
    ring = [[left, bottom], [middle, bottom], [middle, top], [left, top], [left, bottom]]
    return {"type": "FeatureCollection",
            "features": [{"type": "Feature", "properties": {}, "geometry": {"type": "Polygon", "coordinates": [ring]}}]}


def requests_answered(client) -> int:
    return client.get("/v1/health").json()["engine"]["requests"]


def finished(client, job) -> dict:
    evs = events(client, job)
    assert evs[-1]["kind"] == "done", evs[-1]
    return evs[-1]["data"]


def test_a_follow_up_job_filters_an_earlier_layer_without_the_model(server, data_dir):
    client, tmp = server
    raster = str(data_dir / "naip_2020.tif")
    output = tmp / "ponds.gpkg"
    first = finished(client, submit(client, raster=raster, instruction="[detection] ponds", tile_size=512, overlap=64,
                                    run_name="ponds", output=str(output)))
    assert first["counts"] == {"pond": 4}
    asked = requests_answered(client)

    by_path = finished(client, submit(client, raster=raster, instruction="remove the ones inside the west layer",
                                      context_geojson={"west": west_half(raster)}, output=str(output),
                                      previous={"layer": f"{output}|ponds_boxes"}))
    assert by_path["task_source"] == "followup" and by_path["counts"] == {"pond": 2}
    assert by_path["outputs"]["layers"] == {"boxes": "ponds_then_1_boxes"}
    assert [step["mode"] for step in by_path["followup"]["chain"]] == ["find", "remove"]
    assert [row[0] for row in pyogrio.list_layers(str(output))] == ["ponds_boxes", "ponds_then_1_boxes"]

    # the same previous result sent inline (a client whose files the server cannot open)
    _meta, _fids, wkb, _fields = pyogrio.raw.read(str(output), layer="ponds_boxes")
    collection = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"label": "pond"}, "geometry": mapping(shapely.from_wkb(g))} for g in wkb]}
    inline = finished(client, submit(client, raster=raster, instruction="which of these are inside the west layer?",
                                     context_geojson={"west": west_half(raster)},
                                     previous={"geojson": collection, "name": "ponds_boxes",
                                               "siblings": ["ponds_boxes", "ponds_then_1_boxes"]}))
    assert inline["counts"] == {"pond": 2} and inline["answers"][0]["text"] == "2 ponds (of 4; see the layer)"
    assert inline["outputs"]["layers"] == {"boxes": "ponds_then_2_boxes"}  # new beside the client's layers too
    assert requests_answered(client) == asked  # neither follow-up asked the model anything

    job = submit(client, raster=raster, instruction="keep those larger than 1 m2",
                 previous={"geojson": collection, "name": "ponds_boxes"})
    listed = client.get(f"/v1/jobs/{job}").json()
    assert listed["request"]["previous"] == {"layer": None, "name": "ponds_boxes", "features": 4}


def test_follow_up_requests_are_checked_and_refused_clearly(server, data_dir, tmp_path_factory):
    client, _tmp = server
    raster = str(data_dir / "naip_2020.tif")
    outside = tmp_path_factory.mktemp("elsewhere") / "x.gpkg"
    refused = client.post("/v1/jobs", json={"raster": raster, "instruction": "now only those larger than 5 m2",
                                            "previous": {"layer": f"{outside}|x_boxes"}})
    assert refused.status_code == 403 and "previous result" in refused.json()["detail"]
    nothing = client.post("/v1/jobs", json={"raster": raster, "instruction": "now only those larger than 5 m2"})
    assert nothing.status_code == 400 and "there is none to follow up on" in nothing.json()["detail"]
    both = client.post("/v1/jobs", json={"raster": raster, "instruction": "those", "previous": {}})
    assert both.status_code == 422
    plan = client.post("/v1/plan", json={"instruction": "which of these are larger than 5 m2?",
                                         "previous": {"geojson": {"type": "FeatureCollection", "features": []},
                                                      "name": "ponds_boxes"}})
    assert plan.status_code == 200 and plan.json()["task_source"] == "followup"
    assert plan.json()["sentences"][0]["text"].startswith("Start from the 0 objects of layer ponds_boxes")
