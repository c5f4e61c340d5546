"""The ``[[sensing]]`` axis: expansion, trial ids, errors before any trial runs, results, report."""

import math

import pytest

from signalbench.analysis import ReportOptions, read_results, read_summary, write_report
from signalbench.cli import main
from signalbench.errors import SpecError
from signalbench.experiments import ResultStore, TrialResult, TrialSpec, load_spec, spec_from_dict

BASE = {
    "name": "t",
    "seeds": [1, 2],
    "networks": [{"id": "cologne3-v0"}],
    "controllers": [{"id": "fixed-time"}, {"id": "max-pressure", "label": "mp"}],
}
LOOPS = {"name": "loops", "model": "loops"}
EDGE_C3 = "-241660955#10"  # an approach of cologne3
EDGE_GRID = "A1B1"  # an approach of grid4x4


def with_sensing(*entries, **extra):
    return spec_from_dict({**BASE, **extra, "sensing": list(entries)})


def test_sensing_expands_like_demand_levels():
    spec = with_sensing({"name": "perfect"}, LOOPS, demand=[1.0, 1.5])
    trials = spec.trials()
    assert spec.trial_count() == len(trials) == 2 * 2 * 2 * 2
    order = [(t.scale, t.sensing_label, t.display_label, t.seed) for t in trials]
    assert order[:5] == [
        (1.0, "perfect", "fixed-time", 1),
        (1.0, "perfect", "fixed-time", 2),
        (1.0, "perfect", "mp", 1),
        (1.0, "perfect", "mp", 2),
        (1.0, "loops", "fixed-time", 1),
    ]
    assert len({t.trial_id for t in trials}) == len(trials)


def test_perfect_sensing_leaves_trial_ids_as_they_are():
    plain = [t.trial_id for t in spec_from_dict(BASE).trials()]
    named = with_sensing({"name": "ground truth"}, LOOPS).trials()
    assert [t.trial_id for t in named[:4]] == plain
    assert [t.cell_key for t in named[:4]] == [t.cell_key for t in spec_from_dict(BASE).trials()]
    assert named[0].sensing_label == "ground truth"


def test_the_sensing_name_is_a_label_its_content_is_the_id():
    loops = with_sensing(LOOPS).trials()
    renamed = with_sensing({**LOOPS, "name": "induction loops"}).trials()
    assert [t.trial_id for t in loops] == [t.trial_id for t in renamed]
    faulty = with_sensing({**LOOPS, "faults": [{"kind": "dropout", "rate": 0.1}]}).trials()
    assert not {t.trial_id for t in loops} & {t.trial_id for t in faulty}
    assert not {t.trial_id for t in loops} & {t.trial_id for t in spec_from_dict(BASE).trials()}


def test_trial_spec_round_trips_its_sensing():
    trial = with_sensing({**LOOPS, "faults": [{"kind": "latency", "delay_s": 20.0}]}).trials()[0]
    again = TrialSpec.from_dict(trial.to_dict())
    assert again == trial and again.trial_id == trial.trial_id
    assert again.sensing is not None and again.sensing["faults"][0]["delay_s"] == 20.0
    old = {k: v for k, v in trial.to_dict().items() if k != "sensing"}  # a record from before the axis
    assert TrialSpec.from_dict(old).sensing is None


