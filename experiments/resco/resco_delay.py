"""RESCO's own delay formula applied to a run's tripinfo files (kept with --keep-sumo-output).

    signalbench run SPEC --keep-sumo-output --out runs/X
    python experiments/resco/resco_delay.py runs/X

RESCO's ``utils/readXML.py`` (the script that produced its published delays) averages
timeLoss + departDelay over the tripinfo entries of the vehicles that departed (SUMO 1.9 wrote
no entry for a vehicle never inserted), then, for route files of ``<vehicle>`` elements only
(grid4x4, arterial4x4, cologne3), adds every vehicle scheduled after the scheduled departure of
the vehicle that departed last, each with a delay of end time minus its scheduled departure: a
first-in-first-out guess at the vehicles that never got in. signalbench's ``mean_delay_s``
leaves those vehicles out; its ``mean_delay_incl_unserved_s`` counts each never-inserted
vehicle exactly (SUMO >= 1.13 writes them with ``write-undeparted``). This prints, per
network and label, the median over seeds of all three.
"""

from __future__ import annotations

import shlex
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pandas as pd

import signalbench


def resco_delay(tripinfo: Path, route_files: list[Path], end_s: float) -> float:
    """RESCO's per-episode delay [s/veh] (readXML.py, metric ``timeLoss``)."""
    total, trips = 0.0, 0
    last_depart, last_id = 0.0, ""
    for _, elem in ET.iterparse(tripinfo):
        if elem.tag != "tripinfo":
            continue
        if float(elem.get("depart", "-1")) < 0:
            continue  # never inserted: SUMO 1.9 did not write these
        trips += 1
        total += float(elem.get("timeLoss", 0.0)) + float(elem.get("departDelay", 0.0))
        depart = float(elem.get("depart", 0.0))
        if depart > last_depart:
            last_depart, last_id = depart, str(elem.get("id"))
        elem.clear()
    scheduled: dict[str, tuple[str, float]] = {}
    for route_file in route_files:
        for child in ET.parse(route_file).getroot():
            if "id" in child.attrib and "depart" in child.attrib:
                scheduled[child.attrib["id"]] = (child.tag, float(child.attrib["depart"]))
    if last_id in scheduled:
        cut = scheduled[last_id][1]
        never = [d for tag, d in scheduled.values() if tag == "vehicle" and d > cut]
        total += sum(end_s - d for d in never)
        trips += len(never)
    return total / trips if trips else float("nan")


def main(run_dir: str) -> None:
    """Print RESCO's delay beside signalbench's for every trial with a kept tripinfo."""
    df = signalbench.read_results(run_dir)
    rows = []
    for _, r in df.iterrows():
        tripinfo = Path(run_dir) / "sumo-output" / str(r["trial_id"]) / "tripinfo.xml"
        if r["state"] != "complete" or not tripinfo.is_file():
            continue
        args = (
            shlex.split(str(r["sumo_command"]))
            if isinstance(r["sumo_command"], str)
            else list(r["sumo_command"])
        )
        routes = [Path(p) for p in args[args.index("--route-files") + 1].split(",")]
        end_s = float(args[args.index("--end") + 1])
        rows.append(
            {
                "network": r["network"],
                "label": r["label"],
                "seed": r["seed"],
                "signalbench": r["mean_delay_s"],
                "incl. never inserted": r["mean_delay_incl_unserved_s"],
                "RESCO readXML": resco_delay(tripinfo, routes, end_s),
            }
        )
    out = pd.DataFrame(rows)
    table = out.groupby(["network", "label"])[
        ["signalbench", "incl. never inserted", "RESCO readXML"]
    ].median()
    print("| network | label | signalbench | incl. never inserted | RESCO readXML |")
    print("|---|---|---|---|---|")
    for (network, label), row in table.iterrows():
        print(f"| {network} | {label} | " + " | ".join(f"{v:.1f}" for v in row) + " |")


if __name__ == "__main__":
    main(sys.argv[1])
