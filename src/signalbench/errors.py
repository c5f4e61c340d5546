"""Errors that reach the user as one clear line.

Every error a user can fix (a missing file, a bad spec field, an unknown controller) is a
:class:`SignalbenchError`; the CLI prints its message on one line and exits with status 2.
Anything else is a bug and keeps its traceback. :class:`Interrupted` is not an error: it is how
SIGTERM and SIGHUP reach the code, the way Ctrl-C does as KeyboardInterrupt.
"""

from __future__ import annotations

import signal

__all__ = [
    "ControllerError",
    "Interrupted",
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


class Interrupted(KeyboardInterrupt):
    """A signal asked the process to stop (SIGTERM, SIGHUP): cleaned up like Ctrl-C.

    Attributes:
        signum: the signal's number; the command's exit status is 128 + signum.

    """

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum

    def __str__(self) -> str:
        try:
            return signal.Signals(self.signum).name
        except ValueError:
            return f"signal {self.signum}"
