"""Round-trip edits of the date keys (``dates``): a job's or a schedule's ``skip`` list, and
its one-off windows (``[[jobs.NAME.windows]]``), through ``edit.Editor`` (comments kept)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import tomlkit
from tomlkit.items import AoT

from . import dates
from .edit import Editor, _array, _put
from .errors import UsageError


def _skip_table(e: Editor, job: str, schedule: str | None) -> Any:
    return e.schedule(job, schedule) if schedule else e.job(job)


def add_skip(e: Editor, job: str, schedule: str | None, items: Iterable[str]) -> list[str]:
    """Add ``items`` (dates or ranges) to the skip list; returns those that were new."""
    table = _skip_table(e, job, schedule)
    have = [str(v) for v in table.get("skip", [])]
    new = [i for i in items if i not in have]
    if new:
        _put(table, "skip", _array([*have, *new]))
    return new


def remove_skip(e: Editor, job: str, schedule: str | None, items: Iterable[str]) -> None:
    """Remove ``items`` as written; a date inside a listed range is refused (name the range)."""
    table = _skip_table(e, job, schedule)
    have = [str(v) for v in table.get("skip", [])]
    where = f"{job}/{schedule}" if schedule else job
    for item in items:
        if item in have:
            have.remove(item)
            continue
        inside = [h for h in have if dates.parse_skip_item(item) <= dates.parse_skip_item(h)]
        if inside:
            raise UsageError(f"{item} is part of {inside[0]} in the skip list of {where}: remove the range")
        raise UsageError(f"{item} is not in the skip list of {where}")
    if have:
        _put(table, "skip", _array(have))
    elif "skip" in table:
        del table["skip"]


def window_ids(e: Editor, job: str) -> list[str]:
    out = []
    for item in e.job(job).get("windows") or []:
        day, hour, minute = dates.parse_at(str(item.get("start")))
        out.append(str(item.get("id") or dates.window_id(day, hour, minute)))
    return out


def add_window(e: Editor, job: str, fields: dict[str, Any]) -> str:
    """Append a one-off window (start, duration, optional id and timezone); its id."""
    table = e.job(job)
    day, hour, minute = dates.parse_at(fields["start"])
    wid = fields.get("id") or dates.window_id(day, hour, minute)
    if wid in window_ids(e, job) or wid in e.schedule_ids(job):
        raise UsageError(f"job {job!r} already has a window or schedule with id {wid!r}")
    item = tomlkit.table()
    if fields.get("id"):
        item["id"] = wid
    for key in ("start", "duration", "timezone"):
        if fields.get(key) is not None:
            item[key] = fields[key]
    item.add(tomlkit.nl())
    windows = table.get("windows")
    if windows is None:
        windows = tomlkit.aot()
        table["windows"] = windows
    if not isinstance(windows, AoT):
        raise UsageError(f"jobs.{job}.windows is an inline array; write it as [[jobs.NAME.windows]] tables")
    windows.append(item)
    return str(wid)


def remove_window(e: Editor, job: str, wid: str) -> None:
    windows = e.job(job).get("windows")
    for i, found in enumerate(window_ids(e, job)):
        if found == wid:
            del windows[i]
            if not len(windows):
                del e.job(job)["windows"]
            return
    raise UsageError(f"job {job!r} has no one-off window with id {wid!r}")
