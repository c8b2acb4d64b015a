"""Who may call the server: Host and Origin checks (DNS rebinding, foreign pages), tokens, binding, body
limits and content types, through the real app in process (the e2e tests drive a real server process)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from model_backend.errors import ConfigError
from model_backend.server.app import ServerSettings, create_app
from model_backend.server.main import resolve_token
from model_backend.server.security import HostPolicy, check_bind, check_token_text

TOKEN = "unit-token"


class FakeBackend:
    def __init__(self):
        self.requests = []

    def describe(self):
        return {"engine": {"engine": "fake"}}

    def plan(self, request):
        return {"instruction": request.instruction}

    def job(self, request, job_dir: Path):
        self.requests.append(request)

        def run(emit, cancel):
            if request.instruction == "crash":
                raise RuntimeError("boom in the job")
            return {}

        return run


@pytest.fixture
def app(tmp_path, data_dir):
    return create_app(FakeBackend(), ServerSettings(port=8765, token=TOKEN, work_dir=str(tmp_path / "work"),
                                                    allowed_dirs=[str(data_dir)], max_body_mb=0.05))


@pytest.fixture
def client(app):
    with TestClient(app, base_url="http://127.0.0.1:8765", headers={"Authorization": f"Bearer {TOKEN}"}) as c:
        yield c


def test_host_policy_accepts_this_server_only():
    policy = HostPolicy("127.0.0.1", 8765)
    for ok in ("127.0.0.1:8765", "localhost:8765", "LOCALHOST:8765", "[::1]:8765", "127.0.0.2:8765"):
        assert policy.host_ok(ok), ok
    for bad in ("evil.example:8765", "evil.example", "127.0.0.1", "127.0.0.1:80", "localhost:8766", "",
                None, "127.0.0.1:8765@evil", "a b:8765", "10.0.0.5:8765", "localhost.evil.example:8765"):
        assert not policy.host_ok(bad), bad
    wildcard = HostPolicy("0.0.0.0", 8765, ["gpu-box.lan"])
    assert wildcard.host_ok("192.168.1.20:8765") and wildcard.host_ok("gpu-box.lan:8765")
    assert not wildcard.host_ok("evil.example:8765")
    assert policy.origin_ok(None, "127.0.0.1:8765")
    assert policy.origin_ok("http://127.0.0.1:8765", "127.0.0.1:8765")
    for origin in ("http://evil.example", "null", "http://localhost:8765", "file://"):
        assert not policy.origin_ok(origin, "127.0.0.1:8765"), origin


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.5", "10.0.0.1", "example.com", "[::]", "0",
                                  "172.16.0.1", "fe80::1", "127.0.0.1.nip.io"])
def test_binding_off_loopback_needs_a_token(host):
    with pytest.raises(ConfigError, match="token"):
        check_bind(host, None)
    check_bind(host, "t")  # fine with one


def test_tokens_generated_by_default_and_blank_ones_refused():
    token, generated = resolve_token(None, None, no_token=False)
    assert generated and len(token) >= 32
    assert resolve_token(None, None, no_token=True) == (None, False)
    assert resolve_token("abc", "env", no_token=False) == ("abc", False)
    assert resolve_token(None, "env", no_token=False) == ("env", False)
    assert resolve_token(None, "", no_token=False)[1]  # an empty variable counts as unset
    for blank in (" ", "", "\t", " padded"):
        with pytest.raises(ConfigError):
            check_token_text(blank)
    with pytest.raises(ConfigError):
        resolve_token("abc", None, no_token=True)


def test_foreign_host_and_origin_are_refused_on_every_endpoint(client, data_dir):
    body = {"raster": str(data_dir / "naip_2020.tif"), "instruction": "x"}
    assert client.get("/v1/jobs").status_code == 200
    assert client.get("/v1/jobs", headers={"Host": "evil.example:8765"}).status_code == 400
    assert client.post("/v1/jobs", json=body, headers={"Host": "evil.example"}).status_code == 400
    assert client.get("/v1/health", headers={"Origin": "http://evil.example"}).status_code == 403
    assert client.post("/v1/jobs", json=body, headers={"Origin": "null"}).status_code == 403
    assert client.get("/v1/health", headers={"Host": "localhost:8765"}).status_code == 200


@pytest.mark.parametrize("method,path", [("GET", "/v1/health"), ("GET", "/v1/jobs"), ("POST", "/v1/jobs"),
                                         ("POST", "/v1/plan"), ("POST", "/v1/uploads"), ("GET", "/v1/jobs/x"),
                                         ("GET", "/v1/jobs/x/events"), ("POST", "/v1/jobs/x/cancel"),
                                         ("GET", "/v1/jobs/x/result"), ("GET", "/docs"), ("GET", "/openapi.json"),
                                         ("GET", "/redoc"), ("GET", "/nothing")])
def test_every_endpoint_needs_the_token(app, method, path):
    with TestClient(app, base_url="http://127.0.0.1:8765") as anonymous:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
            assert anonymous.request(method, path, headers=headers, json={}).status_code == 401


def test_documentation_pages_are_off(client):
    for path in ("/docs", "/redoc", "/openapi.json"):
        assert client.get(path).status_code == 404


def test_posts_must_be_json_and_bodies_are_bounded(client, data_dir):
    body = json.dumps({"raster": str(data_dir / "naip_2020.tif"), "instruction": "x"})
    plain = client.post("/v1/jobs", content=body, headers={"Content-Type": "text/plain"})
    assert plain.status_code == 415
    form = client.post("/v1/uploads", content=b"a=b", headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert form.status_code == 415
    big = client.post("/v1/jobs", content=b"{" + b" " * 60_000 + b"}", headers={"Content-Type": "application/json"})
    assert big.status_code == 413

    def chunks():  # no Content-Length: the limit holds on the bytes received
        for _ in range(20):
            yield b" " * 4096

    streamed = client.post("/v1/plan", content=chunks(), headers={"Content-Type": "application/json"})
    assert streamed.status_code == 413


def test_job_listings_summarise_requests_instead_of_echoing_them(client, data_dir):
    area = {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]}
    response = client.post("/v1/jobs", json={"raster": str(data_dir / "naip_2020.tif"), "instruction": "y" * 3000,
                                             "area": area})
    assert response.status_code == 202, response.text
    listed = client.get("/v1/jobs").json()[0]["request"]
    assert listed["area"] == 1 and len(listed["instruction"]) < 300 and "coordinates" not in json.dumps(listed)


@pytest.mark.parametrize("change,fragment", [
    ({"raster": "{data}/naip_2020.tif\u0000x"}, "control characters"),
    ({"area": {"type": "Blob"}}, "unknown geometry type"),
    ({"area": {"type": "Polygon", "coordinates": "nonsense"}}, "nested lists"),
    ({"window": [0, 0, "NaN", 1]}, "finite"),
    ({"context_layers": ["x"] * 40}, "at most 32"),
    ({"classes": ["c"] * 300}, "at most 256"),
    ({"regions": {"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": None}]}}, "no geometry"),
])
def test_bad_inputs_get_a_clear_4xx(client, data_dir, change, fragment):
    body = {"raster": str(data_dir / "naip_2020.tif"), "instruction": "x"}
    body.update({k: (v.format(data=data_dir) if isinstance(v, str) else v) for k, v in change.items()})
    response = client.post("/v1/jobs", json=body)
    assert 400 <= response.status_code < 500, response.text
    assert fragment in response.text and "Traceback" not in response.text


def test_nan_literals_in_json_are_refused(client, data_dir):
    raw = ('{"raster": "%s", "instruction": "x", "window": [NaN, 0, 1, 1]}' % (data_dir / "naip_2020.tif"))
    assert client.post("/v1/jobs", content=raw, headers={"Content-Type": "application/json"}).status_code == 422
    upload = '{"png_base64": "", "crs": "EPSG:4326", "geotransform": [0, 1, 0, 0, 0, NaN]}'
    assert client.post("/v1/uploads", content=upload, headers={"Content-Type": "application/json"}).status_code == 422


def test_a_crashing_job_reports_one_line_without_traceback(client, data_dir, caplog):
    job = client.post("/v1/jobs", json={"raster": str(data_dir / "naip_2020.tif"), "instruction": "crash"}).json()
    deadline = time.monotonic() + 10
    while (status := client.get(f"/v1/jobs/{job['id']}").json())["state"] != "error":
        assert time.monotonic() < deadline
        time.sleep(0.02)
    assert "boom in the job" in status["error"] and "Traceback" not in status["error"]
    with client.stream("GET", f"/v1/jobs/{job['id']}/events") as response:
        text = "".join(response.iter_text())
    assert "boom in the job" in text and "Traceback" not in text and "traceback" not in text
