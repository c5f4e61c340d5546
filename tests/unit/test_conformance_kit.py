"""The conformance kit on the fake backend: passes good controllers, names what broke in bad ones."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass

import numpy as np
import pytest

from signalbench import BaseController, PhaseRequest
from signalbench.testing import ConformanceReport, check_controller

FAST = {"backend": "fake", "networks": ("cologne3-v0",), "seeds": (1,), "duration_s": 60.0}


class InvalidPhase(BaseController):
    def act(self, obs):
        return PhaseRequest.switch(obs.n_phases) if obs.time_s >= 25220 else PhaseRequest.hold()


class NumpyPhase(BaseController):
    def act(self, obs):
        return PhaseRequest.switch(np.int64(0))


class WrongType(BaseController):
    def act(self, obs):
        return "green please"


class GlobalRandom(BaseController):
    def act(self, obs):
        return PhaseRequest.switch(random.randrange(obs.n_phases))


class Raises(BaseController):
    def act(self, obs):
        if obs.time_s >= 25230:
            raise KeyError("lane_0")
        return PhaseRequest.hold()


class Slow(BaseController):
    def act(self, obs):
        time.sleep(0.08)
        return PhaseRequest.hold()


@dataclass(frozen=True, kw_only=True)
class GainParams:
    gain: float = 1.0


class BadParams(BaseController):
    Params = GainParams


class Good(BaseController):
    def act(self, obs):
        return PhaseRequest.switch(int(self.rng.integers(obs.n_phases)))


def test_passes_builtins_on_the_fake_backend():
    for name in ("max-pressure", "greedy", "longest-queue-first", "random", "sotl", "actuated"):
        report = check_controller(name, **FAST)
        assert isinstance(report, ConformanceReport) and report.ok, report.summary()
        assert report.runs[0].decisions > 0 and report.decision_ms_p95 >= 0


def test_a_class_with_its_own_rng_conforms_and_reports():
    report = check_controller(Good, **FAST)
    assert report.ok and report.runs[0].switches > 0
    text = report.summary()
    assert "conforms" in text and "p95" in text and "cologne3-v0 seed 1" in text


def test_invalid_phase_names_intersection_and_time():
    with pytest.raises(AssertionError) as err:
        check_controller(InvalidPhase, **FAST)
    msg = str(err.value)
    assert "does NOT conform" in msg and "invalid request" in msg
    assert "intersection '" in msg and "t=25220 s" in msg and "valid phases are 0.." in msg


def test_numpy_integer_phase_is_rejected_with_a_hint():
    with pytest.raises(AssertionError, match=r"int64 phase; use a Python int"):
        check_controller(NumpyPhase, **FAST)


def test_wrong_return_type_is_named():
    with pytest.raises(AssertionError, match=r"returned str 'green please', expected a PhaseRequest"):
        check_controller(WrongType, **FAST)


def test_global_random_is_caught_as_nondeterminism():
    with pytest.raises(AssertionError) as err:
        check_controller(GlobalRandom, **FAST)
    msg = str(err.value)
    assert "not deterministic" in msg and "same seed gave different signal timelines" in msg
    assert "rng given to reset()" in msg


def test_exception_in_act_is_reported_with_intersection_and_time():
    with pytest.raises(AssertionError) as err:
        check_controller(Raises, **FAST)
    msg = str(err.value)
    assert "failed at intersection" in msg and "t=25230 s" in msg and "KeyError" in msg and "lane_0" in msg


def test_slow_controller_fails_the_time_check_and_the_limit_is_configurable():
    opts = {**FAST, "networks": ("cologne1-v0",), "duration_s": 20.0}
    with pytest.raises(AssertionError, match=r"too slow: p95 decision time .* > limit 20 ms"):
        check_controller(Slow, max_p95_ms=20.0, **opts)
    assert check_controller(Slow, max_p95_ms=None, **opts).ok


def test_bad_params_fail_the_build_check():
    with pytest.raises(AssertionError, match=r"does not build .*parameter 'gian'.*did you mean 'gain'"):
        check_controller(BadParams, {"gian": 2}, **FAST)
    report = check_controller(BadParams, {"gian": 2}, raise_on_failure=False, **FAST)
    assert not report.ok and report.runs == ()


def test_unknown_reference_fails_the_build_check():
    with pytest.raises(AssertionError, match=r"unknown controller 'max-presure'"):
        check_controller("max-presure", **FAST)


def test_controller_without_signals_is_noted_not_failed():
    report = check_controller("fixed-time", **FAST)
    assert report.ok and report.runs == () and "only the build was checked" in report.summary()


class NetworkScope:
    """A network-level controller: one call for all intersections."""

    scope = "network"
    decision_interval_s = 5.0
    observed_lane_fields = ("halting_count",)

    def reset(self, network, rng):
        self.rng = rng

    def act(self, obs):
        return {tls: PhaseRequest.switch(int(self.rng.integers(o.n_phases))) for tls, o in obs.items()}


class StrayIntersection(NetworkScope):
    def act(self, obs):
        return {"nowhere": PhaseRequest.hold()}


def test_network_scope_controller_conforms():
    report = check_controller(NetworkScope, **FAST)
    assert report.ok and report.runs[0].intersections == 3 and report.runs[0].switches > 0


def test_request_for_an_unknown_intersection_is_named():
    with pytest.raises(AssertionError, match=r"'nowhere' at t=25205 s: request for an intersection"):
        check_controller(StrayIntersection, **FAST)
