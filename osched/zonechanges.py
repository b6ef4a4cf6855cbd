"""When zones change their UTC offset: each zone's offset changes over the year ahead (found
once per zone and start day), and what they make of two zones' offset difference.  The
firing times of ``hostfirings`` (and Kubernetes' renewal horizon) are built on them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

HORIZON_DAYS = 400
LOOKBACK_DAYS = 8  # a window open at render time started up to 7 days before


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
    """(offset at the scan start, offset changes) of ``zone`` from LOOKBACK_DAYS before day
    ``start_day`` (days since the epoch) to HORIZON_DAYS after it.  Found by hourly sampling
    and a binary search to the second."""
    tz = ZoneInfo(zone)
    t0 = (start_day - LOOKBACK_DAYS) * 86400
    end = start_day * 86400 + HORIZON_DAYS * 86400
    # the hourly samples, by stepping a UTC wall time (with the zone attached) an hour at a
    # time and asking the zone for its local time (what fromtimestamp does per call: a third
    # of the cost; 9,800 samples a zone)
    fromutc, hour = tz.fromutc, timedelta(hours=1)
    wall = datetime.fromtimestamp(t0, UTC).replace(tzinfo=tz)
    first = prev = _offset(t0, tz)
    prev_delta = fromutc(wall).utcoffset()
    found = []
    t = t0
    while t < end:
        wall += hour
        delta = fromutc(wall).utcoffset()
        if delta != prev_delta:
            prev_delta = delta
            nxt = t + 3600
            off = _offset(nxt, tz)
            if off == prev:  # a change of seconds only: no change of whole minutes
                t = nxt
                continue
            lo, hi = t, nxt
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if _offset(mid, tz) == prev:
                    lo = mid
                else:
                    hi = mid
            found.append(Transition(hi, prev, off))
            prev = off
        t += 3600
    return first, tuple(found)


@lru_cache(maxsize=1024)
def steady_diffs(zone: str, host: str, start_day: int) -> frozenset[int]:
    """Every host - zone offset difference (minutes) of a steady period.  Changes of the two
    zones at the same instant are one change: zones sharing rules keep one difference."""
    if host == zone:
        return frozenset({0})
    z_off, zt = transitions(zone, start_day)
    h_off, ht = transitions(host, start_day)
    changes: dict[int, list[tuple[str, int]]] = {}
    for which, ts in (("z", zt), ("h", ht)):
        for t in ts:
            changes.setdefault(t.at, []).append((which, t.after))
    diffs = {h_off - z_off}
    for at in sorted(changes):
        for which, after in changes[at]:
            if which == "z":
                z_off = after
            else:
                h_off = after
        diffs.add(h_off - z_off)
    return frozenset(diffs)


def change_instants(zones: tuple[str, ...], start_day: int) -> list[int]:
    """Every offset change of ``zones`` in the scan range, epoch seconds, sorted, unique."""
    return sorted({t.at for z in set(zones) for t in transitions(z, start_day)[1]})


__all__ = ["HORIZON_DAYS", "LOOKBACK_DAYS", "Transition", "change_instants", "steady_diffs", "transitions"]
