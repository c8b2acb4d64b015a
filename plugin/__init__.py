"""QGIS side of GeoRSMLLM: GUI, tasks, Processing provider, settings. Never imports torch."""
