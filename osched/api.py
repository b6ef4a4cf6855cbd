"""osched's public Python API (docs/api.md): everything a program needs to keep its schedules
in osched instead of an in-process scheduler.

    from osched.api import Osched

    o = Osched("~/.config/osched/osched.toml")
    o.add_job("agent", ["python3", "-m", "agent"])
    o.add_schedule("agent", start="22:00", duration="8h", days="mon-fri")
    o.install()
    print(o.next_run("agent"))

Nothing else in ``osched`` is public.  The CLI makes every change through this module.  Each
call is one command's work: it reads the config afresh, an edit validates the whole file and
replaces it atomically under the config's lock, an installed config is installed again.
Errors are ``Error`` and its subclasses, with the CLI's one-line messages.  ``API_VERSION``
follows docs/api.md's deprecation policy.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from .apicheck import check as _check
from .apicheck import schedule_fields, skip_items
from .errors import ConfigError, UsageError
from .errors import OschedError as Error
from .records import (
    Event,
    Finding,
    InstallResult,
    Job,
    NextRun,
    Override,
    Restart,
    Schedule,
    Skips,
    UninstallResult,
    Window,
    as_json,
    job_record,
    schedule_record,
)
from .runner import ToolError

API_VERSION = "1.1"
_log = logging.getLogger("osched")
Tell = Callable[[str], None]

__all__ = [
    "API_VERSION",
    "ConfigError",
    "Error",
    "Event",
    "Finding",
    "InstallResult",
    "Job",
    "NextRun",
    "Osched",
    "Override",
    "Restart",
    "Schedule",
    "Skips",
    "ToolError",
    "UninstallResult",
    "UsageError",
    "Window",
    "as_json",
]


class Osched:
    """One config (``config``: a path; None: ``$OSCHED_CONFIG`` or the default) and its state
    dir (None: ``$OSCHED_STATE_DIR`` or the default).  Cheap to make; holds nothing open."""

    def __init__(
        self,
        config: str | Path | None = None,
        state_dir: str | Path | None = None,
        *,
        on_message: Tell | None = None,
        on_warning: Tell | None = None,
    ) -> None:
        """``on_message`` hears, line by line, what a change did (the lines the CLI prints:
        re-synced targets, what started, notes), ``on_warning`` the notes and warnings the
        CLI puts on stderr; by default both go to the ``osched`` logger (info, warning)."""
        self._config = None if config is None else str(Path(config).expanduser())
        self._state = None if state_dir is None else str(Path(state_dir).expanduser())
        self._tell: Tell = on_message or _log.info
        self._warn: Tell = on_warning or _log.warning
        self._given: Any = None
        self._names: dict[str, str] = {}

    @classmethod
    def _for_command(cls, app: Any, names: dict[str, str], tell: Tell, warn: Tell) -> Osched:
        """The CLI's handle: over its command's service context (its flags, runner and clock),
        naming arguments in errors as its user typed them (``names``: "command" -> "COMMAND")."""
        o = cls(on_message=tell, on_warning=warn)
        o._given, o._names = app, names
        return o

    def _app(self) -> Any:
        if self._given is not None:
            return self._given
        from .services import App

        return App(config_flag=self._config, state_flag=self._state)

    def _label(self, key: str) -> str:
        return self._names.get(key, key)

    @property
    def config_path(self) -> Path:
        return Path(self._app().config_path)

    # -- reading ------------------------------------------------------------------------------------
    def jobs(self) -> list[Job]:
        return [job_record(j) for j in self._app().load().jobs.values()]

    def job(self, name: str) -> Job:
        app = self._app()
        return job_record(app.job(app.load(), name))

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
    def init(self, timezone: str | None = None, force: bool = False) -> Path:
        """Write a commented starter config (default zone: the host's); refused when one
        exists, unless ``force``.  Its path."""
        return Path(self._app().init_config(timezone, force, self._tell, self._label))

    def add_job(self, name: str, command: list[str], **keys: Any) -> Job:
        """A new job; a bare program name (of the command and of each hook) is stored as its
        absolute path on this process's PATH (a timer's PATH is bare).  ``keys``: ``workdir``,
        ``env``, ``stop_signal``, ``stop_timeout``, ``retries``, ``backoff`` and the other job
        keys of docs/config.md."""
        from .parse import parse_id

        _check(lambda v: parse_id(v, "job name"), name, self._label("name"))
        app = self._app()
        return job_record(app.job_add(name, command, keys, self._tell, self._label))

    def set_job(self, name: str, **keys: Any) -> Job:
        """Change the keys given (``command`` replaces the command; ``unset_env``, and
        ``unset_KEY`` for an optional key, remove)."""
        return job_record(self._app().job_set(name, keys, self._tell, self._label))

    def remove_job(self, name: str) -> None:
        """Remove the job and its state; refused (``UsageError``) while it runs."""
        self._app().job_remove(name, self._tell)

    def add_schedule(
        self,
        job: str,
        *,
        start: str,
        duration: str | int,
        days: str | list[str],
        timezone: str | None = None,
        id: str | None = None,
        enabled: bool = True,
        start_now: bool = True,
        **keys: Any,
    ) -> tuple[Schedule, str | None]:
        """A new weekly schedule; (it, what was started).  A schedule whose window is open now
        starts the job at once (unless ``start_now`` is False or a stop override holds).
        ``keys``: ``args``, ``env``, ``random_delay``, ``wake`` (docs/config.md)."""
        delay = keys.pop("random_delay", None)
        fields = {**schedule_fields(self._label, start, duration, days, timezone, delay), **keys}
        if id is not None:
            from .parse import parse_id

            fields["id"] = _check(lambda v: parse_id(v, "schedule id"), id, self._label("id"))
        if not enabled:
            fields["enabled"] = False
        s, started = self._app().schedule_add(job, fields, self._tell, start_now)
        return schedule_record(s), started

    def set_schedule(
        self, job: str, schedule: str, *, start_now: bool = True, **keys: Any
    ) -> tuple[Schedule, str | None]:
        """Change ``start``, ``duration``, ``days``, ``timezone``, ``enabled``, ``id`` (a new
        id), ``args``, ``env``, ``unset_env``, ``random_delay`` or ``wake`` of a schedule."""
        fields = schedule_fields(
            self._label,
            keys.pop("start", None),
            keys.pop("duration", None),
            keys.pop("days", None),
            keys.pop("timezone", None),
            keys.pop("random_delay", None),
        )
        if "enabled" in keys:
            fields["enabled"] = bool(keys.pop("enabled"))
        if "id" in keys:
            from .parse import parse_id

            fields["id"] = _check(lambda v: parse_id(v, "schedule id"), keys.pop("id"), self._label("new_id"))
        unknown = set(keys) - {"args", "env", "unset_env", "wake"}
        if unknown:
            raise UsageError(f"unknown schedule keys: {', '.join(sorted(unknown))}")
        if not {**fields, **keys}:
            raise UsageError("nothing to change: give at least one key")
        s, started = self._app().schedule_set(job, schedule, {**fields, **keys}, self._tell, start_now)
        return schedule_record(s), started

    def enable_schedule(
        self, job: str, schedule: str, *, start_now: bool = True
    ) -> tuple[Schedule, str | None]:
        """Enable it; its window open now starts the job (unless ``start_now`` is False)."""
        app = self._app()
        s, started = app.schedule_set(job, schedule, {"enabled": True}, self._tell, start_now, "Enabled")
        return schedule_record(s), started

    def disable_schedule(self, job: str, schedule: str) -> Schedule:
        """Disable it (kept in the file; it never fires)."""
        s, _ = self._app().schedule_set(job, schedule, {"enabled": False}, self._tell, False, "Disabled")
        return schedule_record(s)

    def remove_schedule(self, job: str, schedule: str) -> None:
        self._app().schedule_remove(job, schedule, self._tell)

    # -- dates ----------------------------------------------------------------------------------------
    def skip(self, job: str, *items: str, schedule: str | None = None) -> Skips:
        """Skip the windows that start on these dates ("2026-12-24") or in these ranges
        ("2026-12-24..2027-01-01"): the job's list, or the schedule's."""
        added, now = self._app().skip_dates(job, schedule, skip_items(items, self._label), False, self._tell)
        return Skips(job, schedule, tuple(added), now)

    def unskip(self, job: str, *items: str, schedule: str | None = None) -> Skips:
        """Remove items (as written) from the skip list."""
        removed, now = self._app().skip_dates(job, schedule, skip_items(items, self._label), True, self._tell)
        return Skips(job, schedule, tuple(removed), now)

    def add_window(
        self,
        job: str,
        *,
        start: str,
        duration: str | int,
        timezone: str | None = None,
        id: str | None = None,
        start_now: bool = True,
    ) -> tuple[Schedule, str | None]:
        """A one-off window: ``start`` "2026-12-05T02:00" (wall time in its zone)."""
        from .dates import parse_at
        from .parse import parse_duration, parse_id, zone

        _check(parse_at, start, self._label("at"))
        _check(parse_duration, duration, self._label("duration"))
        fields: dict[str, Any] = {"start": start.replace(" ", "T"), "duration": duration}
        if timezone is not None:
            fields["timezone"] = _check(lambda v: zone(v).key, timezone, self._label("timezone"))
        if id is not None:
            fields["id"] = _check(lambda v: parse_id(v, "window id"), id, self._label("id"))
        s, started = self._app().window_add(job, fields, self._tell, start_now)
        return schedule_record(s), started

    def remove_window(self, job: str, window: str) -> None:
        self._app().window_remove(job, window, self._tell)

    # -- the OS scheduler -----------------------------------------------------------------------
    def install(
        self, target: str = "auto", system: bool = False, start_now: bool = True, dry_run: bool = False
    ) -> InstallResult:
        """Install into ``target`` (auto: the one this machine has): the lines saying what
        changed and what started (jobs whose window is open now), with ``target``,
        ``changed`` and ``started`` as attributes."""
        lines: list[str] = []
        out = self._app().install_use(target, system, dry_run, start_now, self._both(lines), self._warn)
        return InstallResult(lines, out.target, out.changed, out.started)

    def uninstall(self, target: str = "auto", purge: bool = False, dry_run: bool = False) -> UninstallResult:
        """Remove what install recorded (auto: from every target); ``purge`` also stops the
        config's running jobs and removes their state.  The lines saying what changed, with
        ``targets`` as an attribute."""
        lines: list[str] = []
        names = self._app().uninstall_use(target, dry_run, purge, self._both(lines))
        return UninstallResult(lines, names)

    # -- by hand ------------------------------------------------------------------------------------
    def start(self, job: str, until: str | None = None) -> str:
        """Start now, whatever the windows say (a start override until the window's end, or
        ``until``: "2h", "23:30", ISO 8601)."""
        return str(self._app().start_by_hand(job, until, self._tell))

    def stop(self, job: str, until: str | None = None) -> str:
        """Stop now (a stop override until the window's end, or ``until``)."""
        return str(self._app().stop_by_hand(job, until, self._tell))

    def overrides(self, job: str | None = None) -> list[Override]:
        """The start/stop overrides in force (of ``job``, or of every job)."""
        rows = self._app().overrides_in_force(job)
        return [Override(name, ov.kind, ov.created, ov.expires, ov.reason) for name, ov in rows]

    def clear_overrides(self, job: str, kind: str | None = None) -> list[str]:
        """Remove the job's start/stop overrides (``kind``: only "start" or "stop"); the kinds
        removed.  The schedule decides again from the next firing."""
        if kind not in (None, "start", "stop"):
            raise UsageError(f"kind: expected 'start' or 'stop', got {kind!r}")
        return list(self._app().overrides_clear(job, kind, self._tell))

    # -- helpers ----------------------------------------------------------------------------------
    def _both(self, lines: list[str]) -> Tell:
        def tell(line: str) -> None:
            lines.append(line)
            self._tell(line)

        return tell
