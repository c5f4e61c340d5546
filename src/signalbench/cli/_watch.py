"""``signalbench watch``: sumo-gui driven live by a controller, its decisions shown on screen."""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from signalbench._util import toml_value
from signalbench.controllers import PhaseRequest
from signalbench.errors import SignalbenchError, SpecError

__all__ = ["WatchError", "add_parser", "describe", "has_display", "parse_params", "run"]


class WatchError(SignalbenchError):
    """``signalbench watch`` cannot run here (no display, bad option)."""


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser], epilog: str) -> None:
    """Add the ``watch`` command."""
    p = sub.add_parser(
        "watch",
        help="watch a controller drive sumo-gui live, its decisions shown at each light",
        description="Open sumo-gui (traci backend) on a network, controlled live by a controller.",
    )
    p.add_argument("--network", required=True, metavar="ID|PATH", help="catalog id or .sumocfg path")
    p.add_argument("--controller", required=True, metavar="ID", help="controller id or file.py:Class")
    p.add_argument("--seed", type=int, default=1, metavar="N", help="seed for SUMO and the controller")
    p.add_argument(
        "--param", action="append", default=[], metavar="K=V", help="controller parameter (repeatable)"
    )
    p.add_argument(
        "--delay-ms", type=float, default=100.0, metavar="MS", help="sumo-gui delay per step (default 100)"
    )
    p.add_argument("--duration-s", type=float, metavar="S", help="watch only the first S seconds")


def has_display(env: Mapping[str, str] | None = None) -> bool:
    """Return True if a GUI window can open (X11 or Wayland on Linux; always elsewhere)."""
    env = os.environ if env is None else env
    if not sys.platform.startswith("linux"):
        return True
    return bool(env.get("DISPLAY") or env.get("WAYLAND_DISPLAY"))


def parse_params(items: Sequence[str]) -> dict[str, Any]:
    """Parse ``k=v`` items; values are TOML literals (``2``, ``1.5``, ``true``, ``"x"``), else strings."""
    params: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise SpecError(f"--param {item!r}: expected NAME=VALUE, e.g. --param switch_margin_veh=3")
        params[key] = toml_value(raw)
    return params


def _settings_xml(delay_ms: float) -> str:
    # A scheme of our own: everything default, plus large POI type labels (our decision texts).
    return f"""<viewsettings>
    <scheme name="signalbench">
        <pois poiType_show="1" poiType_size="60.00" poiType_color="255,220,0"
              poiType_bgColor="0,0,0,160" poiType_constantSize="1" poiName_show="0"/>
    </scheme>
    <delay value="{delay_ms:g}"/>
</viewsettings>
"""


def describe(controller: str, obs: Any, request: Any) -> str:
    """One short line for a light: what the controller asked at this decision."""
    target = request.phase if isinstance(request, PhaseRequest) else None
    if target is None or target == obs.phase:
        what = f"hold phase {obs.phase}"
        if not obs.in_transition:
            what += f" ({obs.time_in_phase_s:.0f} s)"
    else:
        what = f"switch {obs.phase} -> {target}"
    if obs.in_transition:
        what += " [clearing]"
    return f"{controller}: {what}"


def run(args: argparse.Namespace) -> int:
    """Run ``signalbench watch``; return the exit status."""
    if not has_display():
        raise WatchError(
            "no display (DISPLAY/WAYLAND_DISPLAY not set): sumo-gui cannot open a window here; "
            "run it on a desktop, over ssh -X, or under xvfb-run"
        )
    if args.delay_ms < 0:
        raise WatchError(f"--delay-ms must be >= 0, got {args.delay_ms:g}")
    if args.duration_s is not None and not args.duration_s > 0:
        raise WatchError(f"--duration-s must be > 0, got {args.duration_s:g}")

    from signalbench.controllers import IntersectionObs, registry
    from signalbench.errors import SimulationError
    from signalbench.networks import resolve_network
    from signalbench.runtime import Session, SimOptions
    from signalbench.signals import SignalTiming
    from signalbench.sim import TraciBackend

    params = parse_params(args.param)
    scenario = resolve_network(args.network).shortened(args.duration_s)
    controller = registry.build(args.controller, params)
    label = controller.name.rpartition(":")[2] if ":" in controller.name else controller.name

    with tempfile.TemporaryDirectory(prefix="signalbench-watch-") as tmp:
        settings = Path(tmp) / "gui-settings.xml"
        settings.write_text(_settings_xml(args.delay_ms))
        gui_args = ("--gui-settings-file", str(settings), "--window-size", "1000,750")
        session = Session(scenario, SimOptions(backend="traci", gui=True, extra_args=gui_args))
        config = dataclasses.replace(
            session.config(seed=args.seed), message_file=Path(tmp) / "sumo-messages.log"
        )
        backend = TraciBackend()
        last: dict[str, str] = {}  # light -> text of its last decision

        def show(
            time_s: float, obs: Mapping[str, IntersectionObs], requests: Mapping[str, PhaseRequest | None]
        ) -> None:
            for tls, o in obs.items():
                last[tls] = describe(label, o, requests.get(tls))
                backend.show_decision(tls, last[tls])

        episode = session.episode(
            controller, config=config, timing=SignalTiming(), backend=backend, on_decision=show
        )
        print(
            f"watching {label} on {scenario.id} (seed {args.seed}, {config.begin_s:g}-{config.end_s:g} s)",
            flush=True,
        )
        try:
            obs = episode.start()
        except BaseException:
            episode.close()
            raise
        print("sumo-gui is running; close its window to stop", flush=True)
        try:
            if obs is None:
                print(f"{label} sets no signals: SUMO's own programs ran", flush=True)
            else:
                backend.show_message(f"signalbench watch: {label} on {scenario.id}, seed {args.seed}")
                episode.drive(obs)
            for tls, text in last.items():  # a light's first signal change drops its parameters
                backend.show_decision(tls, text)
            shown = {tls: backend.shown_decision(tls) for tls in last}
            stats = episode.stats()
        except SimulationError:
            deadline = time.monotonic() + 3.0  # the closed window's process may still be exiting
            while backend.running and time.monotonic() < deadline:
                time.sleep(0.05)
            if backend.running:
                raise
            print(f"sumo-gui was closed at t={episode.time_s:g} s; stopped")
            return 0
        finally:
            episode.close()
    print(
        f"done at t={config.end_s:g} s: {stats.decisions} decisions, {stats.switches} switches, "
        f"{sum(stats.overrides.values())} requests overridden by the actuator"
    )
    for tls, text in shown.items():
        print(f"  {tls}: last decision shown: {text}")
    return 0
