"""Load and validate the TOML config.

Reading uses ``tomli`` (the standard library's ``tomllib``, compiled: three times as fast on a
10,000-schedule file), or ``tomllib`` where tomli is missing; every
error names the file, the key path (``jobs.agent.schedules[0].start``) and, for TOML syntax
errors, the line and column.  Editing (round trip, keeping comments) lives in ``edit.py``.
"""

from __future__ import annotations

import errno
import os
import re
from dataclasses import dataclass
from functools import lru_cache
from itertools import repeat
from pathlib import Path
from typing import Any

from . import dateconfig, parse
from .core.collect import paused_collection
from .errors import ConfigError
from .model import (
    DEFAULT_BACKOFF,
    DEFAULT_RETRIES,
    DEFAULT_STOP_SIGNAL,
    DEFAULT_STOP_TIMEOUT,
    Config,
    Job,
    Schedule,
)
from .validators import (
    JOB_KEYS,
    JOB_REQUIRED,
    SCHEDULE_KEYS,
    SCHEDULE_REQUIRED,
    TOP_KEYS,
    _call,
    _env,
    _flag,
    _job_extras,
    _kube_defaults,
    _kube_job,
    _quote,
    _restart,
    _strings,
    _unknown,
    _zone,
)

_LINE_COL = re.compile(r"\s*\(at line (\d+), column (\d+)\)\s*$")
_AT_END = re.compile(r"\s*\(at end of document\)\s*$")


def read_error(e: OSError, path: Path) -> ConfigError:
    """The one-line error for a config that cannot be read."""
    if isinstance(e, FileNotFoundError):
        return ConfigError("config file not found (run 'osched init' or pass --config PATH)", str(path))
    if isinstance(e, IsADirectoryError):
        return ConfigError("is a directory, not a config file", str(path))
    return ConfigError(f"cannot read config: {e.strerror}", str(path))


def read_text(path: Path) -> str:
    """The config's text: a regular file (a FIFO or a device is refused at once, without
    blocking), at most MAX_CONFIG_BYTES."""
    import stat

    from .fsutil import read_fd

    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise ConfigError("is not a regular file (a config is a TOML file)", str(path))
            data = read_fd(fd, MAX_CONFIG_BYTES)
        finally:
            os.close(fd)
    except OSError as e:
        if e.errno == errno.EFBIG:
            too_large = f"is larger than a config can be ({MAX_CONFIG_BYTES >> 20} MB)"
            raise ConfigError(too_large, str(path)) from None
        raise read_error(e, path) from None
    return decode(data, path)


def decode(data: bytes, path: Path) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise ConfigError("config is not valid UTF-8", f"{path}:{line}") from None


# a key or table name of 65 dotted parts or more: TOML parsers take quadratic time on them (a
# 50,000-part key: 75 s in tomllib, minutes and gigabytes in tomlkit); osched's have at most 4
_DEEP_KEY = re.compile(r"^[ \t]*\[{0,2}(?:[^=#\n\[\]\"']*?\.){64}", re.M)


def check_keys(text: str, path: Path) -> None:
    """Refuse, in one line and at once, a key no TOML parser reads in bounded time."""
    if text.count(".") < 64 or max(map(str.count, text.split("\n"), repeat("."))) < 64:
        return  # no line has 64 dots (the search below takes 30 ms on 10,000 schedules)
    m = _DEEP_KEY.search(text)
    if m is not None:
        line = text.count("\n", 0, m.start()) + 1
        raise ConfigError("a dotted key of more than 64 parts (osched's have at most 4)", f"{path}:{line}")


def parse_toml(text: str, path: Path) -> dict[str, Any]:
    check_keys(text, path)
    from .tomlread import toml_reader

    tomllib = toml_reader()  # a firing whose plan is fresh parses no TOML (cache.py)
    try:
        data: dict[str, Any] = tomllib.loads(text)
        return data
    except RecursionError:
        raise ConfigError("TOML nested too deeply", str(path)) from None
    except tomllib.TOMLDecodeError as e:
        message = str(e)
        m = _LINE_COL.search(message)
        if m:
            where = f"{path}:{m.group(1)}:{m.group(2)}"
            message = message[: m.start()]
        else:
            lines = text.count("\n") + 1
            where = f"{path}:{lines}"
            message = _AT_END.sub("", message)
        raise ConfigError(f"TOML syntax error: {message[:1].lower()}{message[1:]}", where) from None


def load(path: Path, *, host_zone: str | None = None) -> Config:
    """Read, parse and validate ``path``."""
    text = read_text(path)
    with paused_collection():
        return validate(parse_toml(text, path), path, host_zone=host_zone)


@dataclass(frozen=True)
class Loaded:
    """A config as one command read it: the bytes parsed, the validated config, and the
    identity of the descriptor the trust check opened (which keys the caches)."""

    path: Path
    identity: list[int]
    data: bytes
    config: Config


