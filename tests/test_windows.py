"""Window arithmetic: every rule of DESIGN §4 / issue 2 item 3."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from osched.config import self_overlap
from osched.model import Job, Schedule
from osched.parse import parse_days, parse_duration
from osched.windows import (
    current_window,
    job_times,
    next_window,
    open_windows,
    upcoming,
    wall_to_instant,
    window_on,
    windows_between,
)


def sched(start: str, duration: str, days: str, tz: str = "UTC", sid: str = "s") -> Schedule:
    h, m = (int(x) for x in start.split(":"))
    return Schedule(
        id=sid,
        job="j",
        hour=h,
        minute=m,
        duration=parse_duration(duration),
        days=parse_days(days),
        timezone=tz,
    )


def at(text: str, tz: str = "UTC") -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(tz))


def local(t: datetime, tz: str) -> str:
    return t.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M %Z")


# 2026-11-23 is a Monday.
def test_simple_window_open_and_closed() -> None:
    s = sched("22:00", "8h", "mon-fri")
    assert current_window(s, at("2026-11-23 21:59")) is None
    w = current_window(s, at("2026-11-23 22:00"))
    assert w is not None
    assert (w.start, w.end) == (at("2026-11-23 22:00"), at("2026-11-24 06:00"))
    assert current_window(s, at("2026-11-24 05:59")) == w
    assert current_window(s, at("2026-11-24 06:00")) is None  # half-open


def test_midnight_crossing_on_last_listed_day() -> None:
    s = sched("22:00", "8h", "mon-fri")
    # Friday's window runs into Saturday, which is not a listed day.
    w = current_window(s, at("2026-11-28 03:00"))  # Saturday 03:00
    assert w is not None
    assert w.start == at("2026-11-27 22:00")
    assert w.end == at("2026-11-28 06:00")
    # Monday 03:00 is not inside any window (Sunday is not listed).
    assert current_window(s, at("2026-11-23 03:00")) is None


def test_sixty_hour_weekend_window() -> None:
    s = sched("18:00", "60h", "fri")
    w = current_window(s, at("2026-11-29 12:00"))  # Sunday noon
    assert w is not None
    assert w.start == at("2026-11-27 18:00")
    assert w.end == at("2026-11-30 06:00")
    assert current_window(s, at("2026-11-30 06:00")) is None
    assert next_window(s, at("2026-11-29 12:00")).start == at("2026-12-04 18:00")


def test_next_window_skips_unlisted_days_and_is_strictly_after() -> None:
    s = sched("09:00", "1h", "sat,sun")
    assert next_window(s, at("2026-11-23 10:00")).start == at("2026-11-28 09:00")
    assert next_window(s, at("2026-11-28 09:00")).start == at("2026-11-29 09:00")
    assert next_window(s, at("2026-11-28 08:59:59")).start == at("2026-11-28 09:00")


def test_windows_between() -> None:
    s = sched("23:00", "2h", "daily")
    ws = windows_between(s, at("2026-11-24 00:00"), at("2026-11-25 00:00"))
    assert [w.start for w in ws] == [at("2026-11-23 23:00"), at("2026-11-24 23:00")]


def test_overlapping_schedules_of_one_job() -> None:
    a = sched("22:00", "8h", "mon-fri", sid="nights")
    b = sched("04:00", "4h", "daily", sid="mornings")
    job = Job(name="j", command=("x",), schedules=(a, b))
    t = at("2026-11-24 05:00")  # both open
    times = job_times(job, t)
    assert times.active_count == 2
    assert times.next_end == at("2026-11-24 08:00")  # latest end wins
    assert times.next_start is None
    t = at("2026-11-24 07:00")  # only mornings
    assert job_times(job, t).active_count == 1
    t = at("2026-11-24 12:00")  # none: next start is the earliest
    times = job_times(job, t)
    assert not times.in_window
    assert times.next_start == at("2026-11-24 22:00")
    assert times.next_end is None


def test_disabled_schedules_do_not_count() -> None:
    a = sched("00:00", "1d", "daily", sid="a")
    off = Schedule(**{**{f: getattr(a, f) for f in a.__slots__}, "enabled": False})
    job = Job(name="j", command=("x",), schedules=(off,))
    times = job_times(job, at("2026-11-24 12:00"))
    assert not times.in_window
    assert times.next_start is None


def test_upcoming_merges_in_start_order() -> None:
    a = sched("22:00", "8h", "mon-fri", sid="a")
    b = sched("04:00", "4h", "daily", sid="b")
    ws = upcoming([a, b], at("2026-11-27 12:00"), 5)  # Friday noon
    assert [(w.schedule.id, w.start) for w in ws] == [
        ("a", at("2026-11-27 22:00")),
        ("b", at("2026-11-28 04:00")),
        ("b", at("2026-11-29 04:00")),
        ("b", at("2026-11-30 04:00")),
        ("a", at("2026-11-30 22:00")),
    ]


# -- DST -------------------------------------------------------------------------------------
def test_berlin_spring_forward_gap_opens_after_gap() -> None:
    s = sched("02:30", "1h", "daily", "Europe/Berlin")
    w = window_on(s, date(2026, 3, 29))
    assert w is not None
    assert local(w.start, "Europe/Berlin") == "2026-03-29 03:00 CEST"
    assert w.start == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)
    assert w.end - w.start == timedelta(hours=1)
    # the days around it are normal
    assert local(window_on(s, date(2026, 3, 28)).start, "Europe/Berlin") == "2026-03-28 02:30 CET"
    assert local(window_on(s, date(2026, 3, 30)).start, "Europe/Berlin") == "2026-03-30 02:30 CEST"


def test_berlin_fall_back_opens_once_at_first_occurrence() -> None:
    s = sched("02:30", "30m", "daily", "Europe/Berlin")
    w = window_on(s, date(2026, 10, 25))
    assert w is not None
    assert w.start == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # 02:30 CEST, the first one
    # the second 02:30 (CET, 01:30 UTC) is not a start
    later = next_window(s, w.start)
    assert later.start == datetime(2026, 10, 26, 1, 30, tzinfo=UTC)
    assert current_window(s, datetime(2026, 10, 25, 1, 30, tzinfo=UTC)) is None


def test_duration_is_elapsed_time_across_dst() -> None:
    s = sched("22:00", "8h", "sat", "Europe/Berlin")
    w = window_on(s, date(2026, 3, 28))  # night of spring forward
    assert w is not None
    assert w.end - w.start == timedelta(hours=8)
    assert local(w.end, "Europe/Berlin") == "2026-03-29 07:00 CEST"  # wall clock shows 9 h
    w = window_on(s, date(2026, 10, 24))  # night of fall back
    assert local(w.end, "Europe/Berlin") == "2026-10-25 05:00 CET"  # wall clock shows 7 h


def test_new_york_dst_days() -> None:
    s = sched("02:15", "2h", "sun", "America/New_York")
    spring = window_on(s, date(2026, 3, 8))
    assert local(spring.start, "America/New_York") == "2026-03-08 03:00 EDT"
    fall = window_on(s, date(2026, 11, 1))
    # 02:15 exists once on 2026-11-01 (the repeated hour is 01:00-02:00): EST
    assert local(fall.start, "America/New_York") == "2026-11-01 02:15 EST"
    s = sched("01:30", "1h", "sun", "America/New_York")
    fall = window_on(s, date(2026, 11, 1))
    assert local(fall.start, "America/New_York") == "2026-11-01 01:30 EDT"  # first of two
    assert fall.start == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)


def test_lord_howe_thirty_minute_dst() -> None:
    s = sched("02:10", "1h", "daily", "Australia/Lord_Howe")
    # 2026-10-04: clocks go 02:00 +10:30 -> 02:30 +11:00; 02:10 is in the gap
    w = window_on(s, date(2026, 10, 4))
    assert w.start.astimezone(ZoneInfo("Australia/Lord_Howe")).strftime("%H:%M %z") == "02:30 +1100"
    assert w.start == datetime(2026, 10, 3, 15, 30, tzinfo=UTC)
    # 2026-04-05: 02:00 +11:00 -> 01:30 +10:30; 01:45 happens twice, first one wins
    s = sched("01:45", "10m", "daily", "Australia/Lord_Howe")
    w = window_on(s, date(2026, 4, 5))
    assert w.start == datetime(2026, 4, 4, 14, 45, tzinfo=UTC)  # 01:45 +11:00
    assert next_window(s, w.start).start == datetime(2026, 4, 5, 15, 15, tzinfo=UTC)


def test_zone_without_dst() -> None:
    s = sched("09:30", "9h", "mon-fri", "Asia/Kolkata")
    starts = [w.start for w in windows_between(s, at("2026-01-01 00:00"), at("2027-01-01 00:00"))]
    assert len(starts) == 261  # weekdays in 2026
    assert {t.astimezone(UTC).strftime("%H:%M") for t in starts} == {"04:00"}


def test_wall_to_instant_normal_time_round_trips() -> None:
    tz = ZoneInfo("America/New_York")
    t = wall_to_instant(date(2026, 7, 4), 12, 0, tz)
    assert t == datetime(2026, 7, 4, 16, 0, tzinfo=UTC)


def test_open_windows_near_dst_overlap() -> None:
    # a 24 h daily window: nominally back to back; on the spring-forward day the next start
    # comes 23 h later, so for one hour two windows are open and the later end counts
    s = sched("01:30", "24h", "daily", "Europe/Berlin")
    t = datetime(2026, 3, 29, 0, 0, tzinfo=UTC) + timedelta(minutes=15)  # 01:15 UTC
    # windows: 28th 01:30 CET (00:30Z) -> 29th 00:30Z; 29th 01:30 CET (00:30Z) -> 30th 00:30Z
    found = open_windows(s, t)
    assert len(found) == 1
    s2 = sched("03:30", "24h", "daily", "Europe/Berlin")
    # 28th 03:30 CET = 02:30Z -> 29th 02:30Z ; 29th 03:30 CEST = 01:30Z: overlap 01:30-02:30Z
    t = datetime(2026, 3, 29, 2, 0, tzinfo=UTC)
    found = open_windows(s2, t)
    assert len(found) == 2
    job = Job(name="j", command=("x",), schedules=(s2,))
    assert job_times(job, t).next_end == datetime(2026, 3, 30, 1, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("days", "duration", "bad"),
    [
        ("daily", "24h", False),
        ("daily", "24h1m", True),
        ("mon-fri", "24h", False),
        ("mon-fri", "25h", True),  # thursday -> friday
        ("fri", "7d", False),
        ("sat,sun", "1d", False),
        ("sat,sun", "2d", True),
        ("mon,thu", "3d", False),
        ("mon,thu", "3d1h", True),
    ],
)
def test_self_overlap(days: str, duration: str, bad: bool) -> None:
    message = self_overlap(parse_days(days), parse_duration(duration))
    assert (message is not None) == bad
    if bad:
        assert "overlap" in message


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 23), st.sampled_from([0, 30, 45]), st.sampled_from([30, 90, 600, 1500, 2900]),
            st.frozensets(st.integers(0, 6), min_size=1), st.sampled_from(["UTC", "Europe/Berlin", "America/New_York"]),
        ),
        max_size=12,
    ),
    st.sampled_from(["2026-03-27T10:00:00+00:00", "2026-11-24T12:00:00+00:00", "2026-10-24T23:30:00+00:00"]),
)
def test_the_calendar_is_what_a_plain_comparison_of_every_window_finds(timings: list[tuple], now: str) -> None:
    """``week_overlaps`` and ``week_grid`` sweep the windows by start; their answers are those
    of comparing every window with every other: each pair of schedules once, with its first
    overlap, and per hour the most windows open at once."""
    from zoneinfo import ZoneInfo

    from osched.views import human, week_overlaps

    tz = ZoneInfo("Europe/Berlin")
    schedules = [
        Schedule(id=f"s{k}", job=f"j{k % 3}", hour=h, minute=m, duration=d, days=days, timezone=z)
        for k, (h, m, d, days, z) in enumerate(timings)
    ]
    start = datetime.fromisoformat(now).astimezone(tz).replace(hour=0, minute=0, second=0, microsecond=0)
    windows = [w for s in schedules for w in windows_between(s, start, start + timedelta(days=7))]
    expected: dict[tuple[str, ...], str] = {}
    for i, a in enumerate(windows):
        for b in windows[i + 1 :]:
            if a.schedule is b.schedule or not (a.start < b.end and b.start < a.end):
                continue
            key = tuple(sorted((f"{a.schedule.job}/{a.schedule.id}", f"{b.schedule.job}/{b.schedule.id}")))
            lo, hi = max(a.start, b.start), min(a.end, b.end)
            expected.setdefault(key, f"{key[0]} and {key[1]}, {human(lo, tz)} to {human(hi, tz)}")
    assert week_overlaps(schedules, start, tz) == list(expected.values())

    # and the grid: per hour, the most windows open at one instant of it, over every window
    from osched.views import _most_at_once, week_grid

    grid = []
    for d in range(7):
        row = []
        for h in range(24):
            day = start.date() + timedelta(days=d)
            a = datetime(day.year, day.month, day.day, h, tzinfo=tz).astimezone(UTC)
            b = a + timedelta(hours=1)
            row.append(_most_at_once([(max(w.start, a), min(w.end, b)) for w in windows if w.start < b and w.end > a]))
        grid.append(row)
    assert week_grid(schedules, datetime.fromisoformat(now), tz) == (start, grid)
