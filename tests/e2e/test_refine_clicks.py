"""Refining a result by clicking, through the real server with a tiny random-weight SAM2: a segmentation run
keeps its tiles' encodings, a point or a box re-decodes an object from them (no new encoding), an evicted tile
is encoded again, and bad requests are refused with a reason. Random weights make the outlines meaningless:
these tests check the plumbing (frames, counts, geometry in the layer's CRS, refusals)."""

from __future__ import annotations

import json

import httpx
import pytest
import shapely
from shapely.geometry import mapping, shape

from tests.e2e.test_server import events, start_server, submit

pytest.importorskip("torch")
pytest.importorskip("sam2")

TOKEN = "refine-token"
SEG = "<ref>pond</ref><box>[250,250,650,650]</box><keypoint>[(450,450)]</keypoint>"
TILE, OVERLAP = 512, 64  # naip_2020 (934 x 723 px) -> 2 x 2 tiles


@pytest.fixture(scope="module")
def server(tmp_path_factory, data_dir):
    from tests.helpers.tiny_models import build_sam2_tiny

    tmp = tmp_path_factory.mktemp("refine_server")
    checkpoint = build_sam2_tiny(tmp / "sam2_tiny_random.pt", image_size=256)
    proc, url = start_server(
        tmp, "--token", TOKEN, "--allow-dir", str(data_dir), "--allow-dir", str(tmp), "--device", "cpu",
        "--segmenter", "sam2", "--sam2-checkpoint", str(checkpoint), "--sam2-size", "tiny",
        "--sam2-image-size", "256", "--sam2-cache-entries", "2",
        script={"rules": [{"prompt_contains": "[seg]", "answer": SEG}], "default": "None"})
    client = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60)
    yield client, tmp
    client.close()
    proc.terminate()
    proc.wait(10)


#: squares (col, row, size) in raster pixels inside the first tile only and inside the last tile only (tile
#: windows: columns 0-512 and 422-934, rows 0-512 and 211-723)
SQUARES = {"0": (100, 50, 100), "3": (650, 550, 100)}


@pytest.fixture(scope="module")
def run(server, data_dir):
    """A finished segmentation run (job id and result), and objects to refine (raster CRS) lying in its first
    and in its last tile only. They are squares rather than the run's own outlines: random weights make
    those arbitrary specks, too small to prompt about."""
    import rasterio

    client, _tmp = server
    job = submit(client, raster=str(data_dir / "naip_2020.tif"), instruction="[seg] the ponds", tile_size=TILE,
                 overlap=OVERLAP, run_name="ponds")
    done = events(client, job)[-1]
    assert done["kind"] == "done", done
    with rasterio.open(data_dir / "naip_2020.tif") as src:
        transform = src.transform
    squares = {}
    for tile, (col, row, size) in SQUARES.items():
        (x0, y0), (x1, y1) = transform @ (col, row + size), transform @ (col + size, row)
        squares[tile] = shapely.box(x0, y0, x1, y1)
    return job, done["data"], squares


def segmenter_counts(client) -> tuple[int, dict]:
    info = client.get("/v1/health").json()["segmenter"]
    return info["n_image_encodings"], info["encoding_cache"]


def refine(client, job, feature, **body):
    return client.post("/v1/refine", json={"job_id": job, "feature": mapping(feature), **body})


def inside(geom) -> dict:
    point = geom.representative_point()
    return {"x": point.x, "y": point.y, "label": 1}


def test_the_run_records_its_frame_and_keeps_its_encodings(server, run, data_dir):
    client, _tmp = server
    _job, result, _squares = run
    frame = result["frame"]
    assert frame["raster"] == str(data_dir / "naip_2020.tif")
    assert (frame["tile_size"], frame["overlap"], frame["task"]) == (TILE, OVERLAP, "seg")
    assert result["tiles_total"] == 4
    job_folder = next((_tmp / "work" / "jobs").glob(f"{_job}"))
    assert json.loads((job_folder / "frame.json").read_text()) == frame  # the server's own record
    encodings, cache = segmenter_counts(client)
    assert encodings == 4  # one per tile
    assert cache["entries"] == 2 and cache["max_entries"] == 2 and cache["evictions"] == 2


def test_a_point_and_a_box_refine_from_the_kept_encoding(server, run):
    client, _tmp = server
    job, _result, squares = run
    feature = squares["3"]  # the last tile read: still in the cache
    before, _ = segmenter_counts(client)

    response = refine(client, job, feature, points=[inside(feature)], label="pond")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["reused_encoding"] is True
    assert body["frame"]["kind"] == "tile" and body["frame"]["tile"] == 3
    outline, box = shape(body["outline"]), shape(body["box"])
    assert outline.geom_type == box.geom_type == "Polygon" and outline.is_valid and not outline.is_empty
    # in the layer's (raster's) CRS, within the prompt box (the square's envelope grown by 5 %) grown by 10 %
    grow = 25 + 0.1 * 550 + 1  # metres
    x0, y0, x1, y1 = feature.bounds
    assert shapely.box(x0 - grow, y0 - grow, x1 + grow, y1 + grow).covers(outline)
    assert len(box.exterior.coords) == 5 and box.buffer(1e-6).covers(outline)
    assert body["outline_measures"]["area_m2"] == pytest.approx(outline.area, rel=1e-3)  # UTM: metres

    response = refine(client, job, feature, box=[x0 - 100, y0 - 100, x1 + 100, y1 + 100],
                      points=[{**inside(feature), "label": 0}])
    assert response.status_code == 200, response.text
    assert response.json()["reused_encoding"] is True
    assert segmenter_counts(client)[0] == before  # no new encoding for either


