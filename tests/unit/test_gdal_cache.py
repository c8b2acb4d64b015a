"""GDAL's block cache during a run is the size the settings name (in MiB), not that many bytes."""

from __future__ import annotations

import rasterio

from model_backend.engines.base import EngineRequest, EngineResponse
from model_backend.engines.scripted import ScriptedEngine
from model_backend.pipeline.config import RunConfig
from model_backend.pipeline.runner import Pipeline
from model_backend.raster.gdal_cache import cache_bytes, cache_state


class CacheRecordingEngine(ScriptedEngine):
    """Answers "None" and records the block cache size in effect at each model call (pool threads)."""

    def __init__(self):
        super().__init__(["None"])
        self.seen: list[int] = []

    def generate(self, request: EngineRequest) -> EngineResponse:
        self.seen.append(cache_state().max_bytes)
        return super().generate(request)


def test_cache_state_reads_rasterio_gdal():
    state = cache_state()
    assert state is not None, "rasterio's GDAL library was not found through ctypes"
    with rasterio.Env(GDAL_CACHEMAX=cache_bytes(48)):
        assert cache_state().max_bytes == 48 * 2**20
    assert cache_state().max_bytes == state.max_bytes


def test_run_holds_the_configured_cache_in_mib_and_restores_it(data_dir, tmp_path):
    before = cache_state().max_bytes
    engine = CacheRecordingEngine()
    config = RunConfig(raster=str(data_dir / "RGB.byte.tif"), instruction="[detection] planes", engine="scripted",
                       output=str(tmp_path / "out.gpkg"), tile_size=256, overlap=32, gdal_cache_mb=96)
    during_events: list[int] = []
    result = Pipeline(config, engine).run(on_event=lambda _e: during_events.append(cache_state().max_bytes))
    assert result.tiles_done == result.tiles_total > 1
    assert engine.seen and set(engine.seen) == {96 * 2**20}
    assert set(during_events) == {96 * 2**20}
    assert cache_state().max_bytes == before
