"""The model condition chain on one tile, with the real GeoRSMLLM dialect and a fake engine."""

import numpy as np
import pytest

from model_backend.conditions import Measure, ModelStep, Plan, Quantity, parse_plan, run_model_chain
from model_backend.dialects import get_dialect
from model_backend.engines.base import Engine, EngineRequest, EngineResponse, TokenProb
from model_backend.errors import ConfigError
from model_backend.geometry import RotatedBox
from model_backend.tasks import Task

SIZE = (200, 100)  # (width, height) of the image as sent
DIALECT = get_dialect("georsmllm")


class ScriptedAnswers(Engine):
    """Returns the given answers in order and records every request."""

    name = "fake-scripted"

    def __init__(self, answers):
        self.answers = list(answers)
        self.requests: list[EngineRequest] = []

    def load(self) -> None:
        pass

    def generate(self, request: EngineRequest) -> EngineResponse:
        self.requests.append(request)
        text = self.answers[len(self.requests) - 1]
        return EngineResponse(text, tokens=[TokenProb(0, len(text), 0.9)])


def box(x1, y1, x2, y2, label=None) -> RotatedBox:
    return RotatedBox(((x1, y1), (x2, y1), (x2, y2), (x1, y2)), label=label)


PLANES = [box(10, 10, 50, 30, "plane"), box(120, 20, 180, 60, "plane"), box(140, 70, 190, 95, "plane")]
EAST = PLANES[1:]


def answer(objs) -> str:
    return DIALECT.format_objects(objs, Task.DETECTION, SIZE)


@pytest.fixture
def image():
    return np.zeros((SIZE[1], SIZE[0], 3), dtype=np.uint8)


def test_later_steps_carry_previous_objects_in_set_of_points(image):
    steps = ["detect all planes", "select the ones on the east bank of the river", "select the ones in the south"]
    engine = ScriptedAnswers([answer(PLANES), answer(EAST), answer([box(140, 70, 190, 95)])])
    result = run_model_chain(steps, image, Task.DETECTION, DIALECT, engine, SIZE)

    assert len(engine.requests) == 3
    first, second, third = engine.requests
    assert first.prompt == "[detection] planes"  # the object phrase, as in the training data
    step1_objects = result.steps[0].objects
    assert len(step1_objects) == 3
    assert second.prompt == DIALECT.build_prompt(Task.DETECTION, steps[1], SIZE, regions=step1_objects)
    # each of step 1's objects is written into step 2's prompt in set-of-points
    for obj in step1_objects:
        assert answer([obj]) in second.prompt
    assert answer([PLANES[0]]) not in third.prompt  # only step 2's survivors go to step 3
    for obj in result.steps[1].objects:
        assert answer([obj]) in third.prompt

    assert len(result.objects) == 1
    assert result.objects[0].label == "plane"  # the class name survives bare later answers
    np.testing.assert_allclose(result.objects[0].corners, PLANES[2].corners, atol=0.2)
    assert result.raw_texts == engine.answers
    assert result.steps[-1].tokens == [TokenProb(0, len(engine.answers[-1]), 0.9)]
    assert not result.stopped_early and result.warnings == []


def test_the_same_image_object_goes_with_every_step(image):
    engine = ScriptedAnswers([answer(PLANES), answer(EAST)])
    run_model_chain(["detect planes", "select the ones on the right"], image, Task.DETECTION, DIALECT, engine, SIZE)
    assert all(len(r.images) == 1 and r.images[0] is image for r in engine.requests)


def test_change_task_sends_the_same_two_images_each_step(image):
    after = image.copy()
    region = [box(20, 20, 60, 60)]
    engine = ScriptedAnswers([answer(region), answer(region)])
    run_model_chain(["find new buildings", "select the ones near the road"], [image, after], Task.CHANGE, DIALECT, engine, SIZE)
    for r in engine.requests:
        assert r.images[0] is image and r.images[1] is after
    with pytest.raises(ConfigError, match="2 image"):
        run_model_chain(["find new buildings"], image, Task.CHANGE, DIALECT, ScriptedAnswers(["None"]), SIZE)


def test_empty_result_stops_the_chain(image):
    engine = ScriptedAnswers(["None", answer(EAST), answer(EAST)])
    result = run_model_chain(["detect planes", "select the ones on the left", "select the big ones"], image, Task.DETECTION, DIALECT, engine, SIZE)
    assert len(engine.requests) == 1
    assert result.objects == [] and result.stopped_early
    assert any("found nothing" in w and "2 later step" in w for w in result.warnings)


def test_empty_last_step_is_not_an_early_stop(image):
    engine = ScriptedAnswers([answer(PLANES), "None"])
    result = run_model_chain(["detect planes", "select the red ones"], image, Task.DETECTION, DIALECT, engine, SIZE)
    assert len(engine.requests) == 2 and result.objects == [] and not result.stopped_early


def test_a_plans_visual_conditions_are_model_steps_and_its_measures_are_not(image):
    plan = parse_plan("find planes that are being refuelled and larger than 500 m²")
    assert plan.model_steps == (ModelStep("planes", "find"), ModelStep("select the ones that are being refuelled", "filter"))
    assert plan.where == Measure("area", ">", Quantity(500, "m²"))
    engine = ScriptedAnswers([answer(PLANES), answer(EAST)])
    result = run_model_chain(plan.model_steps, image, Task.DETECTION, DIALECT, engine, SIZE)
    assert len(engine.requests) == 2
    assert [s.text for s in result.steps] == ["planes", "select the ones that are being refuelled"]
    assert engine.requests[0].prompt == "[detection] planes"


def test_no_model_step_sends_nothing(image):
    engine = ScriptedAnswers([])
    measures_only = Plan("detection", where=Measure("area", ">", Quantity(5, "m²")))
    result = run_model_chain(measures_only.model_steps, image, Task.DETECTION, DIALECT, engine, SIZE)
    assert engine.requests == [] and result.objects == [] and result.warnings


def test_parse_warnings_are_collected_per_step(image):
    broken = answer(PLANES[:1]) + "\n{(10,10),(20"
    engine = ScriptedAnswers([broken, answer(PLANES[:1])])
    result = run_model_chain(["detect planes", "select the ones on the left"], image, Task.DETECTION, DIALECT, engine, SIZE)
    assert len(result.steps[0].objects) == 1
    assert result.steps[0].warnings
    assert any(w.startswith("step 1 ('detect planes'):") for w in result.warnings)
    assert result.steps[0].raw_text == broken
