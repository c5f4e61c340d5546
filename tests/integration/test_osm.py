"""OpenStreetMap import: netconvert recipe plus random trips; bad .osm files give one line."""

from __future__ import annotations

import pytest

from signalbench.cli import main
from signalbench.networks import load_network_model, resolve_network

pytestmark = pytest.mark.integration

SIGNAL = '<tag k="highway" v="traffic_signals"/>'
OSM = """<?xml version="1.0" encoding="UTF-8"?>
<osm version="0.6" generator="handwritten">
  <bounds minlat="52.5000" minlon="13.4000" maxlat="52.5040" maxlon="13.4060"/>
  <node id="1" lat="52.5020" lon="13.4000" version="1"/>
  <node id="2" lat="52.5020" lon="13.4030" version="1">{signal}</node>
  <node id="3" lat="52.5020" lon="13.4060" version="1"/>
  <node id="4" lat="52.5000" lon="13.4030" version="1"/>
  <node id="5" lat="52.5040" lon="13.4030" version="1"/>
  <way id="10" version="1"><nd ref="1"/><nd ref="2"/><nd ref="3"/>
    <tag k="highway" v="secondary"/><tag k="lanes" v="2"/></way>
  <way id="11" version="1"><nd ref="4"/><nd ref="2"/><nd ref="5"/><tag k="highway" v="tertiary"/></way>
</osm>
"""


def run_cli(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_import_osm_writes_a_runnable_scenario(tmp_path, capsys):
    osm = tmp_path / "cross.osm"
    osm.write_text(OSM.format(signal=SIGNAL))
    code, out, err = run_cli(capsys, "networks", "import-osm", osm, tmp_path / "out", "--flow-veh-h", 600)
    assert code == 0, err
    cfg = tmp_path / "out" / "cross.sumocfg"
    assert f"wrote {cfg}" in out and "1 controllable traffic lights" in out
    scenario = resolve_network(str(cfg))
    assert scenario.end_s == 3600 and scenario.route_files[0].name == "cross.rou.xml"
    assert len(load_network_model(scenario.net_file).intersections) == 1
    assert scenario.route_files[0].read_text().count("<trip ") == pytest.approx(600, abs=5)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "cross.net.xml",
        "cross.rou.xml",
        "cross.sumocfg",
    ]


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("not xml <", "netconvert rejected it: invalid document structure"),
        (OSM.format(signal=""), "no traffic light to control after conversion"),
    ],
)
def test_bad_osm_one_line(tmp_path, capsys, text, fragment):
    osm = tmp_path / "bad.osm"
    osm.write_text(text)
    code, _, err = run_cli(capsys, "networks", "import-osm", osm, tmp_path / "out")
    assert code == 2
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and fragment in lines[0] and str(osm) in lines[0], err


def test_missing_osm_file(tmp_path, capsys):
    code, _, err = run_cli(capsys, "networks", "import-osm", tmp_path / "nope.osm", tmp_path / "out")
    assert code == 2 and "OSM file not found" in err
