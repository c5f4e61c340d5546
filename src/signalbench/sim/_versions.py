"""SUMO release numbers, and the command-line options that only some releases know."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from signalbench.errors import SimulationError

__all__ = ["IMPLIED_BEFORE", "OPTION_SINCE", "SumoVersion", "gate_options", "version_in_output"]

_VERSION = re.compile(r"v?(\d+)[._](\d+)(?:[._](\d+))?(?:[-+][0-9A-Za-z._+-]*)?")


@dataclass(frozen=True, order=True)
class SumoVersion:
    """A SUMO release number (``1.9.2``); ordered, so ``version < SumoVersion(1, 9, 1)`` works."""

    major: int
    minor: int
    patch: int = 0

    @classmethod
    def parse(cls, text: str) -> SumoVersion:
        """Parse ``"1.9.2"``, ``"1.28"`` (patch 0), ``"v1_20_0"`` or ``"1.20.0+0123-abc"`` (a git build).

        Raises:
            SimulationError: ``text`` is not a SUMO release number.

        """
        match = _VERSION.fullmatch(text.strip())
        if match is None:
            raise SimulationError(f"not a SUMO version: {text!r} (expected e.g. 1.9.2)")
        major, minor, patch = match.groups()
        return cls(int(major), int(minor), int(patch or 0))

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}.{self.patch}"


def version_in_output(text: str) -> str | None:
    """Return the version string ``sumo --version`` printed, as printed, or None.

    Recent releases print ``Eclipse SUMO sumo 1.28.0``, older ones
    ``Eclipse SUMO sumo Version 1.9.2``, git builds ``Eclipse SUMO sumo v1_20_0+0123-abc``.
    """
    match = re.search(r"sumo(?:-gui)? (?:Version )?(v?\d+[._]\d+(?:[._]\d+)?(?:[-+][0-9A-Za-z._+-]*)?)", text)
    return match.group(1) if match else None


#: Options the command builder may emit that not every supported SUMO release knows, with the
#: first release that has them. On an older SUMO they are left out; each must be one whose
#: absence the harness handles (the metrics readers document their fallbacks). Options every
#: release on PyPI (1.8.0 on) knows are not listed: checked against ``sumo --help`` of
#: eclipse-sumo 1.8.0, 1.9.2 and 1.28.0.
OPTION_SINCE: dict[str, SumoVersion] = {
    # Vehicles never inserted get a tripinfo entry (depart=-1). SUMO ChangeLog 1.9.1, #8475.
    "--tripinfo-output.write-undeparted": SumoVersion(1, 9, 1),
}


#: Options another option implies in older releases, which then reject them when given too:
#: implied option -> (implying option, first release that accepts both). SUMO 1.9.2 given both
#: tripinfo options prints "Error: A value for the option 'tripinfo-output.write-unfinished'
#: was already set" (and goes on, exit status 0); 1.28.0 accepts both. With only
#: write-undeparted, both releases write the unfinished vehicles too (checked on arterial4x4).
IMPLIED_BEFORE: dict[str, tuple[str, SumoVersion]] = {
    "--tripinfo-output.write-unfinished": ("--tripinfo-output.write-undeparted", SumoVersion(1, 28, 0)),
}


def gate_options(
    args: Sequence[str], version: SumoVersion | None, since: dict[str, SumoVersion] | None = None
) -> list[str]:
    """Return ``args`` without the options (and their values) that ``version`` cannot take.

    ``args`` alternates ``--option value`` as :meth:`SimConfig.arguments` writes them. Left
    out: an option listed in ``since`` when ``version`` predates it, and an option listed in
    :data:`IMPLIED_BEFORE` when its implying option is given (not ``false``) to a release that
    predates accepting both. With ``version`` None (unknown), nothing is left out.
    """
    table = OPTION_SINCE if since is None else since
    if version is None:
        return list(args)
    kept = _drop(args, lambda opt: opt in table and version < table[opt])
    given = {opt for opt, value in _pairs(kept) if value != "false"}
    return _drop(
        kept,
        lambda opt: (
            opt in IMPLIED_BEFORE and IMPLIED_BEFORE[opt][0] in given and version < IMPLIED_BEFORE[opt][1]
        ),
    )


def _is_option(arg: str) -> bool:
    # "--end" or "-c", but not a negative value such as "-1"
    return arg.startswith("--") or (len(arg) == 2 and arg[0] == "-" and arg[1].isalpha())


def _pairs(args: Sequence[str]) -> list[tuple[str, str | None]]:
    out: list[tuple[str, str | None]] = []
    for i, arg in enumerate(args):
        if _is_option(arg):
            nxt = args[i + 1] if i + 1 < len(args) else None
            out.append((arg, nxt if nxt is not None and not _is_option(nxt) else None))
    return out


def _drop(args: Sequence[str], unwanted: Callable[[str], bool]) -> list[str]:
    out: list[str] = []
    skip_value = False
    for arg in args:
        if skip_value:
            skip_value = False
            if not _is_option(arg):
                continue
        if _is_option(arg) and unwanted(arg):
            skip_value = True
            continue
        out.append(arg)
    return out
