"""A scenario ready to run: the one way a run is assembled (trials, training, RL, watch, the kit).

A :class:`Session` holds a :class:`~signalbench.networks.Scenario` (files and window), the
:class:`SimOptions` SUMO runs it with, and the network model read once. It builds SUMO
configurations (outputs in a chosen folder), backends, and episodes.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

from signalbench.controllers import BuiltController
from signalbench.errors import SpecError
from signalbench.networks import NetworkModel, Scenario, load_scenario_model
from signalbench.runtime._episode import DecisionHook, Episode
from signalbench.sensing import PERFECT, SensingModel
from signalbench.signals import SignalTiming
from signalbench.sim import BACKENDS, Backend, SimConfig, make_backend

__all__ = ["OUTPUT_NAMES", "Session", "SimOptions"]

#: Names of SUMO's outputs in a run's output folder.
OUTPUT_NAMES = {"tripinfo": "tripinfo.xml", "statistics": "statistics.xml", "messages": "sumo-messages.log"}


@dataclass(frozen=True, kw_only=True)
class SimOptions:
    """How SUMO runs a scenario, besides its files and window.

    Attributes:
        backend: ``libsumo`` or ``traci`` (for Python controllers; program writers run plain SUMO).
        step_length_s: simulation step [s].
        time_to_teleport_s: SUMO's ``--time-to-teleport`` [s]; -1 disables teleports.
        scale: demand scale factor (SUMO's ``--scale``).
        emissions: equip every vehicle with SUMO's emissions device.
        sumo_binary: another SUMO binary (another release; needs the traci backend), or None.
        gui: run ``sumo-gui`` (traci backend).
        extra_args: further SUMO options, appended verbatim.

    """

    backend: str = "libsumo"
    step_length_s: float = 1.0
    time_to_teleport_s: float = -1.0
    scale: float = 1.0
    emissions: bool = False
    sumo_binary: Path | None = None
    gui: bool = False
    extra_args: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise SpecError(f"unknown backend {self.backend!r}; choose one of {', '.join(BACKENDS)}")


class Session:
    """A scenario, how SUMO runs it, and its network model (read once, on first use).

    Args:
        scenario: files and time window.
        options: how SUMO runs (default :class:`SimOptions`).
        model: the network model, when the caller has it already (e.g. restricted to some lights).

    """

    def __init__(
        self, scenario: Scenario, options: SimOptions | None = None, *, model: NetworkModel | None = None
    ) -> None:
        self.scenario = scenario
        self.options = options or SimOptions()
        self._model = model

    @functools.cached_property
    def model(self) -> NetworkModel:
        """The network model of the scenario (its network file and its additional files' programs)."""
        return self._model if self._model is not None else load_scenario_model(self.scenario)

    def config(
        self,
        *,
        seed: int,
        outdir: Path | None = None,
        statistics: bool = True,
        additional_files: tuple[Path, ...] = (),
        extra_args: tuple[str, ...] = (),
    ) -> SimConfig:
        """Return SUMO's configuration for one seeded run.

        With ``outdir``, SUMO writes its tripinfo (unfinished and unserved vehicles included),
        statistics (unless ``statistics`` is False) and messages there; ``additional_files`` are
        loaded after the scenario's own.
        """
        o = self.options
        return SimConfig.for_scenario(
            self.scenario,
            step_length_s=o.step_length_s,
            seed=seed,
            time_to_teleport_s=o.time_to_teleport_s,
            scale=o.scale,
            tripinfo_file=outdir / OUTPUT_NAMES["tripinfo"] if outdir is not None else None,
            statistics_file=outdir / OUTPUT_NAMES["statistics"]
            if outdir is not None and statistics
            else None,
            message_file=outdir / OUTPUT_NAMES["messages"] if outdir is not None else None,
            sumo_binary=o.sumo_binary,
            emissions=o.emissions,
            gui=o.gui,
            extra_args=(*o.extra_args, *extra_args),
        ).with_additional(additional_files)

    def backend(self) -> Backend:
        """Return a new, unstarted backend of the session's kind."""
        return make_backend(self.options.backend)

    def episode(
        self,
        controller: BuiltController,
        *,
        config: SimConfig,
        timing: SignalTiming,
        decision_interval_s: float | None = None,
        backend: Backend | None = None,
        record_timelines: bool = False,
        on_decision: DecisionHook | None = None,
        sensing: SensingModel = PERFECT,
        sensing_dir: Path | None = None,
        batch: bool | None = None,
    ) -> Episode:
        """Return an episode of ``controller`` on this scenario (``backend``: default the session's).

        ``sensing_dir`` is where the sensing's detector files go (default: a scratch folder).
        ``batch``: see :class:`~signalbench.runtime.Episode` (None: vectorised on large networks).
        """
        return Episode(
            backend=backend if backend is not None else self.backend(),
            config=config,
            model=self.model,
            controller=controller,
            timing=timing,
            decision_interval_s=decision_interval_s,
            record_timelines=record_timelines,
            on_decision=on_decision,
            sensing=sensing,
            sensing_dir=sensing_dir,
            batch=batch,
        )
