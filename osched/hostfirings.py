"""Firing times for the schedulers: host-local ones for cron, Task Scheduler and launchd, and
the windows that need an exact (dated) firing on DST days, for every target.

A window starts at a wall time in the schedule's zone and lasts an elapsed duration.  A host
scheduler knows only its own clock, so each window start and end is turned into a host-local
firing.  On most days that is a fixed weekly time: the window's wall time plus the offset
difference between host and schedule zone in a *steady period* (between two offset changes of
either zone; changes at the same instant, as in zones that share rules, count as one).  Only
windows near an offset change can fall elsewhere:

* a start inside the schedule zone's gap opens after the gap;
* an end moves when an offset changes inside its window;
* a start or end inside the host's repeated hour, on its second pass: cron runs a fixed-time
  line only on the first pass (a line with a wildcard hour runs on both).

Those windows are worked out exactly, each instant checked against what the weekly lines
fire at a wall time that occurs once (and, for cron, on the first pass of a repeated one, as
every cron does), and what is not covered becomes a *dated* firing on that one host-local
date; one in a repeated span fires at every pass (cron's wildcard hour), or at its UTC instant
(Task Scheduler), or before the span with a wait (launchd).  The
entrypoints' window check makes exactly the right firing act; the others skip.

Cost: per zone pair, one scan of the year for offset changes (cached); per schedule timing,
a few set operations plus the exact windows around each change (cached).
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache, update_wrapper
from typing import Any, Concatenate, ParamSpec, TypeVar
from zoneinfo import ZoneInfo

from .model import Schedule
from .windows import span_on, window_on
from .zonechanges import change_instants, steady_diffs, transitions

_MIN = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class Firing:
    """Fire at ``hour:minute`` host-local on ``days`` (Monday = 0) every week; or, when ``at``
    is set, on the one host-local date ``month``/``day`` for the instant ``at`` (UTC).  A dated
    firing with ``any_hour`` fires at ``:minute`` of every hour that day: the instant lies in
    the second pass of the host's repeated hour, which a fixed-time cron line never hits."""

    hour: int
    minute: int
    days: frozenset[int]
    at: datetime | None = None
    month: int = 0
    day: int = 0
    any_hour: bool = False


P = ParamSpec("P")
R = TypeVar("R")
Firings = tuple[Firing, ...]


def per_firings(fn: Callable[Concatenate[Firings, P], R]) -> Callable[Concatenate[Firings, P], R]:
    """Cache ``fn(firings, ...)`` by the identity of ``firings`` (and the other arguments):
    ``host_firings`` hands out one tuple per schedule timing (timings with the same weekly
    firings and no dated one share it), so a target's work on it is done once per timing at
    most, and hashing a tuple of Firings (a Python ``__hash__`` each) would
    cost more than a lookup.  An entry holds its tuple, so no other tuple can take its id."""
    memo: dict[tuple[Any, ...], tuple[Firings, R]] = {}

    def cached(firings: Firings, /, *args: P.args, **kwargs: P.kwargs) -> R:
        key = (id(firings), args, tuple(kwargs.items())) if kwargs else (id(firings), args)
        hit = memo.get(key)
        if hit is not None and hit[0] is firings:
            return hit[1]
        value = fn(firings, *args, **kwargs)
        if len(memo) >= 65536:  # bounded, as the lru caches of the timings are
            memo.clear()
        memo[key] = (firings, value)
        return value

    update_wrapper(cached, fn)
    return cached


def near_change_spans(
    hour: int,
    minute: int,
    duration: int,
    days: frozenset[int],
    zone: str,
    zones: tuple[str, ...],
    start_day: int,
) -> list[tuple[datetime, datetime]]:
    """(start, end) of the windows of a schedule's timing that start or end within a day of an
    offset change of ``zones`` and are not over at the start of ``start_day``: the only ones
    a weekly firing can miss."""
    return [
        (start, end)
        for weekday, start, end in near_every_day(hour, minute, duration, zone, zones, start_day)
        if weekday in days
    ]


@lru_cache(maxsize=16384)
def near_every_day(
    hour: int, minute: int, duration: int, zone: str, zones: tuple[str, ...], start_day: int
) -> tuple[tuple[int, datetime, datetime], ...]:
    """(weekday, start, end) of ``near_change_spans`` as if the schedule ran every day:
    the days filter is applied per schedule, so schedules that differ only in their days
    share this work (a 10,000-schedule config has few distinct wall times per zone)."""
    t0 = datetime.fromtimestamp(start_day * 86400, UTC)
    seen: dict[datetime, tuple[int, datetime, datetime]] = {}
    for first, last in _days_near_changes(zone, zones, start_day, duration):
        day = first
        while day <= last:
            start, end = span_on(day, hour, minute, duration, ZoneInfo(zone))
            if end >= t0 and start not in seen:
                seen[start] = (day.weekday(), start, end)
            day += _DAY
    return tuple(seen[k] for k in sorted(seen))


