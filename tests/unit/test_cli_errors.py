"""Bad input: one line on stderr naming the culprit, exit status 2, no traceback."""

import pytest

from signalbench.cli import main


def run_cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(code, err, fragment):
    assert code == 2
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("signalbench: error: ")
    assert fragment in lines[0]
    assert "Traceback" not in err


def test_missing_network_file(capsys, tmp_path):
    code, _, err = run_cli(
        capsys,
        "run",
        "--network",
        str(tmp_path / "nope.sumocfg"),
        "--controller",
        "fixed-time",
        "--out",
        str(tmp_path / "o"),
    )
    assert_one_line_error(code, err, "network file not found")
    assert not (tmp_path / "o").exists()


def test_unknown_network_id_suggests(capsys, tmp_path):
    code, _, err = run_cli(
        capsys, "run", "--network", "colgne3", "--controller", "fixed-time", "--out", str(tmp_path)
    )
    assert_one_line_error(code, err, "did you mean")


def test_malformed_toml(capsys, tmp_path):
    spec = tmp_path / "bad.toml"
    spec.write_text("name = [\n")
    code, _, err = run_cli(capsys, "run", str(spec))
    assert_one_line_error(code, err, "bad.toml: invalid TOML")


def test_unknown_controller(capsys, tmp_path):
    code, _, err = run_cli(
        capsys, "run", "--network", "cologne1", "--controller", "max-presure", "--out", str(tmp_path)
    )
    assert_one_line_error(code, err, "unknown controller 'max-presure'; did you mean max-pressure")


def test_controller_file_missing(capsys, tmp_path):
    code, _, err = run_cli(
        capsys, "run", "--network", "cologne1", "--controller", "nowhere/p.py:P", "--out", str(tmp_path)
    )
    assert_one_line_error(code, err, "controller file not found: nowhere/p.py")


def test_controller_class_missing(capsys, tmp_path):
    f = tmp_path / "p.py"
    f.write_text("x = 1\n")
    code, _, err = run_cli(
        capsys, "run", "--network", "cologne1", "--controller", f"{f}:Policy", "--out", str(tmp_path)
    )
    assert_one_line_error(code, err, "has no controller class 'Policy'")


def test_no_spec_no_network(capsys):
    code, _, err = run_cli(capsys, "run")
    assert_one_line_error(code, err, "give a SPEC")


def test_debug_shows_traceback(capsys, tmp_path):
    from signalbench.errors import SpecError

    with pytest.raises(SpecError):
        main(["--debug", "run", str(tmp_path / "missing.toml")])


def test_dry_run_lists_trials_without_running(capsys, tmp_path):
    code, out, _ = run_cli(capsys, "run", "quickstart", "--dry-run", "--out", str(tmp_path / "o"))
    assert code == 0
    assert "6 trials (dry run)" in out and "max-pressure-v0" in out
    assert not (tmp_path / "o").exists()


def test_dry_run_says_which_trials_a_rerun_would_reuse(capsys, tmp_path):
    from signalbench.experiments import ResultStore, TrialResult, load_spec

    first = load_spec("quickstart").trials()[0]
    store = ResultStore(tmp_path / "o")
    store.put(
        TrialResult(trial_id=first.trial_id, spec=first, state="complete", metrics={"mean_delay_s": 1.0})
    )
    code, out, _ = run_cli(capsys, "run", "quickstart", "--dry-run", "--out", str(tmp_path / "o"))
    assert code == 0
    assert f"1 of 6 already complete in {tmp_path / 'o'}: a run reuses them and runs 5" in out
    assert out.count("to run") == 5 and out.count("complete") == 2  # 1 row + the line below


def test_help_explains_itself(capsys):
    with pytest.raises(SystemExit) as info:
        main(["run", "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    for word in ("--network", "--controller", "--seeds", "--backend", "bundled spec", "examples:"):
        assert word in out


@pytest.mark.parametrize(
    "argv",
    [[], ["run"], ["results"], ["report"], ["controllers"], ["networks"], ["networks", "check"],
     ["train"], ["sumo"], ["new-controller"], ["watch"]],
)  # fmt: skip
def test_every_help_page_renders(capsys, argv):
    with pytest.raises(SystemExit) as info:
        main([*argv, "--help"])
    assert info.value.code == 0
    assert "usage: signalbench" in capsys.readouterr().out


def test_route_files_with_a_spec_is_an_error(capsys, tmp_path):
    code, _, err = run_cli(capsys, "run", "quickstart", "--route-files", "x.rou.xml", "--out", str(tmp_path))
    assert_one_line_error(code, err, "not both")


def test_libsumo_override_with_a_sumo_binary_is_an_error(capsys, tmp_path):
    spec = tmp_path / "s.toml"
    spec.write_text(
        'name = "s"\nbackend = "traci"\n[sim]\nsumo_binary = "/usr/bin/true"\n'
        '[[networks]]\nid = "cologne1"\n[[controllers]]\nid = "fixed-time"\n'
    )
    code, _, err = run_cli(capsys, "run", str(spec), "--backend", "libsumo", "--out", str(tmp_path / "o"))
    assert_one_line_error(code, err, "needs backend = 'traci'")


def test_unknown_network_hint_names_a_real_command(capsys, tmp_path):
    code, _, err = run_cli(
        capsys, "run", "--network", "zzzzzz", "--controller", "fixed-time", "--out", str(tmp_path)
    )
    assert_one_line_error(code, err, "see `signalbench networks`")


@pytest.mark.parametrize(
    ("flags", "fragment"),
    [
        (["--workers", "0"], "run.workers: expected an integer >= 1"),
        (["--retries", "-1"], "run.retries: expected an integer >= 0"),
        (["--timeout-s", "0"], "run.timeout_s: must be > 0"),
        (["--address", "auto"], "run.address: an address is for launcher = 'ray'"),
    ],
)
def test_bad_execution_flags_are_checked_like_the_spec(capsys, tmp_path, flags, fragment):
    code, _, err = run_cli(capsys, "run", "quickstart", *flags, "--out", str(tmp_path / "o"))
    assert_one_line_error(code, err, fragment)
    assert not (tmp_path / "o").exists()


def test_zero_seeds_is_an_error_not_the_default(capsys):
    code, _, err = run_cli(
        capsys, "run", "--network", "cologne3", "--controller", "fixed-time", "--seeds", "0"
    )
    assert_one_line_error(code, err, "seeds: a count must be >= 1, got 0")


def test_path_network_whose_demand_misses_the_window(capsys, cologne3):
    net, routes = str(cologne3.net_file), str(cologne3.route_files[0])
    argv = ["run", "--network", net, "--route-files", routes, "--controller", "fixed-time", "--dry-run"]
    code, _, err = run_cli(capsys, *argv)
    assert_one_line_error(code, err, "no vehicle of its route files departs in the window 0-3600 s")
    assert "--begin-s" in err
    code, out, _ = run_cli(capsys, *argv, "--begin-s", "25200", "--end-s", "25500")
    assert code == 0 and "(dry run)" in out


def test_top_level_key_that_belongs_in_a_table_gets_a_suggestion(capsys, tmp_path):
    spec = tmp_path / "s.toml"
    spec.write_text(
        'name = "s"\nworkerz = 2\n[[networks]]\nid = "cologne3"\n[[controllers]]\nid = "fixed-time"\n'
    )
    code, _, err = run_cli(capsys, "run", str(spec), "--dry-run")
    assert_one_line_error(code, err, "workerz: unknown key (did you mean '[run] workers'?)")
