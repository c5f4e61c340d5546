"""experiments/resco/resco_replay.py: RESCO's baselines on RESCO's own configuration, on real SUMO."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from signalbench.controllers import registry
from signalbench.experiments import TrialSpec, run_trial
from signalbench.networks import catalog, load_scenario_model
from signalbench.runtime import Episode
from signalbench.signals import SignalTiming
from signalbench.sim import SimConfig, make_backend

pytestmark = pytest.mark.integration

REPLAY = Path(__file__).parents[2] / "experiments" / "resco" / "resco_replay.py"


def _module():
    spec = importlib.util.spec_from_file_location("resco_replay", REPLAY)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["resco_replay"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_discovery_replays_the_order_seen_from_the_windows_begin():
    mod = _module()
    m21 = load_scenario_model(catalog()["ingolstadt21-resco-v0"].scenario())
    spec = m21["243641585"]
    # mid-cycle at 57600 s (86 s cycle): the first green seen is the program's last one
    assert mod.discovered_greens(spec.program, spec.program_offset_s, 57600.0) == ["Grrr", "rGgG", "rGGr"]
    grid = load_scenario_model(catalog()["grid4x4-v0"].scenario())["A0"]
    assert mod.discovered_greens(grid.program, grid.program_offset_s, 0.0) == [
        p.state for p in grid.green_phases
    ]


@pytest.mark.parametrize("kind", ["max-pressure", "greedy"])
def test_replay_runs_on_the_benchmarks_configuration(tmp_path, kind):
    result = run_trial(
        TrialSpec(
            network="ingolstadt7-resco-v0",
            controller=f"{REPLAY}:RescoReplay",
            params={"kind": kind},
            seed=1,
            duration_s=300.0,
            decision_interval_s=10.0,
        ),
        tmp_path,
    )
    assert result.state == "complete", result.error
    assert result.control["decisions"] == 29 and result.control["controlled_intersections"] == 7
    assert result.metrics["vehicles_arrived"] > 0


def test_unknown_map_is_one_clear_error(tmp_path):
    result = run_trial(
        TrialSpec(network="cologne1-v0", controller=f"{REPLAY}:RescoReplay", params={"map": "nope"}, seed=1),
        tmp_path,
    )
    assert result.state == "failed" and "map 'nope' is not in resco_signal_config.json" in (
        result.error or ""
    )


def test_sumo_shows_what_the_actuator_holds_from_the_first_decision() -> None:
    """RESCO replaces each light's program at reset, so its first green holds from the start.

    The replay holds the first green on ingolstadt1 (all pressures 0 in the first minute);
    SUMO's own 90 s program would go yellow at 57638 s. The episode must have taken the light
    off its program although the state it set at the start was the one the program showed.
    """
    sc = catalog()["ingolstadt1-v0"].scenario()
    backend = make_backend("libsumo")
    seen: list[tuple[float, str, str]] = []
    episodes: list[Episode] = []

    def check(now: float, obs: object, requests: object) -> None:
        seen.append((now, backend.signal_state("gneJ207"), episodes[0].actuators["gneJ207"].state))

    cfg = SimConfig(
        net_file=sc.net_file, route_files=sc.route_files, begin_s=sc.begin_s, end_s=sc.begin_s + 120.0, seed=1
    )
    episodes.append(
        Episode(
            backend=backend,
            config=cfg,
            model=load_scenario_model(sc),
            controller=registry.build(f"{REPLAY}:RescoReplay", {"kind": "max-pressure"}),
            timing=SignalTiming(yellow_s=3.0, all_red_s=0.0, min_green_s=0.0, max_green_s=None),
            on_decision=check,
        )
    )
    episodes[0].run()
    assert len(seen) >= 10
    assert [(t, shown) for t, shown, held in seen if shown != held] == []
    assert seen[3][:2] == (57640.0, "GGgGrGGG")  # the program alone would show its yellow here
