"""Imported by the launcher's fork server only (its preload list): it dies with the runner.

The fork server is a child of the runner, and every trial process a child of the fork server.
When the runner exits, even by ``kill -9``, the fork server goes too: the kernel signals it
(:data:`RUNNER_GONE`, while trial processes run), or it sees its "alive" pipe closed (when none
runs). Either way it removes the runner's multiprocessing folder (``pymp-*`` in the temporary
folder, holding the fork server's socket) if the runner could not, and exits. Each trial
process asks the kernel to SIGKILL it when its own parent, the fork server, exits
(``_launchers._child``), so the whole tree goes.
"""

from __future__ import annotations

import atexit
import multiprocessing.forkserver
import os
import shutil
import signal
from types import FrameType

from signalbench._util import die_with_parent
from signalbench.experiments._launchers import RUNNER_GONE

_runner = os.getppid()


def _remove_runner_folder() -> None:
    # A runner that exits normally removes its folder before its end closes the "alive" pipe;
    # a folder still there once the runner is gone is one a killed runner left.
    address = getattr(multiprocessing.forkserver._forkserver, "_forkserver_address", None)
    if isinstance(address, str):
        folder = os.path.dirname(address)
        if os.path.basename(folder).startswith("pymp-"):
            shutil.rmtree(folder, ignore_errors=True)


def _runner_gone(_signum: int, _frame: FrameType | None) -> None:
    if os.getppid() == _runner:  # a stray signal: the runner is alive
        return
    _remove_runner_folder()
    os._exit(1)  # the trial processes forked from here get their SIGKILL now


atexit.register(_remove_runner_folder)  # the fork server's own exit (the "alive" pipe closed)
signal.signal(RUNNER_GONE, _runner_gone)
die_with_parent(_runner, signum=RUNNER_GONE)
