"""Errors of the environment set-up, meant for the user."""

from __future__ import annotations

from ..errors import GeoRSMLLMError


class EnvSetupError(GeoRSMLLMError):
    """The backend environment could not be created, installed or checked."""


class SetupCancelled(EnvSetupError):
    """The user cancelled; what was done is kept and a re-run resumes."""
