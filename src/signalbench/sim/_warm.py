"""Imported by the launcher's fork server so that every trial process starts with SUMO loaded.

Importing libsumo costs ~0.2 s; a forked trial process inherits it for free. Importing the
module starts no simulation, so forking afterwards is safe.
"""

from __future__ import annotations

import contextlib

from signalbench.sim._binaries import prepare_process_env

prepare_process_env()
with contextlib.suppress(ImportError):  # the traci backend still works without libsumo
    import libsumo  # noqa: F401
