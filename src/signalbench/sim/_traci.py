"""The socket backend: SUMO as a child process driven over TraCI.

Needed for ``sumo-gui``, another SUMO version or binary, or a remote SUMO. Each backend owns
its own connection object; the global ``traci`` connection pool and ``traci.switch`` are
never used.

Security: SUMO's TraCI server has no bind-address option: it listens on all interfaces until
its single client connects, so the port is reachable from the network at the start of a run.
Ports are therefore never fixed: each run takes a free ephemeral port chosen by the OS and
connects at once, and the libsumo backend, which opens no port at all, is the default.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import os
import socket
import subprocess
import tempfile
import time
from collections.abc import Sequence
from typing import IO, Any

import numpy as np

from signalbench._util import die_with_parent
from signalbench.errors import SimulationError
from signalbench.sim._backend import (
    LANE_FIELDS,
    VEHICLES,
    ZONE_FIELDS,
    BackendKind,
    Closing,
    DetectorReadings,
    LaneReadings,
    LaneVehicles,
    VehicleFilter,
    check_fields,
)
from signalbench.sim._binaries import sumo_binary, sumo_env, sumo_release
from signalbench.sim._config import SimConfig
from signalbench.sim._preflight import preflight

__all__ = ["TraciBackend"]

_START_TIMEOUT_S = 60.0  # large networks take a while to load before the port opens
_PORT_ATTEMPTS = 3  # another process may grab the chosen port before SUMO binds it


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class TraciBackend(Closing):
    """SUMO over a TraCI socket, one connection object per instance."""

    kind: BackendKind = "traci"

    def __init__(self, *, host: str = "127.0.0.1") -> None:
        self._host = host
        self._conn: Any = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self._lanes: tuple[str, ...] = ()
        self._tc: Any = None
        self._vars: tuple[int, ...] = ()
        self._fields: tuple[str, ...] = ()
        self._vehicles = False
        self._lengths: tuple[float, ...] = ()
        self._veh_vars: tuple[int, ...] = ()
        self._veh_subscribed: set[str] = set()
        self._keep: VehicleFilter | None = None
        # vehicles each reader needs data of; subscriptions follow their union
        self._wanted: dict[str, set[str]] = {"lanes": set(), "zones": set()}
        self._loops: tuple[str, ...] = ()
        self._zones: tuple[str, ...] = ()
        self._zone_lanes: tuple[tuple[str, float], ...] = ()
        self._zone_vehicles = False
        self._zone_fields: tuple[str, ...] = ()
        self._zone_vars: dict[str, int] = {}
        self._started = False
        self._labels: dict[str, str] = {}  # POI id -> text shown

    def start(self, config: SimConfig) -> None:
        """Start SUMO on a free port and connect to it."""
        if self._started:
            raise SimulationError("a TraciBackend can be started only once")
        self._started = True
        preflight(config)
        traci_connection = importlib.import_module("traci.connection")
        self._tc = importlib.import_module("traci.constants")
        binary = sumo_binary("sumo-gui" if config.gui else "sumo", override=config.sumo_binary)
        last_error = ""
        for _ in range(_PORT_ATTEMPTS):
            port = _free_port()
            cmd = [
                *config.command(binary, version=sumo_release(config.sumo_binary)),
                "--remote-port",
                str(port),
            ]
            if config.gui:
                cmd += ["--start", "true", "--quit-on-end", "true"]
            self._log = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the child
            self._proc = subprocess.Popen(
                cmd,
                stdout=self._log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=sumo_env(config.sumo_binary),
                # SUMO is SIGKILLed if this process dies, even by kill -9 (Linux).
                preexec_fn=functools.partial(die_with_parent, os.getpid()),
            )
            deadline = time.monotonic() + _START_TIMEOUT_S
            while time.monotonic() < deadline:
                if self._proc.poll() is not None:
                    break
                try:
                    self._conn = traci_connection.Connection(self._host, port, self._proc, None, False, None)
                    break
                except OSError:
                    time.sleep(0.01)
            if self._conn is not None:
                try:  # SUMO accepts the connection before loading; the first answer proves it loaded
                    self._conn.simulation.getTime()
                    return
                except Exception:
                    self._conn = None
                    with contextlib.suppress(subprocess.TimeoutExpired):
                        self._proc.wait(timeout=10)
                    status = self._proc.returncode
                    last_error = self._child_output() or f"exit status {status}"
                    self._kill()
                    break
            last_error = self._child_output()
            self._kill()
            if "bind" not in last_error.lower() and "address" not in last_error.lower():
                break
        raise SimulationError(f"SUMO failed to start: {last_error or 'no output'}")

    def _child_output(self) -> str:
        if self._log is None:
            return ""
        with contextlib.suppress(OSError, ValueError):
            self._log.seek(0)
            text = self._log.read().decode(errors="replace").strip()
            lines = [ln for ln in text.splitlines() if ln.strip()]
            return " | ".join(lines[-3:])
        return ""

    def _kill(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.kill()
        if proc is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=10)
        if self._log is not None:
            self._log.close()
            self._log = None

    def close(self) -> None:
        """Close the connection (SUMO writes its outputs) and reap the child process."""
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.close(wait=False)
        proc = self._proc
        if proc is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=30)
        self._kill()

    @property
    def pid(self) -> int | None:
        """Process id of the SUMO child, while it runs."""
        return self._proc.pid if self._proc is not None else None

    @property
    def running(self) -> bool:
        """True while the SUMO child process is alive (False once sumo-gui's window is closed)."""
        return self._proc is not None and self._proc.poll() is None

    def time_s(self) -> float:
        """Return the current simulation time [s]."""
        return float(self._call(lambda c: c.simulation.getTime()))

    def step_until(self, time_s: float) -> None:
        """Advance to ``time_s`` in one call; subscriptions are refreshed on the way."""
        self._call(lambda c: c.simulationStep(time_s))

    def watch_lanes(
        self,
        lane_ids: Sequence[str],
        fields: Sequence[str] = LANE_FIELDS,
        *,
        vehicle_filter: VehicleFilter | None = None,
    ) -> None:
        """Subscribe to the watched fields of every lane (parsed at every step: keep it small)."""
        tc = self._tc
        self._keep = vehicle_filter
        all_vars = {
            "vehicle_count": tc.LAST_STEP_VEHICLE_NUMBER,
            "halting_count": tc.LAST_STEP_VEHICLE_HALTING_NUMBER,
            "occupancy": tc.LAST_STEP_OCCUPANCY,
            "mean_speed_m_s": tc.LAST_STEP_MEAN_SPEED,
            "waiting_time_s": tc.VAR_WAITING_TIME,
        }
        self._fields = check_fields(fields)
        self._vars = tuple(all_vars[f] for f in self._fields)
        self._lanes = tuple(lane_ids)
        self._vehicles = VEHICLES in fields
        if self._vehicles:
            self._lengths = tuple(
                float(self._call(lambda c, lane_id=lane_id: c.lane.getLength(lane_id)))
                for lane_id in self._lanes
            )
            self._vars = (*self._vars, tc.LAST_STEP_VEHICLE_ID_LIST)
        for lane_id in self._lanes if self._vars else ():  # no variables would unsubscribe
            self._call(lambda c, lane_id=lane_id: c.lane.subscribe(lane_id, self._vars))

    def read_lanes(self) -> LaneReadings:
        """Return the subscribed lane values (one socket message per step, not per lane)."""
        results = self._call(lambda c: c.lane.getAllSubscriptionResults())
        columns: dict[str, np.ndarray] = {}
        for name, var in zip(self._fields, self._vars, strict=False):
            values = np.full(len(self._lanes), np.nan, dtype=np.float64)
            for row, lane_id in enumerate(self._lanes):
                got = results.get(lane_id)
                if got:
                    values[row] = got[var]
            columns[name] = values
        return LaneReadings.build(len(self._lanes), columns)

    def read_vehicles(self) -> tuple[LaneVehicles, ...]:
        """Each watched lane's vehicles, from subscriptions kept for vehicles on those lanes."""
        if not self._vehicles:
            raise SimulationError("read_vehicles() needs the 'vehicles' field in watch_lanes()")
        tc = self._tc
        lanes = self._call(lambda c: c.lane.getAllSubscriptionResults())
        per_lane = [
            tuple(lanes.get(lane_id, {}).get(tc.LAST_STEP_VEHICLE_ID_LIST, ())) for lane_id in self._lanes
        ]
        keep = self._keep
        if keep is not None:
            per_lane = [tuple(v for v in ids if keep(v)) for ids in per_lane]
        values = self._vehicle_values("lanes", {v for ids in per_lane for v in ids})
        pos_v, speed_v, wait_v = self._veh_vars[:3]
        rows = [values[v] for ids in per_lane for v in ids]
        n = len(rows)
        ends = np.repeat(np.asarray(self._lengths, dtype=np.float64), [len(ids) for ids in per_lane])
        return LaneVehicles.per_lane(
            per_lane,
            ends - np.fromiter((r[pos_v] for r in rows), np.float64, n),
            np.fromiter((r[speed_v] for r in rows), np.float64, n),
            np.fromiter((r[wait_v] for r in rows), np.float64, n),
        )

    def _vehicle_values(self, reader: str, wanted: set[str]) -> Any:
        """Subscribe to the vehicles ``reader`` needs now (the others' needs are kept); return all values."""
        self._wanted[reader] = wanted
        present = set().union(*self._wanted.values())
        if not self._veh_vars:  # a vehicle's lane is needed only to place it in a zone
            tc = self._tc
            lane = (tc.VAR_LANE_ID,) if self._zone_vehicles else ()
            self._veh_vars = (tc.VAR_LANEPOSITION, tc.VAR_SPEED, tc.VAR_WAITING_TIME, *lane)
        alive = self._call(lambda c: c.vehicle.getAllSubscriptionResults())
        for vid in self._veh_subscribed - present:
            if vid in alive:  # left our lanes but still driving: stop paying for it
                self._call(lambda c, vid=vid: c.vehicle.unsubscribe(vid))
        for vid in present - self._veh_subscribed:
            self._call(lambda c, vid=vid: c.vehicle.subscribe(vid, self._veh_vars))
        self._veh_subscribed = present
        return self._call(lambda c: c.vehicle.getAllSubscriptionResults())

    def watch_detectors(
        self,
        loops: Sequence[str] = (),
        zones: Sequence[str] = (),
        *,
        zone_fields: Sequence[str] = ZONE_FIELDS,
        zone_vehicles: bool = False,
    ) -> None:
        """Subscribe to every watched detector (one socket message per step for all of them)."""
        tc = self._tc
        for kind, wanted, domain in (
            ("induction loop", loops, "inductionloop"),
            ("lane-area detector", zones, "lanearea"),
        ):
            known = set(self._call(lambda c, domain=domain: getattr(c, domain).getIDList()))
            missing = sorted(set(wanted) - known)
            if missing:
                raise SimulationError(
                    f"no {kind} {missing[0]!r} in the simulation (its additional file was not loaded?)"
                )
        self._loops, self._zones, self._zone_vehicles = tuple(loops), tuple(zones), zone_vehicles
        loop_vars = (tc.VAR_LAST_INTERVAL_IDS, tc.LAST_STEP_VEHICLE_DATA, tc.LAST_STEP_TIME_SINCE_DETECTION)
        try:
            for loop in self._loops:
                self._call(lambda c, loop=loop: c.inductionloop.subscribe(loop, loop_vars))
        except SimulationError as exc:
            raise SimulationError(
                "this SUMO cannot report an induction loop's vehicles of its last interval over TraCI "
                f"(a variable of later releases); run loop detectors with the bundled SUMO ({exc})"
            ) from exc
        all_vars = {
            "vehicle_count": tc.LAST_STEP_VEHICLE_NUMBER,
            "halting_count": tc.LAST_STEP_VEHICLE_HALTING_NUMBER,
            "occupancy": tc.LAST_STEP_OCCUPANCY,
            "mean_speed_m_s": tc.LAST_STEP_MEAN_SPEED,
            "jam_length_m": tc.JAM_LENGTH_METERS,
        }
        self._zone_fields = tuple(f for f in ZONE_FIELDS if f in zone_fields)
        self._zone_vars = {f: all_vars[f] for f in self._zone_fields}
        zone_vars = (
            *self._zone_vars.values(),
            *((tc.LAST_STEP_VEHICLE_ID_LIST,) if zone_vehicles else ()),
        )
        for zone in self._zones:
            self._call(lambda c, zone=zone: c.lanearea.subscribe(zone, zone_vars))
        lane_of = [self._call(lambda c, zone=zone: c.lanearea.getLaneID(zone)) for zone in self._zones]
        self._zone_lanes = tuple(
            (lane_id, float(self._call(lambda c, lane_id=lane_id: c.lane.getLength(lane_id))))
            for lane_id in lane_of
        )

    def read_detectors(self) -> DetectorReadings:
        """Return the subscribed detector values."""
        tc = self._tc
        loops = self._call(lambda c: c.inductionloop.getAllSubscriptionResults()) if self._loops else {}
        counts, gaps = [], []
        for loop in self._loops:
            got = loops[loop]
            ids = got[tc.VAR_LAST_INTERVAL_IDS]
            on_loop = {row[0] for row in got[tc.LAST_STEP_VEHICLE_DATA] if row[3] < 0} if ids else set()
            counts.append(len(set(ids) - on_loop))
            gaps.append(got[tc.LAST_STEP_TIME_SINCE_DETECTION])
        zones = self._call(lambda c: c.lanearea.getAllSubscriptionResults()) if self._zones else {}
        rows = [zones[zone] for zone in self._zones]
        values = {f: np.array([r[var] for r in rows], dtype=np.float64) for f, var in self._zone_vars.items()}
        if "occupancy" in values:
            values["occupancy"] /= 100.0
        if "mean_speed_m_s" in values:  # SUMO's -1 for an empty zone
            values["mean_speed_m_s"][values["mean_speed_m_s"] < 0] = np.nan
        vehicles: list[LaneVehicles] = []
        if self._zone_vehicles:
            per_zone = [tuple(r[tc.LAST_STEP_VEHICLE_ID_LIST]) for r in rows]
            data = self._vehicle_values("zones", {v for ids in per_zone for v in ids})
            pos_v, speed_v, wait_v, lane_v = self._veh_vars
            for ids, (lane_id, length) in zip(per_zone, self._zone_lanes, strict=True):
                got = [data[v] for v in ids]
                vehicles.append(
                    LaneVehicles.build(
                        ids,
                        [length - g[pos_v] if g[lane_v] == lane_id else -g[pos_v] for g in got],
                        [g[speed_v] for g in got],
                        [g[wait_v] for g in got],
                    )
                )
        return DetectorReadings.build(
            {"count": counts, "gap_s": gaps}, values, vehicles, n_zones=len(self._zones)
        )

    def set_signal_state(self, tls_id: str, state: str) -> None:
        """Set the full signal string of one traffic light."""
        self._call(lambda c: c.trafficlight.setRedYellowGreenState(tls_id, state))

    def signal_state(self, tls_id: str) -> str:
        """Return the current signal string."""
        return str(self._call(lambda c: c.trafficlight.getRedYellowGreenState(tls_id)))

    # -- display (signalbench watch) ------------------------------------------------------
    DECISION_PARAM = "signalbench.decision"

    def show_decision(self, tls_id: str, text: str) -> None:
        """Show a controller's decision for a light, in SUMO and in sumo-gui.

        It becomes the light's ``signalbench.decision`` parameter and, in sumo-gui, a label
        (a POI whose type is ``text``) at the centre of the light's stop lines. Call it at
        every decision: SUMO keeps parameters per program, and the first signal string set
        switches the light to a new ("online") program.
        """
        self._call(lambda c: c.trafficlight.setParameter(tls_id, self.DECISION_PARAM, text))
        poi = f"signalbench:{tls_id}"
        if poi in self._labels:
            if self._labels[poi] != text:
                self._call(lambda c: c.poi.setType(poi, text))
                self._labels[poi] = text
            return
        lanes = dict.fromkeys(self._call(lambda c: c.trafficlight.getControlledLanes(tls_id)))
        ends = [self._call(lambda c, lane=lane: c.lane.getShape(lane))[-1] for lane in lanes]
        x = sum(p[0] for p in ends) / max(len(ends), 1)
        y = sum(p[1] for p in ends) / max(len(ends), 1)
        self._call(lambda c: c.poi.add(poi, x, y, (255, 220, 0, 255), text, 250))
        self._labels[poi] = text

    def shown_decision(self, tls_id: str) -> str:
        """Return the decision text SUMO holds for a light (its ``signalbench.decision``)."""
        return str(self._call(lambda c: c.trafficlight.getParameter(tls_id, self.DECISION_PARAM)))

    def show_message(self, text: str) -> None:
        """Write a line to sumo-gui's message window."""
        self._call(lambda c: c.simulation.writeMessage(text))

    def _call(self, fn: Any) -> Any:
        if self._conn is None:
            raise SimulationError("the SUMO connection is closed")
        try:
            return fn(self._conn)
        except Exception as exc:
            if self._proc is not None and self._proc.poll() is not None:
                raise SimulationError(
                    f"SUMO exited with status {self._proc.returncode}: {self._child_output()}"
                ) from exc
            if type(exc).__name__ in ("FatalTraCIError", "TraCIException"):
                raise SimulationError(f"TraCI error: {exc}") from exc
            raise
