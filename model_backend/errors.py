"""Errors the backend raises on purpose. Each message names the problem and, where it helps, what to set."""


class GeoRSMLLMError(Exception):
    """Base class: a failure with a message meant for the user (one line, no traceback needed)."""


class RasterError(GeoRSMLLMError):
    """A raster cannot be opened, read or georeferenced."""


class EngineError(GeoRSMLLMError):
    """A model engine failed to load or to answer."""


class ConfigError(GeoRSMLLMError):
    """A setting is missing or has an invalid value."""


class OutputError(GeoRSMLLMError):
    """A vector output cannot be written."""
