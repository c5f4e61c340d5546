import pytest

from signalbench.errors import SpecError
from signalbench.experiments import ExperimentSpec, load_spec, spec_from_dict
from signalbench.signals import SignalTiming

BASE = {
    "name": "t",
    "seeds": [1, 2],
    "networks": [{"id": "cologne3-v0"}],
    "controllers": [{"id": "fixed-time"}, {"id": "max-pressure", "label": "mp"}],
}


def test_expansion_and_stable_ids():
    spec = spec_from_dict(BASE)
    trials = spec.trials()
    assert [(t.controller, t.seed) for t in trials] == [
        ("fixed-time-v0", 1),
        ("fixed-time-v0", 2),
        ("max-pressure-v0", 1),
        ("max-pressure-v0", 2),
    ]
    assert trials[2].display_label == "mp"
    assert len({t.trial_id for t in trials}) == 4
    assert [t.trial_id for t in spec_from_dict(BASE).trials()] == [t.trial_id for t in trials]


def test_toml_round_trip(tmp_path):
    spec = spec_from_dict(
        {
            **BASE,
            "timing": {"max_green_s": "none", "decision_interval_s": 10},
            "sim": {"duration_s": 300, "warmup_s": 60},
            "demand": [1.0, 1.5],
            "run": {"launcher": "serial", "retries": 2, "timeout_s": 60.0},
        }
    )
    path = tmp_path / "s.toml"
    path.write_text(spec.to_toml())
    again = load_spec(path)
    assert again == spec
    assert again.timing == SignalTiming(max_green_s=None)
    assert [t.trial_id for t in again.trials()] == [t.trial_id for t in spec.trials()]


def test_bundled_spec_by_name():
    spec = load_spec("quickstart")
    assert isinstance(spec, ExperimentSpec) and spec.name == "quickstart"
    assert {c.id for c in spec.controllers} == {"fixed-time-v0", "max-pressure-v0"}


def test_seed_count():
    assert spec_from_dict({**BASE, "seeds": 4}).seeds == (1, 2, 3, 4)


def test_every_error_reported_at_once():
    bad = {
        "name": "t",
        "seedz": 3,
        "seeds": [1, "2"],
        "backend": "carla",
        "timing": {"min_green_s": -1, "yelow_s": 3},
        "networks": [{"id": "colgne3"}],
        "controllers": [{"id": "max-presure"}, {"id": "max-pressure", "params": {"gain": 1}}],
    }
    with pytest.raises(SpecError) as info:
        spec_from_dict(bad, source="bad.toml")
    msg = str(info.value)
    assert "\n" not in msg
    for part in [
        "bad.toml:",
        "seedz: unknown key (did you mean 'seeds'?)",
        "seeds: seeds must be integers",
        "backend: unknown backend 'carla'",
        "timing.min_green_s: must be >= 0",
        "timing.yelow_s: unknown key (did you mean 'yellow_s'?)",
        "unknown network 'colgne3'",
        "did you mean max-pressure",
        "unknown parameter 'gain'",
    ]:
        assert part in msg, part


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"networks": []}, "networks: required"),
        ({"controllers": []}, "controllers: required"),
        ({"seeds": 0}, "count must be >= 1"),
        ({"seeds": [1, 1]}, "seeds repeat"),
        ({"name": ""}, "name: required"),
        ({"timing": {"min_green_s": 50, "max_green_s": 40}}, "exceeds"),
        ({"networks": [{"path": "/nonexistent/x.sumocfg"}]}, "network file not found"),
        ({"networks": [{"id": "cologne3-v0", "path": "x"}]}, "exactly one of id"),
        ({"controllers": [{"id": "fixed-time"}, {"id": "fixed-time"}]}, "used twice"),
        ({"sim": {"step_length_s": 0}}, "sim.step_length_s: must be >= 0.001"),
        ({"backend": "libsumo", "sim": {"sumo_binary": "/usr/bin/sumo"}}, "needs backend = 'traci'"),
    ],
)
def test_single_errors(change, message):
    with pytest.raises(SpecError, match=message):
        spec_from_dict({**BASE, **change})


