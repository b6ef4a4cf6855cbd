"""The one formatter of instants: whole UTC seconds as ``2026-11-29T22:00:00+00:00`` (what the
state file, overrides and the events log hold)."""

import time


def iso_utc(ts: float) -> str:
    """``ts`` (seconds since the epoch, floored to the second) in UTC, ISO 8601."""
    return time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(ts // 1))


NOW_ENV = "OSCHED_NOW"


def parse_now(raw: str) -> float:
    """``$OSCHED_NOW``: an ISO 8601 instant with a UTC offset, as seconds since the epoch.
    ValueError says what is wrong."""
    from datetime import datetime

    try:
        t = datetime.fromisoformat(raw)
    except ValueError:
        raise ValueError(f"{NOW_ENV}={raw!r} is not an ISO 8601 instant") from None
    if t.tzinfo is None:
        raise ValueError(f"{NOW_ENV}={raw!r} needs a UTC offset, e.g. +00:00")
    if not 1971 <= t.year <= 9000:  # windows a year ahead must still be dates
        raise ValueError(f"{NOW_ENV}={raw!r} is out of range (years 1971 to 9000)")
    return t.timestamp()
