"""Imported by the launcher's fork server only (its preload list): it dies with the runner.

The fork server is a child of the runner, and every trial process a child of the fork server.
The kernel kills the fork server when the runner exits, even by ``kill -9``; each trial process
asks the same of its own parent when it starts (``_launchers._child``), so the whole tree goes.
If the runner is gone before this runs, the fork server sees its "alive" pipe closed and exits.
"""

from __future__ import annotations

from signalbench._util import die_with_parent

die_with_parent()
