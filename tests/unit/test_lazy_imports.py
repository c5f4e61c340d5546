"""Start-up cost: ``import signalbench`` and a ``signalbench`` command load only what they use."""

from __future__ import annotations

import subprocess
import sys

import pytest

import signalbench
from signalbench.cli import main
from signalbench.cli._main import COMMANDS, command_module, parser


def _modules_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport sys\nprint('\\n'.join(sys.modules))"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return set(out.split())


def test_import_signalbench_loads_no_heavy_package():
    loaded = _modules_after("import signalbench")
    heavy = {
        "numpy",
        "pandas",
        "pyarrow",
        "scipy",
        "matplotlib",
        "signalbench.experiments",
        "signalbench.analysis",
    }
    assert not heavy & loaded


def test_version_and_a_commands_help_load_only_that_command():
    loaded = _modules_after(
        "from signalbench.cli import main\nimport contextlib\n"
        "with contextlib.suppress(SystemExit):\n    main(['--version'])"
    )
    assert not {"signalbench.analysis", "signalbench.experiments", "numpy"} & loaded
    loaded = _modules_after(
        "from signalbench.cli import main\nimport contextlib, io\n"
        "with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n"
        "    main(['controllers', '--help'])"
    )
    assert "signalbench.cli._controllers" in loaded
    assert not {"signalbench.cli._run", "signalbench.cli._report", "signalbench.cli._results"} & loaded


@pytest.mark.parametrize("name", sorted(signalbench._LAZY))
def test_every_public_name_resolves(name):
    from signalbench import _LAZY

    assert getattr(signalbench, name) is getattr(__import__(_LAZY[name], fromlist=[name]), name)
    assert name in dir(signalbench)
    assert name in signalbench.__all__


def test_unknown_attribute_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = signalbench.nope  # type: ignore[attr-defined]


def test_lean_parser_refuses_a_mistyped_command_and_top_help_lists_every_command(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["resutls", "x"])
    assert exc.value.code == 2
    assert "invalid choice: 'resutls'" in capsys.readouterr().err
    assert main(["--debug"]) == 2  # no command: the full help, with each command's line
    out = capsys.readouterr().out
    assert "print an experiment's trials" in out and "write a report" in out
    full = parser().format_help()
    assert all(name in full for name in COMMANDS)
    assert all(callable(command_module(name).run) for name in COMMANDS)
