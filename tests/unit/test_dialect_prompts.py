"""The exact request each model family gets, per task: built from the instruction's object phrase in the
family's own convention (README, "Prompts per model family"), chain steps with the previous boxes in the
family's markup and frame, region captions, and the fallback of families that cannot take regions."""

import numpy as np
import pytest

from model_backend.conditions import run_model_chain
from model_backend.dialects import get_dialect
from model_backend.dialects.phrases import bare_phrase, combined_phrase, object_phrase
from model_backend.engines.base import Engine, EngineRequest, EngineResponse
from model_backend.errors import ConfigError
from model_backend.geometry import RotatedBox, SegTarget
from model_backend.geometry.types import box_corners
from model_backend.tasks import Task

SIZE = (1000, 500)  # (width, height) of the image as sent; Qwen2.5-VL's resized input is 1008 x 504
PLANES = [RotatedBox(tuple(box_corners((100, 50, 300, 150))), label="plane"),
          RotatedBox(tuple(box_corners((500, 200, 700, 400))), label="plane")]
REGION = [SegTarget((100, 50, 300, 150))]
EAST = "select the ones on the east bank of the river"


def prompt(dialect, task, instruction, regions=()):
    return get_dialect(dialect).build_prompt(task, instruction, SIZE, regions)


# --- the object phrase ------------------------------------------------------------------------------

@pytest.mark.parametrize("instruction, phrase, bare", [
    ("detect all planes", "all planes", "planes"),
    ("[detection] find the ships", "the ships", "the ships"),
    ("Where are the ships?", "the ships", "the ships"),
    ("Which buildings are damaged?", "buildings that are damaged", "buildings that are damaged"),
    ("Please segment the lakes larger than 2 ha", "the lakes larger than 2 ha", "the lakes larger than 2 ha"),
    ("show me all the cars", "all the cars", "cars"),
    (EAST, "the ones on the east bank of the river", "the ones on the east bank of the river"),
    ("planes", "planes", "planes"),
])
def test_object_phrase_drops_the_users_verb(instruction, phrase, bare):
    assert object_phrase(instruction) == phrase
    assert bare_phrase(instruction) == bare


def test_combined_phrase_puts_the_first_steps_objects_in_place_of_the_ones():
    assert combined_phrase("detect all planes", EAST) == "planes on the east bank of the river"
    assert combined_phrase("find ships", "select the ones that are moored") == "ships that are moored"
    assert combined_phrase("find ships", "planes near hangars") == "planes near hangars"


# --- detection, segmentation, change ------------------------------------------------------------------

