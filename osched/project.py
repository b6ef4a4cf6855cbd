"""Host-local firing times for schedulers that only know the host's clock (cron, Task
Scheduler, launchd).

A window starts at a wall time in the schedule's zone.  When the host runs in another zone,
the host-local start moves with both zones' DST rules.  This module works out every
host-local (weekday, time) a window start or end can fall on over the coming year; the
rendered jobs fire at all of them, and the entrypoints' window check makes exactly the right
one act (a firing outside any window is skipped; one inside a window that already started is
a repeated firing, also safe).

Cost: per zone pair, one scan of the year for UTC offset changes (cached); per schedule, a
handful of set operations plus an exact computation only on the few DST change days.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from .model import Schedule
from .windows import window_on

HORIZON_DAYS = 400
WEEK = 7 * 1440


@dataclass(frozen=True, slots=True)
class Firing:
    """Fire at ``hour:minute`` host-local on ``days`` (Monday = 0)."""

    hour: int
    minute: int
    days: frozenset[int]


@dataclass(frozen=True, slots=True)
class Transition:
    at: int  # epoch seconds of the first instant with the new offset
    before: int  # UTC offset in minutes
    after: int


def _offset(ts: int, tz: ZoneInfo) -> int:
    off = datetime.fromtimestamp(ts, tz).utcoffset()
    assert off is not None
    return int(off.total_seconds()) // 60


@lru_cache(maxsize=256)
def transitions(zone: str, start_day: int) -> tuple[int, tuple[Transition, ...]]:
    """(offset at start, offset changes) of ``zone`` over HORIZON_DAYS from day ``start_day``
    (days since the epoch).  Found by hourly sampling and a binary search to the second."""
    tz = ZoneInfo(zone)
    t0 = start_day * 86400
    first = prev = _offset(t0, tz)
    found = []
    step = 3600
    t = t0
    end = t0 + HORIZON_DAYS * 86400
    while t < end:
        nxt = t + step
        off = _offset(nxt, tz)
        if off != prev:
            lo, hi = t, nxt
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if _offset(mid, tz) == prev:
                    lo = mid
                else:
                    hi = mid
            found.append(Transition(hi, prev, off))
            prev = off
        t = nxt
    return first, tuple(found)


@lru_cache(maxsize=1024)
def _pair(zone: str, host: str, start_day: int) -> tuple[frozenset[int], frozenset[int]]:
    """Offset differences host - zone at the same instant, and every host - zone pairing."""
    s0, st = transitions(zone, start_day)
    h0, ht = transitions(host, start_day)
    events = sorted([(t.at, "s", t.after) for t in st] + [(t.at, "h", t.after) for t in ht])
    s_off, h_off = s0, h0
    same = {h_off - s_off}
    for _at, which, after in events:
        if which == "s":
            s_off = after
        else:
            h_off = after
        same.add(h_off - s_off)
    s_all = {s0, *(t.after for t in st)}
    h_all = {h0, *(t.after for t in ht)}
    return frozenset(same), frozenset(a - b for a in h_all for b in s_all)


def _add(out: dict[int, set[int]], day: int, minute_of_day: int) -> None:
    total = (day * 1440 + minute_of_day) % WEEK
    d, m = divmod(total, 1440)
    out.setdefault(m, set()).add(d)


def _host_wall(ts: datetime, host: ZoneInfo) -> tuple[int, int]:
    local = ts.astimezone(host)
    return local.weekday(), local.hour * 60 + local.minute


def host_firings(s: Schedule, host: ZoneInfo, now: datetime) -> tuple[list[Firing], list[Firing]]:
    """Host-local start and stop firings of ``s`` covering the year after ``now``.

    Cached on the schedule's timing alone: cron, Task Scheduler and launchd all ask for the
    same schedule when rendering ``--target all``."""
    starts, ends = _host_firings(
        s.hour, s.minute, s.duration, s.days, s.timezone, host.key, int(now.timestamp()) // 86400
    )
    return list(starts), list(ends)


@lru_cache(maxsize=65536)
def _host_firings(
    hour: int, minute: int, duration: int, days: frozenset[int], zone: str, host_key: str, start_day: int
) -> tuple[tuple[Firing, ...], tuple[Firing, ...]]:
    s = Schedule(id="", job="", hour=hour, minute=minute, duration=duration, days=days, timezone=zone)
    host = ZoneInfo(host_key)
    wall = s.hour * 60 + s.minute
    starts: dict[int, set[int]] = {}
    ends: dict[int, set[int]] = {}
    same_zone = s.timezone == host.key
    if same_zone:
        diffs_same: frozenset[int] = frozenset({0})
        _, st = transitions(s.timezone, start_day)
        diffs_any = frozenset(
            {0} | {t.after - t.before for t in st} | {t.before - t.after for t in st}
        )
    else:
        diffs_same, diffs_any = _pair(s.timezone, host.key, start_day)
    for d in s.days:
        for delta in diffs_same:
            _add(starts, d, wall + delta)
        for delta in diffs_any:
            _add(ends, d, wall + s.duration + delta)
    _transition_days(s, host, start_day, starts, ends)
    return _firings(starts), _firings(ends)


def _transition_days(
    s: Schedule, host: ZoneInfo, start_day: int, starts: dict[int, set[int]], ends: dict[int, set[int]]
) -> None:
    """Add the exact host-local firings of the windows around each offset change."""
    # Exact windows on the days either zone changes offset: a start inside the schedule zone's
    # gap (opens after the gap), and instants in the host's repeated hour (cron fires a
    # repeated wall time only at its first occurrence, so add the first time after it).
    zone_tz = s.tz
    same_zone = s.timezone == host.key
    special: set[datetime] = set()
    _, st = transitions(s.timezone, start_day)
    _, ht = transitions(host.key, start_day) if not same_zone else (0, ())
    for t in (*st, *ht):
        special.add(datetime.fromtimestamp(t.at, UTC))
    folds = [
        (t.at, t.at + (t.before - t.after) * 60)
        for t in transitions(host.key, start_day)[1]
        if t.after < t.before
    ]
    for instant in special:
        local_day = instant.astimezone(zone_tz).date()
        for back in range(s.duration // 1440 + 2):
            w = window_on(s, local_day - timedelta(days=back))
            if w is None:
                continue
            for point, bucket in ((w.start, starts), (w.end, ends)):
                ts = int(point.timestamp())
                for lo, hi in folds:
                    if lo <= ts < hi:
                        _add(bucket, *_host_wall(datetime.fromtimestamp(hi, UTC), host))
                # same zone: cron itself runs a start skipped by a gap right after the jump,
                # but the end of such a window moves with the start and needs its own firing
                if not same_zone or bucket is ends:
                    _add(bucket, *_host_wall(point, host))


def _firings(table: dict[int, set[int]]) -> tuple[Firing, ...]:
    return tuple(Firing(m // 60, m % 60, frozenset(days)) for m, days in sorted(table.items()))
