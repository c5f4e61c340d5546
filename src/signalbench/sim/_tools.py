"""Running SUMO's programs and tools (sumo, netgenerate, netconvert, randomTrips) as children.

One error policy for all of them: the child is killed on every exit path (an exception, a
KeyboardInterrupt, a timeout, and on Linux the death of this process, even by kill -9), and a
failure becomes one :class:`SimulationError` line that names the tool, its exit status and
SUMO's own first ``Error:`` line (else its last lines).
"""

from __future__ import annotations

import functools
import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from signalbench._util import die_with_parent
from signalbench.errors import SimulationError
from signalbench.sim._binaries import sumo_binary, sumo_env, sumo_home

__all__ = ["ToolError", "ToolResult", "run_tool", "tool_command"]


class ToolError(SimulationError):
    """A SUMO program or tool failed; ``detail`` is SUMO's own reason, for callers to phrase."""

    def __init__(self, message: str, *, tool: str, detail: str) -> None:
        super().__init__(message)
        self.tool = tool
        self.detail = detail


@dataclass(frozen=True, kw_only=True)
class ToolResult:
    """What a finished tool left: its command line and its output."""

    command: list[str]
    stdout: str
    stderr: str


def tool_command(tool: str, binary: Path | None = None) -> list[str]:
    """Return the command that starts ``tool``.

    ``tool`` is a SUMO binary (``netgenerate``) run from SUMO's ``bin/``, or a Python tool of
    SUMO's ``tools/`` folder (``randomTrips.py``) run with this interpreter. ``binary``
    overrides the path of a binary tool (another SUMO release's ``sumo``).
    """
    if tool.endswith(".py"):
        script = sumo_home() / "tools" / tool
        if not script.is_file():
            raise SimulationError(f"SUMO tool {tool} not found in {script.parent}")
        return [sys.executable, str(script)]
    return [str(sumo_binary(tool, override=binary))]


def _problem(stdout: str, stderr: str) -> str:
    """SUMO's first ``Error:`` line, else the last three lines of output, else 'no output'."""
    lines = [ln.strip() for ln in (stderr + "\n" + stdout).splitlines() if ln.strip()]
    errors = [ln for ln in lines if ln.startswith("Error")]
    if errors:
        return errors[0].removeprefix("Error:").strip()[:500]
    return " | ".join(lines[-3:])[:500] or "no output"


def run_tool(
    tool: str,
    args: Sequence[str],
    *,
    timeout_s: float | None = None,
    cwd: Path | None = None,
    binary: Path | None = None,
    capture_stdout: bool = True,
    full_command: Sequence[str] | None = None,
) -> ToolResult:
    """Run a SUMO program or tool with SUMO's environment and wait for it.

    Args:
        tool: a SUMO binary name or a Python tool of SUMO (see :func:`tool_command`).
        args: its arguments.
        timeout_s: wall-time limit [s]; None waits as long as it takes.
        cwd: working folder (tools that leave intermediate files there).
        binary: another SUMO binary for ``tool`` (another release).
        capture_stdout: False discards stdout (sumo's progress output).
        full_command: the whole command line, when the caller built it (``args`` ignored).

    Raises:
        ToolError: the tool could not start, failed (exit status != 0) or timed out.

    """
    cmd = list(full_command) if full_command is not None else [*tool_command(tool, binary), *args]
    try:
        proc = subprocess.Popen(
            cmd,
            stdout=subprocess.PIPE if capture_stdout else subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            env=sumo_env(binary),
            cwd=cwd,
            text=True,
            errors="replace",
            preexec_fn=functools.partial(die_with_parent, os.getpid()),  # gone if we are killed
        )
    except OSError as exc:
        raise ToolError(f"{tool} could not start: {exc}", tool=tool, detail=str(exc)) from exc
    try:
        stdout, stderr = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        detail = f"did not finish within {timeout_s:g} s"
        raise ToolError(f"{tool} {detail}", tool=tool, detail=detail) from None
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    stdout, stderr = stdout or "", stderr or ""
    if proc.returncode != 0:
        detail = _problem(stdout, stderr)
        raise ToolError(f"{tool} exited with status {proc.returncode}: {detail}", tool=tool, detail=detail)
    return ToolResult(command=cmd, stdout=stdout, stderr=stderr)
