"""Failures only a run can find are recorded with their reason; shared results follow the umask.

A controller that forgets its ``return``, raises KeyboardInterrupt or calls ``sys.exit`` fails its
own trial (exit status 1, the reason in the record, no traceback on stderr) while the others
complete. Every file an experiment writes (records, Parquet tables, experiment.toml, the
checkpoint copy, the cached checkpoint, the generated network) gets the mode the umask gives,
and every record is strict JSON.
"""

from __future__ import annotations

import json
import os
import stat

import pytest
from tests.conftest import write_controller

from signalbench.cli import main
from signalbench.experiments import ResultStore, run_experiment, spec_from_dict

pytestmark = pytest.mark.integration


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("PhaseRequest.hold()", "act() returned None (a missing return statement?)"),
        ("raise KeyboardInterrupt", "KeyboardInterrupt raised by the trial's code at"),
        ("raise SystemExit(3)", "SystemExit(3) raised by the trial's code at"),
    ],
    ids=["no-return", "keyboard-interrupt", "sys-exit"],
)
def test_a_controller_bug_fails_its_trial_with_the_reason(tmp_path, capsys, body, reason):
    bad = write_controller(tmp_path, body)
    out = tmp_path / "out"
    code = main(
        ["run", "--network", "cologne1", "--controller", bad, "--controller", "max-pressure",
         "--seeds", "1", "--duration-s", "30", "--out", str(out), "--quiet"]
    )  # fmt: skip
    err = capsys.readouterr().err
    assert code == 1, err
    assert "Traceback" not in err
    states = {r.spec.display_label: (r.state, r.error) for r in ResultStore(out)}
    assert states["max-pressure"] == ("complete", None)
    state, error = states["C"]
    assert state == "failed" and reason in error
    assert "ctrl.py:" in error or "intersection" in error


def _reject(constant: str) -> None:
    raise ValueError(f"not strict JSON: {constant}")


def test_every_file_follows_the_umask_and_records_are_strict_json(tmp_path, monkeypatch):
    monkeypatch.setenv("SIGNALBENCH_CACHE", str(tmp_path / "cache"))
    spec = spec_from_dict(
        {
            "name": "shared",
            "seeds": [1],
            "sim": {"duration_s": 60},
            "networks": [
                "cologne1-v0",
                {"generator": "intersection", "flow_veh_h": [200], "duration_s": 60},
            ],
            "controllers": [
                "max-pressure",
                {"id": "q-learning", "train": {"episodes": 1, "seeds": [11]}},
            ],
        }
    )
    previous = os.umask(0o002)  # a team's shared folder: group-writable files
    try:
        results = run_experiment(spec, tmp_path / "out", options=None)
    finally:
        os.umask(previous)
    assert [r.state for r in results] == ["complete"] * 4, [r.error for r in results]
    written = [
        p
        for root in (tmp_path / "out", tmp_path / "cache" / "checkpoints", tmp_path / "cache" / "generated")
        for p in root.rglob("*")
    ]
    kinds = {p.suffix for p in written if p.is_file()}
    assert {".json", ".parquet", ".toml", ".xml"} <= kinds  # records, tables, spec, generated network
    assert any(p.parent.name == "checkpoints" for p in written if p.is_file())
    wrong = [
        f"{p} {stat.filemode(p.stat().st_mode)}"
        for p in written
        if stat.S_IMODE(p.stat().st_mode) != (0o775 if p.is_dir() else 0o664)
    ]
    assert not wrong, wrong
    for record in (tmp_path / "out" / "trials").glob("*.json"):
        json.loads(record.read_text(), parse_constant=_reject)