EXPECTED = {
    "georsmllm": {
        Task.DETECTION: "[detection] planes",
        Task.SEGMENTATION: "[seg] the lakes",
        Task.CHANGE: "[change] new buildings",
    },
    "qwen2-vl": {
        Task.DETECTION: "Find <|object_ref_start|>planes<|object_ref_end|>",
        Task.SEGMENTATION: "Find <|object_ref_start|>the lakes<|object_ref_end|>",
        Task.CHANGE: "The first image was taken before, the second after. "
                     "Find <|object_ref_start|>new buildings<|object_ref_end|>",
    },
    "qwen2.5-vl": {
        Task.DETECTION: "Locate all planes in the image, report the bbox coordinates in JSON format.",
        Task.SEGMENTATION: 'Locate the lakes in the image, report the bbox coordinates and a point inside each '
                           'object in JSON format: [{"bbox_2d": [x1, y1, x2, y2], "point_2d": [x, y], '
                           '"label": "name"}].',
        Task.CHANGE: "The first image was taken before, the second after. Locate new buildings in the image, "
                     "report the bbox coordinates in JSON format.",
    },
    "qwen3-vl": {
        Task.DETECTION: 'Locate every object that matches the description "planes" in the image. '
                        "Report bbox coordinates in JSON format.",
        Task.SEGMENTATION: 'Locate every object that matches the description "the lakes" in the image. Report '
                           'bbox coordinates and a point inside each object in JSON format: [{"bbox_2d": '
                           '[x1, y1, x2, y2], "point_2d": [x, y], "label": "name"}].',
        Task.CHANGE: "The first image was taken before, the second after. Locate every object that matches the "
                     'description "new buildings" in the image. Report bbox coordinates in JSON format.',
    },
    "internvl": {
        Task.DETECTION: "Please provide the bounding box coordinates of the region this sentence describes: "
                        "<ref>planes</ref>",
        Task.SEGMENTATION: "Please provide the bounding box coordinates of the region this sentence describes: "
                           "<ref>the lakes</ref>",
        Task.CHANGE: "The first image was taken before, the second after. Please provide the bounding box "
                     "coordinates of the region this sentence describes: <ref>new buildings</ref>",
    },
    "florence-2": {
        Task.DETECTION: "<OPEN_VOCABULARY_DETECTION>planes",
        Task.SEGMENTATION: "<REFERRING_EXPRESSION_SEGMENTATION>the lakes",
    },
    "geochat": {
        Task.DETECTION: "[refer] Give me the location of <p> planes </p>",
        Task.SEGMENTATION: "[refer] Give me the location of <p> the lakes </p>",
    },
    "geo-r1": {
        Task.DETECTION: (
            "Please carefully check the image and detect the following objects: planes. Output each detected "
            "target's bbox coordinates in JSON format. The format of the bbox coordinates is:\n```json\n[\n"
            '    {"bbox_2d": [x1, y1, x2, y2], "label": "target name"},\n'
            '    {"bbox_2d": [x1, y1, x2, y2], "label": "target name"}\n]\n```\n'
            "If there are no such targets in the image, simply respond with None."
        ),
        Task.SEGMENTATION: (
            "First thinks about the reasoning process in the mind and then provides the user with the answer. "
            "The reasoning process and answer are enclosed within <think> </think> and <answer> </answer> tags, "
            "respectively, i.e., <think> reasoning process here </think><answer> answer here </answer>\n"
            "Please carefully check the image and answer: the lakes. Based on your answer, detect all relevant "
            "objects in the image.Output each detected target's bbox coordinates in JSON format. The format of "
            "the bbox coordinates is:\n```json\n[\n"
            '    {"bbox_2d": [x1, y1, x2, y2], "keypoint1": [x3, y3], "keypoint2": [x4, y4]},\n'
            '    {"bbox_2d": [x1, y1, x2, y2], "keypoint1": [x3, y3], "keypoint2": [x4, y4]}\n]\n```\n'
            "If there are no such targets in the image, simply respond with None."
        ),
    },
}
INSTRUCTIONS = {Task.DETECTION: "detect all planes", Task.SEGMENTATION: "segment the lakes",
                Task.CHANGE: "new buildings"}


@pytest.mark.parametrize("dialect, task", [(d, t) for d, per_task in EXPECTED.items() for t in per_task])
def test_object_requests_per_family(dialect, task):
    assert prompt(dialect, task, INSTRUCTIONS[task]) == EXPECTED[dialect][task]


@pytest.mark.parametrize("dialect", sorted(EXPECTED))
def test_no_request_puts_a_verb_before_the_users_verb(dialect):
    for task in (Task.DETECTION, Task.SEGMENTATION):
        text = prompt(dialect, task, INSTRUCTIONS[task]).lower()
        assert "detect all planes" not in text and "segment the lakes" not in text


# --- later steps of a condition chain ---------------------------------------------------------------

