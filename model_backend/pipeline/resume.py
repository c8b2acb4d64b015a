"""Durable runs and resuming them: a run's ``RunLog`` records each finished tile in the output's journal
(``journal``) as it finishes, and a run that was interrupted (cancelled, killed, failed, its model server
gone) can be resumed from there without redoing those tiles.

A run may only be resumed with the same *recipe*: what decides its results (task, instruction, rasters and
their files' size and time, tile layout, area of interest, model, engine, dialect, classes, context layers,
segmenter). Where it runs (device, model server address, concurrency, timeouts) may change. The resumed run
keeps its run id, run name and plan (a condition parser is not asked again), so its output is the one an
uninterrupted run would have written.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import threading
import uuid
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from ..conditions.plan import Plan
from ..errors import ConfigError
from ..liveness import pid_alive
from ..tasks import Task
from .journal import JournalRun, JournalTile, RunJournal, iter_journal_runs, journal_path

if TYPE_CHECKING:
    from .runner import Pipeline

# Runs working in this process, by (journal path, run id): a run is never resumed twice at once.
_active: set[tuple[str, str]] = set()
_active_guard = threading.Lock()


def new_run_id() -> str:
    return uuid.uuid4().hex[:12]


def file_identity(path: str | None) -> dict[str, Any] | None:
    """A raster file named by its absolute path, size and modification time (a changed file is another
    raster); a GDAL name that is not a file (a URL, a ``/vsi…`` path) by the name alone."""
    if not path:
        return None
    if os.path.isfile(path):
        stat = os.stat(path)
        return {"path": os.path.abspath(path), "bytes": stat.st_size, "modified_ns": stat.st_mtime_ns}
    return {"path": str(path)}


def _digest(geometry) -> str | None:
    import shapely

    if geometry is None:
        return None
    return hashlib.sha256(shapely.to_wkb(geometry, output_dimension=2, byte_order=1)).hexdigest()[:16]


def recipe_of(pipeline: "Pipeline") -> dict[str, Any]:
    """What decides the run's results (module doc), JSON-ready."""
    cfg = pipeline.config
    recipe: dict[str, Any] = {
        "task": pipeline.choice.task.value,
        "instruction": cfg.instruction,
        "raster": file_identity(cfg.raster),
        "raster_b": file_identity(cfg.raster_b),
        "engine": cfg.engine,
        "model": cfg.script if cfg.engine == "scripted" else cfg.model,
        "dialect": pipeline.dialect.name,
        "tile_size": cfg.tile_size,
        "overlap": cfg.overlap,
        "gsd": cfg.gsd,
        "bands": cfg.bands,
        "stac_assets": cfg.stac_assets,
        "max_new_tokens": cfg.max_new_tokens,
        "classes": cfg.classes,
        "context_layers": cfg.context_layers,
        "parser_model": cfg.parser_model,
        "allow_pixel_coords": cfg.allow_pixel_coords,
        "area": _digest(pipeline.area),
        "aoi_bounds": None if pipeline.aoi_bounds is None else [float(v) for v in pipeline.aoi_bounds],
        "regions": _digest(_union(pipeline.regions)),
    }
    refined = cfg.refine != "none"
    if refined:
        recipe["refine"] = cfg.refine
    if pipeline.choice.task is Task.SEGMENTATION or refined:
        recipe.update(segmenter=cfg.segmenter, sam2_checkpoint=cfg.sam2_checkpoint, sam2_size=cfg.sam2_size)
    return json.loads(json.dumps(recipe))  # as the journal gives it back (lists, not tuples)


def _union(regions: Sequence[tuple[Any, dict]]):
    if not regions:
        return None
    import shapely

    return shapely.GeometryCollection([geom for geom, _props in regions])


def recipe_differences(stored: Mapping[str, Any], current: Mapping[str, Any]) -> list[str]:
    """``"name: <journal's> in the journal, <current> now"`` for each recipe item that differs."""
    out = []
    for key in sorted(set(stored) | set(current)):
        before, now = stored.get(key), current.get(key)
        if before != now:
            out.append(f"{key}: {_shown(before)} in the journal, {_shown(now)} now")
    return out


def _shown(value: Any) -> str:
    text = json.dumps(value, sort_keys=True)
    return text if len(text) <= 120 else text[:117] + "..."