def test_spec_with_sensing_round_trips_through_toml(tmp_path):
    spec = with_sensing(
        {"name": "perfect"},
        {**LOOPS, "diagnostics": False, "faults": [{"kind": "dropout", "rate": 0.1, "edges": [EDGE_C3]}]},
        {"name": "cv", "model": "connected", "params": {"penetration": 0.3}},
    )
    path = tmp_path / "s.toml"
    path.write_text(spec.to_toml())
    again = load_spec(path)
    assert again.sensing == spec.sensing
    assert [t.trial_id for t in again.trials()] == [t.trial_id for t in spec.trials()]


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ({"name": "x", "model": "lidar"}, "sensing[0].model: unknown sensing model 'lidar'"),
        (
            {"name": "x", "model": "loops", "faults": [{"kind": "stuck-off", "lanes": ["nope_0"]}]},
            "lanes: 'nope_0' is no lane of a controlled light of cologne3.net.xml",
        ),
        (
            {"name": "x", "model": "loops", "faults": [{"kind": "dropout", "rate": 1.5}]},
            "rate: must be in (0, 1]",
        ),
        ({"name": "x", "model": "loops", "faults": [{"kind": "dropout", "rate": math.nan}]}, "got nan"),
        ({"name": "x", "faults": [{"kind": "latency", "delay_s": -5}]}, "delay_s: must be a number > 0"),
        ({"name": "x", "faults": [{"kind": "latency", "delay_s": 1e12}]}, "the controller would see nothing"),
        (
            {"name": "x", "faults": [{"kind": "stuck-on", "from_s": 1e9}]},
            "from_s: 1e+09 s is after the trials end",
        ),
        (
            {"name": "x", "model": "cameras", "attacks": [{"kind": "phantom-queue", "lights": ["nowhere"]}]},
            "lights: 'nowhere' is no controlled traffic light",
        ),
        (
            {"name": "x", "model": "loops", "attacks": [{"kind": "spoof", "edges": [EDGE_C3]}]},
            "needs the connected",
        ),
        ({"name": "x", "modle": "loops"}, "sensing[0].modle: unknown key; did you mean 'model'?"),
    ],
)
def test_bad_sensing_is_one_line_naming_it(entry, expected):
    with pytest.raises(SpecError) as err:
        with_sensing(entry)
    message = str(err.value)
    assert expected in message and "\n" not in message


def test_a_controller_needing_what_the_model_cannot_give_is_named_before_any_trial():
    data = {**BASE, "controllers": [{"id": "max-pressure", "params": {"detection_m": 100.0}, "label": "mp"}]}
    with pytest.raises(
        SpecError, match=r"sensing\[0\]: controller 'mp' needs vehicles, which sensing 'loops'"
    ):
        spec_from_dict({**data, "sensing": [LOOPS]})


def test_names_and_configurations_are_unique():
    with pytest.raises(SpecError, match=r"sensing\[1\].name: 'loops' names sensing\[0\] already"):
        with_sensing(LOOPS, {"name": "loops", "model": "cameras"})
    with pytest.raises(SpecError, match=r"sensing\[1\]: same sensing as 'loops'"):
        with_sensing(LOOPS, {"name": "again", "model": "loops"})
    with pytest.raises(SpecError, match="expected \\[\\[sensing\\]\\] tables"):
        spec_from_dict({**BASE, "sensing": []})


def test_targets_are_looked_up_in_every_network():
    two = {"networks": [{"id": "cologne3-v0"}, {"id": "grid4x4-v0"}]}
    attack = {"kind": "phantom-queue", "edges": [EDGE_C3, EDGE_GRID]}
    spec = with_sensing({"name": "a", "model": "cameras", "attacks": [attack]}, **two)
    assert spec.trial_count() == 2 * 2 * 2
    with pytest.raises(SpecError, match=r"none of its targets is in grid4x4\.net\.xml: name one there too"):
        with_sensing({"name": "a", "model": "cameras", "attacks": [{**attack, "edges": [EDGE_C3]}]}, **two)


