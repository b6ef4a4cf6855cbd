"""The config's caches in the state dir, written and read by the full path: plans (the
validated config as plain data, so a firing costs the same at 10 and at 10,000 schedules) and
fire files (a job's windows as UTC seconds, for the fast lane).

``<state>/plans/<key>/`` holds ``_config.json`` (every job; no job name starts with ``_``, so
no job's plan can take its name), ``<job>.json`` (one job, written by
that job's first firing) and ``<job>.fire``.  The key, the stamp and the one freshness rule are
``core.cache``'s; every byte goes through the state store (``core.store``), which refuses a
file another user could have written: such a cache, like a stale or malformed one, is treated
as missing and written anew.  Loading a config writes nothing (``config.load_trusted``); a
firing refreshes the caches explicitly (``for_firing``), and a command writes the whole
config's plan when it parsed the file (``remember``).
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from functools import cache
from typing import TYPE_CHECKING, Any

from .core import cache as core
from .core.collect import paused_collection
from .core.store import Store
from .core.trust import Untrusted
from .model import Config, Job, Schedule

if TYPE_CHECKING:
    from pathlib import Path

VERSION = 6  # 4: every field of Job and Schedule, generically; 5: dates; 6: schedules as rows
FIRE_DAYS = 35  # a fire file holds the windows of the next five weeks
FIRE_RENEW_DAYS = 7  # the full path writes it again when less than this is left


# -- plans: a Config as plain data --------------------------------------------------------------
# Every field of Schedule and Job, generically: tuples and frozensets become lists and back (the
# dataclasses' types say which), so a new config key needs no line here.
_SET_FIELDS = {"days"}
_DATE_SET_FIELDS = {"skip"}  # dates as ISO strings
_DATE_FIELDS = {"on"}


def _plain(value: Any) -> Any:
    from datetime import date

    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, frozenset):
        return [_plain(v) for v in sorted(value)]
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _typed(cls: Any, data: dict[str, Any], **extra: Any) -> Any:
    """``cls`` from its fields' plain data: lists back into tuples (or a frozenset, or dates).
    A key that is not a field of ``cls`` makes it a TypeError: the plan is not believed."""
    special = _special(cls)
    kw = dict(zip(data, _converted([special.get(n) for n in data], data.values()), strict=True))
    kw.update(extra)
    return cls(**kw)


Conversion = Callable[[Any], Any] | None


def _converted(conversions: Sequence[Conversion], values: Iterable[Any]) -> list[Any]:
    """Each plain value typed by its field's conversion (``_special``), or, where it has none,
    a list as a tuple."""
    pairs = zip(conversions, values, strict=True)
    return [(_tuple(v) if isinstance(v, list) else v) if c is None else c(v) for c, v in pairs]


def _tuple(plain: list[Any]) -> tuple[Any, ...]:
    if not plain:  # most schedules' args and skip lists: no generator for nothing
        return ()
    return tuple(tuple(x) if isinstance(x, list) else x for x in plain)


@cache  # Job and Schedule: a plan of 10,000 schedules builds 11,000 of them
def _special(cls: Any) -> dict[str, Callable[[Any], Any]]:
    """The conversion of each of ``cls``'s fields whose plain value is not a list of scalars
    or of lists: a set, dates."""
    from dataclasses import fields
    from datetime import date

    def dates(v: list[str]) -> frozenset[date]:
        return frozenset(date.fromisoformat(x) for x in v) if v else frozenset()

    def day(v: str | None) -> date | None:
        return None if v is None else date.fromisoformat(v)

    names = {f.name for f in fields(cls)}
    special: dict[str, Callable[[Any], Any]] = dict.fromkeys(_SET_FIELDS, frozenset)
    special.update({**dict.fromkeys(_DATE_SET_FIELDS, dates), **dict.fromkeys(_DATE_FIELDS, day)})
    return {k: v for k, v in special.items() if k in names}


@cache
def row_fields() -> tuple[str, ...]:
    """The fields of a schedule's row in a plan, in Schedule's order: all but ``job`` (the
    job's name says it).  A plan names them; one that names others is not believed."""
    return tuple(n for n in _schedule_fields() if n != "job")


@cache
def _schedule_fields() -> tuple[str, ...]:
    from dataclasses import fields

    return tuple(f.name for f in fields(Schedule))


def _schedule(s: Schedule) -> list[Any]:
    return [_plain(getattr(s, name)) for name in row_fields()]


def _schedule_from(row: list[Any], job: str) -> Schedule:
    """A Schedule from its row: positional, each conversion worked out once (``_special``), so
    a plan of 10,000 schedules builds them in a third of the time keyword by keyword took."""
    convert, at = _row_conversions()
    if len(row) != len(convert):
        raise TypeError(f"a schedule row of {len(row)} values, not {len(convert)}")
    values = _converted(convert, row)
    values.insert(at, job)
    return Schedule(*values)


@cache
def _row_conversions() -> tuple[tuple[Conversion, ...], int]:
    """Each row field's conversion, by position, and where ``job`` goes back in."""
    special = _special(Schedule)
    return tuple(special.get(n) for n in row_fields()), _schedule_fields().index("job")


def job_data(job: Job) -> dict[str, Any]:
    from dataclasses import fields

    out = {f.name: _plain(getattr(job, f.name)) for f in fields(job) if f.name != "schedules"}
    out["schedules"] = [_schedule(s) for s in job.schedules]
    return out


def job_from(data: dict[str, Any]) -> Job:
    name = data["name"]
    schedules = tuple(_schedule_from(row, name) for row in data["schedules"])
    return _typed(Job, {k: v for k, v in data.items() if k != "schedules"}, schedules=schedules)  # type: ignore[no-any-return]


def _name(job: str | None) -> str:
    return "_config.json" if job is None else f"{job}.json"


def read_plan(store: Store, config_path: Path, ident: list[int], job: str | None = None) -> Config | None:
    """The config from its plan (only ``job`` in it, when given), or None: missing, refused by
    the store, malformed or stale."""
    try:
        data = json.loads(store.read(store.cache(str(config_path), _name(job)), "plan"))
        if not isinstance(data, dict) or data.get("version") != VERSION:
            return None
        if data.get("schedule_fields") != list(row_fields()):
            return None
        if not core.fresh(core.Stamp.from_dict(data.get("stamp")), str(config_path), ident):
            return None
        with paused_collection():  # thousands of objects, no cycles (as the parse)
            jobs = {job: job_from(data["job"])} if job else {n: job_from(j) for n, j in data["jobs"].items()}
        return Config(
            path=config_path,
            timezone=data["timezone"],
            jobs=jobs,
            kubernetes=dict(data.get("kubernetes") or {}),
        )
    except (OSError, Untrusted, ValueError, KeyError, TypeError, AttributeError, RecursionError):
        return None


def remember(
    store: Store, cfg: Config, ident: list[int], jobs: tuple[str, ...] = (), whole: bool = True
) -> None:
    """Write the whole config's plan (``whole``) and the plans of ``jobs``.  Never raises:
    plans are a cache.  Nothing is written into a state dir that does not exist yet (read
    commands create none), nor within RACY_NS of the config's change (it would never serve)."""
    written = time.time_ns()
    if core.too_soon(ident, written) or not os.path.isdir(store.root):
        return
    stamp = core.Stamp(str(cfg.path), ident, written, []).as_dict()
    head = {
        "version": VERSION,
        "stamp": stamp,
        "timezone": cfg.timezone,
        "kubernetes": cfg.kubernetes,
        "schedule_fields": row_fields(),
    }
    try:
        data = {name: job_data(j) for name, j in cfg.jobs.items()} if whole else {}
        for name in jobs:
            if name in cfg.jobs:
                body = {**head, "job": data[name] if whole else job_data(cfg.jobs[name])}
                store.write(store.cache(str(cfg.path), _name(name)), json.dumps(body).encode(), durable=False)
        if not whole:
            return
        store.write(
            store.cache(str(cfg.path), _name(None)),
            json.dumps({**head, "jobs": data}).encode(),
            durable=False,
        )
        folder = store.cache(str(cfg.path), "x")[:-1]
        for entry in store.listdir(*folder):  # the files of jobs no longer in the config
            stem, dot, ext = entry.rpartition(".")
            if dot and ext in ("json", "fire") and stem not in data and entry != "_config.json":
                store.remove((*folder, entry))
    except (OSError, Untrusted, ValueError):
        pass


# -- fire files ------------------------------------------------------------------------------------
def fire_for(
    config_path: Path, ident: list[int], job: Job, now: datetime, written_ns: int
) -> core.Fire | None:
    """The job's fire file: every window of each schedule that overlaps the horizon, and the
    windows its dates skip."""
    from .dates import undated
    from .windows import windows_between

    zones = []
    for key in sorted({s.timezone for s in job.schedules if s.enabled}):
        found = core.zone_file(key)
        if found is None:
            return None
        zones.append(found)
    a, b = now - timedelta(days=2), now + timedelta(days=FIRE_DAYS)
    schedules = [
        (
            s.id,
            s.enabled,
            [(int(w.start.timestamp()), int(w.end.timestamp())) for w in windows_between(s, a, b)]
            if s.enabled
            else [],
        )
        for s in job.schedules
    ]
    skipped = {}
    for s in job.schedules:
        if s.enabled and (s.skip or s.holidays):
            kept = {w.start for w in windows_between(s, a, b)}
            gone = [w for w in windows_between(undated(s), a, b) if w.start not in kept]
            if gone:
                skipped[s.id] = [(int(w.start.timestamp()), int(w.end.timestamp())) for w in gone]
    stamp = core.Stamp(str(config_path), ident, written_ns, zones)
    return core.Fire(stamp, (int(a.timestamp()), int(b.timestamp())), schedules, skipped)


def read_fire(store: Store, config_path: str, ident: list[int], job: str) -> core.Fire | None:
    """The job's fire file when it is the user's, whole and fresh; else None."""
    try:
        fire = core.parse_fire(store.read(store.cache(config_path, f"{job}.fire"), "fire").decode("utf-8"))
    except (OSError, Untrusted, ValueError, IndexError, UnicodeDecodeError):
        return None
    return fire if core.fresh(fire.stamp, config_path, ident) else None


def refresh_fire(store: Store, config_path: Path, ident: list[int], job: Job, now: datetime) -> bool:
    """Write ``job``'s fire file unless the one there serves the fast lane for another week.
    Never raises: it is a cache.  True when the one there did not serve (none, stale: the
    config, a zone file or the system zone changed, or it ran out): the moments the firing
    also looks whether the install is due for renewal (``renewal``)."""
    if os.name != "posix" or not os.path.isdir(store.root):
        return True
    t = now.timestamp()
    old = read_fire(store, str(config_path), ident, job.name)
    if old is not None and old.covers(t, FIRE_RENEW_DAYS * 86400):
        return False
    written = time.time_ns()
    if core.too_soon(ident, written):
        return True
    fire = fire_for(config_path, ident, job, now, written)
    text = core.format_fire(fire) if fire is not None else None
    if text is None:
        return True
    with contextlib.suppress(OSError, Untrusted, ValueError):
        store.write(store.cache(str(config_path), f"{job.name}.fire"), text.encode("utf-8"), durable=False)
    return True


# -- the firing path -------------------------------------------------------------------------------
def for_firing(store: Store, config_path: Path, job: str | None, now: datetime | None) -> Config:
    """The config for a firing (after the trust checks, which ``config.open_trusted`` makes):
    ``job``'s plan, else the whole config's (from which the job's is written), else the file
    parsed (which writes the plans); then the job's fire file is renewed when it no longer
    serves the fast lane.  Without ``job``: the whole config."""
    return for_firing_noting(store, config_path, job, now)[0]


def for_firing_noting(
    store: Store, config_path: Path, job: str | None, now: datetime | None
) -> tuple[Config, bool]:
    """``for_firing``, and whether the job's fire file had to be renewed (``refresh_fire``)."""
    from . import config as config_mod

    with config_mod.open_trusted(config_path) as opened:
        ident = opened.identity
        cfg = read_plan(store, config_path, ident, job)
        if cfg is None and job is not None:
            cfg = read_plan(store, config_path, ident)
            if cfg is not None and job in cfg.jobs:
                remember(store, cfg, ident, (job,), whole=False)
        if cfg is None:
            cfg = opened.load().config
            remember(store, cfg, ident, (job,) if job else ())
    found = cfg.job(job) if job else None
    renewed = found is not None and now is not None and refresh_fire(store, config_path, ident, found, now)
    return cfg, renewed
