"""SUMO releases: version numbers, option gating, the per-user cache, the spec and CLI choices."""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import pytest

from signalbench.cli import main
from signalbench.errors import SimulationError, SpecError
from signalbench.experiments import TrialSpec, load_spec, run_trial, spec_from_dict
from signalbench.sim import (
    SimConfig,
    SumoVersion,
    find_sumo,
    install_sumo,
    installed_sumos,
    normalize_version,
    remove_sumo,
    resolve_sumo,
    sumo_env,
    sumo_version,
)
from signalbench.sim._binaries import binary_home
from signalbench.sim._versions import gate_options, version_in_output

BUNDLED = sumo_version()
BASE = {"name": "v", "seeds": 1, "networks": ["cologne1"], "controllers": ["fixed-time"]}


# --- version numbers -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1.9.2", SumoVersion(1, 9, 2)),
        ("1.28", SumoVersion(1, 28, 0)),
        ("v1_20_0", SumoVersion(1, 20, 0)),
        ("1.20.0+0123-abcdef", SumoVersion(1, 20, 0)),
    ],
)
def test_versions_parse(text, expected):
    assert SumoVersion.parse(text) == expected


@pytest.mark.parametrize("text", ["", "latest", "1", "1.x.2", "1.9.2 beta"])
def test_bad_versions_are_refused(text):
    with pytest.raises(SimulationError, match="not a SUMO version"):
        SumoVersion.parse(text)


def test_versions_order_numerically_not_as_text():
    assert SumoVersion(1, 9, 2) < SumoVersion(1, 10, 0) < SumoVersion(1, 28, 0)
    assert str(SumoVersion.parse("1.28")) == "1.28.0"


@pytest.mark.parametrize(
    ("output", "found"),
    [
        ("Eclipse SUMO sumo 1.28.0\n Build features: ...", "1.28.0"),
        ("Eclipse SUMO sumo Version 1.9.2\n Build features: ...", "1.9.2"),
        ("Eclipse SUMO sumo-gui Version 1.8.0\n", "1.8.0"),
        ("Eclipse SUMO sumo v1_20_0+0123-abc\n", "v1_20_0+0123-abc"),
        ("command not found", None),
    ],
)
def test_version_in_sumo_version_output(output, found):
    assert version_in_output(output) == found


def test_release_numbers_are_normalized():
    assert normalize_version("1.9") == "1.9.0"
    assert normalize_version(" 1.9.2 ") == "1.9.2"
    for bad in ("v1.9.2", "1.9.2-git", "latest"):
        with pytest.raises(SimulationError, match="not a SUMO release number"):
            normalize_version(bad)


# --- option gating ---------------------------------------------------------------------------

UNDEPARTED = "--tripinfo-output.write-undeparted"


def test_an_option_newer_than_the_release_is_left_out_with_its_value():
    args = ["--seed", "1", UNDEPARTED, "true", "--end", "60"]
    assert gate_options(args, SumoVersion(1, 8, 0)) == ["--seed", "1", "--end", "60"]
    assert gate_options(args, SumoVersion(1, 9, 1)) == args
    assert gate_options(args, SumoVersion(1, 28, 0)) == args
    assert gate_options(args, None) == args  # unknown release: SUMO itself will complain


def test_gating_follows_the_table_given():
    table = {"--new-switch": SumoVersion(2, 0, 0)}
    args = ["--new-switch", "--seed", "1"]  # an option without a value keeps the next option
    assert gate_options(args, SumoVersion(1, 28, 0), table) == ["--seed", "1"]
    assert gate_options(args, SumoVersion(2, 0, 0), table) == args


UNFINISHED = "--tripinfo-output.write-unfinished"


def test_an_option_implied_by_another_is_left_out_where_both_clash():
    args = ["--time-to-teleport", "-1", UNFINISHED, "true", UNDEPARTED, "true"]
    both_clash = ["--time-to-teleport", "-1", UNDEPARTED, "true"]  # 1.9.2: "already set" error
    assert gate_options(args, SumoVersion(1, 9, 2)) == both_clash
    assert gate_options(args, SumoVersion(1, 28, 0)) == args
    # before 1.9.1 there is no write-undeparted, so write-unfinished stays
    assert gate_options(args, SumoVersion(1, 8, 0)) == ["--time-to-teleport", "-1", UNFINISHED, "true"]
    off = [UNFINISHED, "true", UNDEPARTED, "false"]
    assert gate_options(off, SumoVersion(1, 9, 2)) == off


def test_negative_values_are_values_not_options():
    table = {"--time-to-teleport": SumoVersion(9, 0, 0)}
    assert gate_options(["--time-to-teleport", "-1", "-c", "x"], SumoVersion(1, 9, 2), table) == ["-c", "x"]


