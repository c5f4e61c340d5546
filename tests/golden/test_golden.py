"""Golden tests: today's trial ids, run metrics, quickstart table and report, pinned.

They keep restructurings honest: moving code must not move a trial id or a number. When a
change is meant to move them, regenerate with ``python tests/golden/_cases.py`` and say in the
commit what moved and why.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from golden import _cases

HERE = Path(__file__).resolve().parent
README = HERE.parents[1] / "README.md"


def _load(name: str):
    return json.loads((HERE / name).read_text())


def test_trial_ids_are_pinned():
    assert _cases.spec_ids() == _load("trial_ids.json")


def test_report_markdown_is_pinned(tmp_path):
    text = _cases.report_markdown(_cases.report_store(tmp_path / "store"))
    assert text == (HERE / "report.md").read_text(encoding="utf-8")


@pytest.mark.integration
def test_every_builtin_controller_gives_the_pinned_numbers(tmp_path):
    assert _cases.run_metrics(tmp_path / "runs") == _load("runs.json")


@pytest.mark.integration
def test_traci_backend_gives_the_libsumo_numbers(tmp_path):
    # The same trials through the socket client: identical metrics and control statistics.
    pinned = _load("runs.json")
    got = _cases.run_metrics(tmp_path / "runs", backend="traci")
    assert got == pinned


@pytest.mark.integration
def test_q_learning_training_and_evaluation_are_pinned(tmp_path, monkeypatch):
    monkeypatch.setenv("SIGNALBENCH_CACHE", str(tmp_path / "cache"))
    assert _cases.learning_case(tmp_path / "learn") == _load("learning.json")


def _readme_quickstart_rows() -> list[str]:
    """The table rows the README shows for ``signalbench run quickstart``."""
    text = README.read_text(encoding="utf-8")
    block = text.split("signalbench run quickstart\n```", 1)[1]
    table = block.split("```", 2)[1]
    return [ln.strip() for ln in table.splitlines() if ln.startswith("│")]


@pytest.mark.integration
def test_quickstart_table_is_the_readme_table(tmp_path):
    import contextlib
    import io

    from signalbench.cli import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        status = main(["run", "quickstart", "--out", str(tmp_path / "quick"), "--quiet"])
    assert status == 0
    rows = [ln.strip() for ln in out.getvalue().splitlines() if ln.startswith("│")]
    expected = _readme_quickstart_rows()
    assert expected, "README.md has no quickstart table"
    assert rows == expected
    summary = next(ln for ln in out.getvalue().splitlines() if re.match(r"\d+ trials \(", ln))
    assert summary.startswith("6 trials (0 failed) in ")


def test_every_quoted_output_is_marked_for_regeneration():
    # docs/regenerate_tables.py rewrites each quoted table between its markers; a quote that
    # lost its markers would silently stop being regenerated.
    import subprocess
    import sys

    script = HERE.parents[1] / "docs" / "regenerate_tables.py"
    proc = subprocess.run(
        [sys.executable, str(script), "--check"], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