def test_malformed_toml_and_missing_file(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("name = 'x\n")
    with pytest.raises(SpecError, match=r"bad\.toml: invalid TOML"):
        load_spec(bad)
    with pytest.raises(SpecError, match="spec file not found"):
        load_spec(tmp_path / "missing.toml")
    with pytest.raises(SpecError, match="did you mean quickstart"):
        load_spec("quickstar")


def test_relative_paths_resolve_against_spec_file(tmp_path):
    (tmp_path / "pol.py").write_text(
        "from signalbench import BaseController, PhaseRequest\n"
        "class P(BaseController):\n    def act(self, obs):\n        return PhaseRequest.hold()\n"
    )
    path = tmp_path / "s.toml"
    path.write_text(
        'name = "r"\nseeds = 1\n[[networks]]\nid = "cologne1"\n[[controllers]]\nid = "pol.py:P"\n'
    )
    spec = load_spec(path)
    assert spec.controllers[0].id == f"{tmp_path / 'pol.py'}:P"
    assert spec.controllers[0].label == "P"


def test_demand_is_an_axis():
    spec = spec_from_dict({**BASE, "demand": [0.5, 1.0, 1.5]})
    trials = spec.trials()
    assert len(trials) == 3 * 2 * 2
    assert [t.scale for t in trials[:4]] == [0.5] * 4
    assert len({t.trial_id for t in trials}) == 12


def test_run_settings_are_not_part_of_trial_ids():
    a = spec_from_dict(BASE)
    b = spec_from_dict({**BASE, "run": {"workers": 1, "retries": 3, "timeout_s": 10}})
    assert b.run.retries == 3 and b.run.workers == 1
    assert [t.trial_id for t in a.trials()] == [t.trial_id for t in b.trials()]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"demand": []}, "demand: expected a non-empty list"),
        ({"demand": [1.0, -2]}, r"demand\[1\]: must be > 0"),
        ({"demand": [1, 1.0]}, "demand levels repeat"),
        ({"run": {"launcher": "slurm"}}, "run.launcher: unknown launcher 'slurm'"),
        ({"run": {"workers": 0}}, "run.workers: expected an integer >= 1"),
        ({"run": {"retries": -1}}, "run.retries"),
        ({"run": {"timeout_s": 0}}, "run.timeout_s: must be > 0"),
        ({"run": {"address": "auto"}}, "an address is for launcher = 'ray'"),
        ({"run": {"wokers": 2}}, "did you mean 'workers'"),
        ({"sim": {"warmup_s": -5}}, "sim.warmup_s: must be >= 0"),
    ],
)
def test_run_and_demand_errors(change, message):
    with pytest.raises(SpecError, match=message):
        spec_from_dict({**BASE, **change})


def test_network_ids_are_canonical_versioned_ids():
    bare = spec_from_dict({**BASE, "networks": [{"id": "cologne3"}]})
    full = spec_from_dict(BASE)
    assert bare.networks[0].ref == "cologne3-v0"
    assert [t.trial_id for t in bare.trials()] == [t.trial_id for t in full.trials()]


def test_label_does_not_change_trial_ids():
    renamed = spec_from_dict(
        {**BASE, "controllers": [{"id": "fixed-time", "label": "FT"}, {"id": "max-pressure", "label": "MP"}]}
    )
    assert [t.trial_id for t in renamed.trials()] == [t.trial_id for t in spec_from_dict(BASE).trials()]


def test_identical_controller_entries_are_rejected():
    with pytest.raises(SpecError, match="same controller and parameters as 'a'"):
        spec_from_dict(
            {
                **BASE,
                "controllers": [
                    {"id": "max-pressure", "label": "a"},
                    {"id": "max-pressure-v0", "label": "b"},
                ],
            }
        )


def test_warmup_must_leave_something_to_measure():
    with pytest.raises(SpecError, match=r"sim\.warmup_s: 300 s leaves nothing of the 300 s window"):
        spec_from_dict({**BASE, "sim": {"duration_s": 300, "warmup_s": 300}})


