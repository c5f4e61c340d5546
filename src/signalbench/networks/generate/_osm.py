"""OpenStreetMap import: ``netconvert`` with guessed, joined traffic lights, plus random demand."""

from __future__ import annotations

import tempfile
from pathlib import Path

from signalbench.errors import NetworkError
from signalbench.networks._model import load_network_model
from signalbench.sim import ToolError, run_tool

__all__ = ["NETCONVERT_OSM_OPTIONS", "import_osm"]

#: The netconvert options of the recipe (documented in docs/networks.md).
NETCONVERT_OSM_OPTIONS: tuple[str, ...] = (
    "--geometry.remove",  # simplify geometry, merge edges where nothing changes
    "--ramps.guess",  # add on-/off-ramp lanes on motorways
    "--junctions.join",  # join clusters of small junctions (one intersection, one light)
    "--roundabouts.guess",
    "--tls.guess-signals",  # signals from OSM traffic_signals nodes near a junction
    "--tls.discard-simple",  # no light at junctions that are not real intersections
    "--tls.join",  # one light for joined junctions that are close together
    "--tls.default-type", "static",
    "--remove-edges.isolated",
    "--keep-edges.by-vclass", "passenger",  # roads for cars only
    "--no-turnarounds.except-deadend",
    "--output.street-names",
)  # fmt: skip


def import_osm(
    osm_file: Path,
    out_dir: Path,
    *,
    flow_veh_h: float = 1200.0,
    end_s: float = 3600.0,
    seed: int = 1,
) -> Path:
    """Convert an ``.osm`` file to a SUMO scenario in ``out_dir``; return its ``.sumocfg``.

    Writes ``<stem>.net.xml`` (netconvert, traffic lights guessed and joined),
    ``<stem>.rou.xml`` (randomTrips: ``flow_veh_h`` vehicles per hour in total between random
    fringe edges from 0 to ``end_s``, validated by duarouter) and ``<stem>.sumocfg``.

    Raises:
        NetworkError: the file is missing, netconvert rejects it, or it has no traffic light.

    """
    osm = Path(osm_file).expanduser()
    if not osm.is_file():
        raise NetworkError(f"OSM file not found: {osm_file}")
    if not flow_veh_h > 0 or not end_s > 0:
        raise NetworkError(f"flow_veh_h and end_s must be > 0, got {flow_veh_h:g} and {end_s:g}")
    out = Path(out_dir).expanduser()
    out.mkdir(parents=True, exist_ok=True)
    stem = osm.name.split(".")[0] or "osm"
    net, routes, cfg = out / f"{stem}.net.xml", out / f"{stem}.rou.xml", out / f"{stem}.sumocfg"
    try:
        run_tool(
            "netconvert", ["--osm-files", str(osm), *NETCONVERT_OSM_OPTIONS, "-o", str(net)], timeout_s=900
        )
    except ToolError as exc:
        raise NetworkError(f"{osm}: netconvert rejected it: {exc.detail}") from exc
    if not net.is_file():
        raise NetworkError(f"{osm}: netconvert wrote no network")
    model = load_network_model(net)
    if not model.intersections:
        why = f" ({model.problems[0]})" if model.problems else ""
        raise NetworkError(f"{osm}: no traffic light to control after conversion{why}; see {net}")
    trips = [
        "-n", str(net), "-o", str(routes),
        "--seed", str(seed), "--begin", "0", "--end", f"{end_s:g}",
        "--period", f"{3600.0 / flow_veh_h:.6g}",
        "--fringe-factor", "10", "--min-distance", "100", "--validate",
        "--trip-attributes", 'departLane="best" departSpeed="max"',
    ]  # fmt: skip
    with tempfile.TemporaryDirectory() as scratch:  # randomTrips leaves intermediate files in its cwd
        try:
            run_tool("randomTrips.py", trips, timeout_s=900, cwd=Path(scratch))
        except ToolError as exc:
            raise NetworkError(f"{osm}: randomTrips failed: {exc.detail}") from exc
    if not routes.is_file():
        raise NetworkError(f"{osm}: randomTrips wrote no routes")
    cfg.write_text(
        "<configuration>\n"
        "    <input>\n"
        f'        <net-file value="{net.name}"/>\n'
        f'        <route-files value="{routes.name}"/>\n'
        "    </input>\n"
        "    <time>\n"
        '        <begin value="0"/>\n'
        f'        <end value="{end_s:g}"/>\n'
        "    </time>\n"
        "</configuration>\n"
    )
    return cfg
