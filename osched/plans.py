"""Compiled plans: the validated config as plain data, so a timer firing costs the same at 10 and
at 10,000 schedules.

``<state>/plans/<config id>/`` holds one ``<job>.json`` per job and ``config.json`` with every
job, each stamped with the config file's identity (device, inode, size, mtime and ctime in
ns).  A firing opens and checks the config as always (``trust.open_config``),
compares the identity of that open descriptor with its job's plan, and uses the plan when they
match; anything else (an edit, a chmod, a rename over it, a missing or unreadable plan) falls
back to reading and validating the whole file, which then writes the plans again.  Plans live
in the state dir, which the trust check covers, and are written atomically (0600).  A plan
written within a second of the file's last change is not used (file times are coarse: an edit
in the same tick would keep the identity), so a plan serves from its first rewrite after that.

Standard library only: this is on the path every timer firing takes.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from .model import Config, Job, Schedule

VERSION = 2
RACY_NS = 1_000_000_000  # a config changed less than this before its plan was written: parse it


def identity(st: os.stat_result) -> list[int]:
    return [st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns]


def plan_dir(state: Path, config_path: Path) -> Path:
    """One folder per config file; the key is cheap (no hashlib on the skip path), and a plan
    whose recorded config path differs is not used, so a collision only costs a parse."""
    import zlib

    return state / "plans" / f"{zlib.crc32(str(config_path).encode('utf-8')):08x}"


def _schedule(s: Schedule) -> dict[str, Any]:
    return {
        "id": s.id,
        "hour": s.hour,
        "minute": s.minute,
        "duration": s.duration,
        "days": sorted(s.days),
        "timezone": s.timezone,
        "enabled": s.enabled,
        "args": list(s.args),
        "env": s.env,
        "index": s.index,
    }


def job_data(job: Job) -> dict[str, Any]:
    return {
        "name": job.name,
        "command": list(job.command),
        "workdir": job.workdir,
        "env": job.env,
        "stop_signal": job.stop_signal,
        "stop_timeout": job.stop_timeout,
        "retries": job.retries,
        "backoff": list(job.backoff),
        "on_failure": list(job.on_failure) if job.on_failure else None,
        "schedules": [_schedule(s) for s in job.schedules],
        "kubernetes": job.kubernetes,
    }


def job_from(data: dict[str, Any]) -> Job:
    schedules = tuple(
        Schedule(
            id=s["id"],
            job=data["name"],
            hour=s["hour"],
            minute=s["minute"],
            duration=s["duration"],
            days=frozenset(s["days"]),
            timezone=s["timezone"],
            enabled=s["enabled"],
            args=tuple(s["args"]),
            env=dict(s["env"]),
            index=s["index"],
        )
        for s in data["schedules"]
    )
    return Job(
        name=data["name"],
        command=tuple(data["command"]),
        workdir=data["workdir"],
        env=dict(data["env"]),
        stop_signal=data["stop_signal"],
        stop_timeout=float(data["stop_timeout"]),
        retries=int(data["retries"]),
        backoff=tuple(float(b) for b in data["backoff"]),
        schedules=schedules,
        on_failure=tuple(data["on_failure"]) if data.get("on_failure") else None,
        kubernetes=dict(data.get("kubernetes") or {}),
    )


def write(
    state: Path, cfg: Config, ident: list[int], jobs: tuple[str, ...] | None = None, whole: bool = True
) -> None:
    """Write the whole config's plan and the plans of ``jobs`` (every job's when None); never
    raises: plans are a cache.  A command writes only the whole config's (one file, not
    10,000); a firing writes its own job's when it first needs it (``job_plan``, ``whole=False``)."""
    import time

    from .fsutil import atomic_write

    directory = plan_dir(state, cfg.path)
    written = time.time_ns()
    if max(ident[3], ident[4]) >= written - RACY_NS:
        return  # a plan written this soon after the file's change would never be used
    stamp = _stamp(cfg, ident, written)
    try:
        if not state.is_dir():  # read commands create no state dir
            return
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        wanted = cfg.jobs if whole else {n: cfg.jobs[n] for n in jobs or () if n in cfg.jobs}
        data = {name: job_data(j) for name, j in wanted.items()}
        for name in data if jobs is None else [n for n in jobs if n in data]:
            body = json.dumps({**stamp, "job": data[name]}).encode()
            atomic_write(directory / f"{name}.json", body, 0o600, durable=False)
        if not whole:
            return
        atomic_write(
            directory / "config.json", json.dumps({**stamp, "jobs": data}).encode(), 0o600, durable=False
        )
        with os.scandir(directory) as entries:  # the files of jobs no longer in the config
            for entry in entries:
                stem, dot, ext = entry.name.rpartition(".")
                if dot and ext in ("json", "fire") and stem not in data and entry.name != "config.json":
                    os.unlink(entry.path)
    except (OSError, ValueError):
        pass


def _stamp(cfg: Config, ident: list[int], written_ns: int) -> dict[str, Any]:
    from .fire import system_zone_key

    return {
        "system_zone": system_zone_key(),
        "version": VERSION,
        "identity": ident,
        "written_ns": written_ns,
        "config": str(cfg.path),
        "timezone": cfg.timezone,
        "kubernetes": cfg.kubernetes,
    }


