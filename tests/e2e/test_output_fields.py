"""The output fields the vocabulary announces are the fields runs really write, for every task."""

from __future__ import annotations

import pyogrio
import pytest
from shapely.geometry import box

from model_backend.engines import get_engine
from model_backend.pipeline.config import RunConfig
from model_backend.pipeline.runner import Pipeline
from model_backend.tasks import Task
from model_backend.vocabulary import capabilities

#: One answer per task in the canonical dialect (coordinates 0-1000 of each tile).
ANSWERS = {
    Task.DETECTION: "<ref>pond</ref>{(100,100),(300,100),(300,300),(100,300)}",
    Task.SEGMENTATION: "<ref>field</ref><box>[200,200,600,600]</box>",
    Task.CHANGE: "<ref>new pond</ref>{(100,100),(400,100),(400,400),(100,400),(100,100)}",
    Task.CAPTION: "Farmland with ponds.",
    Task.IDENTIFY: "A pond.",
    Task.VQA: "Yes.",
    Task.CLASSIFY: "farmland",
    Task.GEOLOCATION: "<gps>[47.02, -99.15]</gps>",
}


@pytest.mark.parametrize("task", list(Task), ids=lambda t: t.value)
def test_every_written_field_is_announced(task, tmp_path, data_dir):
    announced = {f["name"]: f["type"] for f in capabilities()["output_fields"]}
    raster = str(data_dir / "naip_2009.tif")
    config = RunConfig(raster=raster, raster_b=raster if task is Task.CHANGE else None,
                       instruction="ponds", task=task.value, output=str(tmp_path / "out.gpkg"), engine="scripted",
                       segmenter="none", tile_size=512, overlap=0)
    regions = [(box(487000, 5207000, 487500, 5207500), {})] if task is Task.IDENTIFY else None
    result = Pipeline(config, get_engine("scripted", answers=ANSWERS[task]), regions=regions).run()
    assert result.outputs["layers"], result.warnings
    for layer in result.outputs["layers"].values():
        info = pyogrio.read_info(config.output, layer=layer)
        written = dict(zip(info["fields"], info["dtypes"], strict=True))
        assert set(written) <= set(announced), set(written) - set(announced)
        for name, dtype in written.items():
            assert (announced[name] == "real") == (dtype == "float64"), (name, dtype)
