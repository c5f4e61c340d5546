"""The id policy: a trial is reused only when every input is unchanged by content; paths never count."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest

from signalbench._util import python_source_sha256
from signalbench.controllers import controller_sources
from signalbench.errors import SignalbenchError, SpecError
from signalbench.experiments import (
    Fingerprinter,
    ResultStore,
    TrialResult,
    TrialSpec,
    describe_changes,
    plan_trials,
    spec_from_dict,
)
from signalbench.experiments._fingerprint import check_inputs
from signalbench.networks import catalog

POLICY = (
    "from signalbench import BaseController, PhaseRequest\n"
    "import helpers\n"
    "from lib.util import margin\n"
    "import os, json\n"
    "class P(BaseController):\n"
    "    def act(self, obs):\n"
    "        return PhaseRequest.hold() if helpers.ALWAYS else PhaseRequest.switch(0)\n"
)


@pytest.fixture
def project(tmp_path):
    """A project folder: a controller importing two sibling modules, a network and its demand."""
    root = tmp_path / "proj"
    (root / "controllers" / "lib").mkdir(parents=True)
    (root / "controllers" / "policy.py").write_text(POLICY)
    (root / "controllers" / "helpers.py").write_text("ALWAYS = True\n")
    (root / "controllers" / "lib" / "__init__.py").write_text("")
    (root / "controllers" / "lib" / "util.py").write_text("def margin():\n    return 1\n")
    (root / "controllers" / "unused.py").write_text("X = 1\n")
    (root / "net").mkdir()
    source = catalog()["cologne1-v0"].scenario()
    shutil.copy(source.net_file, root / "net" / "c1.net.xml")
    shutil.copy(source.route_files[0], root / "net" / "c1.rou.xml")
    return root


def spec_in(root: Path, seeds=(1,)):
    return spec_from_dict(
        {
            "name": "fp",
            "seeds": list(seeds),
            "networks": [
                {
                    "path": "net/c1.net.xml",
                    "route_files": ["net/c1.rou.xml"],
                    "begin_s": 25200,
                    "end_s": 25500,
                }
            ],
            "controllers": [{"id": "controllers/policy.py:P", "label": "mine"}],
        },
        base_dir=root,
    )


def test_python_source_digest_ignores_comments_and_docstrings(tmp_path):
    a, b, c = tmp_path / "a.py", tmp_path / "b.py", tmp_path / "c.py"
    a.write_text('"""Module."""\nimport os\n\n\ndef f(x):\n    """Doc."""\n    return x + 1  # why\n')
    b.write_text("import os\ndef f(x):\n  return x + 1\n")
    c.write_text("import os\ndef f(x):\n  return x + 2\n")
    assert python_source_sha256(a) == python_source_sha256(b) != python_source_sha256(c)


def test_controller_sources_follow_imports_from_the_same_folder(project):
    roles = controller_sources(f"{project}/controllers/policy.py:P")
    names = {role: path.name for role, path in roles.items()}
    assert names == {
        "controller": "policy.py",
        "controller module helpers": "helpers.py",
        "controller module lib": "__init__.py",
        "controller module lib.util": "util.py",
    }  # stdlib, signalbench and the unused module are not part of it
    assert controller_sources("max-pressure") == {}  # built-ins: signalbench's own digest


def test_inputs_cover_every_file_and_the_software(project):
    (trial,) = spec_in(project).trials()
    assert set(trial.inputs) == {
        "controller", "controller module helpers", "controller module lib", "controller module lib.util",
        "network", "routes", "sumo", "signalbench",
    }  # fmt: skip
    assert trial.inputs["sumo"].count(".") == 2 and "+" in trial.inputs["signalbench"]
    data = {"name": "c", "seeds": 1, "networks": ["cologne3"], "controllers": ["greedy"]}
    (catalogued,) = spec_from_dict(data).trials()
    assert set(catalogued.inputs) == {"network manifest", "network", "routes", "sumo", "signalbench"}


def test_paths_and_labels_do_not_enter_the_id_but_content_does(project, tmp_path):
    (trial,) = spec_in(project).trials()
    assert str(project) not in str(trial.key())
    moved = tmp_path / "elsewhere"
    shutil.copytree(project, moved)
    (copy,) = spec_in(moved).trials()
    assert copy.network != trial.network and copy.trial_id == trial.trial_id  # a moved project reuses
    assert dataclasses.replace(trial, label="renamed").trial_id == trial.trial_id
    # Each input by content: the controller, a module it imports, the demand.
    edits = {
        "controllers/policy.py": ("switch(0)", "switch(1)"),
        "controllers/helpers.py": ("True", "False"),
        "net/c1.rou.xml": ("</routes>", "</routes>\n"),
    }
    for edit, (before, after) in edits.items():
        shutil.copytree(project, tmp_path / "edit", dirs_exist_ok=False)
        path = tmp_path / "edit" / edit
        assert before in path.read_text()
        path.write_text(path.read_text().replace(before, after))
        (edited,) = spec_in(tmp_path / "edit").trials()
        assert edited.trial_id != trial.trial_id and edited.cell_key == trial.cell_key, edit
        shutil.rmtree(tmp_path / "edit")
    # Comments do not count; an unused module does not count.
    (project / "controllers" / "helpers.py").write_text("# the switch\nALWAYS = True  # yes\n")
    (project / "controllers" / "unused.py").write_text("X = 2\n")
    (again,) = spec_in(project).trials()
    assert again.trial_id == trial.trial_id


def test_checkpoint_parameters_enter_by_content(tmp_path):
    ckpt = tmp_path / "q.json"
    ckpt.write_text('{"v": 1}')

    def trial(path):
        params = {"checkpoint": str(path)}
        t = TrialSpec(network="cologne1-v0", controller="q-learning-v0", seed=1, params=params)
        return Fingerprinter().fingerprinted(t)

    first = trial(ckpt)
    assert "param checkpoint" in first.inputs and first.key()["params"]["checkpoint"] == "<file>"
    other = tmp_path / "copy.json"
    shutil.copy(ckpt, other)
    assert trial(other).trial_id == first.trial_id
    ckpt.write_text('{"v": 2}')  # retrained
    retrained = trial(ckpt)
    assert retrained.trial_id != first.trial_id and retrained.cell_key == first.cell_key
    (reason,) = describe_changes(first.inputs, retrained.inputs, {"param checkpoint": ckpt})
    assert reason.startswith("checkpoint ") and reason.endswith("q.json changed")


def test_describe_changes_in_plain_words(tmp_path):
    old = {"controller": "a", "network": "n", "sumo": "1.28.0", "signalbench": "0.1.0+aa"}
    new = {"controller": "b", "controller module helpers": "h", "network": "m", "sumo": "1.29.0",
           "signalbench": "0.2.0+bb"}  # fmt: skip
    paths = {"controller": Path("my.py").resolve(), "controller module helpers": Path("helpers.py").resolve(),
             "network": Path("x.net.xml").resolve()}  # fmt: skip
    assert describe_changes(old, new, paths) == [
        "my.py changed",
        "helpers.py now imported",
        "network file x.net.xml changed",
        "SUMO release changed (1.28.0 → 1.29.0)",
        "signalbench source changed (0.1.0 → 0.2.0)",
    ]
    assert describe_changes({}, new, paths) == ["recorded before inputs were fingerprinted"]
    assert describe_changes(new, new, paths) == []


def record(trial: TrialSpec, state="complete") -> TrialResult:
    return TrialResult(trial_id=trial.trial_id, spec=trial, state=state, metrics={"mean_delay_s": 1.0})


def test_plan_reuses_reruns_stale_supersedes_and_restores(project, tmp_path):
    store = ResultStore(tmp_path / "out")
    old = spec_in(project, seeds=(1, 2, 3)).trials()
    for t in old:
        store.put(record(t))
    plan = plan_trials(spec_in(project, seeds=(1, 2)).trials(), store)
    assert [p.status for p in plan.trials] == ["complete", "complete"] and not plan.superseded

    (project / "controllers" / "policy.py").write_text(POLICY.replace("switch(0)", "switch(1)"))
    new = spec_in(project, seeds=(1, 2, 4)).trials()
    plan = plan_trials(new, store)
    assert [p.status for p in plan.trials] == ["stale", "stale", "new"]
    (reason,) = plan.trials[0].reasons
    assert reason.endswith("controllers/policy.py changed")
    assert plan.trials[0].status_text.startswith("stale: ") and plan.trials[2].status_text == "to run"
    # Seed 3 is not in the new spec, but it is of the same cell: superseded too (never pooled).
    assert set(plan.superseded) == {t.trial_id for t in old}
    for trial_id, reason in plan.superseded.items():
        store.supersede(trial_id, reason)
    assert list(store) == [] and store.superseded(old[2].trial_id) is not None
    assert (store.superseded_dir / f"{old[0].trial_id}.why.json").is_file()
    # Back to the first version: the superseded records are current again.
    (project / "controllers" / "policy.py").write_text(POLICY)
    plan = plan_trials(spec_in(project, seeds=(1, 2)).trials(), store)
    assert [p.status for p in plan.trials] == ["restore", "restore"]
    store.restore(old[0].trial_id)
    assert store.get(old[0].trial_id) is not None
    assert [p.status for p in plan_trials(spec_in(project).trials(), store, rerun=True).trials] == ["rerun"]


def test_failed_record_of_the_same_inputs_runs_again(project, tmp_path):
    store = ResultStore(tmp_path / "out")
    (t,) = spec_in(project).trials()
    store.put(record(t, state="failed"))
    (p,) = plan_trials([t], store).trials
    assert p.status == "failed before" and p.runs


def test_two_copies_of_one_controller_are_refused(project, tmp_path):
    shutil.copy(project / "controllers" / "policy.py", project / "controllers" / "copy.py")
    spec = spec_from_dict(
        {
            "name": "dup",
            "seeds": 1,
            "networks": ["cologne1"],
            "controllers": [
                {"id": "controllers/policy.py:P", "label": "a"},
                {"id": "controllers/copy.py:P", "label": "b"},
            ],
        },
        base_dir=project,
    )
    with pytest.raises(SpecError, match="controllers 'a' and 'b' run the same code"):
        plan_trials(spec.trials(), ResultStore(tmp_path / "out"))


def test_a_file_edited_after_planning_fails_the_trial(project):
    (trial,) = spec_in(project).trials()
    check_inputs(trial)  # unchanged: fine
    (project / "net" / "c1.rou.xml").write_text((project / "net" / "c1.rou.xml").read_text() + "\n")
    with pytest.raises(SignalbenchError, match=r"route file .*c1.rou.xml changed since the batch started"):
        check_inputs(trial)


def test_update_spec_keeps_the_id(project, tmp_path):
    store = ResultStore(tmp_path / "out")
    (t,) = spec_in(project).trials()
    store.put(record(t))
    store.update_spec(t.trial_id, dataclasses.replace(t, label="renamed"))
    assert store.get(t.trial_id).spec.label == "renamed"
    with pytest.raises(SignalbenchError, match="another trial"):
        store.update_spec(t.trial_id, dataclasses.replace(t, seed=9))


def test_signalbench_digest_covers_the_code_that_runs_trials(tmp_path, monkeypatch):
    import signalbench.experiments._fingerprint as fp

    package = tmp_path / "signalbench"
    files = ("controllers/mp.py", "analysis/report.py", "cli/run.py", "experiments/_execute.py",
             "experiments/_runner.py", "sim/backend.py")  # fmt: skip
    for name in files:
        (package / name).parent.mkdir(parents=True, exist_ok=True)
        (package / name).write_text("X = 1\n")
    monkeypatch.setattr(fp, "_PACKAGE_DIR", package)
    first = fp.harness_digest()
    edits = {
        "analysis/report.py": False,
        "cli/run.py": False,
        "experiments/_runner.py": False,
        "controllers/mp.py": True,
        "experiments/_execute.py": True,
        "sim/backend.py": True,
    }
    for name, counts in edits.items():
        before = fp.harness_digest()
        (package / name).write_text((package / name).read_text() + "Y = 2\n")
        assert (fp.harness_digest() != before) is counts, name
    assert fp.harness_digest() != first


def test_a_reused_record_takes_the_new_label_and_paths(project, tmp_path):
    store = ResultStore(tmp_path / "out")
    (t,) = spec_in(project).trials()
    store.put(record(t))
    moved = tmp_path / "moved"
    shutil.copytree(project, moved)
    (again,) = spec_in(moved).trials()
    again = dataclasses.replace(again, label="renamed")
    plan = plan_trials([again], store)
    assert [p.status for p in plan.trials] == ["complete"] and plan.renamed == (t.trial_id,)
    assert plan_trials([t], store).renamed == ()


def test_a_generated_network_enters_by_its_recipe_and_netgenerate_release():
    data = {
        "name": "g",
        "seeds": 1,
        "networks": [{"generator": "intersection", "flow_veh_h": [300]}],
        "controllers": ["max-pressure"],
    }
    (trial,) = spec_from_dict(data).trials()
    assert set(trial.inputs) == {"network generator", "sumo", "signalbench"}
    assert trial.key()["generator"]["generator"] == "intersection" and trial.key()["network"] is None
    check_inputs(trial)  # no file to check: fine
    assert describe_changes({}, {}, {}) == []
