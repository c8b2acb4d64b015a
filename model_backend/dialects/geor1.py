"""Geo-R1 dialect: Qwen2.5-VL checkpoints post-trained with reinforcement learning for few-shot referring
detection and segmentation of remote-sensing images (https://github.com/Geo-R1/geo-r1).

The requests are the ones the checkpoints were trained and evaluated with, from the repository's
evaluation scripts:

- detection, Geo-R1 ``OVD`` checkpoints (``run_scripts/test_ovd_nwpu_eval.py``, ``PROBLEM_TEMPLATE``): "Please
  carefully check the image and detect the following objects: {category}. Output each detected target's bbox
  coordinates in JSON format. ..." with the JSON layout given by example and "respond with None" when absent;
- segmentation, Geo-R1 ``GRES`` checkpoints (``run_scripts/test_gres_eval.py``, ``SYSTEM_PROMPT`` + ``\\n`` +
  ``FORMAT_PROMPT`` as one user message): think in ``<think>``, answer in ``<answer>`` a JSON list of
  ``{"bbox_2d": [x1, y1, x2, y2], "keypoint1": [x3, y3], "keypoint2": [x4, y4]}`` whose box and two points
  prompt SAM.

Answers are Qwen2.5-VL JSON in absolute pixels of the resized input (the base model's convention, read by
:class:`Qwen25VLDialect`); only the ``<answer>`` section is read, and the two keypoints become the
SegTarget's keypoints. The checkpoints were trained for nothing else: other tasks are refused, and a condition
chain's later steps are asked again as one referring phrase (``chain_regions = False``).
"""

from __future__ import annotations

from typing import Sequence

from ..geometry import GeoObject
from ..tasks import Task
from ._common import DEFAULT_INSTRUCTION
from .base import ImageSize
from .phrases import bare_phrase, object_phrase
from .qwen import Qwen25VLDialect

#: ``test_ovd_nwpu_eval.py``'s PROBLEM_TEMPLATE (few-shot open-vocabulary detection)
OVD_TEMPLATE = (
    "Please carefully check the image and detect the following objects: {category}. "
    "Output each detected target's bbox coordinates in JSON format. The format of the bbox coordinates is:\n"
    "```json\n"
    "[\n"
    '    {{"bbox_2d": [x1, y1, x2, y2], "label": "target name"}},\n'
    '    {{"bbox_2d": [x1, y1, x2, y2], "label": "target name"}}\n'
    "]\n"
    "```\n"
    "If there are no such targets in the image, simply respond with None."
)

#: ``test_gres_eval.py``'s SYSTEM_PROMPT + "\n" + FORMAT_PROMPT (few-shot generalised referring segmentation)
GRES_TEMPLATE = (
    "First thinks about the reasoning process in the mind and then provides the user with the answer. The reasoning "
    "process and answer are enclosed within <think> </think> and <answer> </answer> tags, respectively, i.e., "
    "<think> reasoning process here </think><answer> answer here </answer>\n"
    "Please carefully check the image and answer: {question}. Based on your answer, detect all relevant objects "
    "in the image.Output each detected target's bbox coordinates in JSON format. "
    "The format of the bbox coordinates is:\n```json\n[\n"
    '    {{"bbox_2d": [x1, y1, x2, y2], "keypoint1": [x3, y3], "keypoint2": [x4, y4]}},\n'
    '    {{"bbox_2d": [x1, y1, x2, y2], "keypoint1": [x3, y3], "keypoint2": [x4, y4]}}\n]\n```\n'
    "If there are no such targets in the image, simply respond with None."
)


class GeoR1Dialect(Qwen25VLDialect):
    """Geo-R1's trained requests (see module doc); Qwen2.5-VL JSON answers."""

    name = "geo-r1"
    tasks = frozenset({Task.DETECTION, Task.SEGMENTATION})
    chain_regions = False

    def build_prompt(
        self, task: Task, instruction: str, image_size: ImageSize, regions: Sequence[GeoObject] = ()
    ) -> str:
        self.check_request(task, regions, "Geo-R1 (trained for detection and referring segmentation only)")
        if task is Task.DETECTION:
            return OVD_TEMPLATE.format(category=bare_phrase(instruction) or DEFAULT_INSTRUCTION[task])
        return GRES_TEMPLATE.format(question=object_phrase(instruction) or DEFAULT_INSTRUCTION[task])
