"""``signalbench networks``: list the catalog, show one network, check (lint) a network."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.markup import escape
from rich.table import Table

from signalbench.cli._console import make_console
from signalbench.errors import NetworkError, SignalbenchError
from signalbench.networks import (
    GENERATORS,
    PRESETS,
    Scenario,
    catalog,
    count_traffic_lights,
    count_vehicles,
    lint_scenario,
    load_scenario_model,
    looks_like_path,
    resolve_network,
)

__all__ = ["add_parser", "run"]


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser], epilog: str) -> None:
    """Add the ``networks`` command and its ``list``/``show``/``check`` subcommands."""
    nets = sub.add_parser(
        "networks",
        help="list, show, check (lint) or import (OpenStreetMap) networks",
        description="The network catalog. Without a subcommand: list.",
    )
    nsub = nets.add_subparsers(dest="networks_command", metavar="SUBCOMMAND")
    nsub.add_parser("list", help="catalogued networks: signals, window, vehicles, source, licence")
    show = nsub.add_parser("show", help="intersections, green phases and movements of a network")
    show.add_argument("network", metavar="ID|PATH")
    show.add_argument("--tls", metavar="ID", help="only this traffic light")
    show.add_argument("--route-files", action="append", default=[], metavar="PATH", help="demand files")
    check = nsub.add_parser(
        "check",
        help="lint a network: what the model found and could not use (exit 1 if unusable)",
        description=(
            "Report what the network model found and what it could not use: traffic lights left\n"
            "on their own program, phases serving nothing, movements never green, lanes shared by\n"
            "several signals, green-to-red transitions without yellow, no vehicles in the window.\n"
            "Exit status 1 if the network cannot be used for control experiments."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    check.add_argument("network", metavar="ID|PATH", help="catalog id, .sumocfg, or .net.xml")
    check.add_argument("--route-files", action="append", default=[], metavar="PATH", help="demand files")
    osm = nsub.add_parser(
        "import-osm",
        help="convert an OpenStreetMap .osm file to a SUMO scenario with random demand",
        description=(
            "Convert FILE.osm with netconvert (traffic lights guessed from OSM signals and joined;\n"
            "see docs/networks.md), add random trips between fringe edges (SUMO's randomTrips),\n"
            "and write OUT_DIR/<name>.net.xml, .rou.xml and .sumocfg. Run it with\n"
            "  signalbench run --network OUT_DIR/<name>.sumocfg --controller ..."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    osm.add_argument("osm_file", metavar="FILE.osm", type=Path)
    osm.add_argument("out_dir", metavar="OUT_DIR", type=Path)
    osm.add_argument(
        "--flow-veh-h", type=float, default=1200.0, metavar="Q", help="vehicles per hour in total (1200)"
    )
    osm.add_argument(
        "--end-s", type=float, default=3600.0, metavar="S", help="demand from 0 to S seconds (3600)"
    )
    osm.add_argument("--seed", type=int, default=1, help="seed of the random trips (1)")


def run(args: argparse.Namespace) -> int:
    """Run ``signalbench networks [list|show|check]``."""
    command = args.networks_command or "list"
    if command == "show":
        return _show(args.network, tuple(args.route_files), args.tls)
    if command == "check":
        return _check(args.network, tuple(args.route_files))
    if command == "import-osm":
        return _import_osm(args)
    return _list()


def _import_osm(args: argparse.Namespace) -> int:
    from signalbench.networks.generate import import_osm

    cfg = import_osm(
        args.osm_file, args.out_dir, flow_veh_h=args.flow_veh_h, end_s=args.end_s, seed=args.seed
    )
    console = make_console()
    console.print(
        f"wrote {escape(str(cfg))} (network, demand and configuration in {escape(str(cfg.parent))})"
    )
    code = _check(str(cfg), ())
    run = f"signalbench run --network {escape(str(cfg))} --controller fixed-time --controller max-pressure"
    console.print(f"run it: {run}")
    return code


def _scenario(ref: str, route_files: tuple[str, ...]) -> Scenario:
    """Resolve a reference; a bare .net.xml is allowed here (no demand needed to inspect it).

    A user's file is read through first, so an empty, cut-short or non-SUMO file is named as
    such rather than shown as a network without traffic lights.
    """
    name = Path(ref).name
    if looks_like_path(ref) and name.endswith((".net.xml", ".net.xml.gz")) and not route_files:
        path = Path(ref).expanduser()
        if path.is_dir():
            raise NetworkError(f"{ref} is a folder, not a network file")
        if not path.is_file():
            raise NetworkError(f"network file not found: {ref}")
        scenario = Scenario(id=ref, net_file=path.resolve(), route_files=())
    else:
        scenario = resolve_network(ref, route_files=route_files)
    if looks_like_path(ref):
        count_traffic_lights(scenario.net_file)
    return scenario


def _list() -> int:
    table = Table(title="networks")
    for col in ("id", "signals", "window s", "vehicles", "source", "licence", "title"):
        table.add_column(col)
    for entry in catalog().values():
        try:
            sc = entry.scenario()
            signals = str(len(load_scenario_model(sc).intersections))
            vehicles = str(count_vehicles(sc.route_files, begin_s=sc.begin_s, end_s=sc.end_s).in_window)
        except SignalbenchError as exc:
            signals, vehicles = f"unavailable: {exc}", ""
        table.add_row(
            entry.id,
            signals,
            f"{entry.begin_s:g}-{entry.end_s:g}",
            vehicles,
            entry.source_package,
            entry.licence_short or entry.licence,
            entry.title,
        )
    console = make_console()
    console.print(table)
    console.print("Details: signalbench networks show ID; lint: signalbench networks check ID|PATH")
    kinds = ", ".join(f"{k} ({v})" for k, v in GENERATORS.items())
    console.print(f"Generated networks (generator = ... in a spec): {kinds}", highlight=False)
    presets = ", ".join(f"{name} ({p['rows']}x{p['cols']} grid)" for name, p in PRESETS.items())
    console.print(f"City-scale presets (--network NAME, or id = NAME in a spec): {presets}", highlight=False)
    return 0


def _show(ref: str, route_files: tuple[str, ...], tls: str | None) -> int:
    sc = _scenario(ref, route_files)
    model = load_scenario_model(sc)
    console = make_console()
    entry = catalog().get(sc.id)
    console.print(f"[bold]{escape(sc.id)}[/bold]" + (f": {escape(entry.title)}" if entry else ""))
    console.print(f"network: {escape(str(sc.net_file))}")
    for add in sc.additional_files:
        console.print(f"additional file: {escape(str(add))}")
    if sc.route_files:
        count = count_vehicles(sc.route_files, begin_s=sc.begin_s, end_s=sc.end_s)
        console.print(f"window: {sc.begin_s:g}-{sc.end_s:g} s, {count.in_window} vehicles depart in it")
    console.print(f"signalised intersections: {len(model.intersections)}")
    specs = model.intersections
    if tls is not None:
        specs = tuple(s for s in specs if s.id == tls)
        if not specs:
            raise NetworkError(f"{sc.id}: no controllable traffic light {tls!r}; ids: {', '.join(model.ids)}")
    for spec in specs:
        console.print()
        console.print(
            f"[bold]traffic light {escape(spec.id)}[/bold]: program {spec.program_id!r}"
            + (f" (from {escape(spec.program_file.name)})" if spec.program_file is not None else "")
            + ", "
            f"{spec.n_links} links, {spec.n_phases} green phases, {len(spec.movements)} movements, "
            f"{len(spec.incoming_lanes)} incoming lanes"
        )
        phases = Table(show_edge=False, box=None, pad_edge=False)
        for col in ("green phase", "program index", "state", "duration s", "serves links"):
            phases.add_column(col)
        for k, phase in enumerate(spec.green_phases):
            links = ",".join(str(spec.movements[i].link_index) for i in phase.movements)
            phases.add_row(str(k), str(phase.program_index), phase.state, f"{phase.duration_s:g}", links)
        console.print(phases)
        moves = Table(show_edge=False, box=None, pad_edge=False)
        for col in ("link", "from lane", "to lane", "dir", "green in phases"):
            moves.add_column(col)
        for i, mv in enumerate(spec.movements):
            green = ",".join(str(k) for k, p in enumerate(spec.green_phases) if i in p.movements) or "-"
            moves.add_row(
                str(mv.link_index), escape(mv.from_lane), escape(mv.to_lane), mv.direction or "?", green
            )
        console.print(moves)
    for problem in model.problems:
        console.print(f"not controllable: {escape(problem)}")
    return 0


def _check(ref: str, route_files: tuple[str, ...]) -> int:
    sc = _scenario(ref, route_files)
    report = lint_scenario(sc)
    console = make_console()
    model = report.model
    n_mov = sum(len(s.movements) for s in model.intersections)
    n_ph = sum(s.n_phases for s in model.intersections)
    demand = (
        f", {report.vehicles} vehicles in {sc.begin_s:g}-{sc.end_s:g} s"
        if report.vehicles is not None
        else ""
    )
    console.print(
        f"{escape(sc.id)}: {len(model.intersections)} controllable traffic lights, "
        f"{n_ph} green phases, {n_mov} movements{demand}",
        highlight=False,
    )
    for finding in report.findings:
        console.print(escape(str(finding)), highlight=False)
    errors, warnings = report.count("error"), report.count("warning")
    verdict = "cannot be controlled" if errors else "ok"
    console.print(
        f"{verdict}: {errors} errors, {warnings} warnings, {report.count('note')} notes", highlight=False
    )
    return 1 if errors else 0
