"""QGIS entry point. The repository root is the plugin folder; QGIS imports it as a package."""


def classFactory(iface):
    """Called by QGIS to create the plugin. Imports stay lazy so the backend never needs qgis."""
    from .plugin.main import GeoRSMLLMPlugin

    return GeoRSMLLMPlugin(iface)
