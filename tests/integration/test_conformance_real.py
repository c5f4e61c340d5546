"""The conformance kit on real SUMO (libsumo): every built-in Python controller conforms."""

from __future__ import annotations

import pytest
from tests.conftest import write_controller

from signalbench.testing import DEFAULT_NETWORKS, check_controller

pytestmark = pytest.mark.integration


BUILTINS = ["max-pressure", "greedy", "longest-queue-first", "random", "sotl", "actuated"]


@pytest.mark.parametrize("name", BUILTINS)
def test_builtin_controller_conforms(name):
    report = check_controller(name)
    assert report.ok, report.summary()
    assert {r.network for r in report.runs} == set(DEFAULT_NETWORKS)
    assert all(r.decisions > 0 and r.metrics["vehicles_arrived"] > 0 for r in report.runs)


def test_example_controller_conforms_with_params():
    report = check_controller("controllers/my_policy.py:MyPolicy", {"switch_margin_veh": 1.0}, seeds=(3,))
    assert report.ok and len(report.runs) == 2


def test_broken_controller_fails_on_real_sumo(tmp_path):
    body = "import random\nreturn PhaseRequest.switch(random.randrange(obs.n_phases))"
    ref = write_controller(tmp_path, body)
    with pytest.raises(AssertionError, match=r"cologne1-v0 seed 1: not deterministic"):
        check_controller(ref, networks=("cologne1-v0",), seeds=(1,), duration_s=120)
