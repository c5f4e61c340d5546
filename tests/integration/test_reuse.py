"""Reuse only what is truly unchanged, on real runs (cologne1, 300 simulated seconds)."""

from __future__ import annotations

import contextlib
import io
import shutil
from pathlib import Path

import pytest

from signalbench.analysis import read_results, write_report
from signalbench.cli import main
from signalbench.networks import catalog

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]


def run(*args: str) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        status = main(["run", *args, "--seeds", "1", "--duration-s", "300", "--quiet", "--launcher=serial"])
    assert status == 0, out.getvalue()
    return out.getvalue()


def summary(text: str) -> str:
    return next(line for line in text.splitlines() if line.startswith("1 trial ("))


def test_the_stale_controller_scenario_of_issue_15(tmp_path, monkeypatch):
    """The issue's commands: an edited controller reruns and says why; the rest is reused."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "scratch").mkdir()
    shutil.copy(REPO / "controllers" / "my_policy.py", tmp_path / "scratch" / "my.py")
    cmd = ("--network", "cologne1", "--controller", "scratch/my.py:MyPolicy", "--out", "scratch/out")
    first = run(*cmd)
    assert summary(first).startswith("1 trial (0 failed) in ")
    before = read_results(tmp_path / "scratch" / "out")["mean_delay_s"].iloc[0]
    assert summary(run(*cmd)).startswith("1 trial (0 failed, 1 reused from an earlier run) in ")

    source = tmp_path / "scratch" / "my.py"
    text = source.read_text()
    hold = "        return PhaseRequest.hold()\n"  # act() never asks to switch
    source.write_text(text.replace("        spec = obs.spec\n", hold + "        spec = obs.spec\n", 1))
    dry = io.StringIO()
    with contextlib.redirect_stdout(dry):
        main(["run", *cmd, "--seeds", "1", "--duration-s", "300", "--dry-run"])
    assert "stale: scratch/my.py changed" in dry.getvalue()
    second = run(*cmd)
    assert summary(second).startswith("1 trial (0 failed, 1 rerun: scratch/my.py changed) in ")
    df = read_results(tmp_path / "scratch" / "out")
    # The new code ran (it never asks to switch: far more delay), and the old record is not pooled.
    assert len(df) == 1 and df["mean_delay_s"].iloc[0] > 2 * before
    superseded = tmp_path / "scratch" / "out" / "trials" / "superseded"
    assert len(list(superseded.glob("*.json"))) == 2  # the record and why
    report = write_report(tmp_path / "scratch" / "out").with_suffix(".md").read_text()
    assert "1 trials: 1 complete" in report and "| `MyPolicy` | 1 | 0 |" in report  # one seed, not two

    # Untouched since: reused. A comment added: the same code, reused.
    assert "1 reused from an earlier run" in summary(run(*cmd))
    commented = source.read_text().replace(
        "        spec = obs.spec\n", "        spec = obs.spec  # note\n", 1
    )
    source.write_text(commented)
    assert "1 reused from an earlier run" in summary(run(*cmd))

    # The project moved: the same content, reused (and the record takes the new paths).
    moved = tmp_path.parent / f"{tmp_path.name}-moved"
    shutil.move(tmp_path, moved)
    monkeypatch.chdir(moved)
    assert "1 reused from an earlier run" in summary(run(*cmd))
    shutil.move(moved, tmp_path)


def test_an_edited_route_file_reruns_and_a_rerun_is_forced_on_request(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    source = catalog()["cologne1-v0"].scenario()
    shutil.copy(source.net_file, tmp_path / "c1.net.xml")
    shutil.copy(source.route_files[0], tmp_path / "c1.rou.xml")
    cmd = (
        "--network", "c1.net.xml", "--route-files", "c1.rou.xml", "--begin-s", "25200", "--end-s", "25500",
        "--controller", "max-pressure", "--out", "out",
    )  # fmt: skip
    run(*cmd)
    routes = tmp_path / "c1.rou.xml"
    text = routes.read_text()
    first = text.index("<trip ")
    routes.write_text(text[:first] + text[text.index("/>", first) + 2 :])  # one car fewer
    assert "1 rerun: route file c1.rou.xml changed" in summary(run(*cmd))
    out = run(*cmd, "--rerun")
    assert "1 rerun (--rerun)" in summary(out)
