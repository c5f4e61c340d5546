"""Conveniences for writing controllers.

A base class with typed parameters, and the wrapper that turns a per-intersection controller
into a network-level policy.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from signalbench.controllers._api import Controller, IntersectionObs, PhaseRequest
from signalbench.controllers._batch import Batchable, BatchDecider
from signalbench.errors import ControllerError
from signalbench.sim import LANE_FIELDS

if TYPE_CHECKING:
    from signalbench.networks import IntersectionSpec, NetworkModel

__all__ = ["BaseController", "NoParams", "PerIntersection"]


@dataclass(frozen=True, kw_only=True)
class NoParams:
    """Parameters of a controller that has none."""


class BaseController:
    """Optional base class: stores typed parameters and the episode's spec and generator.

    Subclasses set ``Params`` to a frozen, keyword-only dataclass and implement :meth:`act`.
    """

    Params: ClassVar[type[Any]] = NoParams
    decision_interval_s: float = 5.0
    observed_lane_fields: tuple[str, ...] = LANE_FIELDS
    observed_upstream_m: float = 0.0

    def __init__(self, params: Any = None) -> None:
        self.params = self.Params() if params is None else params
        self.spec: IntersectionSpec | None = None
        self.rng: np.random.Generator = np.random.default_rng(0)

    def reset(self, spec: IntersectionSpec, rng: np.random.Generator) -> None:
        """Remember the intersection and the generator for this episode."""
        self.spec = spec
        self.rng = rng

    def act(self, obs: IntersectionObs) -> PhaseRequest:  # pragma: no cover - abstract
        """Return the phase request for this decision."""
        raise NotImplementedError


class PerIntersection:
    """A network-level policy made of one independent controller per intersection."""

    def __init__(self, factory: Callable[[], Controller], *, name: str) -> None:
        self._factory = factory
        self.name = name
        self.controllers: dict[str, Controller] = {}
        #: Decides for every light in one call when the controller offers it (see ``_batch``).
        self.batch: BatchDecider | None = None

    def reset(self, network: NetworkModel, rng: np.random.Generator) -> None:
        """Build and reset one controller per intersection, each with its own generator."""
        children = rng.bit_generator.seed_seq.spawn(len(network.intersections))  # type: ignore[attr-defined]
        self.controllers = {}
        for spec, seq in zip(network.intersections, children, strict=True):
            ctrl = self._factory()
            ctrl.reset(spec, np.random.default_rng(seq))
            self.controllers[spec.id] = ctrl
        first = next(iter(self.controllers.values()), None)
        self.batch = first.batched() if isinstance(first, Batchable) else None

    def act(self, obs: Mapping[str, IntersectionObs]) -> dict[str, PhaseRequest]:
        """Ask each intersection's controller; an exception or a None answer names the intersection.

        A per-intersection ``act`` must return a :class:`PhaseRequest`: None (a forgotten
        ``return``) fails the trial instead of passing for "hold"; any other value that is
        not a request is refused by the episode the same way.
        """
        out: dict[str, PhaseRequest] = {}
        for tls, o in obs.items():
            try:
                request = self.controllers[tls].act(o)
            except Exception as exc:
                raise ControllerError(
                    f"controller {self.name!r} failed at intersection {tls!r} "
                    f"(t={o.time_s:g} s): {type(exc).__name__}: {exc}"
                ) from exc
            if request is None:  # a network controller's None means hold; here it is a bug
                raise ControllerError(
                    f"controller {self.name!r} at intersection {tls!r} (t={o.time_s:g} s): invalid request: "
                    "act() returned None (a missing return statement?); return PhaseRequest.hold() "
                    "to keep the current green"
                )
            out[tls] = request
        return out
