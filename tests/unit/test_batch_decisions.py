"""The vectorised path decides exactly as the per-light path (the reference), on the fake backend."""

import numpy as np
import pytest

from signalbench.controllers import registry
from signalbench.errors import ControllerError
from signalbench.networks import catalog, load_network_model
from signalbench.runtime import BATCH_MIN_LIGHTS, Episode
from signalbench.signals import SignalTiming
from signalbench.sim import SimConfig
from signalbench.testing import FakeBackend

CASES = [
    ("max-pressure", {}),
    ("max-pressure", {"downstream": "signalised"}),
    ("max-pressure", {"downstream": "none"}),
    ("longest-queue-first", {}),
    ("longest-queue-first", {"switch_margin_veh": 2.0}),
    ("greedy", {}),
    ("greedy", {"detection_m": 200.0}),
]


@pytest.fixture(scope="module")
def big_model():
    model = load_network_model(catalog()["ingolstadt21-v0"].scenario().net_file)
    assert len(model.intersections) >= BATCH_MIN_LIGHTS
    return model


def run(model, controller, *, batch, seed, rate, timing=None):
    episode = Episode(
        backend=FakeBackend(model, arrival_rate_veh_s=rate),
        config=SimConfig(net_file=model.net_file, begin_s=0.0, end_s=400.0, seed=seed),
        model=model,
        controller=controller,
        timing=timing or SignalTiming(),
        record_timelines=True,
        batch=batch,
    )
    return episode, episode.run()


@pytest.mark.parametrize(("name", "params"), CASES)
@pytest.mark.parametrize(("seed", "rate"), [(1, 0.05), (2, 0.3)])
def test_batched_decisions_equal_per_light(big_model, name, params, seed, rate):
    per_light = run(big_model, registry.build(name, params), batch=False, seed=seed, rate=rate)[1]
    episode, batched = run(big_model, registry.build(name, params), batch=True, seed=seed, rate=rate)
    assert episode.controller.policy.batch is not None
    assert batched.timelines == per_light.timelines
    assert batched.switches == per_light.switches > 0
    assert batched.overrides == per_light.overrides
    assert batched.decisions == per_light.decisions


def test_auto_uses_the_vectorised_path_only_on_large_networks(big_model, cologne3_model, monkeypatch):
    calls = []
    controller = registry.build("max-pressure")
    run(big_model, controller, batch=None, seed=1, rate=0.1)
    decide = controller.policy.batch.decide

    def spy(obs):
        calls.append(len(obs.layout))
        return decide(obs)

    monkeypatch.setattr(controller.policy.batch, "decide", spy)
    # reset builds a fresh decider: patch the class's batched() to hand out the spy instead
    monkeypatch.setattr(
        type(next(iter(controller.policy.controllers.values()))),
        "batched",
        lambda self: controller.policy.batch,
    )
    run(big_model, controller, batch=None, seed=1, rate=0.1)
    assert calls and set(calls) == {len(big_model.intersections)}
    calls.clear()
    run(cologne3_model, controller, batch=None, seed=1, rate=0.1)
    assert calls == []


def test_variants_without_a_vectorised_form_keep_the_per_light_path(big_model):
    controller = registry.build("max-pressure", {"detection_m": 100.0, "queue": "stopped"})
    episode, stats = run(big_model, controller, batch=None, seed=1, rate=0.1)
    assert episode.controller.policy.batch is None and stats.decisions > 0
    with pytest.raises(ControllerError, match="no vectorised decider"):
        run(big_model, registry.build("max-pressure", {"detection_m": 100.0}), batch=True, seed=1, rate=0.1)


@pytest.mark.parametrize(
    "controller, params",
    [
        ("greedy", {"ties": "first"}),
        ("greedy", {"actions": "pairs"}),
        ("max-pressure", {"ties": "first"}),
        ("max-pressure", {"actions": "pairs"}),
    ],
)
def test_resco_formulations_keep_the_per_light_path(big_model, controller, params):
    # The vectorised deciders implement signalbench's own formulation only.
    built = registry.build(controller, params)
    episode, stats = run(big_model, built, batch=None, seed=1, rate=0.1)
    assert episode.controller.policy.batch is None and stats.decisions > 0


def test_a_subclass_keeps_the_per_light_path(big_model):
    from signalbench.controllers import MaxPressure, PhaseRequest

    class Stubborn(MaxPressure):
        def act(self, obs):
            return PhaseRequest.hold()

    controller = registry.build(Stubborn)
    episode, stats = run(big_model, controller, batch=None, seed=1, rate=0.2)
    assert episode.controller.policy.batch is None
    assert stats.switches == stats.overrides.get("max_green", 0)  # only max green switches it


def test_layout_pads_phases_and_sums_per_phase(big_model):
    from signalbench.controllers import NetworkLayout

    specs = big_model.intersections
    rows = {}
    for spec in specs:
        for lane in (*spec.incoming_lanes, *spec.outgoing_lanes):
            rows.setdefault(lane.id, len(rows))
    layout = NetworkLayout.build(specs, rows)
    values = np.random.default_rng(3).integers(0, 9, len(rows)).astype(float)
    table = layout.phase_sums(layout.pm_slot, (values[layout.in_rows][layout.mv_in])[layout.pm_mv])
    for k, spec in enumerate(specs):
        q_in = values[[rows[ln.id] for ln in spec.incoming_lanes]]
        expect = spec.phase_movements.astype(float) @ q_in[spec.movement_in_lane]
        assert np.array_equal(table[k, : spec.n_phases], expect)
        assert np.all(np.isneginf(table[k, spec.n_phases :]))
