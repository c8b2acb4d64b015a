"""The request of a later condition-chain step, for families that can and cannot read earlier boxes.

A later step ("select the ones on the east bank of the river") carries the previous step's objects as
regions. Families whose requests can hold a list of regions (``Dialect.chain_regions``) get them in their own
markup and coordinate frame (``Dialect.build_prompt(..., regions=previous)``). The others (Florence-2's task
tokens take one phrase; GeoChat and Geo-R1 were trained on fixed requests) are asked again with one referring
phrase -- the refinement with "the ones" replaced by the first step's objects, "planes on the east bank of the
river" -- and the previous objects that the answer covers are kept (:func:`kept_by_answer`): the condition is
applied by the model's own grounding of the whole phrase, and the geometry stays the first step's. The caller
reports that fallback as a warning.

All geometry is in pixels of the image as sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from ..geometry import GeoObject, GeoPoint
from ..geometry.shapes import to_shapely
from ..tasks import Task
from .base import Dialect, ImageSize
from .phrases import combined_phrase

#: share of a previous object's area an answer object must cover for the object to be kept
MIN_COVER = 0.5


@dataclass(frozen=True)
class StepRequest:
    """A later step's prompt; ``phrase`` is the referring phrase asked instead of writing the regions
    (``None`` when the regions were written into the prompt)."""

    prompt: str
    phrase: str | None = None

    @property
    def fallback(self) -> bool:
        return self.phrase is not None


def chain_step_request(dialect: Dialect, task: Task, first_step: str, step: str, image_size: ImageSize,
                       previous: Sequence[GeoObject]) -> StepRequest:
    """The request of a later step ``step`` of a chain whose first model step was ``first_step``."""
    if dialect.chain_regions:
        return StepRequest(dialect.build_prompt(task, step, image_size, regions=previous))
    phrase = combined_phrase(first_step, step)
    return StepRequest(dialect.build_prompt(task, phrase, image_size), phrase)


def fallback_warning(dialect: Dialect, phrase: str, n_previous: int, n_kept: int) -> str:
    return (f"the {dialect.name} dialect cannot take the previous step's objects as regions: asked for "
            f"{phrase!r} instead and kept the {n_kept} of {n_previous} previous object(s) its answer covers")


def kept_by_answer(previous: Sequence[GeoObject], answer: Sequence[GeoObject],
                   min_cover: float = MIN_COVER) -> list[GeoObject]:
    """The previous objects of which some answer object covers at least ``min_cover`` of the area."""
    shapes = [to_shapely(a) for a in answer if not isinstance(a, GeoPoint)]
    shapes = [s if s.is_valid else s.buffer(0) for s in shapes]
    kept: list[GeoObject] = []
    for obj in previous:
        if isinstance(obj, GeoPoint):
            continue
        geom = to_shapely(obj)
        area = geom.area
        if area > 0 and any(geom.intersection(s).area >= min_cover * area for s in shapes):
            kept.append(obj)
    return kept
