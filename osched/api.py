"""osched's public Python API (docs/api.md): everything a program needs to keep its schedules
in osched instead of an in-process scheduler.

    from osched.api import Osched

    o = Osched("~/.config/osched/osched.toml")
    o.add_job("agent", ["python3", "-m", "agent"])
    o.add_schedule("agent", start="22:00", duration="8h", days="mon-fri")
    o.install()
    print(o.next_run("agent"))

Nothing else in ``osched`` is public.  Each call is one command's work, as the CLI does it
(the same service layer, ``services.App``): it reads the config afresh, an edit validates the
whole file and replaces it atomically under the config's lock, and an installed config is
installed again.  So threads and processes may call at once and every edit lands.  Errors
are ``Error`` and its subclasses, with the CLI's one-line messages.  ``API_VERSION`` follows
docs/api.md's deprecation policy.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from .errors import ConfigError, UsageError
from .errors import OschedError as Error
from .runner import ToolError

API_VERSION = "1.0"

__all__ = [
    "API_VERSION",
    "ConfigError",
    "Error",
    "Event",
    "Finding",
    "Job",
    "NextRun",
    "Osched",
    "Schedule",
    "ToolError",
    "UsageError",
    "Window",
]


@dataclass(frozen=True)
class Schedule:
    """A weekly schedule, or a one-off window (``date`` set)."""

    job: str
    id: str
    start: str  # "HH:MM", wall clock in ``timezone``
    duration_minutes: int
    days: tuple[str, ...]  # "mon" .. "sun"; a one-off window: its date's weekday
    timezone: str
    enabled: bool
    date: str | None = None  # a one-off window's date (YYYY-MM-DD)
    skip: tuple[str, ...] = ()


@dataclass(frozen=True)
class Job:
    name: str
    command: tuple[str, ...]
    schedules: tuple[Schedule, ...]
    skip: tuple[str, ...] = ()
    holidays: str | None = None


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


class Osched:
    """One config (``config``: a path; None: ``$OSCHED_CONFIG`` or the default) and its state
    dir (None: ``$OSCHED_STATE_DIR`` or the default).  Cheap to make; holds nothing open."""

    def __init__(self, config: str | Path | None = None, state_dir: str | Path | None = None) -> None:
        self._config = None if config is None else str(Path(config).expanduser())
        self._state = None if state_dir is None else str(Path(state_dir).expanduser())

    def _app(self) -> Any:
        from .services import App

        return App(config_flag=self._config, state_flag=self._state)

    @property
    def config_path(self) -> Path:
        return Path(self._app().config_path)

    # -- reading ------------------------------------------------------------------------------------
    def jobs(self) -> list[Job]:
        return [_job(j) for j in self._app().load().jobs.values()]

    def job(self, name: str) -> Job:
        app = self._app()
        return _job(app.job(app.load(), name))

    def next_run(self, job: str) -> NextRun:
        """The seed's "next run": a schedule whose window is open counts as active unless a
        stop override holds; ``next_start`` (the earliest start of the schedules outside their
        windows) only when none is active; ``next_end`` the latest end among active ones."""
        from .runtime.proc import default_procs
        from .windows import around

        app = self._app()
        spec = app.job(app.load(), job)
        now = app.now
        opened, starts = [], []
        for s in spec.enabled_schedules:
            now_open, nxt = around(s, now)
            if now_open:
                opened += now_open
            elif nxt is not None:
                starts.append(nxt.start)
        if app.state.active_override(job, "stop", now) is not None:
            opened = []
        st = app.state.read_state(job, now, read_only=True)
        running = bool(default_procs().alive(st.pid, st.pid_start)) if st.pid else False
        return NextRun(
            job=job,
            has_schedules=bool(spec.enabled_schedules),
            is_currently_running=bool(opened),
            active_schedule_count=len({w.schedule.id for w in opened}),
            next_start=min(starts) if starts and not opened else None,
            next_end=max(w.end for w in opened) if opened else None,
            process_running=running,
            pid=st.pid if running else None,
        )

    def upcoming(self, job: str | None = None, count: int = 10) -> list[Window]:
        from .views import next_windows

        app = self._app()
        cfg = app.load()
        spec = app.job(cfg, job) if job else None
        return [
            Window(w.schedule.job, w.schedule.id, w.start, w.end)
            for w in next_windows(cfg, spec, app.now, count)
        ]

    def events(self, job: str | None = None, count: int = 20) -> list[Event]:
        app = self._app()
        out = []
        for rec in app.state.events(job, count):
            rest = {k: v for k, v in rec.items() if k not in ("time", "job", "event", "schedule", "reason")}
            out.append(
                Event(
                    datetime.fromisoformat(rec["time"]),
                    rec.get("job"),
                    rec["event"],
                    rec.get("schedule"),
                    rec.get("reason"),
                    rest,
                )
            )
        return out

    def doctor(self) -> list[Finding]:
        from .doctor import run_checks

        return [Finding(f.level, f.message, f.fix) for f in run_checks(self._app().render_ctx())]

    # -- editing ------------------------------------------------------------------------------------
    def add_job(self, name: str, command: list[str], **keys: Any) -> Job:
        """A new job; a bare program name is stored as its absolute path on this process's
        PATH (a timer's PATH is bare).  ``keys``: ``workdir``, ``env``, ``stop_signal``,
        ``stop_timeout``, ``retries``, ``backoff`` and the other job keys of docs/config.md."""
        from .parse import parse_id
        from .resolve import resolve

        _check(lambda v: parse_id(v, "job name"), name, "name")
        app = self._app()

        def add(e: Any) -> None:
            e.check_new_job(name)
            argv, _ = resolve(list(command), "command")
            e.add_job(name, argv, **keys)

        cfg, _ = app.edit(add, job=name)
        app.resync()
        return _job(app.job(cfg, name))

    def set_job(self, name: str, **keys: Any) -> Job:
        """Change the keys given (``command`` replaces the command)."""
        app = self._app()
        if "command" in keys:
            from .resolve import resolve

            keys["command"], _ = resolve(list(keys["command"]), "command")
        cfg, _ = app.edit(lambda e: e.set_job(name, **keys), job=name)
        app.resync()
        return _job(app.job(cfg, name))

    def remove_job(self, name: str) -> None:
        """Remove the job and its state; refused (``UsageError``) while it runs."""
        app = self._app()
        app.remove_job(name)
        app.resync()

    def add_schedule(
        self,
        job: str,
        *,
        start: str,
        duration: str,
        days: str | list[str],
        timezone: str | None = None,
        id: str | None = None,
        enabled: bool = True,
        start_now: bool = True,
    ) -> tuple[Schedule, str | None]:
        """A new weekly schedule; (it, what was started).  A schedule whose window is open now
        starts the job at once (unless ``start_now`` is False or a stop override holds)."""
        fields = _schedule_fields(start, duration, days, timezone)
        if id is not None:
            from .parse import parse_id

            fields["id"] = _check(lambda v: parse_id(v, "schedule id"), id, "id")
        if not enabled:
            fields["enabled"] = False
        app = self._app()
        cfg, sid = app.edit(lambda e: e.add_schedule(job, fields), job=job)
        app.resync()
        started = app.live_start(cfg, job, sid) if start_now else None
        return _schedule(_find(app.job(cfg, job), sid)), started

    def set_schedule(
        self, job: str, schedule: str, *, start_now: bool = True, **keys: Any
    ) -> tuple[Schedule, str | None]:
        """Change ``start``, ``duration``, ``days``, ``timezone`` or ``enabled`` of a schedule."""
        fields = _schedule_fields(
            keys.pop("start", None),
            keys.pop("duration", None),
            keys.pop("days", None),
            keys.pop("timezone", None),
        )
        if "enabled" in keys:
            fields["enabled"] = bool(keys.pop("enabled"))
        if keys:
            raise UsageError(f"unknown schedule keys: {', '.join(sorted(keys))}")
        app = self._app()
        cfg, _ = app.edit(lambda e: e.set_schedule(job, schedule, fields), job=job)
        app.resync()
        started = app.live_start(cfg, job, schedule) if start_now else None
        return _schedule(_find(app.job(cfg, job), schedule)), started

    def remove_schedule(self, job: str, schedule: str) -> None:
        app = self._app()
        app.edit(lambda e: e.remove_schedule(job, schedule), job=job)
        app.resync()

    # -- the OS scheduler -----------------------------------------------------------------------
    def install(self, target: str = "auto", system: bool = False, start_now: bool = True) -> list[str]:
        """Install into ``target`` (auto: the one this machine has); what changed, and what
        started (jobs whose window is open now)."""
        from . import targets

        app = self._app()
        ctx = app.render_ctx(system)
        name = targets.auto(ctx) if target == "auto" else target
        out = app.install(name, system)
        lines = [f"{name}: {line}" for line in out.plan.summary] or [f"{name}: nothing to change"]
        if start_now:
            started = app.start_open_windows(app.load(), name, system)
            lines += [started] if started else []
        return lines

    def uninstall(self, target: str = "auto", purge: bool = False) -> list[str]:
        from . import install as inst

        app = self._app()
        names = list(app.installed()) if target == "auto" else [target]
        lines = []
        for name in names:
            plan = inst.uninstall(app.render_ctx(), name, False)
            lines += [f"{name}: {line}" for line in plan.plan.summary]
        return lines + list(app.after_uninstall(purge))

    # -- by hand ------------------------------------------------------------------------------------
    def start(self, job: str, until: str | None = None) -> str:
        """Start now, whatever the windows say (a start override until the window's end, or
        ``until``: "2h", "23:30", ISO 8601)."""
        return str(self._app().start(job, until))

    def stop(self, job: str, until: str | None = None) -> str:
        """Stop now (a stop override until the window's end, or ``until``)."""
        return str(self._app().stop(job, until))


def _check(func: Any, value: Any, what: str) -> Any:
    try:
        return func(value)
    except ValueError as e:
        raise UsageError(f"{what}: {e}") from None


def _schedule_fields(
    start: str | None, duration: str | None, days: str | list[str] | None, timezone: str | None
) -> dict[str, Any]:
    from .parse import parse_days, parse_duration, parse_time, zone

    fields: dict[str, Any] = {}
    if start is not None:
        h, m = _check(parse_time, start, "start")
        fields["start"] = f"{h:02d}:{m:02d}"
    if duration is not None:
        _check(parse_duration, duration, "duration")
        fields["duration"] = duration
    if days is not None:
        tokens = [d.strip() for d in days.split(",")] if isinstance(days, str) else list(days)
        _check(parse_days, tokens, "days")
        fields["days"] = tokens
    if timezone is not None:
        _check(zone, timezone, "timezone")
        fields["timezone"] = timezone
    return fields


def _instant(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def _find(job: Any, sid: str) -> Any:
    found = job.schedule(sid)
    if found is None:
        raise UsageError(f"job {job.name!r} has no schedule with id {sid!r}")
    return found


def _schedule(s: Any) -> Schedule:
    from .core.days import DAY_NAMES

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
    )


def _job(j: Any) -> Job:
    return Job(
        j.name, tuple(j.command), tuple(_schedule(s) for s in j.schedules), tuple(j.skip_items), j.holidays
    )
