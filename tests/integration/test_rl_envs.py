"""The Gymnasium and PettingZoo environments: API checkers, seeding, episode end, bad input."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest

gymnasium = pytest.importorskip("gymnasium")
pytest.importorskip("pettingzoo")

from gymnasium.utils.env_checker import check_env  # noqa: E402
from pettingzoo.test import parallel_api_test  # noqa: E402

from signalbench.errors import NetworkError, SimulationError, SpecError  # noqa: E402
from signalbench.rl import SignalEnv, SignalParallelEnv, SignalSim  # noqa: E402
from signalbench.sim import sumo_binary, sumo_env  # noqa: E402


def test_gymnasium_checker_passes():
    env = SignalEnv("cologne1-v0", duration_s=120)
    try:
        check_env(env, skip_render_check=True)
    finally:
        env.close()


def test_pettingzoo_parallel_checker_passes():
    env = SignalParallelEnv("cologne3-v0", duration_s=120)
    try:
        parallel_api_test(env, num_cycles=50)
    finally:
        env.close()


def _rollout(env, seed, actions):
    obs, info = env.reset(seed=seed)
    seen, rewards = [obs], []
    for a in actions:
        obs, reward, terminated, truncated, info = env.step(a)
        seen.append(obs)
        rewards.append(reward)
        if terminated or truncated:
            break
    return np.array(seen), np.array(rewards), info


def test_seed_reaches_sumo_and_episode_ends_with_metrics():
    env = SignalEnv("cologne1-v0", duration_s=300, decision_interval_s=10)
    try:
        actions = [k % env.action_space.n for k in range(40)]
        a_obs, a_rew, a_info = _rollout(env, 7, actions)
        b_obs, b_rew, _ = _rollout(env, 7, actions)
        c_obs, _, _ = _rollout(env, 8, actions)
        np.testing.assert_array_equal(a_obs, b_obs)
        np.testing.assert_array_equal(a_rew, b_rew)
        assert not np.array_equal(a_obs, c_obs)  # another SUMO seed, another demand realisation
        assert len(a_rew) == 29  # decisions at 10, 20, ..., 290 s, then the window's end
        assert a_info["metrics"]["vehicles_arrived"] > 0
        assert a_info["control"]["decisions"] == 29
        assert env.observation_space.contains(a_obs[-1])
        with pytest.raises(SimulationError, match="after the episode ended"):
            env.step(0)
    finally:
        env.close()


def test_components_by_name_and_rewards_follow_queues():
    env = SignalEnv("cologne1-v0", duration_s=200, observation="pressure", reward="queue")
    try:
        obs, _ = env.reset(seed=1)
        n = env.action_space.n
        assert obs.shape == (2 * n,) and obs[:n].sum() == 1.0
        rewards = [env.step(0)[1] for _ in range(20)]
        assert all(r <= 0 for r in rewards) and min(rewards) < 0  # minus the halting vehicles
    finally:
        env.close()


def test_bad_input_is_one_clear_line(tmp_path):
    with pytest.raises(SpecError, match=r"unknown observation 'queue-densty'; did you mean 'queue-density'"):
        SignalEnv("cologne1-v0", observation="queue-densty")
    with pytest.raises(SpecError, match=r"unknown reward 'wait'"):
        SignalEnv("cologne1-v0", reward="wait")
    with pytest.raises(SpecError, match=r"has 3 controllable lights; choose one with intersection="):
        SignalEnv("cologne3-v0")
    with pytest.raises(NetworkError, match=r"no controllable traffic light 'nope'"):
        SignalEnv("cologne3-v0", intersection="nope")
    net = tmp_path / "plain.net.xml"
    cmd = [str(sumo_binary("netgenerate")), "--grid", "--grid.number", "2", "-o", str(net)]
    subprocess.run(cmd, check=True, capture_output=True, env=sumo_env())
    routes = tmp_path / "r.rou.xml"
    routes.write_text("<routes/>\n")
    with pytest.raises(NetworkError, match=r"has no traffic light a controller can drive"):
        SignalSim(str(net), route_files=[str(routes)])
    with pytest.raises(SpecError, match="is not in Discrete"):
        env = SignalEnv("cologne1-v0", duration_s=60)
        try:
            env.reset(seed=1)
            env.step(99)
        finally:
            env.close()
