"""Where a result came from: code versions, git commits, host, spec and input-file hashes."""

from __future__ import annotations

import functools
import hashlib
import os
import socket
import subprocess
from pathlib import Path
from typing import Any

__all__ = ["git_state", "provenance"]


@functools.lru_cache(maxsize=8)
def git_state(folder: str) -> dict[str, Any] | None:
    """Commit and dirty flag of the git work tree containing ``folder``, or None."""
    try:
        commit = subprocess.run(
            ["git", "-C", folder, "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
        if commit.returncode != 0:
            return None
        dirty = subprocess.run(
            ["git", "-C", folder, "status", "--porcelain", "--untracked-files=no"],
            capture_output=True, text=True, timeout=30, check=False,
        )  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None
    return {"commit": commit.stdout.strip(), "dirty": bool(dirty.stdout.strip())}


def provenance(*, experiment: str, spec_text: str) -> dict[str, Any]:
    """Provenance shared by every trial of one launch of an experiment."""
    package_dir = str(Path(__file__).resolve().parents[1])
    return {
        "experiment": experiment,
        "experiment_spec_sha256": hashlib.sha256(spec_text.encode()).hexdigest(),
        "launched_from": socket.gethostname(),  # the trial's own host is TrialResult.host
        "cwd": os.getcwd(),
        "cwd_git": git_state(os.getcwd()),
        "signalbench_git": git_state(package_dir),
    }
