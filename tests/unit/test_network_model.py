import subprocess

import pytest
from tests.conftest import all_signalised_net_files

from signalbench.errors import NetworkError
from signalbench.networks import is_green_state, load_network_model
from signalbench.sim import sumo_binary, sumo_env


def test_cologne3_model(cologne3_model):
    m = cologne3_model
    assert m.ids == ("360082", "360086", "GS_cluster_2415878664_254486231_359566_359576")
    assert m.problems == ()
    spec = m["360082"]
    assert spec.n_links == 11
    assert [p.state for p in spec.green_phases] == ["GGggrrrGGGg", "rrGGrrrrrrG", "rrrrGGgGrrr"]
    assert [p.program_index for p in spec.green_phases] == [0, 2, 4]
    assert spec.green_phases[0].duration_s == 38
    lanes = {lane.id: lane for lane in spec.incoming_lanes}
    assert lanes["-130160207#0_0"].length_m == pytest.approx(135.18)
    mv = spec.movements[0]
    assert (mv.link_index, mv.from_lane, mv.to_lane, mv.direction) == (
        0,
        "-241660955#17_0",
        "-241660955#16_0",
        "s",
    )
    # every movement green in a phase is listed by that phase, and only those
    for k, phase in enumerate(spec.green_phases):
        served = {spec.movements[i].link_index for i in phase.movements}
        assert served == {m.link_index for m in spec.movements if phase.state[m.link_index] in "Gg"}
        assert spec.phase_movements[k].sum() == len(phase.movements)
    assert not spec.phase_movements.flags.writeable


def test_green_state_rules():
    assert is_green_state("GGrr")
    assert is_green_state("grrr")
    assert not is_green_state("yyGG")
    assert not is_green_state("rrrr")
    assert not is_green_state("uuGG")


NETS = all_signalised_net_files()


@pytest.mark.parametrize("net_file", NETS, ids=[p.parent.name for p in NETS])
def test_every_bundled_network_is_modelled(net_file):
    m = load_network_model(net_file)
    assert m.intersections
    for spec in m.intersections:
        assert spec.n_phases >= 1
        assert len(spec.movement_in_lane) == len(spec.movements)
        assert all(0 <= mv.link_index < spec.n_links for mv in spec.movements)
        assert all(lane.length_m > 0 for lane in spec.incoming_lanes)
        served = set().union(*(p.movements for p in spec.green_phases))
        assert served  # at least some movement gets green


def test_missing_file_is_one_clear_error(tmp_path):
    with pytest.raises(NetworkError, match="network file not found"):
        load_network_model(tmp_path / "nope.net.xml")


def test_garbage_file_is_one_clear_error(tmp_path):
    bad = tmp_path / "bad.net.xml"
    bad.write_text("<net><edge id='x'")
    with pytest.raises(NetworkError, match="not a readable SUMO network"):
        load_network_model(bad)


def _netgenerate(tmp_path, *args):
    out = tmp_path / "gen.net.xml"
    subprocess.run(
        [str(sumo_binary("netgenerate")), *args, "-o", str(out), "--no-turnarounds"],
        check=True,
        capture_output=True,
        env=sumo_env(),
    )
    return out


def test_any_valid_network_not_only_bundled_ones(tmp_path):
    net = _netgenerate(
        tmp_path,
        "--grid",
        "--grid.number",
        "3",
        "--default.lanenumber",
        "2",
        "--default-junction-type",
        "traffic_light",
        "--grid.attach-length",
        "100",
    )
    m = load_network_model(net)
    assert len(m.intersections) >= 1
    assert all(s.n_phases >= 2 for s in m.intersections)


def test_network_without_signals_has_no_intersections(tmp_path):
    net = _netgenerate(tmp_path, "--grid", "--grid.number", "2")
    assert load_network_model(net).intersections == ()


def test_unusable_traffic_light_is_named_in_problems(tmp_path):
    net = _netgenerate(
        tmp_path,
        "--grid",
        "--grid.number",
        "3",
        "--default-junction-type",
        "traffic_light",
        "--grid.attach-length",
        "100",
    )
    text = net.read_text()
    import re

    # Turn every phase of one traffic light red: it can no longer serve anyone.
    first = re.search(r'<tlLogic id="([^"]+)"', text).group(1)
    block = re.search(rf'<tlLogic id="{re.escape(first)}".*?</tlLogic>', text, re.S).group(0)
    text = text.replace(
        block, re.sub(r'state="[^"]+"', lambda m: 'state="' + "r" * (len(m.group(0)) - 8) + '"', block)
    )
    broken = tmp_path / "broken.net.xml"
    broken.write_text(text)
    m = load_network_model(broken)
    assert first not in m.ids
    assert any(first in p and "no green phase" in p for p in m.problems)


def test_large_network_models_are_kept_on_disk_until_a_file_changes(tmp_path, monkeypatch, cologne3):
    from signalbench.networks import _model

    monkeypatch.setenv("SIGNALBENCH_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(_model, "DISK_CACHE_MIN_BYTES", 0)  # cologne3 counts as large here
    net = tmp_path / "net.net.xml"
    net.write_bytes(cologne3.net_file.read_bytes())
    reads = []
    real_read = _model._read_model
    monkeypatch.setattr(_model, "_read_model", lambda files: reads.append(files) or real_read(files))

    first = load_network_model(net)
    (cached,) = (tmp_path / "cache" / "models").glob("*.pickle")
    _model._load_cached.cache_clear()  # as a new process
    again = load_network_model(net)
    assert len(reads) == 1  # read from disk, not parsed again
    assert again == first and again.net_file == net.resolve()

    # a changed network is parsed again, under another key
    net.write_text(net.read_text().replace("</net>", "<!-- edited -->\n</net>"))
    _model._load_cached.cache_clear()
    load_network_model(net)
    assert len(reads) == 2 and len(list(cached.parent.glob("*.pickle"))) == 2

    # a truncated cache entry is parsed again, never an error
    cached.write_bytes(cached.read_bytes()[:100])
    net.write_bytes(cologne3.net_file.read_bytes())
    _model._load_cached.cache_clear()
    assert load_network_model(net) == first
    assert len(reads) == 3


def test_small_network_models_stay_off_disk(tmp_path, monkeypatch, cologne3):
    monkeypatch.setenv("SIGNALBENCH_CACHE", str(tmp_path / "cache"))
    net = tmp_path / "net.net.xml"
    net.write_bytes(cologne3.net_file.read_bytes())
    assert net.stat().st_size < 1 << 20
    assert load_network_model(net).ids == load_network_model(cologne3.net_file).ids
    assert not (tmp_path / "cache" / "models").exists()