CHAIN = {
    "georsmllm": "[detection] the ones on the east bank of the river "
                 "<ref>plane</ref>{(100,100),(300,100),(300,300),(100,300)}; "
                 "<ref>plane</ref>{(500,400),(700,400),(700,800),(500,800)}",
    "qwen2-vl": "Of these objects: <|object_ref_start|>plane<|object_ref_end|><|box_start|>(100,100),(300,300)"
                "<|box_end|>, <|object_ref_start|>plane<|object_ref_end|><|box_start|>(500,400),(700,800)"
                "<|box_end|>. Find <|object_ref_start|>the ones on the east bank of the river<|object_ref_end|>",
    # absolute pixels of the 1008 x 504 model input
    "qwen2.5-vl": 'Of these objects: [{"bbox_2d": [101, 50, 302, 151], "label": "plane"}, {"bbox_2d": '
                  '[504, 202, 706, 403], "label": "plane"}]. Locate the ones on the east bank of the river in '
                  "the image, report the bbox coordinates in JSON format.",
    # relative 0-1000
    "qwen3-vl": 'Of these objects: [{"bbox_2d": [100, 100, 300, 300], "label": "plane"}, {"bbox_2d": '
                '[500, 400, 700, 800], "label": "plane"}]. Locate every object that matches the description '
                '"the ones on the east bank of the river" in the image. Report bbox coordinates in JSON format.',
    "internvl": "Of these objects: <ref>plane</ref><box>[[100, 100, 300, 300], [500, 400, 700, 800]]</box>. "
                "Please provide the bounding box coordinates of the region this sentence describes: "
                "<ref>the ones on the east bank of the river</ref>",
}


@pytest.mark.parametrize("dialect", sorted(CHAIN))
def test_chain_step_carries_the_boxes_in_the_familys_format(dialect):
    assert get_dialect(dialect).chain_regions
    assert prompt(dialect, Task.DETECTION, EAST, PLANES) == CHAIN[dialect]


@pytest.mark.parametrize("dialect", ["florence-2", "geochat", "geo-r1"])
def test_families_that_cannot_take_regions_refuse_them(dialect):
    assert not get_dialect(dialect).chain_regions
    with pytest.raises(ConfigError, match="cannot take regions"):
        prompt(dialect, Task.DETECTION, EAST, PLANES)


class Recorder(Engine):
    name = "recorder"

    def __init__(self, answers):
        self.answers, self.prompts = list(answers), []

    def load(self):
        pass

    def generate(self, request: EngineRequest) -> EngineResponse:
        self.prompts.append(request.prompt)
        return EngineResponse(self.answers[len(self.prompts) - 1])


def test_florence_chain_step_asks_one_referring_phrase_and_keeps_the_covered_objects():
    florence = get_dialect("florence-2")
    both = florence.format_objects(PLANES, Task.DETECTION, SIZE)
    east_only = florence.format_objects([RotatedBox(tuple(box_corners((490, 190, 710, 410))))],
                                        Task.DETECTION, SIZE)
    engine = Recorder([both, east_only])
    image = np.zeros((SIZE[1], SIZE[0], 3), np.uint8)
    result = run_model_chain(["detect all planes", EAST], image, Task.DETECTION, florence, engine, SIZE)

    assert engine.prompts == ["<OPEN_VOCABULARY_DETECTION>planes",
                              "<OPEN_VOCABULARY_DETECTION>planes on the east bank of the river"]
    assert len(result.objects) == 1  # the second plane, with the first step's geometry and label
    assert result.objects[0].label == "plane"
    np.testing.assert_allclose(result.objects[0].corners, PLANES[1].corners, atol=1.0)
    assert any("cannot take the previous step's objects as regions" in w and "kept the 1 of 2" in w
               for w in result.warnings)


# --- region captions ------------------------------------------------------------------------------

REGION_CAPTION = {
    "georsmllm": "[identify] Describe this region. <box>[100,100,300,300]</box>",
    "qwen2-vl": "What is the object at <|box_start|>(100,100),(300,300)<|box_end|>?",
    "qwen2.5-vl": 'What is the object at {"bbox_2d": [101, 50, 302, 151]}?',
    "qwen3-vl": 'What is the object at {"bbox_2d": [100, 100, 300, 300]}?',
    "internvl": "What is the object at <box>[[100, 100, 300, 300]]</box>?",
    "florence-2": "<REGION_TO_DESCRIPTION><loc_100><loc_100><loc_300><loc_300>",
    "geochat": "[identify] What is the object present at {<10><10><30><30>|<0>}",
}


