"""The dialect protocol: how one model family wants its prompt and writes its geometry.

A dialect is a prompt builder plus a pure parser (and the matching formatter) with its own coordinate
convention. All geometry crossing this boundary is in pixels of the image *as sent to the model*
(``image_size = (width, height)``), corner convention, x right, y down (see ``geometry.types``).
"""

from __future__ import annotations

import abc
from typing import Sequence

from ..errors import ConfigError
from ..geometry import GeoObject, ParseResult
from ..tasks import Task

ImageSize = tuple[int, int]  # (width, height) in pixels of the image as sent


class Dialect(abc.ABC):
    """One model family's text protocol. Implementations are stateless and thread-safe."""

    #: registry key, e.g. ``"georsmllm"``, ``"qwen2.5-vl"``
    name: str = ""
    #: tasks this model family can be prompted for; ``build_prompt`` raises ``ConfigError`` for others
    tasks: frozenset[Task] = frozenset(Task)
    #: whether a request can carry the objects of an earlier request as regions (the later steps of a
    #: condition chain); families that cannot are asked again with one referring phrase instead, with a
    #: warning (``conditions.chain``), and their ``build_prompt`` refuses such regions
    chain_regions: bool = True

    def supports(self, task: Task) -> bool:
        """Whether ``build_prompt`` can write a request for ``task``."""
        return task in self.tasks

    def check_request(self, task: Task, regions: Sequence[GeoObject], family: str) -> None:
        """``ConfigError`` naming ``family`` for a task it cannot do, or for regions in a request that cannot
        carry them (any but ``[identify]`` when ``chain_regions`` is false)."""
        if not self.supports(task):
            names = ", ".join(sorted(t.value for t in self.tasks))
            raise ConfigError(
                f"{family} cannot do the '{task.value}' task (it can do: {names}); choose another model for it"
            )
        if regions and task is not Task.IDENTIFY and not self.chain_regions:
            raise ConfigError(
                f"{family} cannot take regions in a {task.value} request; ask for one referring phrase instead"
            )

    @abc.abstractmethod
    def build_prompt(
        self,
        task: Task,
        instruction: str,
        image_size: ImageSize,
        regions: Sequence[GeoObject] = (),
    ) -> str:
        """The user text for one request. ``regions`` (pixels of the image as sent) are written into
        the prompt for ``[identify]`` and for later steps of a condition chain."""

    @abc.abstractmethod
    def parse(self, text: str, task: Task, image_size: ImageSize) -> ParseResult:
        """Model answer -> objects in pixels of the image as sent. Never raises on bad model output:
        valid objects are kept, the rest reported in ``warnings``; points are clipped to the image."""

    @abc.abstractmethod
    def format_objects(self, objects: Sequence[GeoObject], task: Task, image_size: ImageSize) -> str:
        """Objects -> answer text as this model family writes it (training data, scripted engines,
        round-trip tests). ``parse(format_objects(objs))`` gives back the same geometry up to the
        dialect's quantisation."""

    def model_input_size(self, image_size: ImageSize) -> ImageSize:
        """Size of the image as the model sees it after its processor resizes it; dialects whose
        coordinates are absolute pixels of the resized input (Qwen2.5-VL) override this."""
        return image_size
