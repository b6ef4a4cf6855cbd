"""The validated config: plain frozen dataclasses, no I/O."""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from .parse import format_days, format_minutes, zone

DEFAULT_RETRIES = 3
DEFAULT_BACKOFF = (10.0, 30.0, 90.0)
DEFAULT_STOP_SIGNAL = "SIGTERM"
DEFAULT_STOP_TIMEOUT = 30.0


DEFAULT_LOG_KEEP = 3


@dataclass(frozen=True, slots=True)
class Schedule:
    id: str
    job: str
    hour: int
    minute: int
    duration: int  # minutes of elapsed time
    days: frozenset[int]  # days a window starts on, Monday = 0
    timezone: str  # IANA name (the schedule's own, or the config's default)
    enabled: bool = True
    args: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    random_delay: float = 0.0  # seconds: each window's start is delayed by a random amount up to this
    wake: bool = False  # wake the machine for the window's start, where the scheduler can
    index: int = 0  # position in the job's schedules array (a one-off window: in its windows array)
    skip: frozenset[date] = frozenset()  # dates no window starts on: its own and its job's (dates.py)
    skip_items: tuple[str, ...] = ()  # its own skip list, as written
    holidays: str | None = None  # a region whose public holidays are skipped (its own, else its job's)
    on: date | None = None  # a one-off window ([[jobs.NAME.windows]]): its only date

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zone(self.timezone)

    @property
    def start_text(self) -> str:
        return f"{self.hour:02d}:{self.minute:02d}"

    @property
    def duration_text(self) -> str:
        return format_minutes(self.duration)

    @property
    def days_text(self) -> str:
        return f"{self.on:%Y-%m-%d}" if self.on is not None else format_days(self.days)


@dataclass(frozen=True, slots=True)
class Job:
    name: str
    command: tuple[str, ...]
    workdir: str | None = None
    env: dict[str, str] = field(default_factory=dict)
    stop_signal: str = DEFAULT_STOP_SIGNAL
    stop_timeout: float = DEFAULT_STOP_TIMEOUT
    retries: int = DEFAULT_RETRIES
    backoff: tuple[float, ...] = DEFAULT_BACKOFF
    schedules: tuple[Schedule, ...] = ()
    on_failure: tuple[str, ...] | None = None  # argv run when the job gives up or cannot start
    on_start: tuple[str, ...] | None = None  # argv run when the job starts
    on_success: tuple[str, ...] | None = None  # argv run when it finishes (exit 0) or is stopped
    ping_url: str | None = None  # GET URL/start, URL, URL/fail (the healthchecks.io convention)
    user: str | None = None  # who a --system install runs the job as
    env_files: tuple[str, ...] = ()  # KEY=VALUE files read at launch (secrets: never rendered or printed)
    limits: dict[str, Any] = field(default_factory=dict)  # nice, io, cpu, memory, tasks (osched.limits)
    log_keep: int = DEFAULT_LOG_KEEP  # output.log rotations kept
    keep_awake: bool = False  # no idle sleep while the job runs (an inhibitor held by its supervisor)
    skip_items: tuple[str, ...] = ()  # the job's skip list, as written (each schedule holds the dates)
    holidays: str | None = None  # the job's holidays region, as written
    on_ac_power: bool = False  # a window starts only on AC power (it waits for it within the window)
    network: bool = False  # a window starts only with a default route up (likewise)
    stop_on_battery: bool = False  # the job is stopped when the machine goes on battery
    kubernetes: dict[str, Any] = field(default_factory=dict)  # [jobs.NAME.kubernetes], validated

    def schedule(self, schedule_id: str) -> Schedule | None:
        for s in self.schedules:
            if s.id == schedule_id:
                return s
        return None

    @property
    def enabled_schedules(self) -> tuple[Schedule, ...]:
        return tuple(s for s in self.schedules if s.enabled)


@dataclass(frozen=True, slots=True)
class Config:
    path: Path
    timezone: str
    jobs: dict[str, Job]
    kubernetes: dict[str, str] = field(default_factory=dict)  # [kubernetes]: namespace, context

    def job(self, name: str) -> Job | None:
        return self.jobs.get(name)