def test_an_evicted_tile_is_encoded_again_then_kept(server, run):
    client, _tmp = server
    job, _result, squares = run
    feature = squares["0"]  # evicted by the later tiles of the run (the cache holds two)
    before, _ = segmenter_counts(client)
    first = refine(client, job, feature, points=[inside(feature)])
    assert first.status_code == 200, first.text
    assert first.json()["reused_encoding"] is False and first.json()["frame"]["tile"] == 0
    second = refine(client, job, feature, points=[inside(feature)])
    assert second.json()["reused_encoding"] is True
    assert segmenter_counts(client)[0] == before + 1


def test_points_in_another_crs_come_back_in_it(server, run):
    client, _tmp = server
    job, _result, squares = run
    import pyproj

    to_wgs84 = pyproj.Transformer.from_crs("EPSG:26914", "EPSG:4326", always_xy=True)
    feature = shapely.transform(squares["3"], lambda xy: shapely.get_coordinates(
        shapely.points(*to_wgs84.transform(xy[:, 0], xy[:, 1]))))
    response = refine(client, job, feature, points=[inside(feature)], crs="EPSG:4326")
    assert response.status_code == 200, response.text
    outline = shape(response.json()["outline"])
    assert -180 < outline.centroid.x < 180 and -90 < outline.centroid.y < 90
    assert outline.distance(feature) < 0.01  # degrees: near the object, not metres away


def test_a_forgotten_job_is_refined_from_the_frame_the_client_kept(server, run):
    client, _tmp = server
    _job, result, squares = run
    feature = squares["3"]
    response = client.post("/v1/refine", json={"job_id": "ffff0000", "run": result["frame"], "feature": mapping(feature),
                                               "points": [inside(feature)]})
    assert response.status_code == 200, response.text
    assert response.json()["reused_encoding"] is True  # same pixels, same key


@pytest.mark.parametrize("change, status, words", [
    ({"points": []}, 422, "points"),
    ({"points": [{"x": 1.0, "y": 2.0, "label": 1}] * 33}, 422, "33"),
    ({"points": [{"x": 1.0, "y": 2.0, "label": 2}]}, 422, "label"),
    ({"box": [10.0, 10.0, 0.0, 20.0]}, 422, "xmin < xmax"),
    ({"feature": {"type": "Point", "coordinates": [0, 0]}}, 422, "Polygon"),
    ({"job_id": None}, 422, "job_id"),
    ({"job_id": "0123abcd"}, 404, "does not know job"),
    ({"crs": "http://example.com/crs"}, 400, "not recognised"),
    ({"extra": 1}, 422, "extra"),
])
def test_bad_requests_are_refused_with_a_reason(server, run, change, status, words):
    client, _tmp = server
    job, _result, squares = run
    feature = squares["3"]
    body = {"job_id": job, "feature": mapping(feature), "points": [inside(feature)], **change}
    response = client.post("/v1/refine", content=json.dumps(body), headers={"Content-Type": "application/json"})
    assert response.status_code == status, response.text
    assert words in response.text


def test_prompts_off_the_raster_and_runs_outside_the_allowed_folders_are_refused(server, run, tmp_path):
    client, _tmp = server
    job, result, squares = run
    feature = squares["3"]
    far = {"x": feature.centroid.x + 1e6, "y": feature.centroid.y, "label": 1}
    response = refine(client, job, feature, points=[far])
    assert response.status_code == 400 and "outside the run's raster" in response.text
    moved = shapely.affinity.translate(feature, 1e6, 0)
    response = refine(client, job, moved, points=[inside(moved)])
    assert response.status_code == 400 and "outside the run's raster" in response.text
    elsewhere = {**result["frame"], "raster": "/etc/passwd"}
    response = client.post("/v1/refine", json={"run": elsewhere, "feature": mapping(feature),
                                               "points": [inside(feature)]})
    assert response.status_code == 403


def test_refining_needs_the_token(server, run):
    client, _tmp = server
    job, _result, squares = run
    feature = squares["3"]
    response = httpx.post(f"{str(client.base_url).rstrip('/')}/v1/refine",
                          json={"job_id": job, "feature": mapping(feature), "points": [inside(feature)]})
    assert response.status_code == 401
