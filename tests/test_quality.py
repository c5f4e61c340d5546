"""House style is checked in the same run as the tests: ruff (lint, format) and mypy --strict."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# The scripts under docs/ only: ruff would also reformat the Python examples inside the Markdown.
TARGETS = [
    "src", "tests", "controllers", "benchmarks", "examples", "experiments", "docs/regenerate_tables.py",
]  # fmt: skip


def _run(*cmd: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)


@pytest.mark.skipif(
    shutil.which("ruff") is None and not (Path(sys.executable).parent / "ruff").exists(),
    reason="ruff not installed (pip install '.[test]')",
)
def test_ruff_lint_and_format():
    ruff = shutil.which("ruff") or str(Path(sys.executable).parent / "ruff")
    targets = [t for t in TARGETS if (ROOT / t).exists()]
    lint = _run(ruff, "check", *targets)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    fmt = _run(ruff, "format", "--check", *targets)
    assert fmt.returncode == 0, fmt.stdout + fmt.stderr


def test_mypy_strict():
    pytest.importorskip("mypy", reason="mypy not installed (pip install '.[test]')")
    result = _run(sys.executable, "-m", "mypy")
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_bundled_spec_travels_in_the_wheel():
    """pyproject lists experiments/*.toml one by one, and the files they name (the report's PNGs stay out)."""
    from signalbench._util import load_toml

    include = load_toml(ROOT / "pyproject.toml")["tool"]["hatch"]["build"]["targets"]["wheel"][
        "force-include"
    ]
    specs = {f"experiments/{p.name}" for p in (ROOT / "experiments").glob("*.toml")}
    assert specs <= set(include), (
        f"add to [tool.hatch.build.targets.wheel.force-include]: {specs - set(include)}"
    )
    # resco.toml's baselines are a controller file with its data; nothing else of the report
    needed = {"experiments/resco/resco_replay.py", "experiments/resco/resco_signal_config.json"}
    assert needed <= set(include)
    assert not any(
        (k.startswith("experiments/resco/") and k not in needed) or k == "experiments" for k in include
    )
