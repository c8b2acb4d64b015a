"""Processing algorithms, one per backend task: thin wrappers over the plugin's one job path. Parameters
become ``JobInputs``, ``prepare_job`` (as for the dock and the layer menu) makes the job, ``execute_job``
runs it; progress follows the job's tile events through ``feedback``, cancelling the feedback cancels the
backend job, and the task's main layer goes to ``OUTPUT`` (any vector format, or a temporary layer) styled
and labelled as the dock's results are. Text answers come back as the ``ANSWER`` output.

``prepareAlgorithm`` (main thread) reads the layers; ``processAlgorithm`` (possibly a worker thread)
only talks to the backend and writes the sink; the style is applied when QGIS loads the output."""

from __future__ import annotations

from collections import deque
from typing import Any

from qgis.core import (
    QgsFeature,
    QgsFeatureSink,
    QgsFields,
    QgsMapLayer,
    QgsProcessing,
    QgsProcessingAlgorithm,
    QgsProcessingContext,
    QgsProcessingException,
    QgsProcessingFeedback,
    QgsProcessingLayerPostProcessorInterface,
    QgsProcessingOutputNumber,
    QgsProcessingOutputString,
    QgsProcessingParameterBand,
    QgsProcessingParameterBoolean,
    QgsProcessingParameterDefinition,
    QgsProcessingParameterExtent,
    QgsProcessingParameterFeatureSource,
    QgsProcessingParameterMultipleLayers,
    QgsProcessingParameterNumber,
    QgsProcessingParameterRasterLayer,
    QgsProcessingParameterString,
    QgsProcessingParameterVectorDestination,
    QgsProcessingParameterVectorLayer,
    QgsProcessingUtils,
    QgsProject,
    QgsVectorLayer,
    QgsWkbTypes,
)
from qgis.PyQt.QtGui import QIcon

from .. import about
from ..logic.fields import result_fields
from ..logic.follow import JobEvent
from ..logic.followup import layer_result
from ..logic.prepare import JobInputs, PreparedJob, PrepareError, prepare_job, slug
from ..logic.results import layer_metadata, style_for
from ..logic.runner import execute_job
from ..logic.service import BackendService
from ..toolbelt import vocabulary
from ..toolbelt.i18n import tr
from ..toolbelt.settings import load_settings

#: The main layer of each task's result, in order of preference (``outputs.layers`` keys).
_MAIN_KINDS = ("boxes", "polygons", "points")


class StyleOnLoad(QgsProcessingLayerPostProcessorInterface):
    """Applied by QGIS when it loads an algorithm's output (main thread): the dock's style and labels for
    the task and geometry kind (``resources/styles``), and the run's recipe as the layer metadata."""

    #: QGIS holds a post-processor by its C++ pointer only: the Python side of the latest ones is kept here
    #: so that it is still alive when QGIS calls it (outputs that are never loaded drop out of the queue).
    _alive: deque[StyleOnLoad] = deque(maxlen=64)

    def __init__(self, task: str, kind: str, recipe: dict[str, Any], result: dict[str, Any], title: str):
        super().__init__()
        self.task, self.kind, self.recipe, self.result, self.title = task, kind, recipe, result, title
        StyleOnLoad._alive.append(self)

    def postProcessLayer(self, layer: QgsMapLayer, context: QgsProcessingContext, feedback) -> None:
        if not isinstance(layer, QgsVectorLayer):
            return
        qml = style_for(self.task, self.kind)
        if qml.is_file():
            layer.loadNamedStyle(str(qml))
        layer.setMetadata(layer_metadata(self.recipe, self.result, self.title))
        layer.triggerRepaint()


