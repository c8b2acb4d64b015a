"""One run end to end: raster -> tiles -> prompt (dialect) -> engine -> text -> parser (dialect) -> pixel
geometry -> raster pixels -> merge across tiles -> map coordinates -> vector layer.

``Pipeline`` holds what a run needs (settings, loaded engine, segmenter, parser engine, context layers, area of
interest) and is frozen once built; ``run`` makes the plan, picks the task's runner from ``RUNNERS`` and hands
it the run's own state (``tasks.base.RunContext``). Where things happen: ``wording`` (task inference and other
heuristics on the instruction), ``scheduler`` (tiles in flight), ``tilework`` (one tile), ``tasks/`` (one
runner per task), ``output`` (layers written), ``result`` (what the run reports).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

from ..conditions.followup import FollowUp, looks_like_followup, read_followup
from ..conditions.measure import ContextLayers
from ..conditions.parse import parse_plan
from ..conditions.plan import Plan
from ..dialects import get_dialect
from ..dialects.base import Dialect
from ..engines.base import Engine
from ..errors import ConfigError, GeoRSMLLMError
from ..tasks import Task, split_tag
from .config import RunConfig
from .events import CancelToken, EventSink, RunEvent
from .output import RunOutput
from .previous import PreviousResult, existing_run_names, followup_run_name, run_name_of
from .result import RunResult
from .resume import new_run_id, resume_log, start_log
from .tasks.base import RunContext
from .tasks.followup import run_followup
from .tasks.objects import counting_question, run_count, run_found_objects, run_objects
from .tasks.text import run_classify, run_identify, run_overview
from .wording import TaskChoice, infer_task


def _run_question(ctx: RunContext) -> None:
    """A question: "how many X ...?" is answered by counting detections, anything else by the model."""
    what = counting_question(ctx)
    if what:
        run_count(ctx, what)
    else:
        run_overview(ctx)


#: The runner of each task.
RUNNERS: dict[Task, Callable[[RunContext], Any]] = {
    Task.DETECTION: run_found_objects,
    Task.SEGMENTATION: run_found_objects,
    Task.CHANGE: run_objects,
    Task.VQA: _run_question,
    Task.CAPTION: run_overview,
    Task.GEOLOCATION: run_overview,
    Task.CLASSIFY: run_classify,
    Task.IDENTIFY: run_identify,
}


@dataclass(frozen=True)
class Pipeline:
    """Runs a ``RunConfig`` with a loaded engine (and segmenter / parser engine when the task needs them).

    ``context_layers``: vector layers instructions may name (see ``pipeline.context``). ``regions``: the
    features to caption for ``[identify]``, as ``(shapely geometry in the raster's CRS, properties)``.
    ``area``: a shapely geometry in the raster's CRS: tiles cover its bounds and results must touch it.
    ``previous``: an earlier result the instruction may follow up on ("now only those larger than 500 m²":
    ``followup``, derived, says how; see ``RunConfig.follow_up`` and ``tasks.followup``).
    ``aoi_bounds``: area of interest ``(xmin, ymin, xmax, ymax)`` in the raster's CRS (default: ``area``'s
    bounds). ``choice`` (the task and why) and ``dialect`` (the answer format: the settings' choice, else the
    engine's model family's) are derived; build a new pipeline (``dataclasses.replace``) to change anything.
    """

    config: RunConfig
    engine: Engine
    segmenter: Any = None
    parser_engine: Engine | None = None
    context_layers: Mapping[str, Any] = field(default_factory=dict)
    regions: Sequence[tuple[Any, dict]] = ()
    area: Any = None
    aoi_bounds: Sequence[float] | None = None
    geojson_path: str | None = None
    previous: PreviousResult | None = None
    choice: TaskChoice = field(init=False)
    dialect: Dialect = field(init=False)
    followup: FollowUp | None = field(init=False)

    def __post_init__(self):
        config = self.config
        set_ = object.__setattr__  # frozen: derived fields are set once, here
        set_(self, "context_layers", dict(self.context_layers or {}))
        set_(self, "regions", tuple(self.regions or ()))
        if self.aoi_bounds is None and self.area is not None:
            set_(self, "aoi_bounds", tuple(self.area.bounds))
        n_rasters = 2 if config.raster_b else 1
        followup = self._read_followup()
        set_(self, "followup", followup)
        if followup is not None:
            choice = TaskChoice(Task(self.previous.task), "followup", config.instruction,
                                f"follows up on {self.previous.describe()}")
        else:
            choice = infer_task(config.instruction, config.task, n_rasters)
        set_(self, "choice", choice)
        if choice.task is Task.CHANGE and not config.raster_b and followup is None:
            raise ConfigError("change detection needs two rasters: give the 'after' raster as raster_b")
        dialect = get_dialect(config.dialect or self.engine.describe().get("dialect") or "georsmllm")
        set_(self, "dialect", dialect)
        if not dialect.supports(choice.task):
            raise ConfigError(f"the {dialect.name} dialect (model family) cannot do the "
                              f"{choice.task.value} task; choose another model or task")

    @property
    def context(self) -> ContextLayers:
        return self.context_layers

    def _read_followup(self) -> FollowUp | None:
        """The follow-up this run is, on ``previous`` (see ``RunConfig.follow_up``); ``ConfigError`` when the
        instruction follows up on a result and none was given."""
        config, previous = self.config, self.previous
        text = config.instruction
        if config.follow_up == "no" or (config.follow_up == "auto" and split_tag(text)[0] is not None):
            return None  # a task tag asks for a run of that task
        if previous is None:
            if config.follow_up == "yes" or looks_like_followup(text):
                raise ConfigError(f"“{text}” follows up on an earlier result, and there is none to follow "
                                  "up on: run an instruction first (the panel follows up on its last result), or "
                                  "give the result layer (--previous FILE|LAYER)")
            return None
        return read_followup(text, task=previous.task, labels=previous.labels, class_phrase=previous.class_phrase,
                             layer_names=list(self.context_layers), forced=config.follow_up == "yes")

    # -- plan --------------------------------------------------------------------------------------

    def make_plan(self) -> Plan:
        """The parsed plan (model steps and GIS filters) for this run's instruction and task."""
        return parse_plan(self.choice.task.tag + " " + self.choice.instruction, self.parser_engine,
                          layer_names=list(self.context_layers))

    def describe_plan(self) -> dict[str, Any]:
        report = self.followup.report(self.previous.describe()) if self.followup else self.make_plan().report()
        return {"task": self.choice.task.value, "task_source": self.choice.source, "task_reason": self.choice.reason,
                "dialect": self.dialect.name, **report}

    # -- run ---------------------------------------------------------------------------------------

    def run(self, on_event: EventSink | None = None, cancel: CancelToken | None = None, *,
            run_id: str | None = None, resume: bool = False) -> RunResult:
        """Run to the end (or until ``cancel``); returns what was done. ``run_id`` names the run (default: a new
        id); with ``resume`` the run goes on from the output's journal: ``run_id``'s run there, else the one
        named like ``config.run_name``, else the only one (see ``resume``). GDAL's block cache is bounded for
        the run (``gdal_cache_mb``): by default it takes 5 % of RAM, which alone exceeds the memory target."""
        import rasterio

        with rasterio.Env(GDAL_CACHEMAX=self.config.gdal_cache_mb * 2**20):  # rasterio takes bytes
            return self._run(on_event or (lambda _e: None), cancel or CancelToken(), run_id, resume)

    def _run(self, emit: EventSink, cancel: CancelToken, run_id: str | None, resume: bool) -> RunResult:
        started = time.monotonic()
        follow, choice, cfg = self.followup, self.choice, self.config
        if follow is not None:
            if resume:
                raise ConfigError("a follow-up has no run journal to resume from (it makes no model call for GIS "
                                  "conditions): run it again")
            return self._run_followup(emit, cancel, run_id, started)
        if resume:
            log = resume_log(self, run_id)
            plan = log.plan
        else:
            plan = self.make_plan()
            default_name = f"{choice.task.value}_{time.strftime('%Y%m%d_%H%M%S')}"
            log = start_log(self, plan, safe_name(cfg.run_name or default_name), run_id,
                            extra={"geojson": self.geojson_path})
        result = self._announce(log.run_id, plan.report(), emit)
        output = RunOutput(gpkg=cfg.output, run_name=log.run_name, geojson=self.geojson_path)
        try:
            RUNNERS[choice.task](RunContext(self, plan, result, output, emit, cancel, log))
        except BaseException as exc:
            log.end(partial=True, error=str(exc) or type(exc).__name__)
            raise
        try:
            log.end(partial=result.partial)
        except GeoRSMLLMError as exc:  # the output is written; only the journal could not be tidied
            result.warnings.append(f"the run journal could not be updated: {exc}")
        result.elapsed_s = round(time.monotonic() - started, 3)
        return result

    def _announce(self, run_id: str, report: dict[str, Any], emit: EventSink) -> RunResult:
        """The result of a run that starts, holding its plan ``report`` (sentences, text, warnings), and the
        "plan" event that tells the caller how the instruction was understood."""
        choice = self.choice
        result = RunResult(
            run_id=run_id, task=choice.task.value, task_source=choice.source, task_reason=choice.reason,
            instruction=self.config.instruction, plan=report, engine=self.engine.describe(),
            dialect=self.dialect.name,
        )
        result.warnings += report["warnings"]
        emit(RunEvent("plan", message=report["text"], data=report | {
            "task": result.task, "task_reason": result.task_reason, "dialect": result.dialect}))
        return result

    def _run_followup(self, emit: EventSink, cancel: CancelToken, run_id: str | None,
                      started: float) -> RunResult:
        """Filter the previous result by the follow-up's conditions, written as ``<run>_then_<n>`` beside it."""
        follow, cfg = self.followup, self.config
        result = self._announce(run_id or new_run_id(), follow.report(self.previous.describe()), emit)
        taken = existing_run_names(cfg.output) + [run_name_of(n) for n in self.previous.siblings]
        run_name = followup_run_name(self.previous.run_name, taken)
        output = RunOutput(gpkg=cfg.output, run_name=run_name, geojson=self.geojson_path)
        run_followup(RunContext(self, follow.plan, result, output, emit, cancel))
        result.elapsed_s = round(time.monotonic() - started, 3)
        return result


def safe_name(name: str) -> str:
    """A run name usable as a layer-name prefix: letters, digits and ``_``, at most 60 characters."""
    cleaned = re.sub(r"[^A-Za-z0-9_]+", "_", name).strip("_")
    return cleaned[:60] or "run"