def test_command_line_is_gated_by_the_release(tmp_path):
    config = SimConfig(net_file=tmp_path / "n.net.xml", seed=3, extra_args=(UNDEPARTED, "true"))
    assert UNDEPARTED in config.command("sumo")
    assert UNDEPARTED in config.command("sumo", version=SumoVersion(1, 9, 2))
    # extra_args come last: the 1.8.0 command is the same without the option and its value
    assert config.command("sumo", version=SumoVersion(1, 8, 0)) == config.command("sumo")[:-2]


# --- the cache -------------------------------------------------------------------------------

INSTALLER = """
import pathlib, sys
target, version, counter = pathlib.Path(sys.argv[1]), sys.argv[2], pathlib.Path(sys.argv[3])
counter.write_text(counter.read_text() + "x" if counter.exists() else "x")
if version == "fail":
    sys.exit("ERROR: No matching distribution found for eclipse-sumo==0.0.1")
b = target / "sumo" / "bin" / "sumo"
b.parent.mkdir(parents=True)
b.write_text("#!/bin/sh\\nsleep 0.2\\necho 'Eclipse SUMO sumo Version " + version + "'\\n")
b.chmod(0o755)
"""


def fake_installer(tmp_path: Path, reports: str) -> list[str]:
    script = tmp_path / "installer.py"
    script.write_text(INSTALLER)
    return [sys.executable, str(script), "{target}", reports, str(tmp_path / "runs")]


def runs(tmp_path: Path) -> int:
    counter = tmp_path / "runs"
    return len(counter.read_text()) if counter.exists() else 0


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SIGNALBENCH_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache" / "sumo"


@pytest.mark.skipif(sys.platform == "win32", reason="shell-script stand-in for SUMO")
def test_install_find_list_and_remove(tmp_path, cache):
    assert find_sumo("1.9.2") is None
    with pytest.raises(SimulationError, match=r"install it with: signalbench sumo install 1\.9\.2"):
        resolve_sumo("1.9.2")

    found = install_sumo("1.9.2", quiet=True, command=fake_installer(tmp_path, "1.9.2"))
    assert found.binary == cache / "1.9.2" / "sumo" / "bin" / "sumo" and not found.bundled
    assert resolve_sumo("1.9.2") == found.binary
    assert sumo_version(found.binary) == "1.9.2"
    assert [(s.version, s.bundled) for s in installed_sumos()] == [(BUNDLED, True), ("1.9.2", False)]
    assert not [p for p in cache.iterdir() if p.name.startswith(".tmp-")]

    install_sumo("1.9.2", quiet=True, command=fake_installer(tmp_path, "1.9.2"))
    assert runs(tmp_path) == 1  # installed already: the installer is not run again
    install_sumo("1.9.2", quiet=True, force=True, command=fake_installer(tmp_path, "1.9.2"))
    assert runs(tmp_path) == 2

    assert remove_sumo("1.9.2") is True
    assert find_sumo("1.9.2") is None and remove_sumo("1.9.2") is False


def test_the_bundled_release_needs_no_install(cache):
    assert resolve_sumo(BUNDLED) is None
    found = find_sumo(BUNDLED)
    assert found is not None and found.bundled


@pytest.mark.skipif(sys.platform == "win32", reason="shell-script stand-in for SUMO")
@pytest.mark.parametrize(
    ("reports", "message"), [("fail", "No matching distribution"), ("1.9.1", "reports version 1.9.1")]
)
def test_a_failed_install_leaves_nothing_behind(tmp_path, cache, reports, message):
    with pytest.raises(SimulationError, match=message):
        install_sumo("1.9.2", quiet=True, command=fake_installer(tmp_path, reports))
    assert find_sumo("1.9.2") is None
    assert sorted(p.name for p in cache.iterdir()) == [".1.9.2.lock"]


def test_an_unusable_cache_is_one_clear_error(tmp_path, monkeypatch):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    monkeypatch.setenv("SIGNALBENCH_CACHE", str(blocker / "cache"))
    with pytest.raises(SimulationError, match=r"cannot install SUMO 1\.9\.2 into .*not-a-folder"):
        install_sumo("1.9.2", quiet=True, command=fake_installer(tmp_path, "1.9.2"))


@pytest.mark.skipif(sys.platform == "win32", reason="shell-script stand-in for SUMO")
def test_concurrent_installs_run_the_installer_once(tmp_path, cache):
    errors: list[BaseException] = []

    def install() -> None:
        try:
            install_sumo("1.9.2", quiet=True, command=fake_installer(tmp_path, "1.9.2"))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=install) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert runs(tmp_path) == 1
    assert find_sumo("1.9.2") is not None


def test_another_release_gets_its_own_sumo_home(tmp_path):
    home = tmp_path / "sumo"
    (home / "bin").mkdir(parents=True)
    binary = home / "bin" / "sumo"
    binary.touch()
    assert binary_home(binary) is None  # no schemas (like eclipse-sumo 1.8.0): the bundled home
    assert sumo_env(binary)["SUMO_HOME"] == sumo_env()["SUMO_HOME"]
    (home / "data" / "xsd").mkdir(parents=True)
    assert sumo_env(binary)["SUMO_HOME"] == str(home.resolve())


