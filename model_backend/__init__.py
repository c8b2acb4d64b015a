"""GeoRSMLLM backend: pure Python, never imports qgis or PyQt.

Data flow: raster -> tiles -> prompt (dialect) -> engine -> text -> parser (dialect)
-> pixel geometry -> raster pixels -> merge across tiles -> map coordinates -> vector layer.
"""

__version__ = "0.1.0"
