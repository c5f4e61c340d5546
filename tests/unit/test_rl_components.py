"""The RL components' numbers, against their definitions (no SUMO)."""

from __future__ import annotations

import numpy as np
import pytest

from signalbench.controllers import IntersectionObs
from signalbench.errors import SpecError
from signalbench.rl import DiffWaitingTimeReward, QueueDensityObservation
from signalbench.signals import SignalTiming


def _obs(spec, rng, *, waiting=True, phase=0, in_transition=False, time_in_phase_s=7.0):
    n_in, n_out = len(spec.incoming_lanes), len(spec.outgoing_lanes)
    vehicles = rng.integers(0, 60, n_in).astype(np.float64)  # some lanes over capacity
    return IntersectionObs(
        spec=spec,
        time_s=10.0,
        phase=phase,
        in_transition=in_transition,
        time_in_phase_s=time_in_phase_s,
        in_vehicles=vehicles,
        in_halting=np.floor(vehicles * rng.random(n_in)),
        in_occupancy=np.full(n_in, np.nan),
        in_mean_speed_m_s=np.full(n_in, np.nan),
        in_waiting_time_s=rng.integers(0, 500, n_in).astype(np.float64) if waiting else None,
        out_vehicles=np.zeros(n_out),
        out_halting=np.zeros(n_out),
    )


def test_queue_density_is_sumo_rls_layout_clipped_and_rounded_once(cologne3_model):
    rng = np.random.default_rng(3)
    for spec in cologne3_model.intersections:
        fn = QueueDensityObservation()
        low, high = fn.bind(spec, SignalTiming(min_green_s=5.0))
        capacity = np.maximum(np.array([ln.length_m for ln in spec.incoming_lanes]) / 7.5, 1.0)
        for k in range(20):
            obs = _obs(spec, rng, phase=k % spec.n_phases, time_in_phase_s=float(k % 9))
            got = fn(obs)
            one_hot = np.eye(spec.n_phases)[obs.phase]
            ready = [float(obs.time_in_phase_s >= 5.0)]
            density = np.clip(obs.in_vehicles / capacity, 0.0, 1.0)
            queue = np.clip(obs.in_halting / capacity, 0.0, 1.0)
            want = np.concatenate([one_hot, ready, density, queue]).astype(np.float32)
            assert got.dtype == np.float32 and got.shape == low.shape == high.shape
            np.testing.assert_array_equal(got, want)
            assert got is not fn(obs)  # a new vector every call


def test_diff_waiting_time_reads_the_lane_totals(cologne3_model):
    spec = cologne3_model.intersections[0]
    rng = np.random.default_rng(1)
    reward = DiffWaitingTimeReward()
    assert reward.observed_lane_fields == ("waiting_time_s",)
    reward.reset(spec)
    first, second = _obs(spec, rng), _obs(spec, rng)
    assert reward(first) == pytest.approx(-first.in_waiting_time_s.sum() / 100)
    assert reward(second) == pytest.approx(
        (first.in_waiting_time_s.sum() - second.in_waiting_time_s.sum()) / 100
    )
    with pytest.raises(SpecError, match="needs the lanes' waiting time"):
        reward(_obs(spec, rng, waiting=False))
