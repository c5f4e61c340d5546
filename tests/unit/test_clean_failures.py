"""The pieces behind "every failure a clean one": signals, destinations, strict JSON, limits, stalls."""

from __future__ import annotations

import json
import math
import os
import signal
import socket
import time
from pathlib import Path

import pytest

from signalbench import BaseController, PhaseRequest, SignalTiming, registry
from signalbench._util import (
    interrupts_deferred,
    output_dir,
    output_file,
    safe_name,
    signals_as_interrupts,
    strict_json,
)
from signalbench.errors import ControllerError, Interrupted, SignalbenchError, SimulationError, SpecError
from signalbench.experiments import (
    MAX_SEED,
    ExperimentSpec,
    LaunchOptions,
    ResultStore,
    TrialResult,
    TrialSpec,
    check_ray_address,
    default_timeout_s,
    spec_from_dict,
)
from signalbench.runtime import Episode
from signalbench.sim import SimConfig
from signalbench.testing import FakeBackend


def _reject(constant: str) -> None:
    raise ValueError(f"not strict JSON: {constant}")


# -- signals -------------------------------------------------------------------------------
def test_sigterm_interrupts_like_ctrl_c_and_the_handler_is_put_back():
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(Interrupted) as info, signals_as_interrupts():
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(1)  # the handler raises here, well before
    assert isinstance(info.value, KeyboardInterrupt) and info.value.signum == signal.SIGTERM
    assert str(info.value) == "SIGTERM"
    assert signal.getsignal(signal.SIGTERM) is before


def test_an_interrupt_waits_for_the_end_of_a_deferred_block():
    done = []
    with pytest.raises(Interrupted), signals_as_interrupts():
        with interrupts_deferred():
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(0.05)
            done.append("stored")  # the result is stored before the interrupt takes effect
        done.append("after")  # never reached: the held signal is delivered at the block's end
    assert done == ["stored"]


def test_ctrl_c_is_deferred_too():
    # Python's own Ctrl-C handler, even where this process inherited SIGINT ignored (a job started
    # with `&` in a non-interactive shell): the test is about what interrupts_deferred does with it.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt), interrupts_deferred():
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.05)
            stored = True
        assert stored
    finally:
        signal.signal(signal.SIGINT, previous)


# -- output destinations --------------------------------------------------------------------
def test_output_dir_is_made_and_checked(tmp_path):
    assert output_dir(tmp_path / "a" / "b") == tmp_path / "a" / "b"
    assert (tmp_path / "a" / "b").is_dir() and not list((tmp_path / "a" / "b").iterdir())  # probe removed
    (tmp_path / "f").write_text("x")
    with pytest.raises(SignalbenchError, match="is a file, not a folder"):
        output_dir(tmp_path / "f")
    with pytest.raises(SignalbenchError, match=r"f is a file, not a folder"):
        output_dir(tmp_path / "f" / "sub", create=False)
    with pytest.raises(SignalbenchError, match="NUL byte"):
        output_dir(tmp_path / "a\x00b")
    assert not output_dir(tmp_path / "never", create=False).exists()  # a dry run writes nothing


def test_output_file_refuses_folders_and_devices(tmp_path):
    assert output_file(tmp_path / "x" / "q.json") == tmp_path / "x" / "q.json"
    assert (tmp_path / "x").is_dir() and not (tmp_path / "x" / "q.json").exists()
    with pytest.raises(SignalbenchError, match="is a folder; give a file name"):
        output_file(tmp_path)
    with pytest.raises(SignalbenchError, match="not a regular file"):
        output_file(Path("/dev/null"))
    (tmp_path / "old.json").write_text("{}")
    with pytest.raises(SignalbenchError, match="already exists"):
        output_file(tmp_path / "old.json", overwrite=False)


@pytest.mark.parametrize(
    ("label", "expected"),
    [("../../etc/x", "etc-x"), ("/abs/path", "abs-path"), ("a b\tc", "a-b-c"), ("..", "unnamed"),
     ("q:1*2?", "q-1-2"), ("ok-name_1.json", "ok-name_1.json"), ("\x00\x01", "unnamed")],
)  # fmt: skip
def test_labels_become_safe_file_names(label, expected):
    assert safe_name(label) == expected


