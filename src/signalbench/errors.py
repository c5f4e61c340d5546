"""Errors that reach the user as one clear line.

Every error a user can fix (a missing file, a bad spec field, an unknown controller) is a
:class:`SignalbenchError`; the CLI prints its message on one line and exits with status 2.
Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

__all__ = [
    "ControllerError",
    "NetworkError",
    "SignalbenchError",
    "SimulationError",
    "SpecError",
]


class SignalbenchError(Exception):
    """Base class for errors caused by user input; the message names the culprit."""


class SpecError(SignalbenchError):
    """An experiment spec (TOML or arguments) is invalid."""


class NetworkError(SignalbenchError):
    """A network id, file or intersection cannot be used."""


class ControllerError(SignalbenchError):
    """A controller cannot be found, built, or returned an invalid request."""


class SimulationError(SignalbenchError):
    """SUMO could not be started or stopped unexpectedly."""
