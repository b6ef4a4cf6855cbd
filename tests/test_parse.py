from __future__ import annotations

import pytest

from osched import parse


@pytest.mark.parametrize(
    ("text", "expected"),
    [("00:00", (0, 0)), ("7:05", (7, 5)), ("23:59", (23, 59)), ("22:00", (22, 0))],
)
def test_time_ok(text: str, expected: tuple[int, int]) -> None:
    assert parse.parse_time(text) == expected


@pytest.mark.parametrize("text", ["24:00", "12:60", "1200", "12:5", "", "noon", 12, None, "-1:00"])
def test_time_bad(text: object) -> None:
    with pytest.raises(ValueError, match="time"):
        parse.parse_time(text)


@pytest.mark.parametrize(
    ("value", "minutes"),
    [
        ("8h", 480),
        ("90m", 90),
        ("1h30m", 90),
        ("2d", 2880),
        ("1d12h", 2160),
        (1, 1),
        (10080, 10080),
        ("7d", 10080),
        ("60s", 1),
        (" 1h 30m ", 90),
    ],
)
def test_duration_ok(value: object, minutes: int) -> None:
    assert parse.parse_duration(value) == minutes


@pytest.mark.parametrize(
    "value", ["0m", 0, "7d1m", 10081, "30s", "1x", "", "h", True, 1.5, "-1h", None, [1]]
)
def test_duration_bad(value: object) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse.parse_duration(value)


@pytest.mark.parametrize(
    ("value", "days"),
    [
        (["mon-fri"], {0, 1, 2, 3, 4}),
        (["daily"], set(range(7))),
        (["weekdays"], set(range(5))),
        (["weekends"], {5, 6}),
        (["fri-mon"], {4, 5, 6, 0}),
        (["mon", "wed", "sun"], {0, 2, 6}),
        ("mon,tue", {0, 1}),
        (["Monday", "SUN"], {0, 6}),
        (["sat-sat"], {5}),
    ],
)
def test_days_ok(value: object, days: set[int]) -> None:
    assert parse.parse_days(value) == frozenset(days)


@pytest.mark.parametrize("value", [[], ["funday"], ["mon-xyz"], [1], "", 3, ["mon--fri"]])
def test_days_bad(value: object) -> None:
    with pytest.raises(ValueError, match="day"):
        parse.parse_days(value)


@pytest.mark.parametrize(
    ("days", "text"),
    [
        ({0, 1, 2, 3, 4}, "mon-fri"),
        (set(range(7)), "daily"),
        ({5, 6}, "sat,sun"),
        ({0, 2, 3, 4}, "mon,wed-fri"),
    ],
)
def test_format_days(days: set[int], text: str) -> None:
    assert parse.format_days(frozenset(days)) == text
    assert parse.parse_days(text) == frozenset(days)


@pytest.mark.parametrize("good", ["a", "nightly-agent", "A_1", "x" * 50, "9lives"])
def test_id_ok(good: str) -> None:
    assert parse.parse_id(good) == good


@pytest.mark.parametrize("bad", ["", "-a", "_a", "a b", "x" * 51, "a/b", "ä", 5])
def test_id_bad(bad: object) -> None:
    with pytest.raises(ValueError, match="invalid id"):
        parse.parse_id(bad)


@pytest.mark.parametrize("bad", ["Mars/Olympus", "", "../etc/passwd", "/etc/localtime", "CET+1"])
def test_zone_bad(bad: str) -> None:
    with pytest.raises(ValueError, match="time zone"):
        parse.zone(bad)


def test_seconds_and_signal() -> None:
    assert parse.parse_seconds("30s") == 30
    assert parse.parse_seconds("1m30s") == 90
    assert parse.parse_seconds(2.5) == 2.5
    with pytest.raises(ValueError):
        parse.parse_seconds("soon")
    assert parse.parse_signal("term") == "SIGTERM"
    assert parse.parse_signal("SIGINT") == "SIGINT"
    with pytest.raises(ValueError, match="stop_signal"):
        parse.parse_signal("SIGFOO")


@pytest.mark.parametrize(("minutes", "text"), [(480, "8h"), (90, "1h30m"), (2880, "2d"), (1, "1m")])
def test_format_minutes(minutes: int, text: str) -> None:
    assert parse.format_minutes(minutes) == text
    assert parse.parse_duration(text) == minutes
