import numpy as np
import pytest

from signalbench.controllers import (
    BaseController,
    FixedTime,
    IntersectionObs,
    MaxPressure,
    PerIntersection,
    PhaseRequest,
    registry,
)
from signalbench.controllers._registry import ControllerRegistry
from signalbench.errors import ControllerError


def make_obs(spec, *, phase=0, in_halting=None, out_halting=None, t=10.0):
    n_in, n_out = len(spec.incoming_lanes), len(spec.outgoing_lanes)
    zeros_in, zeros_out = np.zeros(n_in), np.zeros(n_out)
    return IntersectionObs(
        spec=spec,
        time_s=t,
        phase=phase,
        in_transition=False,
        time_in_phase_s=10.0,
        in_vehicles=np.array(in_halting if in_halting is not None else zeros_in, dtype=float),
        in_halting=np.array(in_halting if in_halting is not None else zeros_in, dtype=float),
        in_occupancy=zeros_in.copy(),
        in_mean_speed_m_s=zeros_in.copy(),
        out_vehicles=np.array(out_halting if out_halting is not None else zeros_out, dtype=float),
        out_halting=np.array(out_halting if out_halting is not None else zeros_out, dtype=float),
    )


def test_observation_is_read_only(cologne3_model):
    obs = make_obs(cologne3_model["360082"])
    with pytest.raises(ValueError):
        obs.in_halting[0] = 5
    with pytest.raises(AttributeError):
        obs.phase = 2


def test_pressures_by_hand(cologne3_model):
    spec = cologne3_model["360082"]  # lanes in: 0..4, phases serve lanes {0,1,3,4},{1,4},{2,3}
    in_h = np.zeros(len(spec.incoming_lanes))
    in_h[2] = 10  # lane '-130160207#0_0', served only by phase 2 (3 movements)
    obs = make_obs(spec, in_halting=in_h)
    np.testing.assert_array_equal(obs.movement_queues()[spec.movement_in_lane == 2], [10, 10, 10])
    assert list(obs.phase_pressures()) == [0, 0, 30]  # 3 movements from that lane
    out_h = np.full(len(spec.outgoing_lanes), 1.0)
    obs = make_obs(spec, in_halting=in_h, out_halting=out_h)
    # each served movement loses 1 for its downstream queue
    assert list(obs.phase_pressures()) == [-8, -3, 26]  # phase 2 serves 4 movements


def test_max_pressure_picks_largest_and_holds_on_tie(cologne3_model):
    spec = cologne3_model["360082"]
    mp = MaxPressure()
    mp.reset(spec, np.random.default_rng(0))
    in_h = np.zeros(len(spec.incoming_lanes))
    in_h[2] = 4
    assert mp.act(make_obs(spec, in_halting=in_h, phase=0)) == PhaseRequest.switch(2)
    assert mp.act(make_obs(spec, in_halting=in_h, phase=2)) == PhaseRequest.hold()
    assert mp.act(make_obs(spec, phase=1)) == PhaseRequest.hold()  # all zero: keep the current phase


def test_registry_resolves_versioned_and_bare_ids():
    assert registry.resolve("max-pressure").id == "max-pressure-v0"
    assert registry.resolve("max-pressure-v0").cls is MaxPressure
    assert registry.resolve("fixed-time").cls is FixedTime


def test_registry_suggests_close_ids():
    with pytest.raises(ControllerError, match="did you mean max-pressure"):
        registry.resolve("max-presure")


def test_registry_latest_version_wins():
    reg = ControllerRegistry()

    class A(BaseController):
        pass

    class B(BaseController):
        pass

    reg.register("thing-v0", A)
    reg.register("thing-v1", B)
    assert reg.resolve("thing").cls is B
    with pytest.raises(ValueError):
        reg.register("no-version", A)
    with pytest.raises(ValueError):
        reg.register("thing-v0", B)


def test_params_are_checked():
    with pytest.raises(ControllerError, match=r"unknown parameter 'gain'.*takes no parameters"):
        registry.build("random", {"gain": 2})
    with pytest.raises(
        ControllerError, match=r"'max-pressure-v0': unknown parameter 'detection'.*'detection_m'"
    ):
        registry.build("max-pressure", {"detection": 200})