class GeoRSMLLMAlgorithm(QgsProcessingAlgorithm):
    """Shared parameters and execution. Subclasses set the class attributes and may add parameters."""

    INPUT = "INPUT"
    INPUT_B = "INPUT_B"
    INSTRUCTION = "INSTRUCTION"
    EXTENT = "EXTENT"
    REGIONS = "REGIONS"
    CLASSES = "CLASSES"
    CONTEXT_LAYERS = "CONTEXT_LAYERS"
    BANDS = "BANDS"
    TILE_SIZE = "TILE_SIZE"
    OVERLAP = "OVERLAP"
    GSD = "GSD"
    REFINE = "REFINE"
    OUTPUT = "OUTPUT"
    ANSWER = "ANSWER"
    RUN_ID = "RUN_ID"
    FEATURE_COUNT = "FEATURE_COUNT"
    GPKG = "GPKG"

    TASK = ""  # a backend task name (the vocabulary's)
    ALG_NAME = ""
    MAIN_KINDS = _MAIN_KINDS
    GEOMETRY = QgsWkbTypes.Polygon

    def __init__(self, service: BackendService):
        super().__init__()
        self._service = service
        self._job: PreparedJob | None = None

    # -- identity -------------------------------------------------------------------------------
    def createInstance(self):
        return type(self)(self._service)

    def name(self) -> str:
        return self.ALG_NAME

    def group(self) -> str:
        return tr("Vision-language tasks")

    def groupId(self) -> str:
        return "tasks"

    def icon(self) -> QIcon:
        return QIcon(str(about.ICON_PATH))

    def flags(self):
        return super().flags() | QgsProcessingAlgorithm.FlagCanCancel

    # -- parameters -----------------------------------------------------------------------------
    def instruction_label(self) -> str:
        return tr("Instruction")

    def default_instruction(self) -> str:
        """The backend's default request for this task when it is complete on its own, else '' (required)."""
        return vocabulary.current().instruction_for(self.TASK, "")

    def initAlgorithm(self, config=None):
        settings = load_settings()
        default = self.default_instruction()
        self.addParameter(QgsProcessingParameterRasterLayer(self.INPUT, tr("Raster layer")))
        self.add_task_parameters()
        self.addParameter(QgsProcessingParameterString(
            self.INSTRUCTION, self.instruction_label(), defaultValue=default or None, multiLine=False,
            optional=bool(default)))
        self.addParameter(QgsProcessingParameterExtent(
            self.EXTENT, tr("Area of interest (whole layer when empty)"), optional=True))
        advanced = [
            QgsProcessingParameterMultipleLayers(
                self.CONTEXT_LAYERS, tr("Context vector layers the instruction may name"),
                QgsProcessing.TypeVectorAnyGeometry, optional=True),
            QgsProcessingParameterBand(self.BANDS, tr("Bands sent to the model (one, or red, green, blue; "
                                                      "empty: the bands the layer shows)"),
                                       parentLayerParameterName=self.INPUT, optional=True, allowMultiple=True),
            QgsProcessingParameterNumber(self.TILE_SIZE, tr("Tile size (pixels sent to the model)"),
                                         QgsProcessingParameterNumber.Integer, settings.tile_size, False, 32, 8192),
            QgsProcessingParameterNumber(self.OVERLAP, tr("Tile overlap (pixels)"),
                                         QgsProcessingParameterNumber.Integer, settings.overlap, False, 0, 4096),
            QgsProcessingParameterNumber(self.GSD, tr("Target ground sample distance (map units per pixel, 0: native)"),
                                         QgsProcessingParameterNumber.Double, settings.gsd, False, 0.0),
        ]
        for parameter in advanced:
            parameter.setFlags(parameter.flags() | QgsProcessingParameterDefinition.FlagAdvanced)
            self.addParameter(parameter)
        self.addParameter(QgsProcessingParameterVectorDestination(self.OUTPUT, tr("Result layer"),
                                                                  self.output_type()))
        self.addOutput(QgsProcessingOutputString(self.ANSWER, tr("Text answer")))
        self.addOutput(QgsProcessingOutputString(self.RUN_ID, tr("Run id")))
        self.addOutput(QgsProcessingOutputString(self.GPKG, tr("GeoPackage with every layer of the run")))
        self.addOutput(QgsProcessingOutputNumber(self.FEATURE_COUNT, tr("Number of features")))

    def add_task_parameters(self) -> None:
        """Extra parameters of a task (second raster, regions, classes)."""

    def add_refine_parameter(self) -> None:
        """``REFINE``: boxes prompt SAM2, giving outlines and rotated boxes (default: the plugin setting)."""
        self.addParameter(QgsProcessingParameterBoolean(
            self.REFINE, tr("Refine boxes with SAM2 (outlines and rotated boxes)"),
            defaultValue=load_settings().refine == "sam2"))

    def refine_inputs(self, parameters: dict[str, Any], context: QgsProcessingContext, inputs: JobInputs) -> None:
        inputs.options["refine"] = "sam2" if self.parameterAsBool(parameters, self.REFINE, context) else "none"

    def output_type(self) -> int:
        return QgsProcessing.TypeVectorPoint if self.GEOMETRY == QgsWkbTypes.Point else QgsProcessing.TypeVectorPolygon

    def task_inputs(self, parameters: dict[str, Any], context: QgsProcessingContext, inputs: JobInputs) -> None:
        """Fill the task's own parameters into ``inputs`` (second raster, regions, classes)."""

    # -- execution ------------------------------------------------------------------------------
    def prepareAlgorithm(self, parameters, context, feedback):
        layer = self.parameterAsRasterLayer(parameters, self.INPUT, context)
        if layer is None or not layer.isValid():
            raise QgsProcessingException(tr("The input raster layer is missing or invalid."))
        instruction = vocabulary.current().instruction_for(
            self.TASK, self.parameterAsString(parameters, self.INSTRUCTION, context))
        if not instruction:
            raise QgsProcessingException(tr("The instruction is empty: say what to look for."))
        bounds = None
        if parameters.get(self.EXTENT):
            bounds = self.parameterAsExtent(parameters, self.EXTENT, context, layer.crs())
            bounds = bounds.intersect(layer.extent()) if not bounds.isEmpty() else None
            if bounds is None or bounds.isEmpty():
                raise QgsProcessingException(tr("The area of interest does not overlap the raster."))
        gsd = self.parameterAsDouble(parameters, self.GSD, context)
        context_layers = self.parameterAsLayerList(parameters, self.CONTEXT_LAYERS, context) or []
        inputs = JobInputs(
            instruction=instruction, task=self.TASK, layer=layer, bounds=bounds, units_per_px=gsd or None,
            area_kind="extent" if bounds is not None else "layer",
            context_layers=tuple(c for c in context_layers if isinstance(c, QgsVectorLayer)),
            bands=tuple(self.parameterAsInts(parameters, self.BANDS, context) or ()),
            options={"tile_size": self.parameterAsInt(parameters, self.TILE_SIZE, context),
                     "overlap": self.parameterAsInt(parameters, self.OVERLAP, context), "gsd": gsd or None},
            title=f"{self.ALG_NAME}: {instruction[:40]}",
            # QGIS's own temporary folder, removed when QGIS quits
            output_path=QgsProcessingUtils.generateTempFilename(f"{slug(instruction)}.gpkg"))
        self.task_inputs(parameters, context, inputs)
        try:
            self._job = prepare_job(inputs, context.project() or QgsProject.instance(), load_settings())
        except PrepareError as exc:
            raise QgsProcessingException(str(exc)) from None
        return True

    def processAlgorithm(self, parameters, context, feedback: QgsProcessingFeedback):
        job = self._job
        if job is None:
            raise QgsProcessingException(tr("The algorithm was not prepared."))

        def on_event(event: JobEvent) -> None:
            if event.tiles_total:
                feedback.setProgress(100.0 * event.tiles_done / event.tiles_total)
                feedback.setProgressText(tr("{done}/{total} tiles").format(done=event.tiles_done,
                                                                          total=event.tiles_total))
            if event.kind == "plan" and event.message:
                feedback.pushInfo(event.message)
            elif event.kind == "warning" and event.message:
                feedback.pushWarning(event.message)

        def on_status(status: str) -> None:
            text = {"starting": tr("Connecting to the GeoRSMLLM backend (a local one is started if needed)…"),
                    "uploading": tr("Uploading the rendered image…"), "running": tr("Running…")}.get(status)
            if text:
                feedback.pushInfo(text)

        run = execute_job(self._service, job, on_event=on_event, on_status=on_status, is_cancelled=feedback.isCanceled)
        if run.error is not None:
            raise QgsProcessingException(tr("GeoRSMLLM backend: {reason}").format(reason=run.error))
        result = run.result
        for warning in result.get("warnings") or []:
            feedback.pushWarning(str(warning))
        if run.cancelled:
            feedback.pushWarning(tr("Cancelled: the output holds what was done before the cancel."))
        else:
            feedback.setProgress(100.0)
        answers = [str(a.get("text") or "") for a in result.get("answers") or []]
        count, kind = self._write_sink(parameters, context, run.gpkg, result)
        if context.willLoadLayerOnCompletion(self._dest_id):
            details = context.layerToLoadOnCompletionDetails(self._dest_id)
            details.setPostProcessor(StyleOnLoad(str(result.get("task") or self.TASK), kind, job.recipe, result,
                                                 job.title))
        return {self.OUTPUT: self._dest_id, self.ANSWER: "\n".join(a for a in answers if a),
                self.RUN_ID: str(result.get("run_id", "")), self.GPKG: run.gpkg or "", self.FEATURE_COUNT: count}

    def _write_sink(self, parameters, context, gpkg: str | None, result: dict[str, Any]) -> tuple[int, str]:
        """Copy the run's main layer to ``OUTPUT``; returns the feature count and the layer kind."""
        layers = (result.get("outputs") or {}).get("layers") or {}
        kind = next((k for k in self.MAIN_KINDS if k in layers), None)
        source = QgsVectorLayer(f"{gpkg}|layername={layers[kind]}", layers[kind], "ogr") if gpkg and kind else None
        if source is not None and source.isValid():
            fields = QgsFields()
            for field in source.fields():
                if field.name().lower() != "fid":  # the sink makes its own feature ids
                    fields.append(field)
            sink, self._dest_id = self.parameterAsSink(parameters, self.OUTPUT, context, fields, source.wkbType(),
                                                       source.crs())
            count = 0
            for feature in source.getFeatures():
                out = QgsFeature(fields)
                out.setGeometry(feature.geometry())
                out.setAttributes([feature[f.name()] for f in fields])
                sink.addFeature(out, QgsFeatureSink.FastInsert)
                count += 1
            return count, kind
        raster = self.parameterAsRasterLayer(parameters, self.INPUT, context)
        _sink, self._dest_id = self.parameterAsSink(parameters, self.OUTPUT, context, result_fields(), self.GEOMETRY,
                                                    raster.crs())
        kind = "points" if self.GEOMETRY == QgsWkbTypes.Point else ("boxes" if self.TASK == "detection" else "polygons")
        return 0, kind