# -- spec names are labels --------------------------------------------------------------------
BASE = {"seeds": 1, "networks": ["cologne1"], "controllers": ["fixed-time"]}


@pytest.mark.parametrize("name", ["quickstart", "Köln study (2024)", "resco-quick", "v1.2+fix", "a b"])
def test_plain_names_are_accepted(name):
    assert spec_from_dict({**BASE, "name": name}).name == name


@pytest.mark.parametrize(
    "name", ["../x", "/tmp/x", ".", "..", ".hidden", "-rf", "a/b", "a\\b", "a\nb", "x" * 200, " pad", "a:b"]
)
def test_names_that_are_paths_or_odd_are_refused(name):
    with pytest.raises(SpecError, match="name: "):
        spec_from_dict({**BASE, "name": name})


def test_the_spec_object_itself_refuses_a_path_name():
    spec = spec_from_dict({**BASE, "name": "ok"})
    with pytest.raises(SpecError, match="a name is a label, not a path"):
        ExperimentSpec(**{**spec.__dict__, "name": "../x"})


# -- numbers that make no sense ---------------------------------------------------------------
def test_seeds_in_sumo_range_and_a_bounded_count():
    assert spec_from_dict({**BASE, "name": "s", "seeds": [0, MAX_SEED]}).seeds == (0, MAX_SEED)
    with pytest.raises(SpecError, match="beyond SUMO's range"):
        spec_from_dict({**BASE, "name": "s", "seeds": [MAX_SEED + 1]})
    started = time.monotonic()
    with pytest.raises(SpecError, match="seeds is more than one experiment runs"):
        spec_from_dict({**BASE, "name": "s", "seeds": 10**9})
    assert time.monotonic() - started < 5  # no billion-element tuple


def test_train_seeds_in_sumo_range(tmp_path):
    with pytest.raises(SpecError, match=r"train\.seeds: seeds must be in 0\.\.2147483647"):
        spec_from_dict(
            {**BASE, "name": "q", "controllers": [{"id": "q-learning", "train": {"seeds": [2**40]}}]}
        )


def test_a_bad_number_is_reported_once():
    with pytest.raises(SpecError) as info:
        spec_from_dict({**BASE, "name": "s", "sim": {"step_length_s": 1e9, "duration_s": 60}})
    assert str(info.value).count("step_length_s") == 1


# -- parameters --------------------------------------------------------------------------------
def test_non_finite_parameters_are_refused_for_every_controller():
    for cid in ("max-pressure", "sotl", "actuated", "webster", "longest-queue-first"):
        entry = registry.resolve(cid)
        fields = [
            f for f in entry.cls.Params.__dataclass_fields__.values() if f.type in ("float", "float | None")
        ]
        assert fields, cid
        with pytest.raises(ControllerError, match="must be a finite number, got nan"):
            registry.check_params(cid, {fields[0].name: math.nan})


def test_every_bad_parameter_is_named_at_once():
    with pytest.raises(ControllerError) as info:
        registry.check_params("sotl", {"threshold_veh_s": -1.0, "platoon_veh": -3, "min_green_s": math.inf})
    text = str(info.value)
    assert "3 errors" in text
    assert "threshold_veh_s" in text and "platoon_veh" in text and "min_green_s" in text


def test_the_example_controller_refuses_nan_itself():
    from controllers.my_policy import MyPolicyParams

    with pytest.raises(ValueError, match="switch_margin_veh"):
        MyPolicyParams(switch_margin_veh=math.nan)


