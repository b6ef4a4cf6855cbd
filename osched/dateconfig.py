"""The config's date keys (``dates``): ``skip`` and ``holidays`` per job and per schedule, and
one-off windows (``[[jobs.NAME.windows]]``), each checked at its key path with the loader's
one-line error (``fail(key, message)``)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

from . import dates, parse
from .model import Schedule
from .validators import _call, _env, _strings, _unknown, _zone

WINDOW_KEYS = {"id", "start", "duration", "timezone", "enabled", "args", "env"}
WINDOW_REQUIRED = ("start", "duration")


def skip_and_holidays(
    raw: dict[str, Any], key: str, fail: Any
) -> tuple[tuple[str, ...], frozenset[date], str | None]:
    """A table's ``skip`` (as written, and every date it names) and ``holidays`` region (its
    dates are checked now: a region the package does not know, or no package, is an error
    here, at its key)."""
    items: tuple[str, ...] = ()
    days: frozenset[date] = frozenset()
    if "skip" in raw:
        items, days = _call(dates.parse_skip, raw["skip"], f"{key}.skip", fail)
    region = None
    if "holidays" in raw:
        region = _call(dates.parse_region, raw["holidays"], f"{key}.holidays", fail)
        _call(lambda r: dates.check_region(str(r)), region, f"{key}.holidays", fail)
    return items, days, region


def with_job_dates(
    schedules: tuple[Schedule, ...], skip: frozenset[date], region: str | None
) -> tuple[Schedule, ...]:
    """Each weekly schedule's dates with its job's added (its own holidays region wins).  A
    one-off window names its date itself: the job's skip dates and holidays leave it alone."""
    if not skip and region is None:
        return schedules
    return tuple(
        s if s.on is not None else replace(s, skip=s.skip | skip, holidays=s.holidays or region)
        for s in schedules
    )


def one_off_windows(
    job: str, raw: object, key: str, tz_name: str, fail: Any, taken: set[str]
) -> tuple[Schedule, ...]:
    """``[[jobs.NAME.windows]]``: each a schedule of one date.  ``taken``: the schedule ids
    (a window's id shares their names: ``--schedule ID`` picks either)."""
    if not isinstance(raw, list):
        raise fail(f"{key}.windows", "must be an array of tables ([[jobs.NAME.windows]])")
    out: list[Schedule] = []
    for i, w in enumerate(raw):
        wkey = f"{key}.windows[{i}]"
        if not isinstance(w, dict):
            raise fail(wkey, "must be a table")
        _unknown(w, WINDOW_KEYS, wkey, fail)
        for required in WINDOW_REQUIRED:
            if required not in w:
                raise fail(f"{wkey}.{required}", "missing (a window needs start and duration)")
        day, hour, minute = _call(dates.parse_at, w["start"], f"{wkey}.start", fail)
        wid = dates.window_id(day, hour, minute)
        if "id" in w:
            wid = _call(lambda v: parse.parse_id(v, "window id"), w["id"], f"{wkey}.id", fail)
        if wid in taken:
            raise fail(f"{wkey}.id", f"duplicate id {wid!r} in job {job!r} (schedules and windows share ids)")
        taken.add(wid)
        enabled = w.get("enabled", True)
        if not isinstance(enabled, bool):
            raise fail(f"{wkey}.enabled", "must be true or false")
        out.append(
            Schedule(
                id=wid,
                job=job,
                hour=hour,
                minute=minute,
                duration=_call(parse.parse_duration, w["duration"], f"{wkey}.duration", fail),
                days=frozenset({day.weekday()}),
                timezone=_zone(w["timezone"], f"{wkey}.timezone", fail) if "timezone" in w else tz_name,
                enabled=enabled,
                args=_strings(w.get("args", []), f"{wkey}.args", fail),
                env=_env(w.get("env", {}), f"{wkey}.env", fail),
                index=i,
                on=day,
            )
        )
    return tuple(out)
