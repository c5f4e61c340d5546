"""A configured sensing scenario as a :class:`SensingModel`: detectors, then one sensor per episode.

The sensor's pipeline at every decision, for all lights at once::

    model reading (lanes / loops / zones / probes, spoofed messages joined)
      -> faults per detector (stuck off/on, dropout, noise) -> diagnostics (failure reports)
      -> estimates (input-output counts, probe queues) -> falsified readings (attacks)
      -> latency (the controller sees data delay_s old) -> IntersectionObs

Lost decisions act on the way back: :meth:`lost_requests` names the lights whose request the
episode drops (the actuator holds).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

from signalbench.controllers import IntersectionObs, Traits
from signalbench.networks import NetworkModel
from signalbench.sensing._api import SignalStatus
from signalbench.sensing._channels import AttackPlan, Delay, FaultPlan, LostDecisions, lane_mask, spawn
from signalbench.sensing._config import SensingConfig, field_set
from signalbench.sensing._detectors import loops_of, watched_lanes, write_loops, write_zones, zones_of
from signalbench.sensing._frame import Layout
from signalbench.sensing._sources import Cameras, LaneTruths, Loops, Probes, Setting, Source
from signalbench.sim import Backend

__all__ = ["ConfiguredSensing"]


class ConfiguredSensing:
    """The sensing of a :class:`SensingConfig` (any model, with faults and attacks).

    Args:
        config: the validated configuration.

    """

    def __init__(self, config: SensingConfig) -> None:
        self.config = config

    @property
    def name(self) -> str:
        """The configuration's label."""
        return self.config.name

    @property
    def writes_files(self) -> bool:
        """True for the detector models (``loops``, ``cameras``)."""
        return self.config.model in ("loops", "cameras")

    def additional_files(
        self, model: NetworkModel, outdir: Path, *, interval_s: float, outputs: bool = False
    ) -> tuple[Path, ...]:
        """Write the loops or camera zones of every watched lane; their period is ``interval_s``."""
        p, lanes = self.config.params, watched_lanes(model)
        if self.config.model == "loops":
            pairs = loops_of(lanes, stopline_m=p["stopline_m"], advance_m=p["advance_m"])
            return (write_loops(pairs, outdir, period_s=interval_s, outputs=outputs),)
        if self.config.model == "cameras":
            zones = zones_of(lanes, zone_m=p["zone_m"])
            return (
                write_zones(
                    zones,
                    outdir,
                    period_s=interval_s,
                    halting_speed_m_s=p["halting_speed_m_s"],
                    outputs=outputs,
                ),
            )
        return ()

    def fields_for(self, traits: Traits, controller: str) -> tuple[str, ...]:
        """Return the controller's first field set this model gives; raise SpecError naming both otherwise."""
        return field_set(self.config, traits, controller)

    def sensor(
        self, *, backend: Backend, model: NetworkModel, traits: Traits, rng: np.random.Generator
    ) -> ConfiguredSensor:
        """Bind the model to a started backend for one episode."""
        return ConfiguredSensor(self.config, backend=backend, model=model, traits=traits, rng=rng)


class ConfiguredSensor:
    """One episode's sensing pipeline (see the module docstring)."""

    def __init__(
        self,
        config: SensingConfig,
        *,
        backend: Backend,
        model: NetworkModel,
        traits: Traits,
        rng: np.random.Generator,
    ) -> None:
        fields = field_set(config, traits, "the controller")
        lanes = watched_lanes(model)
        begin = backend.time_s()
        fault_rng, attack_rng, lost_rng, salt_rng = spawn(rng, 4)
        setting = Setting(
            backend=backend, lanes=lanes, fields=fields, diagnostics=config.diagnostics, begin_s=begin
        )
        attacks = config.attacks
        attack_masks = [lane_mask(a, lanes, model) for a in attacks]
        del attack_rng  # attacks are deterministic; the stream is kept for future randomised ones
        p = config.params
        source: Source
        if config.model == "loops":
            pairs = loops_of(lanes, stopline_m=p["stopline_m"], advance_m=p["advance_m"])
            source = Loops(setting, pairs=pairs, quiet_s=p["quiet_s"])
            coverage = np.array([adv.dist_m for _, adv in pairs])
        elif config.model == "cameras":
            zones = zones_of(lanes, zone_m=p["zone_m"])
            source = Cameras(setting, zones=zones)
            coverage = np.array([z.length_m for z in zones])
        elif config.model == "connected":
            spoofs = [(a, m) for a, m in zip(attacks, attack_masks, strict=True) if a.kind == "spoof"]
            source = Probes(
                setting,
                upstream_m=traits.observed_upstream_m,
                penetration=p["penetration"],
                range_m=p["range_m"],
                estimate=p["estimate"],
                jam_spacing_m=p["jam_spacing_m"],
                salt=int(salt_rng.integers(0, 2**62)),
                spoofs=spoofs,
            )
            coverage = np.array([min(ln.length_m, p["range_m"]) for ln in lanes])
        else:
            source = LaneTruths(setting, upstream_m=traits.observed_upstream_m)
            coverage = np.array([ln.length_m for ln in lanes])
        detector_faults = [f for f in config.faults if f.kind != "lost-decisions"]
        unit_lane, unit_detector = source.units()
        source.bind(
            FaultPlan(
                detector_faults,
                unit_lane=unit_lane,
                unit_detector=unit_detector,
                lane_masks=[lane_mask(f, lanes, model) for f in detector_faults],
                rng=fault_rng,
            )
        )
        assert source.plan is not None
        self.source = source
        self.attacks = AttackPlan(attacks, attack_masks, coverage, begin)
        delays = [f.delay_s for f in detector_faults if f.delay_s is not None]
        self.delay = Delay(max(delays, default=0.0))
        self.lost = LostDecisions(
            [f for f in config.faults if f.kind == "lost-decisions"],
            [s.id for s in model.intersections],
            lost_rng,
        )
        self.layout = Layout(
            model, tuple(ln.id for ln in lanes), fields, diagnostics=config.diagnostics is not None
        )
        self.begin_s = begin

    def observe(self, now_s: float, status: Mapping[str, SignalStatus]) -> dict[str, IntersectionObs]:
        """Read, fault, diagnose, estimate, falsify and delay; return every light's observation."""
        frame = self.attacks.apply(self.source.read(now_s))
        assert self.source.plan is not None
        frame = self.delay.apply(frame, self.source.plan.delays(now_s - self.begin_s))
        return self.layout.observe(frame, now_s, status)

    def report(self) -> dict[str, object]:
        """Return the diagnostics' reports: units ever failed, unit-seconds failed, first report."""
        diagnosis = self.source.diagnosis()
        return {"diagnostics": diagnosis} if diagnosis else {}

    def lost_requests(self, now_s: float) -> frozenset[str]:
        """Return the lights whose request of this decision is lost."""
        return self.lost.lost(now_s - self.begin_s)
