"""systemd's ``OnCalendar=`` specs of a schedule: weekly specs in the schedule's own zone, and
a dated UTC line for each start or end of the coming 400 days the weekly specs miss (DST:
``hostfirings.near_change_spans``); wall times systemd 252's engine cannot compute are
written in an equivalent zone (``engine_notes`` says so)."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from ..core.days import DAY_NAMES
from ..hostfirings import add_days, in_second_pass, near_every_day
from ..model import Schedule


def _days(days: set[int] | frozenset[int]) -> str:
    return _day_list(frozenset(days))


@lru_cache(maxsize=256)  # 127 weekday sets
def _day_list(days: frozenset[int]) -> str:
    return ",".join(DAY_NAMES[d].capitalize() for d in sorted(days))


# systemd 252's calendar engine fails for some wall times of a zone ("Resource deadlock
# avoided" for Pacific/Chatham 02:45-02:59 on Sundays; 03:45-03:59 on its spring-forward
# day elapse never).  Such a wall time is written in a zone whose clock changes at the same
# instants by the same amount, shifted by the constant difference: the same instants.
# (zone, first bad minute, end minute) -> (equivalent zone, minutes to add)
EQUIVALENT: dict[str, tuple[int, int, str, int]] = {
    "Pacific/Chatham": (2 * 60 + 45, 4 * 60, "Pacific/Auckland", -45),
}


def equivalent(zone: str, minute_of_day: int) -> tuple[str, int] | None:
    """(zone, minutes to add) to write ``minute_of_day`` of ``zone`` in, when systemd's engine
    fails on it; None when it does not."""
    rule = EQUIVALENT.get(zone)
    if rule is None or not rule[0] <= minute_of_day < rule[1]:
        return None
    return rule[2], rule[3]


def _specs(table: dict[int, set[int]], zone: str) -> list[str]:
    out = []
    for m, days in sorted(table.items()):
        eq = equivalent(zone, m)
        if eq is None:
            out.append(f"{_days(days)} *-*-* {m // 60:02d}:{m % 60:02d}:00 {zone}")
            continue
        shifted: dict[int, set[int]] = {}
        add_days(shifted, days, m + eq[1])
        for mm, ds in sorted(shifted.items()):
            out.append(f"{_days(ds)} *-*-* {mm // 60:02d}:{mm % 60:02d}:00 {eq[0]}")
    return out


def engine_notes(s: Schedule) -> list[str]:
    """What systemd is given instead of the schedule's own wall times, said at render time."""
    walls = {s.hour * 60 + s.minute: "start", (s.hour * 60 + s.minute + s.duration) % 1440: "end"}
    notes = []
    for m, what in walls.items():
        eq = equivalent(s.timezone, m)
        if eq is not None:
            notes.append(
                f"{s.job}/{s.id}: systemd 252 cannot compute {m // 60:02d}:{m % 60:02d} {s.timezone} "
                f"on every day; the {what} is written as {(m + eq[1]) // 60 % 24:02d}:{(m + eq[1]) % 60:02d} "
                f"{eq[0]}, the same instants"
            )
    return notes


@lru_cache(maxsize=65536)  # the instants near a change repeat across schedules
def _dated(t: datetime) -> str:
    """A one-off instant, in UTC."""
    return f"{t.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"


def _fires(weekly: dict[int, set[int]], t: datetime, tz: ZoneInfo) -> bool:
    """Does a weekly spec of ``weekly`` elapse at instant ``t``?  systemd fires a wall time
    once, at its first occurrence, and skips one inside a gap (``t`` is a real instant)."""
    at = _wall(t, tz)
    return at is not None and at[0] in weekly.get(at[1], ())


@lru_cache(maxsize=65536)  # an instant near a change is asked for by every timing that has it
def _wall(t: datetime, tz: ZoneInfo) -> tuple[int, int] | None:
    """(weekday, minute of day) of ``t`` on the clock of ``tz``; None in a repeated span's
    second pass, where systemd does not fire a wall time again."""
    local = t.astimezone(tz)
    return None if in_second_pass(local) else (local.weekday(), local.hour * 60 + local.minute)


def _with_dated(
    specs: list[str], weekly: dict[int, set[int]], points: list[datetime], tz: ZoneInfo
) -> list[str]:
    """``specs`` plus a dated UTC line for every instant no weekly spec elapses at: a start
    pushed out of a gap, an end moved by an offset change in its window or in the repeated
    hour's second pass."""
    out = list(specs)
    for t in points:
        spec = _dated(t)
        if not _fires(weekly, t, tz) and spec not in out:
            out.append(spec)
    return out


def start_specs(s: Schedule, now: datetime) -> list[str]:
    if s.on is not None:
        return _one_off(s, now, True)
    return list(_timer_specs(s.hour, s.minute, s.duration, s.days, s.timezone, now, True))


def stop_specs(s: Schedule, now: datetime) -> list[str]:
    """The nominal end, weekly; and a dated line for every end a DST change moves."""
    if s.on is not None:
        return _one_off(s, now, False)
    return list(_timer_specs(s.hour, s.minute, s.duration, s.days, s.timezone, now, False))


def _one_off(s: Schedule, now: datetime, start: bool) -> list[str]:
    """A one-off window's start or end: one dated UTC line (none for a start already past)."""
    from ..windows import window_on

    assert s.on is not None
    w = window_on(s, s.on)
    if w is None:
        return []
    t = w.start if start else w.end
    return [_dated(t)] if t > now else []


@lru_cache(maxsize=65536)  # a function of the timing alone: schedules that share one share it
def _timer_specs(
    hour: int, minute: int, duration: int, days: frozenset[int], zone: str, now: datetime, start: bool
) -> tuple[str, ...]:
    weekly: dict[int, set[int]] = {}
    if start:
        weekly[hour * 60 + minute] = set(days)
    else:
        add_days(weekly, days, hour * 60 + minute + duration)
    missable = _missable(hour, minute, duration, zone, int(now.timestamp()) // 86400, start)
    points = [t for weekday, t in missable if weekday in days and t >= now]
    return tuple(_with_dated(_specs(weekly, zone), weekly, points, ZoneInfo(zone)))


@lru_cache(maxsize=16384)
def _missable(
    hour: int, minute: int, duration: int, zone: str, start_day: int, start: bool
) -> tuple[tuple[int, datetime], ...]:
    """(weekday, instant) of the window starts (or ends) near an offset change of ``zone``, as
    if the schedule ran every day, that a weekly spec may not elapse at.  The others surely
    do: their own weekday's spec elapses then (``_fires``), and it is in the weekly specs of
    every timing that runs on that weekday.  Shared by the timings that differ only in their
    days."""
    tz = ZoneInfo(zone)
    wall = hour * 60 + minute + (0 if start else duration)
    own: dict[int, dict[int, set[int]]] = {}  # weekday -> the weekly spec of that day alone
    out = []
    for weekday, a, b in near_every_day(hour, minute, duration, zone, (zone,), start_day):
        t = a if start else b
        if weekday not in own:
            add_days(own.setdefault(weekday, {}), (weekday,), wall)
        if not _fires(own[weekday], t, tz):
            out.append((weekday, t))
    return tuple(out)