def test_user_controller_from_file(tmp_path, cologne3_model):
    src = tmp_path / "pol.py"
    src.write_text(
        "from dataclasses import dataclass\n"
        "from signalbench import BaseController, PhaseRequest\n"
        "@dataclass(frozen=True, kw_only=True)\n"
        "class P:\n    target: int = 1\n"
        "    def __post_init__(self):\n"
        "        if self.target < 0: raise ValueError('target must be >= 0')\n"
        "class Pol(BaseController):\n    'Always the target phase.'\n    Params = P\n"
        "    def act(self, obs):\n        return PhaseRequest.switch(self.params.target)\n"
    )
    ctrl = registry.build(f"{src}:Pol", {"target": 2}).policy
    assert isinstance(ctrl, PerIntersection)
    ctrl.reset(cologne3_model, np.random.default_rng(1))
    obs = {s.id: make_obs(s) for s in cologne3_model.intersections}
    assert set(ctrl.act(obs).values()) == {PhaseRequest.switch(2)}
    with pytest.raises(ControllerError, match="did you mean 'target'"):
        registry.build(f"{src}:Pol", {"targt": 2})
    with pytest.raises(ControllerError, match="target must be >= 0"):
        registry.build(f"{src}:Pol", {"target": -1})


@pytest.mark.parametrize(
    ("ref", "message"),
    [
        ("missing_dir/nope.py:X", "controller file not found"),
        ("{tmp}/empty.py:Nope", "has no controller class 'Nope'"),
        ("{tmp}/broken.py:X", "failed to import: SyntaxError"),
        ("{tmp}/empty.py:helper", "has no controller class"),
        ("no_such_module_xyz:X", "cannot be imported"),
    ],
)
def test_bad_controller_references(tmp_path, ref, message):
    (tmp_path / "empty.py").write_text("def helper():\n    pass\n")
    (tmp_path / "broken.py").write_text("def (:\n")
    with pytest.raises(ControllerError, match=message):
        registry.resolve(ref.format(tmp=tmp_path))


def test_controller_exception_names_intersection(cologne3_model):
    class Boom(BaseController):
        def act(self, obs):
            raise RuntimeError("kaput")

    ctrl = PerIntersection(Boom, name="boom")
    ctrl.reset(cologne3_model, np.random.default_rng(0))
    spec = cologne3_model.intersections[0]
    with pytest.raises(ControllerError, match=f"'boom' failed at intersection '{spec.id}'.*kaput"):
        ctrl.act({spec.id: make_obs(spec)})


def test_per_intersection_generators_are_independent_and_seeded(cologne3_model):
    class Draw(BaseController):
        def act(self, obs):
            return PhaseRequest.switch(int(self.rng.integers(1_000_000)) % obs.n_phases)

    def draws(seed):
        c = PerIntersection(Draw, name="d")
        c.reset(cologne3_model, np.random.default_rng(seed))
        return [int(ctrl.rng.integers(1 << 30)) for ctrl in c.controllers.values()]

    assert draws(5) == draws(5)
    assert draws(5) != draws(6)
    assert len(set(draws(5))) == len(cologne3_model.intersections)


def test_entry_point_plugins_are_registered(monkeypatch):
    """A third-party package's `signalbench.controllers` entry point appears in the registry."""
    from importlib.metadata import EntryPoint

    import signalbench.controllers._registry as reg_mod

    ep = EntryPoint(
        name="plugin-policy-v2", value="signalbench.controllers:MaxPressure", group="signalbench.controllers"
    )
    monkeypatch.setattr(
        reg_mod, "entry_points", lambda group: [ep] if group == reg_mod.ENTRY_POINT_GROUP else []
    )
    reg = reg_mod._default_registry()
    assert reg.resolve("plugin-policy").id == "plugin-policy-v2"
    assert reg.resolve("plugin-policy-v2").cls is MaxPressure
    assert "plugin-policy-v2" in [e.id for e in reg.entries()]


def test_broken_entry_point_is_one_clear_error(monkeypatch):
    from importlib.metadata import EntryPoint

    import signalbench.controllers._registry as reg_mod

    ep = EntryPoint(name="broken-v0", value="no_such_pkg_xyz:Thing", group="signalbench.controllers")
    monkeypatch.setattr(reg_mod, "entry_points", lambda group: [ep])
    with pytest.raises(ControllerError, match=r"entry point 'broken-v0'.*failed to load"):
        reg_mod._default_registry().resolve("anything")
