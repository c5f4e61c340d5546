"""What travels to Ray workers and how they check versions (no cluster needed)."""

import dataclasses
import hashlib
import sys
from pathlib import Path

import pytest

from signalbench.experiments import TrialSpec
from signalbench.experiments import _ray as shipping


def test_version_mismatch_is_one_line_naming_node_and_both_versions():
    driver = {"signalbench": "0.1.0+aaaa", "SUMO": "1.28.0", "sumo-rl": "1.4.5"}
    assert shipping.version_mismatch(driver, dict(driver), "10.0.0.5") is None
    line = shipping.version_mismatch(driver, {**driver, "SUMO": "1.9.2"}, "10.0.0.5")
    assert line is not None and "\n" not in line
    assert "10.0.0.5" in line and "SUMO 1.9.2 (driver: 1.28.0)" in line
    assert set(shipping.local_versions()) == set(driver)


def test_user_files_ship_by_content_and_installed_ones_do_not(tmp_path, monkeypatch):
    ctrl = tmp_path / "controllers" / "mine.py"
    ctrl.parent.mkdir()
    ctrl.write_text(
        "from signalbench.controllers import BaseController\n\nclass Mine(BaseController):\n    pass\n"
    )
    monkeypatch.chdir(tmp_path)
    trial = TrialSpec(network="cologne1-v0", controller="controllers/mine.py:Mine", seed=1)
    shipment = shipping.ship(trial)
    assert shipment.files == {str(ctrl.resolve()): hashlib.sha256(ctrl.read_bytes()).hexdigest()}
    # the catalog network (installed with signalbench on every node) does not travel
    assert not any("cologne1" in p for p in shipment.files)
    # the same content ships under the same key; other content under another
    assert shipping.ship(trial).key == shipment.key
    ctrl.write_text(ctrl.read_text() + "\n# edited\n")
    assert shipping.ship(trial).key != shipment.key


def test_paths_become_absolute_on_the_driver_and_copies_on_the_worker(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    trial = TrialSpec(network="net/a.net.xml", route_files=("net/a.rou.xml",), controller="c/x.py:X", seed=3)
    sent = shipping.localise(trial, None)
    assert sent.network == str(tmp_path / "net/a.net.xml")
    assert sent.route_files == (str(tmp_path / "net/a.rou.xml"),)
    assert sent.controller == f"{tmp_path / 'c/x.py'}:X"
    assert sent.trial_id == trial.trial_id  # paths are not in the id
    root = Path("/cache/ray-shipped/k")
    shipped = {sent.network: "d1", str(tmp_path / "c/x.py"): "d2"}
    local = shipping.localise(sent, root, shipped)
    assert local.network == str(root / str(tmp_path / "net/a.net.xml").lstrip("/"))
    assert local.route_files == sent.route_files  # not shipped: left as it is
    assert local.controller.startswith(str(root)) and local.controller.endswith(":X")
    assert dataclasses.replace(local, network=sent.network, controller=sent.controller) == sent


def test_kept_outputs_travel_packed(tmp_path):
    out = tmp_path / "scratch" / "abc"
    out.mkdir(parents=True)
    (out / "tripinfo.xml").write_text("<tripinfos/>")
    data = shipping._pack(out)
    assert data is not None
    shipping.unpack(data, tmp_path / "driver")
    assert (tmp_path / "driver" / "abc" / "tripinfo.xml").read_text() == "<tripinfos/>"


@pytest.mark.skipif(sys.platform != "linux", reason="paths")
def test_installed_roots_cover_the_interpreter_and_signalbench():
    roots = shipping._installed_roots()
    assert Path(sys.prefix).resolve() in roots
    assert Path(shipping.__file__).resolve().parents[1] in roots


def test_a_checkpoint_trained_on_the_driver_travels_to_the_worker_cache(tmp_path, monkeypatch):
    driver_ckpt = tmp_path / "driver-cache" / "q-learning-abc.json"
    driver_ckpt.parent.mkdir()
    driver_ckpt.write_text('{"q": 1}')
    worker_ckpt = tmp_path / "worker-cache" / "q-learning-abc.json"

    class Request:
        def __init__(self, where):
            self.where = where

        def checkpoint_path(self):
            return self.where

    monkeypatch.setattr(shipping, "training_request", lambda trial: Request(driver_ckpt))
    trial = TrialSpec(network="cologne1-v0", controller="q-learning", seed=1)
    shipment = shipping.ship(trial)
    assert shipment.checkpoint == str(driver_ckpt)
    assert shipment.files[str(driver_ckpt)] == hashlib.sha256(b'{"q": 1}').hexdigest()
    monkeypatch.setattr(shipping, "training_request", lambda trial: Request(worker_ckpt))
    shipping._place_checkpoint(trial, driver_ckpt)  # on the worker: its own cache path
    assert worker_ckpt.read_text() == '{"q": 1}'
