"""Running a plan's model steps on one tile: the GeoRSMLLM condition chain.

Step 1 sends the tile with the first step's instruction (prompt built by the dialect for the task).
Each later model step sends the same tile again with the previous step's objects written into the
prompt in the family's own format (``dialect.build_prompt(..., regions=previous_objects)``); the model
answers the subset that meets the condition (or new objects), parsed by the same dialect. A family that
cannot take regions is asked one referring phrase instead and keeps the previous objects its answer covers,
with a warning (``dialects.chain_steps``). The very same image
objects go with every request of a tile, so servers with prefix caching reuse the image's KV cache.
An empty answer ends the chain early. The plan's GIS part is not run here: the pipeline applies it to
the merged, georeferenced results with ``executor.execute_plan``.

All geometry here is in pixels of the image as sent (``image_size = (width, height)``), corner
convention, as in ``dialects.base``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence, Union

import numpy as np

from ..dialects.base import Dialect, ImageSize
from ..dialects.chain_steps import chain_step_request, fallback_warning, kept_by_answer
from ..engines.base import Engine, EngineRequest, TokenProb
from ..errors import ConfigError
from ..geometry import GeoObject
from ..tasks import Task
from .plan import ModelStep


@dataclass
class StepRun:
    """What one model step sent and got back. ``objects`` are in pixels of the image as sent."""

    index: int  # 1-based among the model steps
    text: str
    prompt: str
    raw_text: str
    objects: list[GeoObject]
    warnings: list[str] = field(default_factory=list)
    tokens: list[TokenProb] | None = None


@dataclass
class ChainResult:
    """The last step's objects (pixels of the image as sent), every step's run, all warnings."""

    objects: list[GeoObject]
    steps: list[StepRun]
    warnings: list[str] = field(default_factory=list)
    stopped_early: bool = False

    @property
    def raw_texts(self) -> list[str]:
        return [s.raw_text for s in self.steps]


def _as_images(images: Union[np.ndarray, Sequence[np.ndarray]], task: Task) -> tuple[np.ndarray, ...]:
    imgs = (images,) if isinstance(images, np.ndarray) else tuple(images)
    if len(imgs) != task.images:
        raise ConfigError(
            f"the {task.value} task needs {task.images} image(s) per request, got {len(imgs)}"
            + (" (give the before and the after image)" if task is Task.CHANGE else "")
        )
    return imgs


def _inherit_label(objects: list[GeoObject], previous: Sequence[GeoObject]) -> list[GeoObject]:
    """Later steps often answer bare geometry: keep the class name when every previous object had
    the same one."""
    labels = {o.label for o in previous}
    if len(labels) != 1 or None in labels:
        return objects
    (label,) = labels
    return [o if o.label else o.with_(label=label) for o in objects]


def run_model_chain(
    steps: Sequence[Union[ModelStep, str]],
    images: Union[np.ndarray, Sequence[np.ndarray]],
    task: Task,
    dialect: Dialect,
    engine: Engine,
    image_size: ImageSize,
    *,
    system: str | None = None,
    max_new_tokens: int = 512,
) -> ChainResult:
    """Run a plan's model steps (``plan.model_steps``, or plain step texts) on one tile.

    ``images``: the tile as sent, ``(H, W, 3)`` uint8 RGB (two for change detection: before, after);
    the same objects are passed with every request. ``image_size``: ``(width, height)`` of that image.
    Engine failures propagate (``EngineError``); bad model output becomes warnings.
    """
    imgs = _as_images(images, task)
    texts = [s.text if isinstance(s, ModelStep) else str(s) for s in steps]
    result = ChainResult(objects=[], steps=[])
    if not texts:
        result.warnings.append("the plan has no model step: nothing was sent to the model")
        return result
    previous: list[GeoObject] = []
    for i, text in enumerate(texts, 1):
        # later steps carry the previous objects in the family's own format, or ask one referring phrase
        request = chain_step_request(dialect, task, texts[0], text, image_size, previous) if i > 1 else None
        prompt = request.prompt if request else dialect.build_prompt(task, text, image_size)
        response = engine.generate(
            EngineRequest(prompt=prompt, images=imgs, system=system, max_new_tokens=max_new_tokens)
        )
        parsed = dialect.parse(response.text, task, image_size)
        objects = list(parsed.objects)
        warnings = list(parsed.warnings)
        if request is not None and request.fallback:
            kept = kept_by_answer(previous, objects)
            warnings.append(fallback_warning(dialect, request.phrase, len(previous), len(kept)))
            objects = kept
        elif i > 1:
            objects = _inherit_label(objects, previous)
        run = StepRun(i, text, prompt, response.text, objects, warnings, response.tokens)
        result.steps.append(run)
        result.warnings += [f"step {i} ({text!r}): {w}" for w in warnings]
        previous = objects
        if not objects:
            if i < len(texts):
                result.stopped_early = True
                result.warnings.append(
                    f"step {i} ({text!r}) found nothing: the {len(texts) - i} later step(s) were not run"
                )
            break
    result.objects = previous
    return result


def filter_found_objects(
    steps: Sequence[str],
    images: Union[np.ndarray, Sequence[np.ndarray]],
    task: Task,
    dialect: Dialect,
    engine: Engine,
    image_size: ImageSize,
    objects: Sequence[GeoObject],
    *,
    found_phrase: str,
    max_new_tokens: int = 512,
) -> ChainResult:
    """The later steps of a chain whose objects were found before (a follow-up: "only the damaged ones").

    Each step is shown the objects still kept (pixels of the image as sent), written into the prompt as
    regions in the family's own format (or, for families that cannot take regions, asked one referring
    phrase made with ``found_phrase``, "ponds"), and keeps those its answer covers
    (``chain_steps.kept_by_answer``): the result's ``objects`` are the very objects given, a subset in their
    order, never the model's redrawn geometry. An empty subset ends the chain early.
    """
    imgs = _as_images(images, task)
    result = ChainResult(objects=[], steps=[])
    previous = list(objects)
    for i, text in enumerate(steps, 1):
        if not previous:
            result.stopped_early = True
            break
        request = chain_step_request(dialect, task, found_phrase, text, image_size, previous)
        response = engine.generate(EngineRequest(prompt=request.prompt, images=imgs, max_new_tokens=max_new_tokens))
        parsed = dialect.parse(response.text, task, image_size)
        kept = kept_by_answer(previous, parsed.objects)
        warnings = list(parsed.warnings)
        if request.fallback:
            warnings.append(fallback_warning(dialect, request.phrase, len(previous), len(kept)))
        result.steps.append(StepRun(i, text, request.prompt, response.text, kept, warnings, response.tokens))
        result.warnings += [f"step {i} ({text!r}): {w}" for w in warnings]
        previous = kept
    result.objects = previous
    return result
