"""Messages to the QGIS log panel (tab "GeoRSMLLM")."""

from __future__ import annotations

from qgis.core import Qgis, QgsMessageLog

TAG = "GeoRSMLLM"


def log(message: str, level: Qgis.MessageLevel = Qgis.Info) -> None:
    """Thread-safe: QgsMessageLog queues messages from worker threads."""
    QgsMessageLog.logMessage(message, TAG, level)