class DetectAlgorithm(GeoRSMLLMAlgorithm):
    TASK, ALG_NAME = "detection", "detect"

    def displayName(self) -> str:
        return tr("Detect objects")

    def add_task_parameters(self) -> None:
        self.add_refine_parameter()

    def task_inputs(self, parameters, context, inputs: JobInputs) -> None:
        self.refine_inputs(parameters, context, inputs)

    def instruction_label(self) -> str:
        return tr("Objects to detect (e.g. 'planes', 'storage tanks near the harbour')")

    def shortHelpString(self) -> str:
        return tr("Finds the objects the instruction names and writes them as rotated boxes (polygons) in the "
                  "raster's CRS, with their label and score. With REFINE, each box prompts SAM2: the result is the "
                  "outline's minimum rotated rectangle, and the outlines go to the run's polygons layer.")


class SegmentAlgorithm(GeoRSMLLMAlgorithm):
    TASK, ALG_NAME = "seg", "segment"

    def displayName(self) -> str:
        return tr("Segment")

    def instruction_label(self) -> str:
        return tr("What to segment (e.g. 'buildings north of the river')")

    def shortHelpString(self) -> str:
        return tr("Outlines the things the instruction names as polygons (the model points at them, SAM2 draws "
                  "the masks).")


class ChangeAlgorithm(GeoRSMLLMAlgorithm):
    TASK, ALG_NAME = "change", "change"
    MAIN_KINDS = ("polygons", "boxes", "points")  # refined changes also write their rotated boxes

    def displayName(self) -> str:
        return tr("Detect changes")

    def instruction_label(self) -> str:
        return tr("Changes to find (e.g. 'new buildings')")

    def add_task_parameters(self) -> None:
        self.addParameter(QgsProcessingParameterRasterLayer(self.INPUT_B, tr("'After' raster layer")))
        self.add_refine_parameter()

    def task_inputs(self, parameters, context, inputs: JobInputs) -> None:
        layer_b = self.parameterAsRasterLayer(parameters, self.INPUT_B, context)
        if layer_b is None or not layer_b.isValid():
            raise QgsProcessingException(tr("Change detection needs a valid second ('after') raster."))
        inputs.layer_b = layer_b
        self.refine_inputs(parameters, context, inputs)

    def shortHelpString(self) -> str:
        return tr("Compares the raster (before) with the 'after' raster and writes the changed areas as polygons.")


