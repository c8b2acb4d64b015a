"""The GeoRSMLLM task set and the request tags of the canonical dialect."""

from __future__ import annotations

import enum


class Task(str, enum.Enum):
    """A task, valued by its tag word in the GeoRSMLLM dialect (``[detection] ...``)."""

    DETECTION = "detection"
    SEGMENTATION = "seg"
    CHANGE = "change"
    CAPTION = "caption"
    IDENTIFY = "identify"  # region caption: describe a region given in set-of-points
    VQA = "vqa"
    CLASSIFY = "classify"
    GEOLOCATION = "geolocation"

    @property
    def tag(self) -> str:
        """The request prefix, e.g. ``[detection]``."""
        return f"[{self.value}]"

    @property
    def images(self) -> int:
        """Number of images a request of this task carries (change: before, then after)."""
        return 2 if self is Task.CHANGE else 1

    @property
    def needs_instruction(self) -> bool:
        """True when only the user can say what the task is about (what to find, outline or compare, or
        the question); the other tasks have a complete default request (describe, classify, geolocate)."""
        return self in (Task.DETECTION, Task.SEGMENTATION, Task.CHANGE, Task.VQA)


def split_tag(text: str) -> tuple[Task | None, str]:
    """Split a leading task tag off an instruction.

    ``"[seg] the lake"`` -> ``(Task.SEGMENTATION, "the lake")``; text without a known tag is returned
    whole with ``None``.
    """
    stripped = text.lstrip()
    if stripped.startswith("["):
        end = stripped.find("]")
        if end > 0:
            word = stripped[1:end].strip().lower()
            for task in Task:
                if task.value == word:
                    return task, stripped[end + 1 :].strip()
    return None, text.strip()
