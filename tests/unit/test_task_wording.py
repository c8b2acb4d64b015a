"""Which task an untagged instruction asks for, and the request a question about objects becomes."""

import pytest

from model_backend.pipeline.wording import infer_task
from model_backend.tasks import Task


@pytest.mark.parametrize("question, request_text", [
    ("Where are the ships?", "the ships"),
    ("Which buildings are damaged?", "buildings that are damaged"),
    ("which is the southernmost ship?", "the southernmost ship"),
    ("What is the largest building?", "the largest building"),
    ("what is the farthest building from the roads?", "the farthest building from the roads"),
    ("Which are the three ships closest to the pier?", "the three ships closest to the pier"),
    ("What are the 2 biggest lakes?", "the 2 biggest lakes"),
    ("What are the ships that are within 500 m of the river?", "the ships that are within 500 m of the river"),
])
def test_questions_about_which_objects_are_detection(question, request_text):
    choice = infer_task(question)
    assert choice.task is Task.DETECTION and choice.source == "inferred"
    assert choice.instruction == request_text and choice.question == question


@pytest.mark.parametrize("question", [
    "what is the most common land use?",  # "most common" ranks nothing measurable
    "what is the forest type?",  # "forest" ends like a superlative
    "what is the colour of the largest building?",  # asks about a property, not for the objects
    "What are the ships doing?",
    "what is the land use that dominates?",
    "What is the total area of the lakes?",
])
def test_other_questions_stay_questions(question):
    assert infer_task(question).task is Task.VQA


@pytest.mark.parametrize("question, task", [
    ("How many ships are north of the pier?", Task.VQA),  # counting: detection underneath, answered as a number
    ("Where was this image taken?", Task.GEOLOCATION),
    ("What kind of scene is this?", Task.CLASSIFY),
])
def test_special_questions(question, task):
    assert infer_task(question).task is task
