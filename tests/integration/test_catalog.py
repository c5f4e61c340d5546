"""The whole catalog: every network loads, is modelled, and a short fixed-time run inside its window
completes with vehicles arriving."""

from __future__ import annotations

import pytest

from signalbench.experiments import TrialSpec, run_trial
from signalbench.networks import catalog, load_network_model

pytestmark = [pytest.mark.integration, pytest.mark.slow]

#: Simulated seconds from the start of each window; longer where the first trips are long.
DURATION_S = {"arterial4x4-v0": 300.0, "sumorl-nguyen-v0": 600.0}
DEFAULT_S = 120.0


@pytest.mark.parametrize("network_id", sorted(catalog()))
def test_catalog_network_runs(tmp_path, network_id):
    entry = catalog()[network_id]
    scenario = entry.scenario()
    model = load_network_model(scenario.net_file)
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
