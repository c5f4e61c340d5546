"""`signalbench networks list/show/check`, the lint, and vehicle counting (no SUMO runs)."""

import pytest
from tests.conftest import sumo_rl_nets

from signalbench.cli import main
from signalbench.networks import (
    catalog,
    count_vehicles,
    lint_model,
    lint_scenario,
    load_network_model,
    parse_time_s,
    resolve_network,
)


def run_cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("network_id", sorted(catalog()))
def test_lint_whole_catalog(network_id):
    """Every catalogued network passes the lint: controllable, vehicles in its window.

    The findings (notes and warnings) are documented in docs/networks.md#lint-findings.
    """
    report = lint_scenario(catalog()[network_id].scenario())
    assert report.ok, [str(f) for f in report.findings]
    assert report.vehicles and report.vehicles > 0
    assert report.model.intersections


def test_list_shows_catalog(capsys):
    code, out, _ = run_cli(capsys, "networks", "list")
    assert code == 0
    row = next(line for line in out.splitlines() if "cologne8-v0" in line)
    cells = [c.strip() for c in row.split("│") if c.strip()]
    assert cells[:5] == ["cologne8-v0", "8", "25200-28800", "2046", "sumo_rl"]
    assert "non-commercial" in cells[5]
    # bare `networks` still lists
    assert run_cli(capsys, "networks")[1] == out


def test_show_prints_phases_and_movements(capsys):
    code, out, _ = run_cli(capsys, "networks", "show", "cologne1")
    assert code == 0
    assert "traffic light GS_cluster_357187_359543" in out
    assert "rrrrrGGGggrrrrrGGGgg" in out
    assert "-32038056#3_0" in out
    assert "2015 vehicles" in out


def test_show_unknown_tls(capsys):
    code, _, err = run_cli(capsys, "networks", "show", "cologne1", "--tls", "nope")
    assert code == 2
    assert "no controllable traffic light 'nope'" in err


def test_check_ok_network(capsys):
    code, out, _ = run_cli(capsys, "networks", "check", "ingolstadt21")
    assert code == 0
    assert "21 controllable traffic lights" in out
    assert "phase-serves-nothing" in out


def test_check_network_without_traffic_lights_exits_1(capsys):
    net = sumo_rl_nets() / "Nguyen" / "nguyenNoTL.net.xml"
    code, out, _ = run_cli(capsys, "networks", "check", str(net))
    assert code == 1
    assert "no-traffic-light" in out


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (("networks", "check", "colgne3"), "did you mean cologne3"),
        (("networks", "show", "/nonexistent/x.net.xml"), "network file not found: /nonexistent/x.net.xml"),
        (("networks", "check", "/nonexistent/x.sumocfg"), "network file not found"),
    ],
)
def test_check_bad_input_one_line(capsys, argv, fragment):
    code, _, err = run_cli(capsys, *argv)
    assert code == 2
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and fragment in lines[0], err


def _net(tmp_path, tl_logic: str, connections: str):
    """A hand-written two-approach junction with one traffic light 'J'."""
    text = f"""<net version="1.20">
<location netOffset="0,0" convBoundary="0,0,200,200" origBoundary="0,0,200,200" projParameter="!"/>
<edge id=":J_0" function="internal"><lane id=":J_0_0" index="0" speed="13" length="5" shape="0,0 1,1"/></edge>
<edge id="a" from="A" to="J"><lane id="a_0" index="0" speed="13" length="99" shape="0,0 100,0"/></edge>
<edge id="b" from="B" to="J"><lane id="b_0" index="0" speed="13" length="99" shape="99,199 99,99"/></edge>
<edge id="c" from="J" to="C"><lane id="c_0" index="0" speed="13" length="99" shape="100,0 200,0"/></edge>
{tl_logic}
<junction id="A" type="dead_end" x="0" y="0" incLanes="" intLanes="" shape="0,0"/>
<junction id="B" type="dead_end" x="100" y="200" incLanes="" intLanes="" shape="0,0"/>
<junction id="C" type="dead_end" x="200" y="0" incLanes="c_0" intLanes="" shape="0,0"/>
<junction id="J" type="traffic_light" x="100" y="0" incLanes="a_0 b_0" intLanes=":J_0_0" shape="0,0"/>
{connections}
</net>"""
    path = tmp_path / "t.net.xml"
    path.write_text(text)
    return load_network_model(path)


