"""English class nouns: plurals for summaries ("6 planes"), singular labels from instructions."""

from __future__ import annotations

import pytest

from model_backend.nouns import class_label, plural, singular

PAIRS = [("plane", "planes"), ("ship", "ships"), ("ferry", "ferries"), ("bus", "buses"), ("box", "boxes"),
         ("church", "churches"), ("house", "houses"), ("glass", "glasses"), ("leaf", "leaves"),
         ("person", "people"), ("sheep", "sheep"), ("aircraft", "aircraft"), ("day", "days"),
         ("storage tank", "storage tanks"), ("new building", "new buildings"), ("tennis court", "tennis courts"),
         ("SUV", "SUVs")]


@pytest.mark.parametrize("one,many", PAIRS)
def test_plural_and_singular_are_inverse(one, many):
    assert plural(one) == many and singular(many) == one


@pytest.mark.parametrize("text", ["水体", "(no label)", "tile 3", ""])
def test_text_without_an_english_head_noun_is_left_alone(text):
    assert plural(text) == text and singular(text) == text


@pytest.mark.parametrize("step,label", [
    ("find new buildings", "new building"), ("detect all the planes", "plane"), ("ships", "ship"),
    ("find all the storage tanks", "storage tank"), ("planes parked near the terminal", "plane"),
    ("buildings with red roofs", "building"), ("segment the lakes", "lake"),
    ("what changed", None), ("planes and ships", None), ("ships, boats", None), ("", None),
])
def test_class_label_of_a_model_step(step, label):
    assert class_label(step) == label
