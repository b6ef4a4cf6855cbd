"""A job and a schedule as the outside world gets them: the dataclasses ``osched.api`` returns
and, through ``as_json``, the objects of every ``--json`` (``list``, ``show``, the editing
commands).  One shape for both, defined once here; ``osched.api`` re-exports the classes
(nothing in this module is public by its own name)."""

from __future__ import annotations

from dataclasses import dataclass, field, fields, is_dataclass
from datetime import datetime
from typing import Any

from .core.days import DAY_NAMES
from .model import (
    DEFAULT_BACKOFF,
    DEFAULT_LOG_KEEP,
    DEFAULT_RETRIES,
    DEFAULT_STOP_SIGNAL,
    DEFAULT_STOP_TIMEOUT,
)
from .model import Job as JobModel
from .model import Schedule as ScheduleModel


@dataclass(frozen=True, kw_only=True)
class Schedule:
    """A weekly schedule, or a one-off window (``date`` set).  Fields in ``--json`` order."""

    id: str
    start: str  # "HH:MM", wall clock in ``timezone``
    duration: str  # as text: "8h", "1h30m"
    duration_minutes: int
    days: tuple[str, ...]  # "mon" .. "sun"; a one-off window: its date's weekday
    timezone: str
    enabled: bool
    args: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    random_delay_seconds: float = 0.0
    wake: bool = False
    one_off: bool = False  # a [[jobs.NAME.windows]] entry: ``days`` is its date's weekday
    date: str | None = None  # a one-off window's date (YYYY-MM-DD)
    skip: tuple[str, ...] = ()
    holidays: str | None = None
    job: str = ""


@dataclass(frozen=True, kw_only=True)
class Restart:
    retries: int
    backoff_seconds: tuple[float, ...]


@dataclass(frozen=True, kw_only=True)
class Job:
    """Every key of a job.  Fields in ``--json`` order (and ``show``'s)."""

    name: str
    command: tuple[str, ...]
    workdir: str | None = None
    env: dict[str, str] = field(default_factory=dict)
    stop_signal: str = DEFAULT_STOP_SIGNAL
    stop_timeout_seconds: float = DEFAULT_STOP_TIMEOUT
    restart: Restart = Restart(retries=DEFAULT_RETRIES, backoff_seconds=DEFAULT_BACKOFF)
    on_failure: tuple[str, ...] | None = None
    on_start: tuple[str, ...] | None = None
    on_success: tuple[str, ...] | None = None
    ping_url: str | None = None
    user: str | None = None
    env_files: tuple[str, ...] = ()
    limits: dict[str, Any] = field(default_factory=dict)
    log_keep: int = DEFAULT_LOG_KEEP
    keep_awake: bool = False
    skip: tuple[str, ...] = ()
    holidays: str | None = None
    on_ac_power: bool = False
    network: bool = False
    stop_on_battery: bool = False
    kubernetes: dict[str, Any] | None = None
    schedules: tuple[Schedule, ...] = ()


@dataclass(frozen=True)
class NextRun:
    """Where a job stands: the web app's "next run" (``Osched.next_run``)."""

    job: str
    has_schedules: bool
    is_currently_running: bool  # a window is open
    active_schedule_count: int
    next_start: datetime | None
    next_end: datetime | None
    process_running: bool  # the job's process runs now (started by a window or by hand)
    pid: int | None


@dataclass(frozen=True)
class Window:
    job: str
    schedule: str
    start: datetime
    end: datetime


@dataclass(frozen=True)
class Finding:
    level: str  # "ok", "warn", "FAIL"
    message: str
    fix: str


@dataclass(frozen=True)
class Event:
    time: datetime
    job: str | None
    event: str
    schedule: str | None
    reason: str | None
    fields: dict[str, Any]


@dataclass(frozen=True)
class Override:
    """A start or stop override in force (``osched start/stop`` write them)."""

    job: str
    kind: str  # "start" or "stop"
    created: datetime | None
    expires: datetime
    reason: str


@dataclass(frozen=True)
class Skips:
    """A skip list after ``skip``/``unskip``: ``changed`` the items added (new ones only) or
    removed; ``skip`` the whole list now."""

    job: str
    schedule: str | None
    changed: tuple[str, ...]
    skip: tuple[str, ...]


class UninstallResult(list[str]):
    """What ``uninstall`` says, line by line (a list, as in 1.0), and the targets it was
    removed from."""

    def __init__(self, lines: list[str], targets: list[str]) -> None:
        super().__init__(lines)
        self.targets = targets


class InstallResult(list[str]):
    """What ``install`` says, line by line (a list, as in 1.0), and what it did."""

    def __init__(self, lines: list[str], target: str, changed: bool, started: str | None) -> None:
        super().__init__(lines)
        self.target, self.changed, self.started = target, changed, started


def schedule_record(s: ScheduleModel) -> Schedule:
    return Schedule(
        job=s.job,
        id=s.id,
        start=s.start_text,
        duration_minutes=s.duration,
        days=tuple(DAY_NAMES[d] for d in sorted(s.days)),
        timezone=s.timezone,
        enabled=s.enabled,
        date=s.on.isoformat() if s.on is not None else None,
        skip=tuple(s.skip_items),
        duration=s.duration_text,
        args=tuple(s.args),
        env=dict(s.env),
        random_delay_seconds=s.random_delay,
        wake=s.wake,
        one_off=s.on is not None,
        holidays=s.holidays,
    )


def job_record(job: JobModel) -> Job:
    return Job(
        name=job.name,
        command=tuple(job.command),
        schedules=tuple(schedule_record(s) for s in job.schedules),
        skip=tuple(job.skip_items),
        holidays=job.holidays,
        workdir=job.workdir,
        env=dict(job.env),
        stop_signal=job.stop_signal,
        stop_timeout_seconds=job.stop_timeout,
        restart=Restart(retries=job.retries, backoff_seconds=tuple(job.backoff)),
        on_failure=tuple(job.on_failure) if job.on_failure else None,
        on_start=tuple(job.on_start) if job.on_start else None,
        on_success=tuple(job.on_success) if job.on_success else None,
        ping_url=job.ping_url,
        user=job.user,
        env_files=tuple(job.env_files),
        limits=dict(job.limits),
        log_keep=job.log_keep,
        keep_awake=job.keep_awake,
        on_ac_power=job.on_ac_power,
        network=job.network,
        stop_on_battery=job.stop_on_battery,
        kubernetes=dict(job.kubernetes) or None,
    )


def as_json(value: Any) -> Any:
    """A record as JSON-ready data: dataclasses become objects (in field order), tuples lists."""
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: as_json(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, (list, tuple)):
        return [as_json(v) for v in value]
    if isinstance(value, dict):
        return {k: as_json(v) for k, v in value.items()}
    return value