@lru_cache(maxsize=4096)
def _days_near_changes(
    zone: str, zones: tuple[str, ...], start_day: int, duration: int
) -> tuple[tuple[date, date], ...]:
    """For each offset change of ``zones``: the first and last local date in ``zone`` of the
    windows (of ``duration``) that start or end within a day of it."""
    tz = ZoneInfo(zone)
    out = []
    for at in change_instants(zones, start_day):
        t = datetime.fromtimestamp(at, UTC)
        first = (t - timedelta(minutes=duration, days=1)).astimezone(tz).date()
        out.append((first, (t + timedelta(days=1)).astimezone(tz).date()))
    return tuple(out)


_DAY = timedelta(days=1)


def add_days(out: dict[int, set[int]], days: Collection[int], minutes: int) -> None:
    """Record in ``out`` (minute of day -> weekdays, Monday = 0) the weekly time ``minutes``
    (any sign, past 24 h too) after the midnight of each of ``days``."""
    shift, m = divmod(minutes, 1440)
    out.setdefault(m, set()).update([(d + shift) % 7 for d in days])


def host_firings(
    s: Schedule, host: ZoneInfo, now: datetime, exact: bool = False, after_jump: bool = False
) -> tuple[tuple[Firing, ...], tuple[Firing, ...]]:
    """Host-local start and stop firings of ``s`` covering the year after ``now``.

    ``exact=False`` relies on a fixed time in the repeated hour running on its first pass
    (every cron does: Debian's on the first pass only, one that ignores DST on both); with
    ``after_jump`` also on one that a spring-forward jump skips running right after it
    (Debian cron does; a cron that ignores DST never runs it: cron does not rely on it).
    ``exact=True``
    relies on none: every instant near an offset change that is not an unambiguous weekly
    wall time gets a dated firing (Task Scheduler, launchd).

    Cached on the schedule's timing alone: the targets all ask for the same schedule when
    rendering ``--target all``, and schedules with the same timing get the same tuples (a
    target may cache what it makes of them: ``per_firings``; timings whose firings are all
    weekly and the same share one tuple too).  A one-off window (``s.on``) fires on its date
    only: a dated start (unless it has begun) and a dated stop."""
    if s.on is not None:
        return _one_off(s, host, now, exact)
    return _host_firings(
        s.hour,
        s.minute,
        s.duration,
        s.days,
        s.timezone,
        host.key,
        int(now.timestamp()) // 86400,
        exact,
        after_jump,
    )


@lru_cache(maxsize=65536)
def _host_firings(
    hour: int,
    minute: int,
    duration: int,
    days: frozenset[int],
    zone: str,
    host_key: str,
    start_day: int,
    exact: bool = False,
    after_jump: bool = False,
) -> tuple[tuple[Firing, ...], tuple[Firing, ...]]:
    wall = hour * 60 + minute
    starts, weekly_starts = _weekly_of(wall, days, zone, host_key, start_day)
    ends, weekly_ends = _weekly_of(wall + duration, days, zone, host_key, start_day)
    jumps = _jump_skips(host_key, start_day) if after_jump and not exact else {}
    t0 = datetime.fromtimestamp(start_day * 86400, UTC)
    dated_starts: dict[tuple[int, int, int, int, bool], Firing] = {}
    dated_ends: dict[tuple[int, int, int, int, bool], Firing] = {}
    for start, end in near_change_spans(hour, minute, duration, days, zone, (zone, host_key), start_day):
        for point, weekly, dated in ((start, weekly_starts, dated_starts), (end, weekly_ends, dated_ends)):
            if point < t0:
                continue
            f = _dated_firing(point, host_key, weekly, jumps, exact)
            if f is not None:
                dated.setdefault((f.month, f.day, f.hour, f.minute, f.any_hour), f)
    return (
        starts + tuple(dated_starts[k] for k in sorted(dated_starts)),
        ends + tuple(dated_ends[k] for k in sorted(dated_ends)),
    )