# -- records are strict JSON ----------------------------------------------------------------
def test_records_are_strict_json_with_nan_as_null(tmp_path):
    spec = TrialSpec(network="cologne1-v0", controller="max-pressure-v0", seed=1)
    result = TrialResult(
        trial_id=spec.trial_id,
        spec=spec,
        state="complete",
        metrics={"mean_delay_s": math.nan, "vehicles_arrived": 3},
        control={"controller_ms_per_decision": math.inf, "programs": {"J": {"cycle_s": math.nan}}},
        sumo_warnings={"count": 0, "first": []},
    )
    path = ResultStore(tmp_path).put(result)
    data = json.loads(path.read_text(), parse_constant=_reject)
    assert data["metrics"]["mean_delay_s"] is None and data["control"]["controller_ms_per_decision"] is None
    assert data["control"]["programs"]["J"]["cycle_s"] is None
    back = ResultStore(tmp_path).get(spec.trial_id)
    assert back is not None and math.isnan(back.metrics["mean_delay_s"])


def test_strict_json_turns_every_non_finite_number_into_null():
    text = strict_json({"a": [1.0, math.nan, {"b": -math.inf}], "c": (math.inf,)})
    assert json.loads(text, parse_constant=_reject) == {"a": [1.0, None, {"b": None}], "c": [None]}


# -- wall-time limits ----------------------------------------------------------------------
def test_the_default_wall_time_limit_follows_the_window():
    trial = TrialSpec(network="cologne1-v0", controller="max-pressure-v0", seed=1, duration_s=900.0)
    assert LaunchOptions().limit_s(trial) == default_timeout_s(900.0) == 600.0 + 2 * 900.0
    whole = TrialSpec(network="cologne1-v0", controller="max-pressure-v0", seed=1)
    assert LaunchOptions().limit_s(whole) == default_timeout_s(3600.0)  # the catalog's 1 h window
    assert LaunchOptions(timeout_s=5).limit_s(trial) == 5
    assert "set --timeout-s or [run] timeout_s" in LaunchOptions().timeout_reason(2400.0)
    assert LaunchOptions(timeout_s=5).timeout_reason(5) == "timed out after 5 s"


# -- the decision loop cannot stall --------------------------------------------------------
class _StuckClock(FakeBackend):
    """SUMO whose time stops advancing after a while."""

    def step_until(self, time_s: float) -> None:
        if time_s < self.stuck_at_s:
            super().step_until(time_s)


def test_time_that_does_not_advance_fails_the_episode(cologne3_model):
    backend = _StuckClock(cologne3_model)
    backend.stuck_at_s = 60.0
    config = SimConfig(net_file=cologne3_model.net_file, begin_s=0, end_s=600, seed=1)
    episode = Episode(
        backend=backend, config=config, model=cologne3_model,
        controller=registry.build("max-pressure"), timing=SignalTiming(),
    )  # fmt: skip
    started = time.monotonic()
    with pytest.raises(SimulationError, match="simulation time did not advance from t=5"):
        episode.run()
    assert time.monotonic() - started < 5


# -- a forgotten return ---------------------------------------------------------------------
class _NoReturn(BaseController):
    def act(self, obs):
        PhaseRequest.hold()  # the return is missing


def test_act_returning_none_fails_naming_the_light_and_the_likely_cause(cologne3_model):
    config = SimConfig(net_file=cologne3_model.net_file, begin_s=0, end_s=60, seed=1)
    episode = Episode(
        backend=FakeBackend(cologne3_model), config=config, model=cologne3_model,
        controller=registry.build(_NoReturn), timing=SignalTiming(),
    )  # fmt: skip
    with pytest.raises(
        ControllerError, match=r"at intersection '\d+' \(t=5 s\).*returned None \(a missing return"
    ):
        episode.run()


# -- Ray addresses -----------------------------------------------------------------------------
def test_an_unreachable_ray_address_fails_in_seconds():
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    started = time.monotonic()
    with pytest.raises(SpecError, match=f"cannot reach a Ray cluster at 127.0.0.1:{port}"):
        check_ray_address(f"127.0.0.1:{port}")
    assert time.monotonic() - started < 6
    with pytest.raises(SpecError, match="expected host:port"):
        check_ray_address("no-port")
    check_ray_address("auto")
    check_ray_address(None)