@pytest.mark.parametrize("dialect", sorted(REGION_CAPTION))
def test_region_caption_per_family(dialect):
    instruction = "" if dialect == "georsmllm" else "describe this region"
    assert prompt(dialect, Task.IDENTIFY, instruction, REGION) == REGION_CAPTION[dialect]


def test_a_users_own_region_question_is_kept():
    assert prompt("qwen3-vl", Task.IDENTIFY, "what kind of vehicle is this", REGION) == (
        'What kind of vehicle is this? Region: {"bbox_2d": [100, 100, 300, 300]}')


def test_text_tasks_pass_the_users_words_through():
    assert prompt("qwen3-vl", Task.VQA, "How many lanes does the road have?") == "How many lanes does the road have?"
    assert prompt("internvl", Task.GEOLOCATION, "where was this taken") == (
        "Where was this taken? Answer with the location as <gps>[latitude, longitude]</gps> in degrees.")


# --- Geo-R1 answers -----------------------------------------------------------------------------------

def test_geo_r1_reads_only_the_answer_and_its_two_keypoints():
    d = get_dialect("geo-r1")
    text = ('<think>The lake at {"bbox_2d": [1, 1, 9, 9]} is too small.</think><answer>```json\n'
            '[{"bbox_2d": [101, 50, 302, 151], "keypoint1": [150, 100], "keypoint2": [250, 120]}]\n```</answer>')
    parsed = d.parse(text, Task.SEGMENTATION, SIZE)
    assert len(parsed.objects) == 1 and parsed.warnings == []
    target = parsed.objects[0]
    assert isinstance(target, SegTarget) and len(target.keypoints) == 2
    np.testing.assert_allclose(target.bbox, (100.2, 49.6, 299.6, 149.8), atol=0.1)  # 1008 x 504 frame
    assert parsed.text == text
    assert d.parse("None", Task.DETECTION, SIZE).objects == []
    with pytest.raises(ConfigError, match="trained for detection and referring segmentation only"):
        d.build_prompt(Task.CAPTION, "", SIZE)


# --- the catalogue names a checkpoint's prompt style ------------------------------------------------

def test_catalogue_entries_choose_their_dialect_and_hub_id():
    from model_backend.models import CATALOGUE
    from model_backend.pipeline.config import RunConfig
    from model_backend.pipeline.factory import build_engine

    geo_r1 = {e.id: e for e in CATALOGUE if e.dialect == "geo-r1"}
    assert set(geo_r1) == {"geo-r1-3b-ovd", "geo-r1-3b-gres"}
    assert geo_r1["geo-r1-3b-ovd"].tasks == ("detection",) and "Trained for:" in geo_r1["geo-r1-3b-ovd"].notes
    assert geo_r1["geo-r1-3b-gres"].tasks == ("seg",)

    engine = build_engine(RunConfig(model="geo-r1-3b-ovd"))  # catalogue id -> hub id, catalogue dialect
    assert engine.model_ref == "Geo-R1/Geo-R1-3B-GRPO-OVD-10shot"
    assert engine.describe()["dialect"] == "geo-r1"
    served = build_engine(RunConfig(engine="openai", base_url="http://127.0.0.1:9/v1",
                                    model="Geo-R1/Geo-R1-3B-GRPO-GRES-10shot"))
    assert served.describe()["dialect"] == "geo-r1"
    chosen = build_engine(RunConfig(model="geo-r1-3b-ovd", dialect="qwen2.5-vl"))  # the settings win
    assert chosen.describe()["dialect"] == "qwen2.5-vl"
    plain = build_engine(RunConfig(model="Qwen/Qwen3-VL-2B-Instruct"))
    assert plain.describe()["dialect"] == "qwen3-vl"