def check_settings(run: JournalRun, config: Any) -> None:
    """Before any model is loaded: ``ConfigError`` when ``config`` (a ``RunConfig``) changes a setting of the
    interrupted run's recipe. The whole recipe (files, dialect, area) is checked again when the run starts."""
    derived = ("raster", "raster_b", "task", "dialect", "model", "area", "aoi_bounds", "regions")
    names = [k for k in run.recipe if k not in derived] + ["raster", "raster_b", "model" if config.engine !=
                                                           "scripted" else "script"]
    stored = {k: run.settings.get(k) for k in names}
    now = json.loads(json.dumps({k: getattr(config, k, None) for k in names}))
    differences = recipe_differences(stored, now)
    if differences:
        raise _refusal(run, differences)


def _refusal(run: JournalRun, differences: list[str]) -> ConfigError:
    return ConfigError(f"cannot resume run {run.run_id} with other settings than it started with: "
                       + "; ".join(differences) + " (start a new run to use them)")


def resumable_settings(run: JournalRun) -> dict[str, Any]:
    """A journaled run's settings to start a resumed ``RunConfig`` from (secrets and where-to-run left out:
    they come from the caller)."""
    return {k: v for k, v in run.settings.items() if k not in ("api_key", "run_name")}


def find_resumable(output: str, *, run_id: str | None = None, run_name: str | None = None) -> JournalRun:
    """The unfinished run of ``output`` to resume: ``run_id``'s, else the one named ``run_name``, else the only
    one there is. ``ConfigError`` (saying what there is) when there is none or the choice is ambiguous."""
    runs = list(iter_journal_runs(output))
    if not runs:
        raise ConfigError(f"nothing to resume in {output}: it has no run journal ({journal_path(output)}); "
                          "a run that completed leaves none")
    if run_id:
        chosen = [r for r in runs if r.run_id == run_id]
    elif run_name:
        chosen = [r for r in runs if r.run_name == run_name][-1:]
    else:
        chosen = runs
    if len(chosen) == 1:
        return chosen[0]
    listed = "; ".join(describe_run(r) for r in runs)
    if not chosen:
        wanted = f"run {run_id}" if run_id else f"a run named {run_name}"
        raise ConfigError(f"{output}'s journal has no {wanted} to resume; it has: {listed}")
    raise ConfigError(f"{output}'s journal has several unfinished runs: say which with --resume RUN_ID "
                      f"(or --run-name): {listed}")


def describe_run(run: JournalRun) -> str:
    return (f"{run.run_id} ({run.run_name}, {run.state}, {run.tiles_done}/{run.tiles_total or '?'} tiles, "
            f"{run.settings.get('instruction', '')!r})")


class RunLog:
    """One run's durable record. Fresh runs write nothing until their first tile finishes (a run that fails
    before any tile leaves no journal); ``done`` holds the tiles a resumed run finished before.

    ``record`` after each finished tile; ``end`` once the output is written: a completed run leaves the
    journal; a stopped or failed one stays there, resumable.
    """

    def __init__(self, output: str, run: JournalRun, plan: Plan, done: Sequence[JournalTile] = (),
                 journal: RunJournal | None = None):
        self.output = output
        self.run = run
        self.plan = plan
        self.done: dict[int, JournalTile] = {t.index: t for t in done}
        self._journal = journal
        self._key = (journal_path(output), run.run_id)
        self._ended = False
        with _active_guard:
            if self._key in _active:
                if journal is not None:
                    journal.close()
                raise ConfigError(f"run {run.run_id} is already running in this process")
            _active.add(self._key)

    @property
    def run_id(self) -> str:
        return self.run.run_id

    @property
    def run_name(self) -> str:
        return self.run.run_name

    @property
    def resumed(self) -> bool:
        return bool(self.done)

    def record(self, index: int, window: Sequence[int], payload: Mapping[str, Any], tiles_total: int) -> None:
        """Make a finished tile durable (returns once it is committed). ``window``: raster pixels
        ``(col_off, row_off, width, height)``; ``payload``: JSON-ready, the task runner's own."""
        if self._journal is None:
            self._journal = RunJournal(journal_path(self.output))
            self.run = _with(self.run, tiles_total=tiles_total)
            self._journal.begin_run(self.run, replaceable=_replaceable)
        self._journal.add_tile(self.run_id, index, window, payload)

    def check_windows(self, planned: Mapping[int, Sequence[int]]) -> None:
        """``ConfigError`` when a journaled tile's window is not the one planned now for its index (the tiling
        changed between versions): its objects would land in the wrong place."""
        for index, tile in self.done.items():
            if tuple(planned.get(index, ())) != tuple(tile.window):
                raise ConfigError(f"cannot resume run {self.run_id}: tile {index} covered {list(tile.window)} "
                                  f"then and {list(planned.get(index, [])) or 'nothing'} now; start the run afresh")

    def end(self, *, partial: bool, error: str | None = None) -> None:
        """The run's output is written: forget it when complete, else keep it resumable (``stopped``, or
        ``failed`` with ``error``)."""
        if self._ended:
            return
        self._ended = True
        try:
            if error is None and not partial:
                journal = self._journal or RunJournal.existing(self.output)
                if journal is not None:
                    self._journal = journal
                    journal.delete_run(self.run_id)
                    # earlier unfinished runs under this name: their layers were just replaced
                    for other in journal.runs():
                        if other.run_name == self.run_name and _replaceable(other.state, other.owner):
                            journal.delete_run(other.run_id)
            elif self._journal is not None:
                self._journal.set_state(self.run_id, "failed" if error is not None else "stopped", error or "")
        finally:
            with _active_guard:
                _active.discard(self._key)
            if self._journal is not None:
                self._journal.close(remove_if_empty=True)