class Opened:
    """The config file, opened once and checked on that descriptor (``trust.open_config``);
    a context manager that closes it.  ``load`` parses what was read from it."""

    def __init__(self, path: Path) -> None:
        from .core.cache import identity
        from .trust import open_config

        self.path = path
        try:
            self.fd, st = open_config(path)
        except OSError as e:
            raise read_error(e, path) from None
        self.identity = identity(st)

    def __enter__(self) -> Opened:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def read(self) -> bytes:
        from .fsutil import read_fd

        try:
            return read_fd(self.fd, MAX_CONFIG_BYTES)
        except OSError as e:
            raise read_error(e, self.path) from None

    def load(self) -> Loaded:
        data = self.read()
        with paused_collection():
            cfg = validate(parse_toml(decode(data, self.path), self.path), self.path)
        return Loaded(self.path, self.identity, data, cfg)


MAX_CONFIG_BYTES = 64 << 20  # /dev/zero must not read until memory runs out


def open_trusted(path: Path) -> Opened:
    """The config opened through the trust check (``trust.InsecureError`` for a refusal,
    ``ConfigError`` when it cannot be read)."""
    return Opened(path)


def written(path: Path, data: bytes, cfg: Config, st: os.stat_result | None) -> Loaded:
    """What an edit just wrote to ``path`` (``data``, validated as ``cfg``; ``st``: the new
    file's stat, from the write) as this command's load: the edit opened the old file through
    the trust check, and the new one is the user's own file in the same folder, so nothing is
    parsed or opened again.  Without ``st`` (another file took the name): loaded afresh."""
    if st is None:
        return load_trusted(path)
    from .core.cache import identity

    return Loaded(path, identity(st), data, cfg)


def load_trusted(path: Path) -> Loaded:
    """Read, parse and validate ``path`` through the trust check: the bytes parsed are the
    bytes of the checked file.  Pure: it writes nothing (the caches are ``cache.py``'s)."""
    with open_trusted(path) as opened:
        return opened.load()


def validate(doc: dict[str, Any], path: Path, *, host_zone: str | None = None) -> Config:
    where = str(path)

    def fail(key: str, message: str) -> ConfigError:
        return ConfigError(message, where, key)

    _unknown(doc, TOP_KEYS, "", fail)
    tz_name = doc.get("timezone")
    if tz_name is None:
        if host_zone is None:
            from .tzhost import system_zone_name

            host_zone = system_zone_name(override=False)  # what the entrypoints see too
        tz_name = host_zone
    else:
        _zone(tz_name, "timezone", fail)

    jobs_raw = doc.get("jobs", {})
    if not isinstance(jobs_raw, dict):
        raise fail("jobs", "must be a table of jobs ([jobs.NAME])")
    jobs: dict[str, Job] = {}
    for name, raw in jobs_raw.items():
        key = f"jobs.{_quote(name)}"
        try:
            parse.parse_id(name, "job name")
        except ValueError as e:
            raise fail(key, str(e)) from None
        if not isinstance(raw, dict):
            raise fail(key, "must be a table")
        jobs[name] = _job(name, raw, key, tz_name, fail)
    kube = _kube_defaults(doc.get("kubernetes", {}), fail)
    return Config(path=path, timezone=tz_name, jobs=jobs, kubernetes=kube)


def _job(name: str, raw: dict[str, Any], key: str, tz_name: str, fail: Any) -> Job:
    _unknown(raw, JOB_KEYS, key, fail)
    for required in JOB_REQUIRED:
        if required not in raw:
            raise fail(f"{key}.{required}", "missing: every job needs a command (a list of strings)")
    command = _strings(raw["command"], f"{key}.command", fail, nonempty=True)
    extras = _job_extras(raw, key, fail)
    workdir = raw.get("workdir")
    if workdir is not None and (not isinstance(workdir, str) or not workdir or "\x00" in workdir):
        raise fail(f"{key}.workdir", "must be a non-empty path string")
    env = _env(raw.get("env", {}), f"{key}.env", fail)
    stop_signal = _call(
        parse.parse_signal, raw.get("stop_signal", DEFAULT_STOP_SIGNAL), f"{key}.stop_signal", fail
    )
    stop_timeout = _call(
        parse.parse_seconds,
        raw.get("stop_timeout", DEFAULT_STOP_TIMEOUT),
        f"{key}.stop_timeout",
        fail,
    )
    retries: int = DEFAULT_RETRIES
    backoff: tuple[float, ...] = DEFAULT_BACKOFF
    if "restart" in raw:
        retries, backoff = _restart(raw["restart"], f"{key}.restart", fail)
    schedules = _schedules(name, raw.get("schedules", []), key, tz_name, fail)
    skip_items, skip, region = dateconfig.skip_and_holidays(raw, key, fail)
    if "windows" in raw:
        taken = {s.id for s in schedules}
        schedules += dateconfig.one_off_windows(name, raw["windows"], key, tz_name, fail, taken)
    schedules = dateconfig.with_job_dates(schedules, skip, region)
    kube = _kube_job(raw["kubernetes"], f"{key}.kubernetes", fail) if "kubernetes" in raw else {}
    return Job(
        name=name,
        command=command,
        **extras,
        workdir=workdir,
        env=env,
        stop_signal=stop_signal,
        stop_timeout=stop_timeout,
        retries=retries,
        backoff=backoff,
        schedules=schedules,
        kubernetes=kube,
        skip_items=skip_items,
        holidays=region,
    )


