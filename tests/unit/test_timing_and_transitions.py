import pytest

from signalbench.errors import SpecError
from signalbench.signals import SignalTiming, all_red_state, loses_green, yellow_state


def test_defaults_are_documented_values():
    t = SignalTiming()
    assert (t.yellow_s, t.all_red_s, t.min_green_s, t.max_green_s) == (3.0, 0.0, 5.0, 60.0)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"yellow_s": -1}, "yellow_s"),
        ({"all_red_s": -0.5}, "all_red_s"),
        ({"min_green_s": -5}, "min_green_s"),
        ({"min_green_s": 30, "max_green_s": 20}, "max_green_s"),
        ({"max_green_s": 0}, "max_green_s"),
        ({"yellow_s": "3"}, "yellow_s"),
        ({"yellow_s": float("nan")}, "yellow_s"),
        ({"min_green_s": True}, "min_green_s"),
    ],
)
def test_invalid_timing_names_the_field(kwargs, field):
    with pytest.raises(SpecError, match=field):
        SignalTiming(**kwargs)


def test_max_green_none_means_unbounded():
    assert SignalTiming(max_green_s=None).max_green_s is None


def test_yellow_only_where_green_is_lost():
    assert yellow_state("GGrr", "rrGG") == "yyrr"
    assert yellow_state("GgGr", "GrrG") == "Gyyr"  # link 0 stays green; link 3 stays red until green
    assert yellow_state("rrGG", "rrGG") == "rrGG"


def test_all_red_keeps_common_greens():
    assert all_red_state("GGrr", "rrGG") == "rrrr"
    assert all_red_state("GgGr", "GrrG") == "Grrr"


def test_loses_green():
    assert loses_green("GGrr", "rrGG")
    assert not loses_green("Grrr", "GGrr")  # a superset phase needs no clearance
    assert loses_green("g", "s")


def test_length_mismatch_rejected():
    with pytest.raises(ValueError):
        yellow_state("GG", "G")