# --- specs, trials and the command line -------------------------------------------------------


def test_a_release_libsumo_cannot_run_switches_to_the_socket_client(cache):
    spec = spec_from_dict({**BASE, "sim": {"sumo_version": "1.9"}})
    assert spec.backend == "traci" and spec.sumo_version == "1.9.0"
    assert {t.sumo_version for t in spec.trials()} == {"1.9.0"}
    assert load_spec_roundtrip(spec, cache) == spec


def load_spec_roundtrip(spec, folder: Path):
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "s.toml"
    path.write_text(spec.to_toml())
    return load_spec(path)


def test_the_bundled_release_keeps_libsumo():
    spec = spec_from_dict({**BASE, "sim": {"sumo_version": BUNDLED}})
    assert spec.backend == "libsumo"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"backend": "libsumo", "sim": {"sumo_version": "1.9.2"}}, "needs backend = 'traci'"),
        ({"sim": {"sumo_version": "1.9.2", "sumo_binary": "/usr/bin/sumo"}}, "give only one"),
        ({"sim": {"sumo_version": "nightly"}}, "not a SUMO release number"),
        ({"sim": {"sumo_version": 1.9}}, "expected a release number string"),
    ],
)
def test_bad_sumo_choices(change, message):
    with pytest.raises(SpecError, match=message):
        spec_from_dict({**BASE, **change})


def test_a_chosen_release_is_part_of_the_trial():
    plain = TrialSpec(network="cologne1-v0", controller="fixed-time-v0", seed=1)
    chosen = TrialSpec(network="cologne1-v0", controller="fixed-time-v0", seed=1, sumo_version="1.9.2")
    assert plain.trial_id != chosen.trial_id
    assert TrialSpec.from_dict(chosen.to_dict()) == chosen


def test_a_trial_on_a_missing_release_fails_with_the_install_command(tmp_path, cache):
    spec = TrialSpec(
        network="cologne1-v0", controller="fixed-time-v0", seed=1, backend="traci", sumo_version="1.9.2"
    )
    r = run_trial(spec, tmp_path)
    assert r.state == "failed"
    assert r.error is not None and "signalbench sumo install 1.9.2" in r.error


def run_cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_run_with_a_missing_release_is_one_line(capsys, tmp_path, cache):
    argv = ["run", "--network", "cologne1", "--controller", "fixed-time", "--sumo-version", "1.9.2"]
    code, _, err = run_cli(capsys, *argv, "--out", str(tmp_path / "o"))
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert code == 2 and len(lines) == 1
    assert lines[0] == (
        f"signalbench: error: SUMO 1.9.2 is not installed (the bundled SUMO is {BUNDLED}); "
        "install it with: signalbench sumo install 1.9.2"
    )
    assert not (tmp_path / "o").exists()


def test_cli_sumo_version_switches_the_spec_to_traci_unless_libsumo_is_insisted_on(capsys, tmp_path):
    code, out, _ = run_cli(capsys, "run", "quickstart", "--sumo-version", "1.9.2", "--dry-run")
    assert code == 0 and "libsumo" not in out and "traci" in out
    code, _, err = run_cli(
        capsys, "run", "quickstart", "--sumo-version", "1.9.2", "--backend", "libsumo", "--dry-run"
    )
    assert code == 2 and "needs backend = 'traci'" in err


def test_cli_sumo_list_and_bad_install(capsys, cache):
    code, out, _ = run_cli(capsys, "sumo", "list")
    assert code == 0 and BUNDLED in out and "signalbench sumo install" in out
    code, out, _ = run_cli(capsys, "sumo", "install", BUNDLED)
    assert code == 0 and "is the bundled SUMO" in out and not cache.exists()
    code, _, err = run_cli(capsys, "sumo", "install", "latest")
    assert code == 2 and err.strip() == (
        "signalbench: error: not a SUMO release number: 'latest' (expected e.g. 1.9.2)"
    )


def test_cli_sumo_version_replaces_a_spec_sumo_binary(tmp_path):
    from signalbench.cli._main import parser
    from signalbench.cli._run import _spec

    spec = tmp_path / "s.toml"
    spec.write_text(
        'name = "s"\nbackend = "traci"\n[sim]\nsumo_binary = "/usr/bin/true"\n'
        '[[networks]]\nid = "cologne1"\n[[controllers]]\nid = "fixed-time"\n'
    )
    chosen = _spec(parser().parse_args(["run", str(spec), "--sumo-version", "1.9"]))
    assert (chosen.sumo_version, chosen.sumo_binary, chosen.backend) == ("1.9.0", None, "traci")
    assert {(t.sumo_version, t.sumo_binary) for t in chosen.trials()} == {("1.9.0", None)}
