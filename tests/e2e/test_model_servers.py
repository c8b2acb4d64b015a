"""A pipeline run through the OpenAI engine with two model servers (real HTTP on loopback), one of them
killed mid-run: every tile is still done, by the server left."""

from __future__ import annotations

from model_backend.engines import get_engine
from model_backend.pipeline.config import RunConfig
from model_backend.pipeline.runner import Pipeline
from tests.helpers.fake_openai import FakeOpenAIServer, Reply, completion

BOX = "<ref>roof</ref>{(100,100),(300,100),(300,300),(100,300)}"


def _server(delay: float) -> FakeOpenAIServer:
    return FakeOpenAIServer(default=lambda body: Reply(body=completion(BOX), delay=delay), slots=1)


def test_run_survives_one_of_two_servers_stopped_mid_run(data_dir, tmp_path):
    with _server(0.05) as a, _server(0.05) as b:
        config = RunConfig(raster=str(data_dir / "RGB.byte.tif"), instruction="[detection] roofs",
                           output=str(tmp_path / "out.gpkg"), engine="openai", base_url=[a.url, b.url],
                           tile_size=128, overlap=16, concurrency=2, endpoint_concurrency=1)
        engine = get_engine("openai", base_url=config.base_url, concurrency=1, backoff=0.2, read_timeout=10)
        killed_at: list[int] = []

        def on_event(event) -> None:
            if event.kind == "tile" and event.tiles_done == 6 and not killed_at:
                killed_at.append(len(b.chat_requests()))
                b.kill()  # requests in service on b are cut; new ones are refused

        with engine:
            result = Pipeline(config, engine).run(on_event=on_event)
            endpoints = engine.describe()["endpoints"]
    assert killed_at, "the run ended before the kill"
    assert not result.partial and result.tiles_total > 20
    # the same tiles done and objects found as a run on one healthy server (tiles all nodata are skipped)
    with _server(0.0) as healthy:
        reference_config = RunConfig(**{**config.to_dict(), "base_url": [healthy.url],
                                        "output": str(tmp_path / "reference.gpkg")})
        with get_engine("openai", base_url=healthy.url) as reference_engine:
            reference = Pipeline(reference_config, reference_engine).run()
    assert result.tiles_done == reference.tiles_done == len(healthy.chat_requests())
    assert result.counts == reference.counts and result.counts.get("roof", 0) > 0
    served_a, served_b = len(a.chat_requests()), len(b.chat_requests())
    assert served_b <= killed_at[0] + 1 < served_a  # b stopped taking work; a took the rest
    assert endpoints[1]["failed"] >= 1 and endpoints[1]["last_error"]
