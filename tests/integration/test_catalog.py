"""The whole catalog: every network loads, is modelled, and a short fixed-time run inside its window
completes with vehicles arriving."""

from __future__ import annotations

import pytest

from signalbench.experiments import TrialSpec, run_trial
from signalbench.networks import catalog, load_network_model, load_scenario_model

pytestmark = [pytest.mark.integration, pytest.mark.slow]

#: Simulated seconds from the start of each window; longer where the first trips are long.
DURATION_S = {"arterial4x4-v0": 300.0, "sumorl-nguyen-v0": 600.0}
DEFAULT_S = 120.0


@pytest.mark.parametrize("network_id", sorted(catalog()))
def test_catalog_network_runs(tmp_path, network_id):
    entry = catalog()[network_id]
    scenario = entry.scenario()
    model = load_scenario_model(scenario)
    assert model.intersections
    for spec in model.intersections:
        assert spec.n_phases >= 1 and spec.movements
    duration = DURATION_S.get(network_id, DEFAULT_S)
    result = run_trial(
        TrialSpec(network=network_id, controller="fixed-time-v0", seed=1, duration_s=duration), tmp_path
    )
    assert result.state == "complete", result.error
    assert result.sim_time_s == duration
    assert result.metrics["vehicles_arrived"] > 0
    assert f"--begin {entry.begin_s:g}" in " ".join(result.sumo_command)


def test_resco_variant_runs_the_restored_program(tmp_path):
    """SUMO runs the program loaded last: 20 s into the window the restored 25 s phase shows.

    The cycle position is (time - offset) mod cycle: 57620 mod 90 = 20 falls in the restored
    phase (18-43 s); the 65 s program of sumo-rl's copy is at 57620 mod 65 = 30, its main phase.
    """
    from signalbench.runtime import Session

    ids = load_network_model(catalog()["ingolstadt7-v0"].scenario().net_file).ids
    c306 = next(i for i in ids if i.startswith("cluster_3064"))
    states = {}
    for network_id in ("ingolstadt7-v0", "ingolstadt7-resco-v0"):
        session = Session(catalog()[network_id].scenario().shortened(30.0))
        with session.backend() as sim:
            sim.start(session.config(seed=1, outdir=tmp_path / network_id))
            sim.step_until(session.scenario.begin_s + 20)
            states[network_id] = sim.signal_state(c306)
        assert session.model[c306].n_phases == (4 if "resco" in network_id else 3)
    assert states == {"ingolstadt7-v0": "GGGGGGrrrrrr", "ingolstadt7-resco-v0": "rrrrrrGGGGrr"}