class CaptionAlgorithm(GeoRSMLLMAlgorithm):
    TASK, ALG_NAME = "caption", "caption"

    def displayName(self) -> str:
        return tr("Describe image")

    def shortHelpString(self) -> str:
        return tr("Writes a description of the image (the ANSWER output), and the described area as a polygon.")


class RegionCaptionAlgorithm(GeoRSMLLMAlgorithm):
    TASK, ALG_NAME = "identify", "regioncaption"

    def displayName(self) -> str:
        return tr("Describe regions")

    def add_task_parameters(self) -> None:
        self.addParameter(QgsProcessingParameterFeatureSource(
            self.REGIONS, tr("Features to describe"), [QgsProcessing.TypeVectorAnyGeometry]))

    def task_inputs(self, parameters, context, inputs: JobInputs) -> None:
        regions = self.parameterAsVectorLayer(parameters, self.REGIONS, context)
        if regions is None:
            raise QgsProcessingException(tr("The features to describe are missing."))
        inputs.regions_layer = regions
        inputs.regions_selected_only = bool(getattr(parameters.get(self.REGIONS), "selectedFeaturesOnly", False))

    def shortHelpString(self) -> str:
        return tr("Describes each feature's area of the raster; the answers are in the result layer's "
                  "attributes and the ANSWER output.")


