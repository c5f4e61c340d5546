"""Testing tools for controller authors: the conformance kit.

Call :func:`check_controller` from your own test to check that a controller builds with its
parameters, finishes whole episodes on tiny real networks without an exception, answers only
valid phase requests, yields safe signal timelines, decides in reasonable time, and is
deterministic with a seed::

    from signalbench.testing import check_controller

    def test_my_policy_conforms():
        check_controller("controllers/my_policy.py:MyPolicy")

    def test_my_policy_fast():  # milliseconds, on the fake backend
        check_controller("controllers/my_policy.py:MyPolicy", backend="fake")

:class:`FakeBackend` is an in-memory stand-in for SUMO that keeps the backend contract: unit tests
of controllers and of the episode loop run in milliseconds on it.

See ``docs/developing.md``.
"""

from signalbench.testing._conformance import (
    DEFAULT_DURATION_S,
    DEFAULT_MAX_P95_MS,
    DEFAULT_NETWORKS,
    DEFAULT_SEEDS,
    ConformanceReport,
    RunCheck,
    check_controller,
)
from signalbench.testing._fake import FakeBackend

__all__ = [
    "DEFAULT_DURATION_S",
    "DEFAULT_MAX_P95_MS",
    "DEFAULT_NETWORKS",
    "DEFAULT_SEEDS",
    "ConformanceReport",
    "FakeBackend",
    "RunCheck",
    "check_controller",
]
