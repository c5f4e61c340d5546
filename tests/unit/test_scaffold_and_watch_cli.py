"""new-controller and watch: names, refusals, no-display message; one-line errors, exit 2."""

from __future__ import annotations

import ast
from types import SimpleNamespace

import pytest

from signalbench.cli import main
from signalbench.cli._scaffold import ScaffoldError, names
from signalbench.cli._watch import describe, has_display, parse_params
from signalbench.controllers import PhaseRequest


def run_cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(code, err, fragment):
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert code == 2 and len(lines) == 1, err
    assert lines[0].startswith("signalbench: error: ") and fragment in lines[0]


@pytest.mark.parametrize(
    ("name", "module", "cls"),
    [("my-policy", "my_policy", "MyPolicy"), ("wave2", "wave2", "Wave2"), ("Fast_MP", "fast_mp", "FastMP")],
)
def test_names(name, module, cls):
    assert names(name) == (module, cls)


@pytest.mark.parametrize("bad", ["9lives", "my policy", "x.py", "../evil", "", "café", "import"])
def test_bad_names_are_refused(bad):
    with pytest.raises(ScaffoldError, match="controller name"):
        names(bad)


def test_new_controller_writes_both_files_and_prints_next_steps(capsys, tmp_path):
    code, out, err = run_cli(
        capsys,
        "new-controller",
        "queue-hog",
        "--dir",
        str(tmp_path / "c"),
        "--tests-dir",
        str(tmp_path / "t"),
    )
    assert code == 0, err
    ctrl, test = tmp_path / "c" / "queue_hog.py", tmp_path / "t" / "test_queue_hog.py"
    source = ctrl.read_text()
    tree = ast.parse(source)
    classes = {n.name for n in tree.body if isinstance(n, ast.ClassDef)}
    assert classes == {"QueueHog", "QueueHogParams"}
    for teaching in ("observed_lane_fields", "PhaseRequest.switch", "self.rng", "def reset", "def act"):
        assert teaching in source
    assert "check_controller" in test.read_text()
    ast.parse(test.read_text())
    assert f"python -m pytest {test}" in out
    assert f"--controller {ctrl}:QueueHog --controller fixed-time" in out and "signalbench run" in out


def test_new_controller_refuses_to_overwrite(capsys, tmp_path):
    (tmp_path / "tests").mkdir()
    existing = tmp_path / "tests" / "test_mine.py"
    existing.write_text("keep me")
    code, _, err = run_cli(
        capsys, "new-controller", "mine", "--dir", str(tmp_path / "c"), "--tests-dir", str(tmp_path / "tests")
    )
    assert_one_line_error(code, err, "already exists; not overwritten")
    assert existing.read_text() == "keep me" and not (tmp_path / "c" / "mine.py").exists()


def test_new_controller_bad_name_is_one_line(capsys, tmp_path):
    code, _, err = run_cli(capsys, "new-controller", "2fast", "--dir", str(tmp_path))
    assert_one_line_error(code, err, "controller name '2fast' must start with a letter")
    assert list(tmp_path.iterdir()) == []


def test_watch_without_display_says_so_in_one_line(capsys, monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setattr("sys.platform", "linux")
    code, out, err = run_cli(capsys, "watch", "--network", "cologne1", "--controller", "max-pressure")
    assert_one_line_error(code, err, "no display (DISPLAY/WAYLAND_DISPLAY not set)")
    assert out == ""


def test_has_display():
    assert not has_display({}) or not __import__("sys").platform.startswith("linux")
    assert has_display({"DISPLAY": ":1"}) and has_display({"WAYLAND_DISPLAY": "wayland-0"})


def test_watch_bad_param_and_unknown_controller(capsys, monkeypatch):
    monkeypatch.setenv("DISPLAY", ":99")
    code, _, err = run_cli(capsys, "watch", "--network", "cologne1", "--controller", "max-presure")
    assert_one_line_error(code, err, "unknown controller 'max-presure'")
    code, _, err = run_cli(
        capsys, "watch", "--network", "cologne1", "--controller", "max-pressure", "--param", "nonsense"
    )
    assert_one_line_error(code, err, "--param 'nonsense': expected NAME=VALUE")
    code, _, err = run_cli(
        capsys, "watch", "--network", "cologne1", "--controller", "max-pressure", "--param", "gain=2"
    )
    assert_one_line_error(code, err, "unknown parameter 'gain'")
    code, _, err = run_cli(capsys, "watch", "--network", "colgne1", "--controller", "max-pressure")
    assert_one_line_error(code, err, "colgne1")


def test_parse_params_reads_toml_literals():
    got = parse_params(["a=2", "b=1.5", "c=true", 'd="x y"', "e=plain", "f = 3"])
    assert got == {"a": 2, "b": 1.5, "c": True, "d": "x y", "e": "plain", "f": 3}


def test_describe():
    obs = SimpleNamespace(phase=1, in_transition=False, time_in_phase_s=12.2)
    assert describe("mp", obs, PhaseRequest.hold()) == "mp: hold phase 1 (12 s)"
    assert describe("mp", obs, PhaseRequest.switch(3)) == "mp: switch 1 -> 3"
    assert describe("mp", obs, None) == "mp: hold phase 1 (12 s)"
    moving = SimpleNamespace(phase=2, in_transition=True, time_in_phase_s=0.0)
    assert describe("mp", moving, PhaseRequest.switch(2)) == "mp: hold phase 2 [clearing]"
