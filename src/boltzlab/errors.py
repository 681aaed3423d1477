"""Exceptions that carry a one-line, user-facing message.

The CLI turns every :class:`BoltzlabError` into ``boltzlab: error: <message>`` on stderr and exit code 2.
"""

from __future__ import annotations

from typing import Any


class BoltzlabError(Exception):
    """Base class for errors caused by user input (files, shapes, values, hyperparameters)."""


class DomainError(BoltzlabError, ValueError):
    """A configuration lies outside the domain of a unit type (e.g. 0.5 for a binary unit, or NaN)."""


class ShapeError(BoltzlabError, ValueError):
    """An array has the wrong shape for the model it is used with."""


class ConfigError(BoltzlabError, ValueError):
    """Hyperparameters for which the requested model or procedure does not exist."""


class CheckpointError(BoltzlabError):
    """A checkpoint or model file is missing, truncated, corrupt or of an unknown version."""


class DataError(BoltzlabError):
    """A data file is missing, corrupt or not in the expected format."""


class IntractableError(BoltzlabError):
    """An exact computation would need more states than allowed; the message names the estimator to use."""


def require(condition: Any, message: str, error: type[BoltzlabError] = ConfigError) -> None:
    """Raise ``error`` (by default :class:`ConfigError`) with ``message`` unless ``condition`` holds."""
    if not condition:
        raise error(message)