def _with(run: JournalRun, **changes) -> JournalRun:
    import dataclasses

    return dataclasses.replace(run, **changes)


def start_log(pipeline: "Pipeline", plan: Plan, run_name: str, run_id: str | None = None,
              extra: Mapping[str, Any] | None = None) -> RunLog:
    """The record of a fresh run (nothing written yet)."""
    cfg = pipeline.config
    run = JournalRun(run_id=run_id or new_run_id(), run_name=run_name, recipe=recipe_of(pipeline),
                     settings=cfg.to_dict(), extra={"plan": plan.to_dict(), **_area_extra(pipeline),
                                                    **(extra or {})})
    return RunLog(cfg.output, run, plan)


def _area_extra(pipeline: "Pipeline") -> dict[str, Any]:
    import shapely

    area = pipeline.area
    return {"area_wkb": None if area is None else shapely.to_wkb(area, hex=True, output_dimension=2)}


def resume_log(pipeline: "Pipeline", run_id: str | None = None) -> RunLog:
    """The record of an interrupted run to go on with: ``run_id``'s in the output's journal (else the one
    named like the settings' run name, else the only one). ``ConfigError`` when there is none, when its
    recipe differs from this pipeline's (each difference named), or when it is still running."""
    cfg = pipeline.config
    run = find_resumable(cfg.output, run_id=run_id, run_name=cfg.run_name)
    if cfg.run_name and cfg.run_name != run.run_name:
        raise ConfigError(f"run {run.run_id} is named {run.run_name!r}, not {cfg.run_name!r}: "
                          "resume it under its own name")
    differences = recipe_differences(run.recipe, recipe_of(pipeline))
    if differences:
        raise _refusal(run, differences)
    if run.state == "running" and _owner_alive(run.owner):
        raise ConfigError(f"run {run.run_id} is still running (process {run.owner}): stop it before resuming")
    journal = RunJournal(journal_path(cfg.output))
    try:
        tiles = journal.tiles(run.run_id)
        journal.begin_run(run)
        plan = Plan.from_dict(run.extra.get("plan") or {})
    except BaseException:
        journal.close()
        raise
    return RunLog(cfg.output, run, plan, tiles, journal)


def _replaceable(state: str, owner: str) -> bool:
    """Whether an unfinished run may be dropped for a new one of the same name: unless a live process works
    on it."""
    return state != "running" or not _owner_alive(owner)


def _owner_alive(owner: str) -> bool:
    """Whether the ``host:pid`` that last worked on a run is still alive (only knowable on this host:
    elsewhere a run left ``running`` is taken to be dead)."""
    host, _, pid_text = owner.rpartition(":")
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    if int(pid_text) == os.getpid():
        return False  # this process: the in-process guard (RunLog) decides
    return pid_alive(int(pid_text))
