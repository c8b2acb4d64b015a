"""Processing algorithms, one per task. Each sends its raster(s) to the backend, reports tile progress
through ``feedback``, cancels the backend job when the user cancels, and writes the task's main layer to
``OUTPUT`` (any vector format, or a temporary layer). Text answers come back as the ``ANSWER`` output.

``prepareAlgorithm`` (main thread) reads the layers; ``processAlgorithm`` (possibly a worker thread)
only talks to the backend and writes the sink."""

from __future__ import annotations

import os
import tempfile
from typing import Any

from qgis.core import (
    QgsFeature,
    QgsFeatureSink,
    QgsField,
    QgsFields,
    QgsProcessing,
    QgsProcessingAlgorithm,
    QgsProcessingContext,
    QgsProcessingException,
    QgsProcessingFeedback,
    QgsProcessingOutputNumber,
    QgsProcessingOutputString,
    QgsProcessingParameterBoolean,
    QgsProcessingParameterDefinition,
    QgsProcessingParameterExtent,
    QgsProcessingParameterFeatureSource,
    QgsProcessingParameterMultipleLayers,
    QgsProcessingParameterNumber,
    QgsProcessingParameterRasterLayer,
    QgsProcessingParameterString,
    QgsProcessingParameterVectorDestination,
    QgsRasterLayer,
    QgsVectorLayer,
    QgsWkbTypes,
)
from qgis.PyQt.QtCore import QVariant
from qgis.PyQt.QtGui import QIcon

from .. import about
from ..logic.follow import JobEvent
from ..logic.prepare import PreparedJob, PrepareError, features_geojson, slug, vector_path
from ..logic.raster_source import FileRaster, RasterSourceError, RenderedRaster, raster_source
from ..logic.runner import execute_job
from ..logic.service import BackendService
from ..toolbelt.i18n import tr
from ..toolbelt.settings import load_settings

#: The main layer of each task's result, in order of preference (``outputs.layers`` keys).
_MAIN_KINDS = ("boxes", "polygons", "points")


def result_fields() -> QgsFields:
    """The attributes of a result layer when the backend wrote none (an empty output keeps its schema)."""
    fields = QgsFields()
    for name, kind in (("label", QVariant.String), ("score", QVariant.Double), ("task", QVariant.String),
                       ("instruction", QVariant.String), ("model", QVariant.String), ("run_id", QVariant.String),
                       ("answer", QVariant.String), ("partial", QVariant.String)):
        fields.append(QgsField(name, kind))
    return fields


