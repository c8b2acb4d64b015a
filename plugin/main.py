"""The plugin object QGIS creates: registers GUI entry points in ``initGui`` and removes every one in
``unload``. Work is delegated; this module only wires things together."""

from __future__ import annotations

from qgis.PyQt.QtCore import QCoreApplication
from qgis.PyQt.QtGui import QIcon
from qgis.PyQt.QtWidgets import QAction, QMessageBox

from . import about

MENU = "&GeoRSMLLM"


def tr(text: str) -> str:
    return QCoreApplication.translate("GeoRSMLLM", text)


class GeoRSMLLMPlugin:
    """Created by ``classFactory(iface)``."""

    def __init__(self, iface):
        self.iface = iface
        self.actions: list[QAction] = []

    def initGui(self) -> None:  # noqa: N802 - QGIS API
        about_action = QAction(QIcon(str(about.ICON_PATH)), tr("About GeoRSMLLM"), self.iface.mainWindow())
        about_action.triggered.connect(self.show_about)
        self.iface.addPluginToRasterMenu(MENU, about_action)
        self.actions.append(about_action)

    def unload(self) -> None:
        for action in self.actions:
            self.iface.removePluginRasterMenu(MENU, action)
            action.deleteLater()
        self.actions.clear()

    def show_about(self) -> None:
        QMessageBox.about(
            self.iface.mainWindow(),
            about.TITLE,
            tr("GeoRSMLLM {version}\nNatural-language instructions on raster layers.\nIssues: {tracker}").format(
                version=about.VERSION, tracker=about.TRACKER
            ),
        )