@lru_cache(maxsize=65536)
def _weekly_of(
    wall: int, days: frozenset[int], zone: str, host_key: str, start_day: int
) -> tuple[tuple[Firing, ...], frozenset[tuple[int, int]]]:
    """The weekly firings of wall time ``wall`` (minutes after midnight, past 24 h too) of
    ``zone`` on ``days``, and their (weekday, minute of day) keys: a window start's, or its
    end's (timings that share a start or an end share them)."""
    table: dict[int, set[int]] = {}
    for delta in steady_diffs(zone, host_key, start_day):
        add_days(table, days, wall + delta)
    return _weekly(table), _keys(table)


def _one_off(
    s: Schedule, host: ZoneInfo, now: datetime, exact: bool
) -> tuple[tuple[Firing, ...], tuple[Firing, ...]]:
    assert s.on is not None
    w = window_on(s, s.on)
    if w is None or w.end <= now:
        return (), ()
    points = ([w.start] if w.start > now else []), [w.end]
    out = tuple(
        tuple(f for p in ps if (f := _dated_firing(p, host.key, frozenset(), {}, exact)) is not None)
        for ps in points
    )
    return out[0], out[1]


def _keys(table: dict[int, set[int]]) -> frozenset[tuple[int, int]]:
    return frozenset((d, m) for m, ds in table.items() for d in ds)


def _weekly(table: dict[int, set[int]]) -> tuple[Firing, ...]:
    return tuple([_weekly_firing(m, frozenset(days)) for m, days in sorted(table.items())])


@lru_cache(maxsize=16384)  # Firings are immutable: timings that share one share the object
def _weekly_firing(minute_of_day: int, days: frozenset[int]) -> Firing:
    return Firing(minute_of_day // 60, minute_of_day % 60, days)


@lru_cache(maxsize=256)
def _jump_skips(host: str, start_day: int) -> dict[int, frozenset[tuple[int, int]]]:
    """For each spring-forward instant of ``host``: the host-local (weekday, minute of day)
    wall times it skips.  Cron runs a fixed time skipped by the jump right after it."""
    out = {}
    for t in transitions(host, start_day)[1]:
        if t.after <= t.before:
            continue
        first = datetime.fromtimestamp(t.at, UTC).replace(tzinfo=None) + timedelta(minutes=t.before)
        skipped = set()
        for i in range(t.after - t.before):
            m = first + i * _MIN
            skipped.add((m.weekday(), m.hour * 60 + m.minute))
        out[t.at] = frozenset(skipped)
    return out


def before_repeat(at: datetime, host: ZoneInfo) -> datetime:
    """For an instant in the host's repeated span (either pass): one minute before that span's
    first pass begins, an instant whose wall time occurs once.  A scheduler whose behaviour in a
    repeated hour is not known fires there, and the entrypoint waits (``--wait``) to ``at``."""
    ts = int(at.timestamp())
    for t in transitions(host.key, ts // 86400)[1]:
        span = (t.before - t.after) * 60
        if span > 0 and t.at - span <= ts < t.at + span:
            return datetime.fromtimestamp(t.at - span - 60, UTC)
    raise ValueError(f"{at} is not in a repeated span of {host.key}")


def in_second_pass(local: datetime) -> bool:
    """True when the aware local time ``local`` is the second occurrence of its wall time."""
    return local.fold == 1 and local.replace(fold=0).utcoffset() != local.utcoffset()


def _dated_firing(
    point: datetime,
    host_key: str,
    weekly: frozenset[tuple[int, int]],
    jumps: dict[int, frozenset[tuple[int, int]]],
    exact: bool = False,
) -> Firing | None:
    """The dated firing ``point`` needs, or None when a weekly line fires then."""
    key, second_pass, first_pass, dated, ts = _host_local(point, host_key)
    if second_pass or (exact and first_pass):
        return dated
    if key in weekly or (ts in jumps and weekly & jumps[ts]):
        return None
    return Firing(dated.hour, dated.minute, frozenset(), point, dated.month, dated.day)


@lru_cache(maxsize=65536)  # an instant near a change is asked for by every timing that has it
def _host_local(point: datetime, host_key: str) -> tuple[tuple[int, int], bool, bool, Firing, int]:
    """What ``_dated_firing`` needs of ``point`` on the host's clock: its weekly key (weekday,
    minute of day), whether it lies in the second pass of a repeated span, or in the first
    pass, its dated firing at any hour, and its epoch second."""
    local = point.astimezone(ZoneInfo(host_key))
    second_pass = in_second_pass(local)
    first_pass = not second_pass and local.replace(fold=1).utcoffset() != local.utcoffset()
    dated = Firing(local.hour, local.minute, frozenset(), point, local.month, local.day, any_hour=True)
    return (
        (local.weekday(), local.hour * 60 + local.minute),
        second_pass,
        first_pass,
        dated,
        int(point.timestamp()),
    )
