"""Window arithmetic: pure functions of a schedule and an instant, no I/O.

A window opens at ``start`` (wall clock, in the schedule's zone) on each listed day and lasts
``duration`` minutes of elapsed time.  Days are the days a window *starts*.  DST:

* a start inside a spring-forward gap opens at the first instant after the gap;
* a start inside a repeated fall-back hour opens once, at the first occurrence.

All instants returned are aware ``datetime`` objects in UTC; windows are half-open
``[start, end)``.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from .dates import excluded
from .model import Job, Schedule

_ONE_DAY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Window:
    schedule: Schedule
    start: datetime  # UTC
    end: datetime  # UTC

    def contains(self, t: datetime) -> bool:
        return self.start <= t < self.end


def _aware(t: datetime) -> datetime:
    if t.tzinfo is None:
        raise ValueError("instants must be timezone-aware")
    return t.astimezone(UTC)


@lru_cache(maxsize=65536)  # pure; schedules share wall times and zones (status, next, render at scale)
def wall_to_instant(day: date, hour: int, minute: int, tz: ZoneInfo) -> datetime:
    """The instant (UTC) at which the wall clock of ``tz`` shows ``day hour:minute``.

    Ambiguous (fall-back) times resolve to the first occurrence; times inside a gap
    (spring-forward) resolve to the first instant after the gap.
    """
    naive = datetime(day.year, day.month, day.day, hour, minute)
    first = naive.replace(tzinfo=tz)  # fold=0: earlier occurrence; in a gap, the old offset
    u = first.astimezone(UTC)
    if u.astimezone(tz).replace(tzinfo=None) == naive:
        return u
    # In a gap: fold=1 maps with the new offset, landing before the transition; fold=0
    # lands after it.  The transition is the first instant with the new offset.
    lo = int(naive.replace(tzinfo=tz, fold=1).astimezone(UTC).timestamp())
    hi = int(u.timestamp())
    if lo > hi:
        lo, hi = hi, lo
    after = datetime.fromtimestamp(hi, tz).utcoffset()
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if datetime.fromtimestamp(mid, tz).utcoffset() == after:
            hi = mid
        else:
            lo = mid
    return datetime.fromtimestamp(hi, UTC)


def window_on(s: Schedule, day: date) -> Window | None:
    """The window that starts on local ``day``, or None if ``day`` is not listed (its weekday,
    and not a skipped date, a holiday, or another date than a one-off window's: ``dates``)."""
    if day.weekday() not in s.days or (_dated(s) and excluded(s, day)):
        return None
    return Window(s, *span_on(day, s.hour, s.minute, s.duration, s.tz))


def span_on(day: date, hour: int, minute: int, duration: int, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """(start, end), UTC, of a window that starts at ``hour:minute`` of local ``day`` in
    ``tz`` and lasts ``duration`` minutes: ``window_on`` for a day the schedule runs on."""
    start = wall_to_instant(day, hour, minute, tz)
    return start, start + timedelta(minutes=duration)


def one_off_over(s: Schedule, now: datetime) -> bool:
    """Is ``s`` a one-off window that is over at ``now`` (or skipped)?  Such a window is left
    out of the artifacts (``targets.ahead``) and reported finished (``doctor``)."""
    if s.on is None:
        return False
    w = window_on(s, s.on)
    return w is None or w.end <= now


def _dated(s: Schedule) -> bool:
    return bool(s.skip) or s.holidays is not None or s.on is not None


def _local_date(t: datetime, tz: ZoneInfo) -> date:
    return t.astimezone(tz).date()


def open_windows(s: Schedule, t: datetime) -> list[Window]:
    """Windows of ``s`` that contain ``t``, latest start first (normally zero or one)."""
    t = _aware(t)
    today = _local_date(t, s.tz)
    span = s.duration // 1440 + 2
    found = []
    for back in range(span + 1):
        w = window_on(s, today - back * _ONE_DAY)
        if w is not None and w.contains(t):
            found.append(w)
    # a start pushed past midnight by a gap could belong to tomorrow's wall date: not possible,
    # gaps move starts later only within the transition; so today and earlier suffice.
    return found


def current_window(s: Schedule, t: datetime) -> Window | None:
    found = open_windows(s, t)
    return found[0] if found else None


HORIZON = timedelta(days=4 * 366)  # beyond any skip range: a schedule with no window in it has none


def windows_after(s: Schedule, t: datetime) -> Iterator[Window]:
    """Windows of ``s`` that start strictly after ``t``, in order: without end for a weekly
    schedule, none after its date for a one-off window (nor within ``HORIZON`` for a schedule
    whose every date is skipped)."""
    t = _aware(t)
    day = _local_date(t, s.tz) - _ONE_DAY
    last: datetime | None = None
    end = day + HORIZON if _dated(s) else None
    if s.on is not None:
        end = min(end or s.on, s.on)
    while end is None or day <= end:
        w = window_on(s, day)
        if w is not None and w.start > t and (last is None or w.start > last):
            last = w.start
            yield w
        day += _ONE_DAY


def next_window(s: Schedule, t: datetime) -> Window | None:
    """The first window of ``s`` starting after ``t``; None when there is none (a one-off
    window that is over)."""
    return next(windows_after(s, t), None)


def around(s: Schedule, t: datetime) -> tuple[list[Window], Window | None]:
    """(``open_windows(s, t)``, ``next_window(s, t)``) in one pass over the days: what every
    view asks of each schedule (at 10,000 schedules this is most of ``status``).  The
    instants are a function of the timing, worked out once for schedules that share it."""
    t = _aware(t)
    if _dated(s):  # a skipped date or a one-off window: the plain walk
        return open_windows(s, t), next_window(s, t)
    opened, nxt = _around(s.hour, s.minute, s.duration, s.days, s.timezone, t)
    return [Window(s, a, b) for a, b in opened], (Window(s, *nxt) if nxt is not None else next_window(s, t))


@lru_cache(maxsize=16384)
def _around(
    hour: int, minute: int, duration: int, days: frozenset[int], zone: str, t: datetime
) -> tuple[tuple[tuple[datetime, datetime], ...], tuple[datetime, datetime] | None]:
    """``around`` for a weekly timing: the (start, end) of the windows open at ``t``, latest
    start first, and of the next one (None: not within the days walked)."""
    tz = ZoneInfo(zone)
    span = duration // 1440 + 2
    day = _local_date(t, tz) - span * _ONE_DAY
    opened: list[tuple[datetime, datetime]] = []
    for _ in range(span + 9):  # a listed day comes within any 7
        if day.weekday() in days:
            start, end = span_on(day, hour, minute, duration, tz)
            if start > t:
                return tuple(reversed(opened)), (start, end)
            if t < end:
                opened.append((start, end))
        day += _ONE_DAY
    return tuple(reversed(opened)), None


def windows_between(s: Schedule, a: datetime, b: datetime) -> list[Window]:
    """Windows of ``s`` that overlap ``[a, b)``."""
    a, b = _aware(a), _aware(b)
    out = []
    day = _local_date(a, s.tz) - (s.duration // 1440 + 2) * _ONE_DAY
    end_day = _local_date(b, s.tz) + _ONE_DAY
    while day <= end_day:
        w = window_on(s, day)
        if w is not None and w.start < b and w.end > a:
            out.append(w)
        day += _ONE_DAY
    return out


@dataclass(frozen=True, slots=True)
class JobTimes:
    """The seed's next-run semantics for one job at one instant."""

    open: tuple[Window, ...]  # open windows of enabled schedules
    next_end: datetime | None  # latest end among open windows
    next_start: datetime | None  # earliest next start, only when no window is open

    @property
    def active_count(self) -> int:
        return len({w.schedule.id for w in self.open})

    @property
    def in_window(self) -> bool:
        return bool(self.open)


def job_times(job: Job, t: datetime) -> JobTimes:
    t = _aware(t)
    opened: list[Window] = []
    starts = []
    for s in job.enabled_schedules:
        now_open, nxt = around(s, t)
        opened.extend(now_open)
        starts += [nxt.start] if nxt is not None else []
    if opened:
        return JobTimes(tuple(opened), max(w.end for w in opened), None)
    return JobTimes((), None, min(starts) if starts else None)


def upcoming(schedules: Iterable[Schedule], t: datetime, count: int) -> list[Window]:
    """The next ``count`` window starts after ``t`` across ``schedules``, merged by start."""
    streams = [windows_after(s, t) for s in schedules]
    merged = heapq.merge(*streams, key=lambda w: (w.start, w.schedule.job, w.schedule.id))
    out = []
    for w in merged:
        out.append(w)
        if len(out) >= count:
            break
    return out