def test_lint_findings_on_handwritten_programs(tmp_path):
    model = _net(
        tmp_path,
        """<tlLogic id="J" type="static" programID="0" offset="0">
<phase duration="30" state="Gr"/><phase duration="30" state="rr"/><phase duration="5" state="rG"/>
</tlLogic>""",
        """<connection from="a" to="c" fromLane="0" toLane="0" tl="J" linkIndex="0" dir="s" state="O"/>
<connection from="b" to="c" fromLane="0" toLane="0" tl="J" linkIndex="0" dir="l" state="O"/>""",
    )
    codes = {f.code for f in lint_model(model)}
    # link 0 carries both approaches; link 1 has no vehicle connection
    assert "phase-serves-nothing" in codes  # "rG": green only on link 1
    assert "single-green-phase" in codes
    assert "yellowless-transition" in codes  # "Gr" -> "rr"
    assert "links-without-vehicles" in codes


def test_lint_unusable_light_is_a_warning_then_error(tmp_path):
    model = _net(
        tmp_path,
        """<tlLogic id="J" type="static" programID="0" offset="0">
<phase duration="30" state="rr"/><phase duration="5" state="yy"/></tlLogic>""",
        """<connection from="a" to="c" fromLane="0" toLane="0" tl="J" linkIndex="0" dir="s" state="O"/>""",
    )
    findings = lint_model(model)
    assert [(f.severity, f.code) for f in findings] == [
        ("error", "nothing-controllable"),
        ("warning", "no-green-phase"),
    ]


def test_count_vehicles_flows_and_window(tmp_path):
    rou = tmp_path / "d.rou.xml"
    rou.write_text(
        """<routes>
<route id="r" edges="a c"/>
<vehicle id="v0" depart="10" route="r"/>
<vehicle id="v1" depart="0:2:0" route="r"/>
<trip id="t" depart="5000" from="a" to="c"/>
<flow id="f" begin="0" end="3600" vehsPerHour="360" route="r"/>
<flow id="g" begin="0" end="1000" number="100" route="r"/>
<person id="p" depart="0"><walk edges="a c"/></person>
</routes>"""
    )
    count = count_vehicles([rou], begin_s=0, end_s=1800)
    assert count.total == 3 + 360 + 100
    assert count.in_window == 2 + 180 + 100
    assert count.persons == 1
    assert parse_time_s("1:00:00") == 3600
    assert parse_time_s("triggered") is None


def test_run_on_network_without_traffic_lights_is_bad_input(capsys, tmp_path):
    nets = sumo_rl_nets() / "Nguyen"
    code, _, err = run_cli(
        capsys, "run", "--network", str(nets / "nguyenNoTL.net.xml"),
        "--route-files", str(nets / "nguyentesteod.rou.xml"), "--controller", "max-pressure",
        "--out", str(tmp_path / "o"),
    )  # fmt: skip
    assert code == 2
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and "nguyenNoTL.net.xml: the network has no traffic light" in lines[0], err
    assert not (tmp_path / "o").exists()


def test_lint_movement_never_green(tmp_path):
    model = _net(
        tmp_path,
        """<tlLogic id="J" type="static" programID="0" offset="0">
<phase duration="30" state="Gr"/><phase duration="3" state="yr"/></tlLogic>""",
        """<connection from="a" to="c" fromLane="0" toLane="0" tl="J" linkIndex="0" dir="s" state="O"/>
<connection from="b" to="c" fromLane="0" toLane="0" tl="J" linkIndex="1" dir="l" state="O"/>""",
    )
    findings = {f.code: f for f in lint_model(model)}
    assert findings["movement-never-green"].message.startswith(
        "1 movement(s) get green in no phase: link 1 (b_0->c_0)"
    )
    assert findings["movement-never-green"].severity == "warning"
    assert "yellowless-transition" not in findings  # G -> y -> G


def test_gzipped_network_passes_the_preflight(tmp_path):
    import gzip

    from signalbench.sim._preflight import _well_formed

    net = catalog()["cologne1-v0"].scenario().net_file
    good = tmp_path / "c.net.xml.gz"
    good.write_bytes(gzip.compress(net.read_bytes()))
    bad = tmp_path / "b.net.xml.gz"
    bad.write_bytes(b"not gzip")
    assert _well_formed(good, 0, 0) is None
    assert "not well-formed XML" in (_well_formed(bad, 0, 0) or "")
    routes = (str(net.with_suffix("").with_suffix(".rou.xml")),)
    report = lint_scenario(resolve_network(str(good), route_files=routes))  # window 0-3600 s by default
    assert len(report.model.intersections) == 1
    # Cologne demand lives in 25200-28800 s: the lint says so instead of a run with no vehicles
    assert [f.code for f in report.findings] == ["no-vehicles-in-window"] and not report.ok


def test_short_incoming_lanes_are_noted():

    model = load_network_model(catalog()["ingolstadt21-v0"].scenario().net_file)
    notes = [f for f in lint_model(model) if f.code == "short-approach"]
    assert len(notes) == 17 and all(f.severity == "note" for f in notes)
    mine = next(f for f in notes if f.where == "1863241632")
    assert mine.message.startswith("5 incoming lane(s) shorter than 15 m: 170018165#0_1 (9.8 m)")
