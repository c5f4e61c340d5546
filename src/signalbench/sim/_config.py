"""Typed configuration of one SUMO run and the command line built from it."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from signalbench.errors import SimulationError
from signalbench.sim._versions import SumoVersion, gate_options

__all__ = ["ScenarioFiles", "SimConfig"]


class ScenarioFiles(Protocol):
    """What :meth:`SimConfig.for_scenario` needs of a scenario (``networks.Scenario`` has it)."""

    @property
    def net_file(self) -> Path: ...
    @property
    def route_files(self) -> Sequence[Path]: ...
    @property
    def additional_files(self) -> Sequence[Path]: ...
    @property
    def begin_s(self) -> float: ...
    @property
    def end_s(self) -> float: ...


@dataclass(frozen=True, kw_only=True)
class SimConfig:
    """Everything SUMO needs for one seeded run.

    Either ``sumocfg`` or ``net_file`` (with ``route_files``) names the scenario; explicit
    fields override what a ``.sumocfg`` says.

    Attributes:
        sumocfg: SUMO configuration file, or None.
        net_file: ``.net.xml`` file (overrides the one in ``sumocfg``).
        route_files: route/flow/trip files (override the ones in ``sumocfg`` when given).
        additional_files: additional files (detectors, programs, ...).
        begin_s: simulation begin [s].
        end_s: simulation end [s]; the harness stops here (SUMO's own clients do not).
        step_length_s: simulation step [s].
        seed: integer seed passed to SUMO's ``--seed``.
        time_to_teleport_s: SUMO's ``--time-to-teleport`` [s]; -1 disables teleporting, so
            a gridlock shows in the metrics instead of being hidden.
        scale: demand scale factor (SUMO's ``--scale``).
        tripinfo_file: where SUMO writes tripinfo (with unfinished vehicles), or None.
        statistics_file: where SUMO writes ``--statistic-output``, or None.
        message_file: where SUMO writes its warnings and errors instead of the terminal
            (``--error-log`` with ``--no-warnings``), or None to leave them on the terminal.
        sumo_binary: a specific SUMO binary (e.g. another version); None uses eclipse-sumo's.
        gui: run ``sumo-gui`` instead of ``sumo`` (needs the traci backend and a display).
        emissions: equip every vehicle with SUMO's emissions device (CO2, NOx, fuel in tripinfo).
        extra_args: further SUMO options, appended verbatim.

    """

    sumocfg: Path | None = None
    net_file: Path | None = None
    route_files: tuple[Path, ...] = ()
    additional_files: tuple[Path, ...] = ()
    begin_s: float = 0.0
    end_s: float = 3600.0
    step_length_s: float = 1.0
    seed: int = 0
    time_to_teleport_s: float = -1.0
    scale: float = 1.0
    tripinfo_file: Path | None = None
    statistics_file: Path | None = None
    message_file: Path | None = None
    sumo_binary: Path | None = None
    gui: bool = False
    emissions: bool = False
    extra_args: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if self.sumocfg is None and self.net_file is None:
            raise SimulationError("SimConfig needs a sumocfg or a net_file")
        if not isinstance(self.seed, int) or isinstance(self.seed, bool):
            raise SimulationError(f"seed must be an integer, got {self.seed!r}")
        if not (self.step_length_s > 0 and math.isfinite(self.step_length_s)):
            raise SimulationError(f"step_length_s must be > 0, got {self.step_length_s}")
        if not self.end_s > self.begin_s:
            raise SimulationError(f"end_s ({self.end_s}) must be after begin_s ({self.begin_s})")
        if not self.scale > 0:
            raise SimulationError(f"scale must be > 0, got {self.scale}")

    @classmethod
    def for_scenario(cls, scenario: ScenarioFiles, **options: Any) -> SimConfig:
        """Return a config for ``scenario``'s files and time window, with further ``options``."""
        return cls(
            net_file=scenario.net_file,
            route_files=tuple(scenario.route_files),
            additional_files=tuple(scenario.additional_files),
            begin_s=scenario.begin_s,
            end_s=scenario.end_s,
            **options,
        )

    def with_additional(self, files: Sequence[Path]) -> SimConfig:
        """Return this configuration with ``files`` loaded after its own additional files."""
        if not files:
            return self
        return dataclasses.replace(self, additional_files=(*self.additional_files, *files))

    def arguments(self) -> list[str]:
        """Return SUMO's options (without the binary) for this configuration."""
        args: list[str] = []
        if self.sumocfg is not None:
            args += ["-c", str(self.sumocfg)]
        if self.net_file is not None:
            args += ["--net-file", str(self.net_file)]
        if self.route_files:
            args += ["--route-files", ",".join(str(p) for p in self.route_files)]
        if self.additional_files:
            args += ["--additional-files", ",".join(str(p) for p in self.additional_files)]
        args += [
            "--begin", _num(self.begin_s),
            "--end", _num(self.end_s),
            "--step-length", _num(self.step_length_s),
            "--seed", str(self.seed),
            "--time-to-teleport", _num(self.time_to_teleport_s),
            "--no-step-log", "true",
            "--duration-log.disable", "true",
        ]  # fmt: skip
        if self.scale != 1.0:
            args += ["--scale", _num(self.scale)]
        if self.tripinfo_file is not None:
            args += ["--tripinfo-output", str(self.tripinfo_file)]
            args += ["--tripinfo-output.write-unfinished", "true"]
            # Unserved demand: vehicles loaded but never inserted (depart="-1").
            args += ["--tripinfo-output.write-undeparted", "true"]
        if self.emissions:
            args += ["--device.emissions.probability", "1"]
        if self.statistics_file is not None:
            args += ["--statistic-output", str(self.statistics_file)]
        if self.message_file is not None:
            args += ["--error-log", str(self.message_file), "--no-warnings", "true"]
        args += list(self.extra_args)
        return args

    def command(self, binary: Path | str, *, version: SumoVersion | None = None) -> list[str]:
        """Return the full command line, starting with ``binary``.

        With the binary's ``version``, options that release does not know are left out
        (see :data:`signalbench.sim._versions.OPTION_SINCE`).
        """
        return [str(binary), *gate_options(self.arguments(), version)]


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))