class QuestionAlgorithm(GeoRSMLLMAlgorithm):
    TASK, ALG_NAME = "vqa", "question"

    def displayName(self) -> str:
        return tr("Ask a question")

    def instruction_label(self) -> str:
        return tr("Question about the image")

    def shortHelpString(self) -> str:
        return tr("Answers a question about the image (the ANSWER output).")


class ClassifyAlgorithm(GeoRSMLLMAlgorithm):
    TASK, ALG_NAME = "classify", "classify"

    def displayName(self) -> str:
        return tr("Classify scene")

    def add_task_parameters(self) -> None:
        self.addParameter(QgsProcessingParameterString(
            self.CLASSES,
            tr("Candidate classes, comma separated (empty: those named in the instruction, else the 45 NWPU-RESISC45 scene classes)"),  # noqa: E501 - one string for pylupdate
            optional=True))

    def task_inputs(self, parameters, context, inputs: JobInputs) -> None:
        text = self.parameterAsString(parameters, self.CLASSES, context) or ""
        inputs.classes = tuple(c.strip() for c in text.split(",") if c.strip())

    def shortHelpString(self) -> str:
        return tr("Classifies each tile of the raster; the class is the label of the tile polygons.")


class GeolocateAlgorithm(GeoRSMLLMAlgorithm):
    TASK, ALG_NAME = "geolocation", "geolocate"
    GEOMETRY = QgsWkbTypes.Point

    def displayName(self) -> str:
        return tr("Geolocate image")

    def shortHelpString(self) -> str:
        return tr("Asks the model where the image was taken and writes its guess as a point.")


class FollowUpAlgorithm(GeoRSMLLMAlgorithm):
    """A follow-up in words on a result layer ("those larger than 500 m²"): the backend filters that layer's
    objects (GIS conditions without a model call) and the kept ones go to ``OUTPUT``; the input is not
    changed."""

    TASK, ALG_NAME = "detection", "followup"
    RESULT = "RESULT"
    MAIN_KINDS = ("boxes", "polygons")

    def displayName(self) -> str:
        return tr("Filter a result in words")

    def instruction_label(self) -> str:
        return tr("Which of its objects to keep (e.g. 'those larger than 500 m²', 'remove the ones inside the "
                  "parks layer')")

    def add_task_parameters(self) -> None:
        self.addParameter(QgsProcessingParameterVectorLayer(
            self.RESULT, tr("Result layer to filter (boxes or polygons of an earlier run)"),
            [QgsProcessing.TypeVectorPolygon]))

    def task_inputs(self, parameters, context, inputs: JobInputs) -> None:
        result = self.parameterAsVectorLayer(parameters, self.RESULT, context)
        if result is None or not result.isValid():
            raise QgsProcessingException(tr("The result layer to filter is missing or invalid."))
        inputs.previous, inputs.previous_layer = layer_result(result), result
        inputs.follow_up = "yes"

    def prepareAlgorithm(self, parameters, context, feedback):
        prepared = super().prepareAlgorithm(parameters, context, feedback)
        self._job.followup_gpkg = None  # the output goes to OUTPUT: the input's GeoPackage stays as it is
        return prepared

    def shortHelpString(self) -> str:
        return tr("Filters the objects of a result layer by an instruction about them (\"those larger than 500 m²\", "
                  "\"which of these are north of the river?\", \"remove the ones inside the parks layer\"): GIS "
                  "conditions are measured without calling the model; visual ones ask the model only about those "
                  "objects. The raster is the image they were found on.")


ALGORITHMS = (DetectAlgorithm, SegmentAlgorithm, ChangeAlgorithm, CaptionAlgorithm, RegionCaptionAlgorithm,
              QuestionAlgorithm, ClassifyAlgorithm, GeolocateAlgorithm, FollowUpAlgorithm)
