"""Controllers that install SUMO signal programs instead of deciding in Python.

Each writes ``<tlLogic>`` programs to an additional file before the trial (the
``ProgramWriter`` protocol) and SUMO runs them by itself: ``fixed-time`` (installs nothing: the
network's own programs), ``webster`` and ``green-wave`` (plans from the trial's measured flows),
``sumo-actuated`` and ``sumo-delay-based`` (SUMO's own actuated types on the network's phases).
The plan arithmetic they share (Webster's cycle, splits, yellow and all-red) is here too.
"""

from signalbench.controllers.programs._plans import (
    PROGRAM_ID,
    ProgramController,
    ProgramPhase,
    SignalProgram,
    build_cycle,
    network_yellow_s,
    phase_flow_ratios,
    primary_phases,
    split_greens,
    transition_lost_time_s,
    webster_cycle_s,
    write_programs_file,
)
from signalbench.controllers.programs.fixed_time import FixedTime
from signalbench.controllers.programs.green_wave import (
    CoordinatedLink,
    GreenWave,
    GreenWaveParams,
    coordinated_links,
)
from signalbench.controllers.programs.sumo_actuated import (
    SumoActuated,
    SumoActuatedParams,
    actuated_program,
    engineer_greens,
)
from signalbench.controllers.programs.sumo_delay_based import SumoDelayBased, SumoDelayBasedParams
from signalbench.controllers.programs.webster import Webster, WebsterParams, WebsterPlan, webster_plan

__all__ = [
    "PROGRAM_ID",
    "CoordinatedLink",
    "FixedTime",
    "GreenWave",
    "GreenWaveParams",
    "ProgramController",
    "ProgramPhase",
    "SignalProgram",
    "SumoActuated",
    "SumoActuatedParams",
    "SumoDelayBased",
    "SumoDelayBasedParams",
    "Webster",
    "WebsterParams",
    "WebsterPlan",
    "actuated_program",
    "build_cycle",
    "coordinated_links",
    "engineer_greens",
    "network_yellow_s",
    "phase_flow_ratios",
    "primary_phases",
    "split_greens",
    "transition_lost_time_s",
    "webster_cycle_s",
    "webster_plan",
    "write_programs_file",
]
