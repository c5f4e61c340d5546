"""Which signal program runs: the network's own programs and those of additional files, as SUMO loads them.

SUMO loads the ``<tlLogic>`` programs of the network file first, then those of the additional
files in the order given; a newly loaded program becomes the light's active one ("When loaded,
the last program will be used", SUMO documentation, *Traffic Lights: Defining New
TLS-Programs*). A program must carry a new ``programID`` for its light; a ``<tlLogic>`` without
phases that names an existing program only changes that program's offset, and the reserved
``programID="off"`` switches the light off. This module replays those rules without running
SUMO, so the network model, lint, ``networks show`` and every controller see the program that
actually runs.
"""

from __future__ import annotations

import dataclasses
import gzip
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from signalbench.errors import NetworkError

__all__ = ["OFF_PROGRAM", "LoadedProgram", "active_programs", "net_programs", "read_additional_programs"]

#: SUMO's reserved program id: the light is switched off (its junction's priority rules apply).
OFF_PROGRAM = "off"


@dataclass(frozen=True, kw_only=True)
class LoadedProgram:
    """One ``<tlLogic>`` as SUMO loads it.

    Attributes:
        tls_id: the traffic light's id.
        program_id: the program's id (``programID``).
        kind: SUMO's program type (``static``, ``actuated``, ``delay_based``, ...).
        offset_s: the program's offset [s].
        phases: (state, duration_s) of every phase, in order.
        source: the file it was read from (the network file, or an additional file).

    """

    tls_id: str
    program_id: str
    kind: str
    offset_s: float
    phases: tuple[tuple[str, float], ...]
    source: Path


def _open(path: Path) -> IO[bytes]:
    if path.name.endswith(".gz"):
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return path.open("rb")


def _number(raw: str | None, what: str, path: Path) -> float:
    try:
        return float(raw) if raw is not None else 0.0
    except ValueError as exc:
        raise NetworkError(f"{path}: {what} {raw!r} is not a number") from exc


def read_additional_programs(path: Path) -> tuple[LoadedProgram, ...]:
    """Read every ``<tlLogic>`` of an additional file, in file order.

    Raises:
        NetworkError: the file is missing, is not XML, or a ``tlLogic`` lacks its id or has a
            phase without a state or with a duration that is not a number.

    """
    if not path.is_file():
        raise NetworkError(f"additional file not found: {path}")
    out: list[LoadedProgram] = []
    try:
        with _open(path) as fh:
            for elem in _tl_logics(fh):
                tls_id = elem.get("id")
                if not tls_id:
                    raise NetworkError(f"{path}: a <tlLogic> has no id")
                program_id = elem.get("programID", "")
                phases = []
                for ph in elem.iter("phase"):
                    state = ph.get("state")
                    if not state:
                        raise NetworkError(f"{path}: <tlLogic id={tls_id!r}>: a <phase> has no state")
                    duration = _number(ph.get("duration"), f"tlLogic {tls_id!r} phase duration", path)
                    phases.append((state, duration))
                raw_offset = elem.get("offset", "0")
                # "begin" aligns the program with the simulation begin; kept as 0 here (the
                # model uses the phase order, not the start phase).
                offset = (
                    0.0 if raw_offset == "begin" else _number(raw_offset, f"tlLogic {tls_id!r} offset", path)
                )
                out.append(
                    LoadedProgram(
                        tls_id=tls_id,
                        program_id=program_id,
                        kind=elem.get("type", "static"),
                        offset_s=offset,
                        phases=tuple(phases),
                        source=path,
                    )
                )
                elem.clear()
    except (ET.ParseError, EOFError, OSError) as exc:
        raise NetworkError(f"{path}: not a readable additional file ({exc})") from exc
    return tuple(out)


def _tl_logics(fh: IO[bytes]) -> Iterator[ET.Element]:
    depth = 0
    for event, elem in ET.iterparse(fh, events=("start", "end")):
        if event == "start":
            depth += 1
            continue
        depth -= 1
        if elem.tag == "tlLogic":
            yield elem
        elif depth <= 1:
            elem.clear()  # a large additional file (routes, detectors) is not kept in memory


def net_programs(tls: Any, net_file: Path) -> list[LoadedProgram]:
    """Return the programs of a sumolib traffic light, in the order of the network file."""
    out = []
    for program_id, program in tls.getPrograms().items():
        out.append(
            LoadedProgram(
                tls_id=str(tls.getID()),
                program_id=str(program_id),
                kind=str(program.getType()),
                offset_s=_number(str(program.getOffset()), f"tlLogic {tls.getID()!r} offset", net_file),
                phases=tuple((str(p.state), float(p.duration)) for p in program.getPhases()),
                source=net_file,
            )
        )
    return out


def active_programs(
    loaded: dict[str, list[LoadedProgram]], additional: Iterable[LoadedProgram]
) -> dict[str, LoadedProgram | None]:
    """Apply SUMO's loading rules; return each light's active program (None: switched off).

    ``loaded`` holds the network file's programs per light, in file order (the last one is
    active, as in SUMO); ``additional`` the programs of the additional files, in load order.

    Raises:
        NetworkError: SUMO would refuse the additional program (an unknown light, a program
            id the light has already, or a new program without phases), naming its file.

    """
    programs = {tls: list(progs) for tls, progs in loaded.items()}
    active: dict[str, LoadedProgram | None] = {t: (ps[-1] if ps else None) for t, ps in programs.items()}
    for prog in additional:
        where = f"{prog.source}: <tlLogic id={prog.tls_id!r} programID={prog.program_id!r}>"
        if prog.tls_id not in programs:
            raise NetworkError(f"{where}: the network has no traffic light {prog.tls_id!r}")
        if prog.program_id == OFF_PROGRAM:
            active[prog.tls_id] = None
            continue
        same = [p for p in programs[prog.tls_id] if p.program_id == prog.program_id]
        if not prog.phases:
            if not same:
                raise NetworkError(f"{where}: a new program without phases (SUMO: duration of 0)")
            # Only the offset of the existing program changes; the active program stays.
            moved = dataclasses.replace(same[0], offset_s=prog.offset_s)
            programs[prog.tls_id] = [moved if p is same[0] else p for p in programs[prog.tls_id]]
            if active[prog.tls_id] is same[0]:
                active[prog.tls_id] = moved
            continue
        if same:
            raise NetworkError(
                f"{where}: the light already has a program {prog.program_id!r} "
                f"(from {same[0].source.name}); an additional program needs a new programID"
            )
        programs[prog.tls_id].append(prog)
        active[prog.tls_id] = prog
    return active