def test_dry_run_shows_the_sensing_column_and_refuses_bad_sensing(tmp_path, capsys):
    good = tmp_path / "good.toml"
    good.write_text(
        'name = "d"\nseeds = [1]\n[[networks]]\nid = "cologne3"\n[[controllers]]\nid = "greedy"\n'
        '[[sensing]]\nname = "perfect"\n[[sensing]]\nname = "cams"\nmodel = "cameras"\n'
    )
    assert main(["run", str(good), "--dry-run", "--out", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert "sensing" in out and "cams" in out and "2 trials" in out
    bad = tmp_path / "bad.toml"
    bad.write_text(good.read_text().replace('model = "cameras"', 'model = "camera"'))
    assert main(["run", str(bad), "--dry-run", "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert "sensing[1].model: unknown sensing model 'camera'" in err and "did you mean 'cameras'" in err
    assert len(err.splitlines()) == 1
    assert not (tmp_path / "out").exists()


# -- results and the robustness table -------------------------------------------------------------
def _record(label, seed, delay, sensing, *, fallback=""):
    controller = "fixed-time-v0" if label == "fixed" else "actuated-v0"
    spec = TrialSpec(network="cologne1-v0", controller=controller, label=label, seed=seed, sensing=sensing)
    control = {"decisions": 10, "sensing": {"name": sensing["name"], "fallback": fallback}} if sensing else {}
    return TrialResult(
        trial_id=spec.trial_id,
        spec=spec,
        state="complete",
        metrics={"mean_delay_s": delay, "mean_travel_time_s": delay + 30, "mean_waiting_time_s": delay / 2},
        control=control,
    )


@pytest.fixture
def robustness(tmp_path):
    store = ResultStore(tmp_path / "exp")
    perfect = {"name": "perfect", "model": "perfect", "params": {}}
    loops = {"name": "loops", "model": "loops", "params": {"advance_m": 40.0}}
    for seed in (1, 2, 3):
        store.put(_record("fixed", seed, 40.0 + seed, perfect))
        store.put(_record("fixed", seed, 40.0 + seed, loops))
        store.put(_record("act", seed, 30.0 + seed, perfect))
        store.put(_record("act", seed, 1.5 * (30.0 + seed), loops, fallback="max recall"))
    return tmp_path / "exp"


def test_results_and_summary_carry_the_sensing_column(robustness):
    df = read_results(robustness)
    assert set(df["sensing"]) == {"perfect", "loops"}
    assert df.loc[df["sensing"] == "loops", "perfect_sensing"].eq(False).all()
    assert set(df.loc[(df["sensing"] == "loops") & (df["label"] == "act"), "fallback"]) == {"max recall"}
    summary = read_summary(robustness, ("mean_delay_s",))
    assert len(summary) == 4
    loops_act = summary[(summary["sensing"] == "loops") & (summary["label"] == "act")].iloc[0]
    assert loops_act["baseline"] == "fixed"  # the baseline controller under the same sensing


def test_report_has_the_robustness_table(robustness, tmp_path):
    write_report(robustness, tmp_path / "rep", ReportOptions(metrics=("mean_delay_s",)))
    text = (tmp_path / "rep" / "report.md").read_text()
    assert "## Robustness: delay under each sensing scenario" in text
    assert "| controller | fallback | `perfect` | `loops` |" in text
    assert "| `act` | max recall | 32.0 | 48.0 (+50 %) |" in text  # paired by seed: exactly x1.5
    assert "| `fixed` | - | 42.0 | 42.0 (+0 %) |" in text
    assert "## cologne1-v0, demand x 1, sensing `loops`" in text
    assert (tmp_path / "rep" / "robustness.png").is_file()
    # The controller-side table has a row per scenario, not one pooled over them.
    assert "| network | sensing | controller | trials | decisions |" in text
    assert (
        "| cologne1-v0 | loops | `act` | 3 | 10 |" in text
        and "| cologne1-v0 | perfect | `act` | 3 | 10 |" in text
    )


def test_a_report_without_sensing_has_no_robustness_table(tmp_path):
    store = ResultStore(tmp_path / "exp")
    for seed in (1, 2):
        store.put(_record("fixed", seed, 40.0, None))
        store.put(_record("act", seed, 30.0, None))
    write_report(tmp_path / "exp", tmp_path / "rep", ReportOptions(metrics=("mean_delay_s",)))
    text = (tmp_path / "rep" / "report.md").read_text()
    assert "Robustness" not in text and "sensing" not in text