def job_plan(state: Path, config_path: Path, ident: list[int], job: str) -> Config | None:
    """The config for a firing of ``job``: its own plan; else the whole config's plan, from
    which the job's own is written for the next firing; None when neither serves (parse)."""
    cached = job_config(state, config_path, ident, job)
    if cached is not None:
        return cached
    whole = whole_config(state, config_path, ident)
    if whole is not None and job in whole.jobs:
        write(state, whole, ident, (job,), whole=False)
    return whole


FIRE_DAYS = 35  # a fire file holds the windows of the next five weeks
FIRE_RENEW_DAYS = 7  # the full path writes it again when less than this is left


def _zone_file(key: str) -> list[str] | None:
    """Where ``zoneinfo`` reads ``key`` from, with the file's mtime and size; None when the zone
    comes from elsewhere (the tzdata package): then no fire file is written."""
    import zoneinfo

    for root in zoneinfo.TZPATH:
        candidate = os.path.join(root, key)
        try:
            st = os.stat(candidate)
        except OSError:
            continue
        return [candidate, str(st.st_mtime_ns), str(st.st_size)]
    return None


def fire_text(config_path: Path, ident: list[int], job: Job, now: datetime, written_ns: int) -> str | None:
    """The job's fire file (``fire.py`` reads it): the stamp, the zone files, and every window
    of each schedule that overlaps the horizon, as UTC seconds.  None if it cannot be written."""
    from . import fire
    from .windows import windows_between

    if "\n" in str(config_path):
        return None
    a, b = now - timedelta(days=2), now + timedelta(days=FIRE_DAYS)
    lines = [
        fire.FORMAT,
        f"config {config_path}",
        "identity " + " ".join(str(i) for i in ident),
        f"written {written_ns}",
        f"horizon {int(a.timestamp())} {int(b.timestamp())}",
    ]
    tzpath = os.environ.get("PYTHONTZPATH", "")
    if "\n" in tzpath:
        return None
    lines.append(f"tzpath {tzpath}")
    lines.append(f"systemzone {fire.system_zone_key()}")
    for key in sorted({s.timezone for s in job.schedules if s.enabled}):
        found = _zone_file(key)
        if found is None:
            return None
        lines.append("zone " + " ".join(found))
    for s in job.schedules:
        lines.append(f"schedule {s.id} {int(s.enabled)}")
        if s.enabled:
            lines.extend(
                f"w {int(w.start.timestamp())} {int(w.end.timestamp())}" for w in windows_between(s, a, b)
            )
    return "\n".join(lines) + "\n"


def refresh_fire(state: Path, config_path: Path, ident: list[int], job: Job, now: datetime) -> None:
    """Write ``job``'s fire file unless the one there serves the fast lane for another week
    (never raises: it is a cache).  Called by the full path of a firing."""
    if os.name != "posix":
        return
    import time

    from . import fire
    from .fsutil import atomic_write

    path = Path(fire.fire_path(str(state), str(config_path), job.name))
    t = now.timestamp()
    try:
        old = fire.Fire(fire.read_nofollow(path).decode("utf-8"))
        if old.fresh(str(config_path), ident, t) and old.horizon[1] > t + FIRE_RENEW_DAYS * 86400:
            return
    except (OSError, ValueError, IndexError):
        pass
    written = time.time_ns()
    if max(ident[3], ident[4]) >= written - RACY_NS:
        return  # as for the plans: it would never be used
    text = fire_text(config_path, ident, job, now, written)
    try:
        if text is not None and state.is_dir():
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            atomic_write(path, text.encode("utf-8"), 0o600, durable=False)
    except OSError:
        pass


def _read(path: Path, config_path: Path, ident: list[int]) -> dict[str, Any] | None:
    from .fire import read_nofollow

    try:
        data: dict[str, Any] = json.loads(read_nofollow(path))
    except (OSError, ValueError):
        return None
    ok = isinstance(data, dict) and data.get("version") == VERSION and data.get("identity") == ident
    if not ok or data.get("config") != str(config_path):
        return None
    from .fire import system_zone_key

    if data.get("system_zone") != system_zone_key():
        return None  # a config without `timezone` means the system zone, which changed
    # racily clean (as git calls it): file times are coarse, so an edit in the same tick as the
    # plan's writing could keep the identity; such a plan is not used
    written = data.get("written_ns")
    if not isinstance(written, int) or max(ident[3], ident[4]) >= written - RACY_NS:
        return None
    return data


def job_config(state: Path, config_path: Path, ident: list[int], job: str) -> Config | None:
    """A Config holding only ``job``, from its plan, or None (the caller parses the file)."""
    data = _read(plan_dir(state, config_path) / f"{job}.json", config_path, ident)
    if data is None:
        return None
    try:
        return Config(
            path=config_path,
            timezone=data["timezone"],
            jobs={job: job_from(data["job"])},
            kubernetes=dict(data.get("kubernetes") or {}),
        )
    except (KeyError, TypeError, ValueError):
        return None


def whole_config(state: Path, config_path: Path, ident: list[int]) -> Config | None:
    data = _read(plan_dir(state, config_path) / "config.json", config_path, ident)
    if data is None:
        return None
    try:
        jobs = {name: job_from(j) for name, j in data["jobs"].items()}
        return Config(
            path=config_path,
            timezone=data["timezone"],
            jobs=jobs,
            kubernetes=dict(data.get("kubernetes") or {}),
        )
    except (KeyError, TypeError, ValueError, AttributeError):
        return None
