"""The independent timeline audit must catch what the actuator is there to prevent."""

from signalbench.signals import SignalTiming, audit_timeline

T = SignalTiming(yellow_s=3, all_red_s=0, min_green_s=5, max_green_s=60)


def test_clean_timeline():
    tl = [(0, "GGrr"), (10, "yyrr"), (13, "rrGG"), (30, "rryy"), (33, "GGrr")]
    assert audit_timeline(tl, T, end_s=40) == []


def test_green_to_red_without_yellow():
    problems = audit_timeline([(0, "GGrr"), (10, "rrGG")], T, end_s=20)
    assert any("without yellow" in p for p in problems)


def test_short_yellow():
    problems = audit_timeline([(0, "GGrr"), (10, "yyrr"), (11, "rrGG")], T, end_s=20)
    assert any("yellow lasted 1" in p for p in problems)


def test_short_green():
    problems = audit_timeline(
        [(0, "GGrr"), (10, "yyrr"), (13, "rrGG"), (15, "rryy"), (18, "GGrr")], T, end_s=30
    )
    assert any("< min" in p for p in problems)


def test_long_green():
    problems = audit_timeline([(0, "GGrr"), (100, "yyrr"), (103, "rrGG")], T, end_s=110)
    assert any("> max" in p for p in problems)


def test_last_green_cut_by_end_is_not_short():
    assert audit_timeline([(0, "GGrr"), (10, "yyrr"), (13, "rrGG")], T, end_s=14) == []


def test_short_all_red():
    timing = SignalTiming(yellow_s=3, all_red_s=2, min_green_s=5, max_green_s=60)
    ok = [(0, "GGrr"), (10, "yyrr"), (13, "rrrr"), (15, "rrGG")]
    bad = [(0, "GGrr"), (10, "yyrr"), (13, "rrrr"), (14, "rrGG")]
    assert audit_timeline(ok, timing, end_s=30, phases=["GGrr", "rrGG"]) == []
    assert any(
        "all-red lasted 1" in p for p in audit_timeline(bad, timing, end_s=30, phases=["GGrr", "rrGG"])
    )