class GeoRSMLLMAlgorithm(QgsProcessingAlgorithm):
    """Shared parameters and execution. Subclasses set the class attributes and may add parameters."""

    INPUT = "INPUT"
    INPUT_B = "INPUT_B"
    INSTRUCTION = "INSTRUCTION"
    EXTENT = "EXTENT"
    REGIONS = "REGIONS"
    CLASSES = "CLASSES"
    CONTEXT_LAYERS = "CONTEXT_LAYERS"
    TILE_SIZE = "TILE_SIZE"
    OVERLAP = "OVERLAP"
    GSD = "GSD"
    REFINE = "REFINE"
    OUTPUT = "OUTPUT"
    ANSWER = "ANSWER"
    RUN_ID = "RUN_ID"
    FEATURE_COUNT = "FEATURE_COUNT"
    GPKG = "GPKG"

    TASK = ""
    ALG_NAME = ""
    MAIN_KINDS = _MAIN_KINDS
    DEFAULT_INSTRUCTION = ""  # empty: the instruction is required
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

    def initAlgorithm(self, config=None):
        settings = load_settings()
        self.addParameter(QgsProcessingParameterRasterLayer(self.INPUT, tr("Raster layer")))
        self.add_task_parameters()
        self.addParameter(QgsProcessingParameterString(
            self.INSTRUCTION, self.instruction_label(), defaultValue=self.DEFAULT_INSTRUCTION or None,
            multiLine=False, optional=bool(self.DEFAULT_INSTRUCTION)))
        self.addParameter(QgsProcessingParameterExtent(
            self.EXTENT, tr("Area of interest (whole layer when empty)"), optional=True))
        advanced = [
            QgsProcessingParameterMultipleLayers(
                self.CONTEXT_LAYERS, tr("Context vector layers the instruction may name"),
                QgsProcessing.TypeVectorAnyGeometry, optional=True),
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

    def refine_body(self, parameters: dict[str, Any], context: QgsProcessingContext) -> dict[str, Any]:
        return {"refine": "sam2" if self.parameterAsBool(parameters, self.REFINE, context) else "none"}

    def output_type(self) -> int:
        return QgsProcessing.TypeVectorPoint if self.GEOMETRY == QgsWkbTypes.Point else QgsProcessing.TypeVectorPolygon

    def extra_body(self, parameters: dict[str, Any], context: QgsProcessingContext,
                   layer: QgsRasterLayer) -> dict[str, Any]:
        """Job fields of a task's own parameters."""
        return {}

    # -- execution ------------------------------------------------------------------------------
    def prepareAlgorithm(self, parameters, context, feedback):
        layer = self.parameterAsRasterLayer(parameters, self.INPUT, context)
        if layer is None or not layer.isValid():
            raise QgsProcessingException(tr("The input raster layer is missing or invalid."))
        given = self.parameterAsString(parameters, self.INSTRUCTION, context)
        instruction = (given or self.DEFAULT_INSTRUCTION).strip()
        if not instruction:
            raise QgsProcessingException(tr("The instruction is empty: say what to look for."))
        bounds = None
        if parameters.get(self.EXTENT):
            bounds = self.parameterAsExtent(parameters, self.EXTENT, context, layer.crs())
            bounds = bounds.intersect(layer.extent()) if not bounds.isEmpty() else None
            if bounds is None or bounds.isEmpty():
                raise QgsProcessingException(tr("The area of interest does not overlap the raster."))
        gsd = self.parameterAsDouble(parameters, self.GSD, context)
        remote = load_settings().server_is_remote  # another machine cannot open our files: upload pixels
        try:
            source = raster_source(layer, bounds, gsd or None, force_render=remote)
            source_b = None
            layer_b = None
            if self.TASK == "change":
                layer_b = self.parameterAsRasterLayer(parameters, self.INPUT_B, context)
                if layer_b is None or not layer_b.isValid():
                    raise QgsProcessingException(tr("Change detection needs a valid second ('after') raster."))
                source_b = raster_source(layer_b, bounds, gsd or None, force_render=remote)
                if isinstance(source, RenderedRaster) and isinstance(source_b, RenderedRaster):
                    source_b = RenderedRaster(layer_b, source.extent_map, source.width, source.height)
        except RasterSourceError as exc:
            raise QgsProcessingException(str(exc)) from None
        settings = load_settings()
        body: dict[str, Any] = {
            "instruction": instruction, "task": self.TASK,
            "tile_size": self.parameterAsInt(parameters, self.TILE_SIZE, context),
            "overlap": self.parameterAsInt(parameters, self.OVERLAP, context),
            "gsd": gsd or None, "concurrency": settings.concurrency,
        }
        if bounds is not None and isinstance(source, FileRaster):
            body["window"] = [bounds.xMinimum(), bounds.yMinimum(), bounds.xMaximum(), bounds.yMaximum()]
        needed = [s.folder for s in (source, source_b) if isinstance(s, FileRaster)]
        context_paths = []
        try:
            for context_layer in self.parameterAsLayerList(parameters, self.CONTEXT_LAYERS, context) or []:
                if isinstance(context_layer, QgsVectorLayer):
                    context_paths.append(vector_path(context_layer))
                    needed.append(os.path.dirname(context_paths[-1].split("|")[0]))
            body.update(self.extra_body(parameters, context, layer))
        except PrepareError as exc:
            raise QgsProcessingException(str(exc)) from None
        if context_paths:
            body["context_layers"] = context_paths
        recipe = {"instruction": instruction, "task": self.TASK, "raster": layer.name(),
                  "raster_b": layer_b.name() if layer_b is not None else "", "tile_size": body["tile_size"],
                  "overlap": body["overlap"], "gsd": gsd or "native"}
        output = os.path.join(tempfile.mkdtemp(prefix="georsmllm-"), f"{slug(instruction)}.gpkg")
        self._job = PreparedJob(body=body, raster=source, raster_b=source_b, needed_dirs=tuple(dict.fromkeys(needed)),
                                title=f"{self.ALG_NAME}: {instruction[:40]}", output_path=output, recipe=recipe)
        return True

    def processAlgorithm(self, parameters, context, feedback: QgsProcessingFeedback):
        job = self._job
        if job is None:
            raise QgsProcessingException(tr("The algorithm was not prepared."))

        def on_event(event: JobEvent) -> None:
            if event.tiles_total:
                feedback.setProgress(100.0 * event.tiles_done / event.tiles_total)
            if event.kind == "plan" and event.message:
                feedback.pushInfo(event.message)
            elif event.kind == "warning" and event.message:
                feedback.pushWarning(event.message)

        def on_status(status: str) -> None:
            if status == "starting":
                feedback.pushInfo(tr("Connecting to the GeoRSMLLM backend (a local one is started if needed)…"))

        run = execute_job(self._service, job, on_event=on_event, on_status=on_status,
                          is_cancelled=feedback.isCanceled, feedback=feedback)
        if run.error is not None:
            raise QgsProcessingException(tr("GeoRSMLLM backend: {reason}").format(reason=run.error))
        result = run.result
        for warning in result.get("warnings") or []:
            feedback.pushWarning(str(warning))
        if run.cancelled:
            feedback.pushWarning(tr("Cancelled: the output holds what was done before the cancel."))
        answers = [str(a.get("text") or "") for a in result.get("answers") or []]
        count = self._write_sink(parameters, context, run.gpkg, result)
        return {self.OUTPUT: self._dest_id, self.ANSWER: "\n".join(a for a in answers if a),
                self.RUN_ID: str(result.get("run_id", "")), self.GPKG: run.gpkg or "", self.FEATURE_COUNT: count}

    def _write_sink(self, parameters, context, gpkg: str | None, result: dict[str, Any]) -> int:
        layers = (result.get("outputs") or {}).get("layers") or {}
        name = next((layers[k] for k in self.MAIN_KINDS if k in layers), None)
        source = QgsVectorLayer(f"{gpkg}|layername={name}", name, "ogr") if gpkg and name else None
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
            return count
        raster = self.parameterAsRasterLayer(parameters, self.INPUT, context)
        _sink, self._dest_id = self.parameterAsSink(parameters, self.OUTPUT, context, result_fields(), self.GEOMETRY,
                                                    raster.crs())
        return 0


class DetectAlgorithm(GeoRSMLLMAlgorithm):
    TASK, ALG_NAME = "detection", "detect"

    def displayName(self) -> str:
        return tr("Detect objects")

    def add_task_parameters(self) -> None:
        self.add_refine_parameter()

    def extra_body(self, parameters, context, layer) -> dict[str, Any]:
        return self.refine_body(parameters, context)

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

    def extra_body(self, parameters, context, layer) -> dict[str, Any]:
        return self.refine_body(parameters, context)

    def shortHelpString(self) -> str:
        return tr("Compares the raster (before) with the 'after' raster and writes the changed areas as polygons.")


class CaptionAlgorithm(GeoRSMLLMAlgorithm):
    TASK, ALG_NAME = "caption", "caption"
    DEFAULT_INSTRUCTION = "Describe this image in detail."

    def displayName(self) -> str:
        return tr("Describe image")

    def shortHelpString(self) -> str:
        return tr("Writes a description of the image (the ANSWER output), and the described area as a polygon.")


class RegionCaptionAlgorithm(GeoRSMLLMAlgorithm):
    TASK, ALG_NAME = "identify", "regioncaption"
    DEFAULT_INSTRUCTION = "Describe this region."

    def displayName(self) -> str:
        return tr("Describe regions")

    def add_task_parameters(self) -> None:
        self.addParameter(QgsProcessingParameterFeatureSource(
            self.REGIONS, tr("Features to describe"), [QgsProcessing.TypeVectorAnyGeometry]))

    def extra_body(self, parameters, context, layer) -> dict[str, Any]:
        source_layer = self.parameterAsVectorLayer(parameters, self.REGIONS, context)
        if source_layer is None:
            raise QgsProcessingException(tr("The features to describe are missing."))
        selected_only = self._selected_only(parameters)
        return {"regions": features_geojson(source_layer, layer.crs(), selected_only=selected_only)}

    def _selected_only(self, parameters) -> bool:
        value = parameters.get(self.REGIONS)
        return bool(getattr(value, "selectedFeaturesOnly", False))

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
    DEFAULT_INSTRUCTION = "What kind of scene is this?"

    def displayName(self) -> str:
        return tr("Classify scene")

    def add_task_parameters(self) -> None:
        self.addParameter(QgsProcessingParameterString(
            self.CLASSES, tr("Candidate classes, comma separated (empty: the model's own words)"), optional=True))

    def extra_body(self, parameters, context, layer) -> dict[str, Any]:
        text = self.parameterAsString(parameters, self.CLASSES, context) or ""
        classes = [c.strip() for c in text.split(",") if c.strip()]
        return {"classes": classes} if classes else {}

    def shortHelpString(self) -> str:
        return tr("Classifies each tile of the raster; the class is the label of the tile polygons.")


class GeolocateAlgorithm(GeoRSMLLMAlgorithm):
    TASK, ALG_NAME = "geolocation", "geolocate"
    DEFAULT_INSTRUCTION = "Where was this image taken?"
    GEOMETRY = QgsWkbTypes.Point

    def displayName(self) -> str:
        return tr("Geolocate image")

    def shortHelpString(self) -> str:
        return tr("Asks the model where the image was taken and writes its guess as a point.")


ALGORITHMS = (DetectAlgorithm, SegmentAlgorithm, ChangeAlgorithm, CaptionAlgorithm, RegionCaptionAlgorithm,
              QuestionAlgorithm, ClassifyAlgorithm, GeolocateAlgorithm)