def test_catalog_latest_version_is_numeric(monkeypatch):
    import signalbench.networks._catalog as cat

    entries = dict(cat.catalog())
    base = entries["cologne1-v0"]
    import dataclasses

    for v in ("v2", "v10"):
        entries[f"cologne1-{v}"] = dataclasses.replace(base, id=f"cologne1-{v}")
    monkeypatch.setattr(cat, "_CATALOG", entries)
    assert cat.canonical_network("cologne1") == "cologne1-v10"


def test_the_same_network_twice_is_rejected():
    with pytest.raises(SpecError, match=r"networks\[1\]: same network as networks\[0\]"):
        spec_from_dict({**BASE, "networks": [{"id": "cologne3"}, {"id": "cologne3-v0"}]})


def test_network_timing_and_controller_interval_override(tmp_path):
    spec = spec_from_dict(
        {
            **BASE,
            "timing": {"yellow_s": 3, "decision_interval_s": 10},
            "networks": [
                {"id": "cologne3-v0"},
                {"id": "arterial4x4-v0", "timing": {"yellow_s": 2, "decision_interval_s": 5}},
            ],
            "controllers": [
                {"id": "max-pressure"},
                {"id": "sotl", "decision_interval_s": 1},
            ],
        }
    )
    got = {(t.network, t.controller): (t.timing.yellow_s, t.decision_interval_s) for t in spec.trials()}
    assert got == {
        ("cologne3-v0", "max-pressure-v0"): (3.0, 10.0),
        ("cologne3-v0", "sotl-v0"): (3.0, 1.0),
        ("arterial4x4-v0", "max-pressure-v0"): (2.0, 5.0),
        ("arterial4x4-v0", "sotl-v0"): (2.0, 1.0),
    }
    path = tmp_path / "s.toml"
    path.write_text(spec.to_toml())
    assert load_spec(path) == spec


def test_yellow_on_every_switch_is_opt_in_and_keeps_other_ids(tmp_path):
    plain = spec_from_dict(BASE)
    held = spec_from_dict(
        {**BASE, "networks": [{"id": "cologne3-v0", "timing": {"yellow_on_every_switch": True}}]}
    )
    assert not any(t.timing.yellow_on_every_switch for t in plain.trials())
    assert all(t.timing.yellow_on_every_switch for t in held.trials())
    assert "yellow_on_every_switch" not in plain.trials()[0].key()["timing"]  # stored trials keep their ids
    assert {t.trial_id for t in plain.trials()}.isdisjoint(t.trial_id for t in held.trials())
    path = tmp_path / "s.toml"
    path.write_text(held.to_toml())
    assert load_spec(path) == held
    top = spec_from_dict({**BASE, "timing": {"yellow_on_every_switch": True}})
    path.write_text(top.to_toml())
    assert load_spec(path) == top and all(t.timing.yellow_on_every_switch for t in top.trials())
    with pytest.raises(SpecError, match=r"timing.yellow_on_every_switch: expected true or false, got 'yes'"):
        spec_from_dict({**BASE, "timing": {"yellow_on_every_switch": "yes"}})


def test_zero_yellow_rejected_where_phases_conflict():
    with pytest.raises(
        SpecError, match=r"networks\[0\]: timing.yellow_s: is 0, but traffic light .* conflicting"
    ):
        spec_from_dict({**BASE, "timing": {"yellow_s": 0}})
    # Fixed-time alone never sets a signal: the harness's yellow is irrelevant.
    spec_from_dict({**BASE, "timing": {"yellow_s": 0}, "controllers": [{"id": "fixed-time"}]})
    with pytest.raises(SpecError, match=r"networks\[0\].timing.min_green_s: must be >= 0"):
        spec_from_dict({**BASE, "networks": [{"id": "cologne3-v0", "timing": {"min_green_s": -1}}]})
    with pytest.raises(SpecError, match=r"controllers\[1\].decision_interval_s"):
        spec_from_dict(
            {**BASE, "controllers": [{"id": "fixed-time"}, {"id": "sotl", "decision_interval_s": 0}]}
        )
