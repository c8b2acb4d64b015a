"""Errors of the model manager, meant for the user."""

from __future__ import annotations

from ..errors import GeoRSMLLMError


class ModelDownloadError(GeoRSMLLMError):
    """A model could not be listed, downloaded or stored."""


class DownloadCancelled(ModelDownloadError):
    """The user cancelled; partial files are kept and the next download continues them."""
