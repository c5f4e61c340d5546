"""The libsumo backend: SUMO linked into this process. Default; opens no network port."""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Sequence
from typing import Any

import numpy as np

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
from signalbench.sim._binaries import prepare_process_env, sumo_binary
from signalbench.sim._config import SimConfig
from signalbench.sim._preflight import preflight

__all__ = ["LibsumoBackend"]

# libsumo holds one simulation per process and a second start() silently restarts it, so
# this process-wide owner turns that into a loud error instead of corrupted results.
_owner: LibsumoBackend | None = None


_LANE_GETTERS = {
    "vehicle_count": "getLastStepVehicleNumber",
    "halting_count": "getLastStepHaltingNumber",
    "occupancy": "getLastStepOccupancy",
    "mean_speed_m_s": "getLastStepMeanSpeed",
    "waiting_time_s": "getWaitingTime",
}


def _getter(ls: Any, domain: str, name: str) -> Any:
    """Return libsumo's ``<domain>.<name>`` as the compiled function it wraps, when there is one.

    libsumo's Python classes wrap every getter in a Python static method that only forwards to
    ``libsumo._libsumo.<domain>_<name>``; calling that directly halves the per-call cost (the
    same function, the same values). Falls back to the wrapper if a build lacks the name.
    """
    raw = getattr(getattr(ls, "_libsumo", None), f"{domain}_{name}", None)
    return raw if raw is not None else getattr(getattr(ls, domain), name)


def _load_libsumo() -> Any:
    prepare_process_env()
    try:
        return importlib.import_module("libsumo")
    except ImportError as exc:
        raise SimulationError(
            f"libsumo is not importable ({exc}); install it (pip install libsumo) or use backend = 'traci'"
        ) from exc


