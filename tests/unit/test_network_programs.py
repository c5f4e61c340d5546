"""Signal programs from additional files: the model sees the program SUMO runs (the last loaded)."""

import gzip

import pytest

from signalbench.errors import NetworkError
from signalbench.networks import catalog, lint_scenario, load_network_model, load_scenario_model

C306 = (
    "cluster_306484187_cluster_1200363791_1200363826_1200363834_1200363898_1200363927_1200363938_"
    "1200363947_1200364074_1200364103_1507566554_1507566556_255882157_306484190"
)


@pytest.fixture(scope="module")
def cologne1_net():
    return catalog()["cologne1-v0"].scenario().net_file


def _program(program_id, *phases):
    body = "".join(f'<phase duration="{d}" state="{s}"/>' for s, d in phases)
    return f'<tlLogic id="{TLS}" programID="{program_id}">{body}</tlLogic>'


def _add(tmp_path, body, name="p.add.xml"):
    path = tmp_path / name
    path.write_text(f"<additional>{body}</additional>")
    return path


TLS = "GS_cluster_357187_359543"


def test_additional_program_becomes_the_active_one(cologne1_net, tmp_path):
    base = load_network_model(cologne1_net)[TLS]
    n = base.n_links
    add = _add(
        tmp_path,
        f'<tlLogic id="{TLS}" programID="mine" offset="7">'
        f'<phase duration="20" state="{"G" * n}"/><phase duration="3" state="{"y" * n}"/>'
        f'<phase duration="30" state="{"r" * (n - 1)}G"/></tlLogic>',
    )
    spec = load_network_model(cologne1_net, (add,))[TLS]
    assert spec.program_id == "mine"
    assert spec.program_file == add.resolve()
    assert spec.program_offset_s == 7
    assert [p.state for p in spec.green_phases] == ["G" * n, "r" * (n - 1) + "G"]
    assert spec.program == (("G" * n, 20.0), ("y" * n, 3.0), ("r" * (n - 1) + "G", 30.0))
    assert base.program_id == "0" and base.program_file is None  # the net's own, unchanged


def test_the_last_loaded_program_wins_across_files(cologne1_net, tmp_path):
    n = load_network_model(cologne1_net)[TLS].n_links
    first = _add(tmp_path, _program("a", ("G" * n, 9)), "a.add.xml")
    second = _add(tmp_path, _program("b", ("g" * n, 8)), "b.add.xml")
    assert load_network_model(cologne1_net, (first, second))[TLS].program_id == "b"
    assert load_network_model(cologne1_net, (second, first))[TLS].program_id == "a"


def test_offset_only_entry_keeps_the_program(cologne1_net, tmp_path):
    add = _add(tmp_path, f'<tlLogic id="{TLS}" programID="0" offset="12"/>')
    spec = load_network_model(cologne1_net, (add,))[TLS]
    assert spec.program_id == "0" and spec.program_offset_s == 12
    assert spec.program == load_network_model(cologne1_net)[TLS].program


def test_off_program_leaves_the_light_uncontrollable(cologne1_net, tmp_path):
    add = _add(tmp_path, f'<tlLogic id="{TLS}" programID="off"/>')
    model = load_network_model(cologne1_net, (add,))
    assert TLS not in model.ids
    assert any("switched off" in p for p in model.problems)


def test_gzipped_additional_file_and_other_elements(cologne1_net, tmp_path):
    n = load_network_model(cologne1_net)[TLS].n_links
    path = tmp_path / "p.add.xml.gz"
    with gzip.open(path, "wt") as fh:
        fh.write(
            '<additional><vType id="car"/><e1Detector id="d" lane="x" pos="1" file="NUL"/>'
            f"{_program('z', ('G' * n, 5))}</additional>"
        )
    assert load_network_model(cologne1_net, (path,))[TLS].program_id == "z"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            '<tlLogic id="nope" programID="x"><phase duration="5" state="G"/></tlLogic>',
            "no traffic light 'nope'",
        ),
        (_program("0", ("G", 5)), "needs a new programID"),
        (f'<tlLogic id="{TLS}" programID="new"/>', "without phases"),
        (_program("x", ("G", "five")), "is not a number"),
        (f'<tlLogic id="{TLS}" programID="x"><phase duration="5"/></tlLogic>', "has no state"),
        ('<tlLogic programID="x"', "not a readable additional file"),
    ],
)
def test_programs_sumo_would_refuse_are_one_clear_error(cologne1_net, tmp_path, body, message):
    add = _add(tmp_path, body)
    with pytest.raises(NetworkError, match=message) as err:
        load_network_model(cologne1_net, (add,))
    assert str(add.name) in str(err.value)


def test_missing_additional_file(cologne1_net, tmp_path):
    with pytest.raises(NetworkError, match="additional file not found"):
        load_network_model(cologne1_net, (tmp_path / "nope.add.xml",))


def test_cache_notices_an_edited_additional_file(cologne1_net, tmp_path):
    n = load_network_model(cologne1_net)[TLS].n_links
    add = _add(tmp_path, _program("one", ("G" * n, 5)))
    assert load_network_model(cologne1_net, (add,))[TLS].program_id == "one"
    add.write_text(f"<additional>{_program('second', ('G' * n, 5))}</additional>")
    assert load_network_model(cologne1_net, (add,))[TLS].program_id == "second"


def test_resco_variants_restore_the_benchmarks_programs():
    plain = load_scenario_model(catalog()["ingolstadt7-v0"].scenario())[C306]
    restored_sc = catalog()["ingolstadt7-resco-v0"].scenario()
    restored = load_scenario_model(restored_sc)[C306]
    assert plain.n_phases == 3 and sum(d for _, d in plain.program) == 65
    assert restored.n_phases == 4 and sum(d for _, d in restored.program) == 90
    assert "rrrrrrGGGGrr" in [p.state for p in restored.green_phases]
    assert restored.program_file is not None
    assert restored.program_file.name == "ingolstadt7-resco-programs.add.xml"
    # ingolstadt21: the same junction, plus the leading 1 s all-red of 243641585 (86 s cycle)
    m21 = load_scenario_model(catalog()["ingolstadt21-resco-v0"].scenario())
    assert m21[C306].n_phases == 4
    assert m21["243641585"].program[0] == ("rrrr", 1.0)
    assert sum(d for _, d in m21["243641585"].program) == 86
    # lint reads the same model
    assert lint_scenario(restored_sc).model[C306].n_phases == 4
