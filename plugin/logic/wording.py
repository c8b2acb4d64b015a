"""How a run's outcome reads in the panel, the message bar and the log: its state (done, partial, cancelled,
failed) and a summary with proper plurals ("6 planes, 1 ship", "3 objects"). No widgets.

Labels are the model's (English) class names: the English text pluralises them (``model_backend.nouns``);
a translation may use ``{label}`` (as in the attribute table) instead of ``{labels}`` where its language
has no plural.
"""

from __future__ import annotations

from typing import Any

from ...model_backend.nouns import plural
from ..toolbelt.i18n import tr
from .runner import RunOutcome

#: Run states, in the order a run may pass through them: ``running`` -> ``cancelling`` -> one of
#: ``done`` (finished), ``partial`` (cancelled, what was found before is kept), ``cancelled`` (cancelled,
#: nothing kept) or ``failed``.
RUN_STATES = ("running", "cancelling", "done", "partial", "cancelled", "failed")
#: The backend's ``counts`` key for objects without a class.
UNLABELLED = "(no label)"
OBJECT_TASKS = ("detection", "seg", "change")


def run_state(outcome: RunOutcome | None) -> str:
    """The final state of a run (``None``: cancelled before it started)."""
    if outcome is None:
        return "cancelled"
    if outcome.error is not None:
        return "failed"
    if outcome.cancelled:  # kept something, or only an empty layer (the backend writes one)
        found = any(int(n or 0) for n in (outcome.result.get("counts") or {}).values())
        return "partial" if outcome.gpkg and found else "cancelled"
    return "done"


def count_phrase(count: int, label: str) -> str:
    """``"1 plane"``, ``"6 planes"``."""
    if count == 1:
        return tr("{count} {label}").format(count=count, label=label, labels=label)
    return tr("{count} {labels}").format(count=count, label=label, labels=plural(label))


def objects_summary(counts: dict[str, int]) -> str:
    """Found objects by class, most frequent first: ``"6 planes, 1 ship, 2 other objects"``; objects
    without a class are "objects" (or "other objects" beside classed ones)."""
    labelled = sorted(((n, label) for label, n in counts.items() if label != UNLABELLED and n), key=lambda p: -p[0])
    parts = [count_phrase(n, label) for n, label in labelled]
    unlabelled = int(counts.get(UNLABELLED) or 0)
    if unlabelled:
        if labelled:
            parts.append(tr("1 other object") if unlabelled == 1 else
                         tr("{count} other objects").format(count=unlabelled))
        else:
            parts.append(tr("1 object") if unlabelled == 1 else tr("{count} objects").format(count=unlabelled))
    return ", ".join(parts)


def _tiles_summary(counts: dict[str, int]) -> str:
    """Scene classes by tile: ``"farmland: 3 tiles, forest: 1 tile"``."""
    return ", ".join(
        (tr("{label}: 1 tile") if n == 1 else tr("{label}: {count} tiles")).format(label=label, count=n)
        for label, n in sorted(counts.items(), key=lambda p: -p[1]))


def result_summary(result: dict[str, Any]) -> str:
    """What a run produced, in words (empty string: nothing)."""
    task = str(result.get("task") or "")
    counts = {str(k): int(v) for k, v in (result.get("counts") or {}).items()}
    followup = result.get("followup")
    if followup:  # "3 ponds kept of 8"
        total = int((followup.get("of") or {}).get("objects") or 0)
        return tr("{found} kept of {total}").format(found=objects_summary(counts) or tr("none"), total=total)
    if task == "classify":
        return _tiles_summary(counts)
    if task == "caption":
        return tr("image described") if result.get("answers") else ""
    if task == "vqa" and not counts:
        return tr("question answered") if result.get("answers") else ""
    if task == "geolocation":
        n = counts.get("location", 0)
        return tr("location found") if n == 1 else (tr("{count} locations found").format(count=n) if n else "")
    if task == "identify":
        n = counts.get("regions", 0)
        return tr("1 region described") if n == 1 else (tr("{count} regions described").format(count=n) if n else "")
    return objects_summary(counts)


def outcome_summary(outcome: RunOutcome | None) -> str:
    """One line for the run's row and the log: what happened and what was kept."""
    state = run_state(outcome)
    if outcome is None:
        return tr("cancelled before it started")
    if state == "failed":
        return tr("failed: {reason}").format(reason=outcome.error)
    result = outcome.result
    found = result_summary(result)
    if state == "done":
        return found or tr("nothing found")
    done, total = int(result.get("tiles_done") or 0), int(result.get("tiles_total") or 0)
    if not total:
        reason = str(result.get("message") or "")  # e.g. the backend did not confirm the cancel in time
        return tr("cancelled: {reason}").format(reason=reason) if reason else tr("cancelled before the first tile")
    if state == "partial" and found:
        return tr("cancelled after {done} of {total} tiles; kept {found}").format(done=done, total=total,
                                                                                  found=found)
    return tr("cancelled after {done} of {total} tiles; nothing found before").format(done=done, total=total)