class LibsumoBackend(Closing):
    """SUMO through libsumo: direct calls, ~0.1-1 us per getter, one simulation per process."""

    kind: BackendKind = "libsumo"

    def __init__(self) -> None:
        self._ls: Any = None
        self._lanes: tuple[str, ...] = ()
        self._fields: tuple[str, ...] = LANE_FIELDS
        self._vehicles = False
        self._lengths: tuple[float, ...] = ()
        self._keep: VehicleFilter | None = None
        self._loops: tuple[str, ...] = ()
        self._zones: tuple[str, ...] = ()
        self._zone_lanes: tuple[tuple[str, float], ...] = ()
        self._zone_vehicles = False
        self._lane_getters: tuple[tuple[str, Any], ...] = ()
        self._vehicle_getters: tuple[Any, ...] = ()
        self._open = False
        self._closed = False

    def start(self, config: SimConfig) -> None:
        """Start SUMO in-process."""
        global _owner
        if config.gui:
            raise SimulationError("sumo-gui needs the traci backend (backend = 'traci')")
        if config.sumo_binary is not None:
            raise SimulationError(
                "libsumo runs the SUMO version it was built with; use backend = 'traci' "
                f"to run {config.sumo_binary}"
            )
        if self._open or self._closed:
            raise SimulationError("a LibsumoBackend can be started only once")
        if _owner is not None:
            raise SimulationError(
                "libsumo already runs a simulation in this process; close it first "
                "(libsumo holds one simulation per process)"
            )
        preflight(config)
        ls = _load_libsumo()
        try:
            ls.start(config.command(sumo_binary()))
        except Exception as exc:  # libsumo raises its own TraCIException / FatalTraCIError
            _safe_close(ls)
            raise SimulationError(f"SUMO failed to start: {str(exc).strip()}") from exc
        self._ls = ls
        self._open = True
        _owner = self

    def close(self) -> None:
        """Close the simulation; SUMO writes its outputs here."""
        global _owner
        if not self._open:
            return
        self._open = False
        self._closed = True
        if _owner is self:
            _owner = None
        _safe_close(self._ls)

    def time_s(self) -> float:
        """Return the current simulation time [s]."""
        return float(self._ls.simulation.getTime())

    def step_until(self, time_s: float) -> None:
        """Advance to ``time_s`` in one call."""
        try:
            self._ls.simulationStep(time_s)
        except Exception as exc:
            raise SimulationError(f"SUMO stopped: {str(exc).strip()}") from exc

    def watch_lanes(
        self,
        lane_ids: Sequence[str],
        fields: Sequence[str] = LANE_FIELDS,
        *,
        vehicle_filter: VehicleFilter | None = None,
    ) -> None:
        """Remember the lanes and fields to read.

        Plain getters beat libsumo's variable and context subscriptions at 2k-20k lanes
        (``benchmarks/bench_lane_reads.py``): a subscription is computed at every SUMO step.
        """
        self._lanes = tuple(lane_ids)
        self._fields = check_fields(fields)
        self._vehicles = VEHICLES in fields
        self._keep = vehicle_filter
        self._lengths = tuple(float(self._ls.lane.getLength(lane_id)) for lane_id in self._lanes)
        self._lane_getters = tuple((f, _getter(self._ls, "lane", _LANE_GETTERS[f])) for f in self._fields)
        self._vehicle_getters = (
            _getter(self._ls, "lane", "getLastStepVehicleIDs"),
            *(
                _getter(self._ls, "vehicle", name)
                for name in ("getLanePosition", "getSpeed", "getWaitingTime")
            ),
        )

    def read_lanes(self) -> LaneReadings:
        """Read the watched lanes with direct getters."""
        lanes = self._lanes
        n = len(lanes)  # one getter call per lane and field: cheaper than subscriptions here
        return LaneReadings.build(
            n, {f: np.fromiter(map(get, lanes), np.float64, n) for f, get in self._lane_getters}
        )

    def read_vehicles(self) -> tuple[LaneVehicles, ...]:
        """Read each watched lane's vehicles with direct getters."""
        if not self._vehicles:
            raise SimulationError("read_vehicles() needs the 'vehicles' field in watch_lanes()")
        vehicle_ids, position, speed, waiting = self._vehicle_getters
        ids = list(map(vehicle_ids, self._lanes))
        keep = self._keep
        if keep is not None:
            ids = [[v for v in lane_ids if keep(v)] for lane_ids in ids]
        flat = [v for lane_ids in ids for v in lane_ids]
        n = len(flat)
        ends = np.repeat(np.asarray(self._lengths, dtype=np.float64), [len(v) for v in ids])
        return LaneVehicles.per_lane(
            ids,
            ends - np.fromiter(map(position, flat), np.float64, n),
            np.fromiter(map(speed, flat), np.float64, n),
            np.fromiter(map(waiting, flat), np.float64, n),
        )

    def watch_detectors(
        self,
        loops: Sequence[str] = (),
        zones: Sequence[str] = (),
        *,
        zone_fields: Sequence[str] = ZONE_FIELDS,
        zone_vehicles: bool = False,
    ) -> None:
        """Remember the detectors to read (checked against the running simulation)."""
        _check_known("induction loop", loops, self._ls.inductionloop.getIDList())
        _check_known("lane-area detector", zones, self._ls.lanearea.getIDList())
        self._loops, self._zones, self._zone_vehicles = tuple(loops), tuple(zones), zone_vehicles
        self._zone_fields = tuple(f for f in ZONE_FIELDS if f in zone_fields)
        la = self._ls.lanearea
        self._zone_lanes = tuple(
            (lane_id, float(self._ls.lane.getLength(lane_id))) for lane_id in map(la.getLaneID, self._zones)
        )

    def read_detectors(self) -> DetectorReadings:
        """Read the watched detectors with direct getters."""
        il, la = self._ls.inductionloop, self._ls.lanearea
        n = len(self._loops)
        gaps = np.fromiter(map(il.getTimeSinceDetection, self._loops), dtype=np.float64, count=n)
        counts = np.zeros(n)
        for k, ids in enumerate(map(il.getLastIntervalVehicleIDs, self._loops)):
            if ids:
                counts[k] = _loop_count(ids, il, self._loops[k])
        getters = {
            "vehicle_count": la.getLastStepVehicleNumber,
            "halting_count": la.getLastStepHaltingNumber,
            "occupancy": la.getLastStepOccupancy,
            "mean_speed_m_s": la.getLastStepMeanSpeed,
            "jam_length_m": la.getJamLengthMeters,
        }
        zones: dict[str, np.ndarray] = {
            f: np.fromiter(map(getters[f], self._zones), dtype=np.float64, count=len(self._zones))
            for f in self._zone_fields
        }
        if "occupancy" in zones:
            zones["occupancy"] /= 100.0
        if "mean_speed_m_s" in zones:  # SUMO's -1 for an empty zone
            speed = zones["mean_speed_m_s"]
            speed[speed < 0] = np.nan
        vehicles: list[LaneVehicles] = []
        if self._zone_vehicles:
            veh = self._ls.vehicle
            for zone, (lane_id, length) in zip(self._zones, self._zone_lanes, strict=True):
                ids = la.getLastStepVehicleIDs(zone)
                vehicles.append(
                    LaneVehicles.build(
                        ids,
                        [
                            _dist_to_end(veh.getLaneID(v), veh.getLanePosition(v), lane_id, length)
                            for v in ids
                        ],
                        [veh.getSpeed(v) for v in ids],
                        [veh.getWaitingTime(v) for v in ids],
                    )
                )
        return DetectorReadings.build(
            {"count": counts, "gap_s": gaps}, zones, vehicles, n_zones=len(self._zones)
        )

    def set_signal_state(self, tls_id: str, state: str) -> None:
        """Set the full signal string of one traffic light."""
        self._ls.trafficlight.setRedYellowGreenState(tls_id, state)

    def signal_state(self, tls_id: str) -> str:
        """Return the current signal string."""
        return str(self._ls.trafficlight.getRedYellowGreenState(tls_id))


def _check_known(kind: str, wanted: Sequence[str], known: Sequence[str]) -> None:
    missing = sorted(set(wanted) - set(known))
    if missing:
        raise SimulationError(
            f"no {kind} {missing[0]!r} in the simulation (its additional file was not loaded?)"
        )


def _loop_count(interval_ids: Sequence[str], il: Any, loop: str) -> int:
    """Vehicles that left the loop in its last interval, as SUMO's E1 file counts them (nVehContrib).

    TraCI's interval list also names a vehicle still standing on the loop at the interval's end
    (it leaves, and is counted by the file, in a later interval); those are left out here.
    """
    on_loop = {row[0] for row in il.getVehicleData(loop) if row[3] < 0}
    return len(set(interval_ids) - on_loop)


def _dist_to_end(vehicle_lane: str, position_m: float, lane_id: str, length_m: float) -> float:
    """Distance from a vehicle's front to the end of ``lane_id`` (negative once past it)."""
    return length_m - position_m if vehicle_lane == lane_id else -position_m


def _safe_close(ls: Any) -> None:
    with contextlib.suppress(Exception):
        ls.close()
