"""The engine's documented error types: each carries a message meant for a person."""

from __future__ import annotations

from collections.abc import Callable


class DigitdeskError(Exception):
    """Base class for every error the engine raises on bad input or environment."""


class DataError(DigitdeskError):
    """A data set is missing, malformed or cannot be downloaded."""


class ImageError(DigitdeskError):
    """An image file cannot be read, or is too large or of an unsupported kind."""


class ModelError(DigitdeskError):
    """A model file is missing, corrupt, unsafe or does not meet the input/output contract."""


class TrainingError(DigitdeskError):
    """Training cannot start or run with the given configuration."""


class RunError(DigitdeskError):
    """A recorded training run is unknown, unreadable, or cannot be written or deleted."""


class Cancelled(DigitdeskError):
    """Work stopped on request (its ``should_stop`` returned True), not a failure: nothing is wrong
    with the input, and there is no result."""


def raise_if_stopped(should_stop: "Callable[[], bool] | None", what: str) -> None:
    """Raise :class:`Cancelled` ("``what`` stopped on request") if ``should_stop()`` is true;
    never for None. Long work calls this between its steps."""
    if should_stop is not None and should_stop():
        raise Cancelled(f"{what} stopped on request")


class ClusterError(DigitdeskError):
    """Training on several workers cannot start or go on: a bad --workers list or TF_CONFIG, a
    port in use, a worker that does not join or stops answering."""
