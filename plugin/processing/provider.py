"""A thin ``QgsProcessingProvider``: it only lists the algorithms."""

from __future__ import annotations

from qgis.core import QgsProcessingProvider
from qgis.PyQt.QtGui import QIcon

from .. import about
from ..logic.service import BackendService
from ..toolbelt import vocabulary
from .algorithms import ALGORITHMS

PROVIDER_ID = "georsmllm"


class GeoRSMLLMProvider(QgsProcessingProvider):
    """Algorithms ``georsmllm:detect``, ``segment``, ``change``, ``caption``, ``regioncaption``,
    ``question``, ``classify``, ``geolocate``; all use ``service`` to reach the backend."""

    def __init__(self, service: BackendService):
        super().__init__()
        self._service = service

    def id(self) -> str:
        return PROVIDER_ID

    def name(self) -> str:
        return about.TITLE

    def icon(self) -> QIcon:
        return QIcon(str(about.ICON_PATH))

    def versionInfo(self) -> str:
        return about.VERSION

    def loadAlgorithms(self) -> None:
        """One algorithm per backend task this plugin has an algorithm for."""
        known = vocabulary.current().task_names
        for algorithm in ALGORITHMS:
            if algorithm.TASK in known:
                self.addAlgorithm(algorithm(self._service))