def _schedules(name: str, raw: object, key: str, tz_name: str, fail: Any) -> tuple[Schedule, ...]:
    if not isinstance(raw, list):
        raise fail(f"{key}.schedules", "must be an array of tables ([[jobs.NAME.schedules]])")
    schedules: list[Schedule] = []
    seen: set[str] = set()
    for i, s in enumerate(raw):
        sid = s.get("id") if isinstance(s, dict) else None
        named = isinstance(sid, str) and parse.ID_RE.fullmatch(sid)
        skey = f"{key}.schedules[{sid if named else i}]"  # the id a user searches for, when it has one
        if not isinstance(s, dict):
            raise fail(skey, "must be a table")
        sched = _schedule(name, i, s, skey, tz_name, fail)
        if sched.id in seen:
            raise fail(f"{key}.schedules[{i}].id", f"duplicate schedule id {sched.id!r} in job {name!r}")
        seen.add(sched.id)
        schedules.append(sched)
    return tuple(schedules)


def _schedule(job: str, index: int, raw: dict[str, Any], key: str, tz_name: str, fail: Any) -> Schedule:
    _unknown(raw, SCHEDULE_KEYS, key, fail)
    for required in SCHEDULE_REQUIRED:
        if required not in raw:
            raise fail(f"{key}.{required}", "missing (every schedule needs id, start, duration, days)")
    sid = _call(_schedule_id, raw["id"], f"{key}.id", fail)
    hour, minute = _call(parse.parse_time, raw["start"], f"{key}.start", fail)
    duration = _call(parse.parse_duration, raw["duration"], f"{key}.duration", fail)
    days = _call(parse.parse_days, raw["days"], f"{key}.days", fail)
    zone_name = _zone(raw["timezone"], f"{key}.timezone", fail) if "timezone" in raw else tz_name
    enabled = _flag(raw, "enabled", True, key, fail)
    args = _strings(raw["args"], f"{key}.args", fail) if "args" in raw else ()
    env = _env(raw["env"], f"{key}.env", fail) if "env" in raw else {}
    overlap = self_overlap(days, duration)
    if overlap:
        raise fail(f"{key}.duration", overlap)
    wake = _flag(raw, "wake", False, key, fail)
    random_delay = 0.0
    if "random_delay" in raw:
        random_delay = _call(parse.parse_seconds, raw["random_delay"], f"{key}.random_delay", fail)
        if random_delay >= duration * 60:
            raise fail(
                f"{key}.random_delay",
                f"must be shorter than the window ({parse.format_minutes(duration)}): "
                "the start is delayed by up to this, and the stop still comes at the window's end",
            )
    skip_items, skip, region = dateconfig.skip_and_holidays(raw, key, fail)
    return Schedule(
        skip_items=skip_items,
        skip=skip,
        holidays=region,
        id=sid,
        job=job,
        hour=hour,
        minute=minute,
        duration=duration,
        days=days,
        timezone=zone_name,
        enabled=enabled,
        args=args,
        env=env,
        random_delay=random_delay,
        wake=wake,
        index=index,
    )


def _schedule_id(value: object) -> str:
    return parse.parse_id(value, "schedule id")


@lru_cache(maxsize=4096)  # pure; 10,000 schedules have a few hundred (days, duration) pairs
def self_overlap(days: frozenset[int], duration: int) -> str | None:
    """Why a schedule's own windows would overlap each other, or None.

    Windows start on the listed days; each must end before the next one starts.  The check
    uses calendar days (24 h each): on a DST change day the wall-clock gap is an hour shorter
    or longer, and the window arithmetic handles that (docs/schedules.md).
    """
    ordered = sorted(days)
    for i, d in enumerate(ordered):
        nxt = ordered[(i + 1) % len(ordered)]
        gap = (nxt - d) % 7 or 7
        if duration > gap * 1440:
            from .core.days import DAY_NAMES
            from .parse import format_minutes

            return (
                f"windows would overlap: a {format_minutes(duration)} window starting "
                f"{DAY_NAMES[d]} runs past the next start on {DAY_NAMES[nxt]} "
                f"({format_minutes(gap * 1440)} later)"
            )
    return None
