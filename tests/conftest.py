"""Shared fixtures: real network files from the installed packages, tiny scenarios."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from signalbench.networks import catalog, load_network_model


def sumo_rl_nets() -> Path:
    spec = importlib.util.find_spec("sumo_rl")
    assert spec is not None and spec.submodule_search_locations
    return Path(next(iter(spec.submodule_search_locations))) / "nets"


def all_signalised_net_files() -> list[Path]:
    """Every .net.xml with traffic lights shipped by sumo-rl (the RESCO 8 among them)."""
    files = sorted(sumo_rl_nets().rglob("*.net.xml"))
    return [f for f in files if load_network_model(f).intersections]


def write_controller(folder: Path, body: str) -> str:
    """Write a controller whose ``act`` runs ``body``; return its ``file.py:Class`` reference."""
    path = folder / "ctrl.py"
    path.write_text(
        "import os, signal, time\nfrom pathlib import Path\n"
        "from signalbench import BaseController, PhaseRequest\n"
        "class C(BaseController):\n"
        "    def act(self, obs):\n" + "".join(f"        {line}\n" for line in body.splitlines())
    )
    return f"{path}:C"


@pytest.fixture(scope="session")
def cologne3():
    return catalog()["cologne3-v0"].scenario()


@pytest.fixture(scope="session")
def cologne3_model(cologne3):
    return load_network_model(cologne3.net_file)
