"""Checks run before SUMO starts, for failures SUMO would not report cleanly."""

from __future__ import annotations

import functools
import gzip
import xml.etree.ElementTree as ET
import xml.parsers.expat
from pathlib import Path

from signalbench.errors import SimulationError
from signalbench.sim._config import SimConfig

__all__ = ["preflight"]


@functools.lru_cache(maxsize=32)
def _well_formed(path: Path, _mtime_ns: int, _size: int) -> str | None:
    parser = xml.parsers.expat.ParserCreate()
    try:
        with gzip.open(path, "rb") if path.name.endswith(".gz") else path.open("rb") as fh:
            parser.ParseFile(fh)
    except (xml.parsers.expat.ExpatError, OSError, EOFError) as exc:  # OSError: a bad .gz
        return f"{path}: not well-formed XML ({exc})"
    return None


def preflight(config: SimConfig) -> None:
    """Check the network (and configuration) files before SUMO sees them.

    SUMO 1.28 crashes with a segmentation fault on a malformed network file instead of
    reporting it; under libsumo that kills the whole Python process. The files are parsed
    once per process (cached by path, size and mtime) to turn that into a clear error.
    """
    paths: list[Path] = []
    if config.net_file is not None:
        paths.append(Path(config.net_file))
    if config.sumocfg is not None:
        paths.append(Path(config.sumocfg))
        if config.net_file is None:
            try:
                node = ET.parse(config.sumocfg).getroot().find(".//net-file")
            except ET.ParseError as exc:
                raise SimulationError(f"SUMO failed to start: {config.sumocfg}: {exc}") from exc
            if node is not None and node.get("value"):
                paths.append(Path(config.sumocfg).parent / str(node.get("value")))
    for output in (config.tripinfo_file, config.statistics_file, config.message_file):
        if output is not None:  # SUMO does not create folders for its outputs
            Path(output).parent.mkdir(parents=True, exist_ok=True)
    for path in paths:
        if not path.is_file():
            raise SimulationError(f"SUMO failed to start: file not found: {path}")
        stat = path.stat()
        problem = _well_formed(path.resolve(), stat.st_mtime_ns, stat.st_size)
        if problem:
            raise SimulationError(f"SUMO failed to start: {problem}")
