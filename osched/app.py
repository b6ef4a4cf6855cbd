"""The service layer between the CLI and the library: what a command does, without click.

``App`` holds one command's view of the world: the config and state paths, one frozen "now",
the host zone and the command runner.  The CLI turns its answers into text; nothing here
prints.  ``start`` and ``stop`` take the same in-process path (``runtime.Runtime``) and return
its ``Reply``.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cached_property
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from . import config as config_mod
from . import paths
from .errors import OschedError, UsageError
from .model import Config, Job
from .parse import parse_time, zone
from .runner import Runner, subprocess_runner
from .runtime import Clock, Reply
from .state import OVERRIDE_KINDS, Override, StateDir
from .targets.base import RenderContext, Target


@dataclass
class App:
    config_flag: str | None = None
    state_flag: str | None = None
    runner: Runner = subprocess_runner
    procs: Any = None  # the runtime's process layer (None: this platform's)
    display_zone: str | None = None  # --timezone: show times in this zone, not the host's
    _clock: Clock | None = field(default=None, repr=False)

    # -- where and when ------------------------------------------------------------------------------
    @cached_property
    def config_path(self) -> Path:
        return paths.config_path(self.config_flag)

    @cached_property
    def state_dir(self) -> Path:
        return paths.state_dir(self.state_flag)

    @cached_property
    def state(self) -> StateDir:
        return StateDir(self.state_dir)

    @property
    def clock(self) -> Clock:
        if self._clock is None:
            try:
                self._clock = Clock().frozen()
            except ValueError as e:
                raise UsageError(str(e)) from None
        return self._clock

    @property
    def now(self) -> datetime:
        return self.clock.now()

    @cached_property
    def host_zone(self) -> str:
        """The zone times are shown in ($TZ first)."""
        from .tzhost import host_zone_name

        return host_zone_name()

    @cached_property
    def scheduler_zone(self) -> str:
        """The zone cron, Task Scheduler and launchd run in (the system's)."""
        from .tzhost import system_zone_name

        return system_zone_name()

    @property
    def host_tz(self) -> ZoneInfo:
        return zone(self.host_zone)

    @property
    def view_tz(self) -> ZoneInfo:
        """The zone times are shown in: ``--timezone``, else the host's."""
        return zone(self.display_zone) if self.display_zone else self.host_tz

    def load(self) -> Config:
        """The validated config; from its plan when the file is unchanged (``cache.py``),
        which a parse writes again when the state dir exists and is trusted."""
        from . import cache
        from .core.cache import identity
        from .trust import InsecureError, check_state_dir

        try:
            ident = identity(self.config_path.stat())
            check_state_dir(self.state_dir, create=False)  # plans only from a trusted state dir
            trusted = self.state_dir.is_dir()
        except (OSError, InsecureError):
            trusted = False
        if not trusted:
            return config_mod.load(self.config_path)
        cached = cache.read_plan(self.state.store, self.config_path, ident)
        if cached is not None:
            return cached
        cfg = config_mod.load(self.config_path)
        cache.remember(self.state.store, cfg, ident)
        return cfg

    def job(self, cfg: Config, name: str) -> Job:
        job = cfg.job(name)
        if job is None:
            known = ", ".join(cfg.jobs) or "none"
            raise UsageError(f"no job named {name!r} in {cfg.path} (jobs: {known})")
        return job

    def render_ctx(self, system: bool = False, host_zone: str | None = None) -> RenderContext:
        return RenderContext(
            config_path=self.config_path,
            state_dir=self.state_dir,
            now=self.now,
            host_zone=host_zone or self.scheduler_zone,
            system=system,
            runner=self.runner,
        )

    # -- installed targets ------------------------------------------------------------------------------
    def installed(self) -> dict[str, dict[str, Any]]:
        from .install import installed_targets

        return installed_targets(self.state_dir, self.render_ctx().config_id)

    def installed_report(self) -> list[dict[str, Any]]:
        """Where this config is installed, and any drift since."""
        from .install import drift

        ctx = self.render_ctx()
        rows = []
        for name, entry in self.installed().items():
            row = {
                "target": name,
                "system": bool(entry.get("system")),
                "location": entry.get("location"),
                "installed_at": entry.get("installed_at"),
                "artifacts": len(entry.get("artifacts", [])),
                "drift": drift(name, entry, ctx, self.config_path),
            }
            target = _target(name)
            if target is not None:  # what a scheduler elsewhere (a cluster) did
                row.update(target.report(entry, ctx))
            rows.append(row)
        return rows

    def where_jobs_run(
        self, installed: dict[str, dict[str, Any]] | None = None
    ) -> tuple[list[tuple[Target, dict[str, Any]]], bool]:
        """(the installed targets that run the jobs elsewhere, with their manifest entries;
        whether this machine runs them too)."""
        installed = self.installed() if installed is None else installed
        remote = [(t, e) for n, e in installed.items() if (t := _target(n)) is not None and not t.runs_here]
        return remote, not installed or len(remote) < len(installed)

    def resync(self) -> list[str]:
        """After an edit of an installed config: install it again where it is installed."""
        from .install import install

        try:
            recorded = self.installed()
        except OschedError as e:
            raise OschedError(f"the config was saved, but re-syncing failed: {e}") from None
        if not recorded:
            return []
        cfg = self.load()
        lines = []
        for name, entry in recorded.items():
            try:
                out = install(cfg, self.render_ctx(bool(entry.get("system"))), name)
            except OschedError as e:
                raise OschedError(
                    f"the config was saved, but re-syncing {name} failed: {e} (run osched install)"
                ) from None
            lines += [f"Re-synced {name}: {line}" for line in out.plan.summary]
        return lines

    # -- manual control -------------------------------------------------------------------------------
    def runtime(self) -> Any:
        """The runtime, after the same trust checks the entrypoints make."""
        from .runtime import Runtime, load_checked

        cfg = load_checked(self.config_path, self.state)
        return Runtime(cfg, self.state, clock=Clock(), procs=self.procs, runner=self.runner)

    def live_start(self, cfg: Config, job_name: str, sid: str) -> str | None:
        """A schedule that becomes live inside its window starts the job at once: in its
        systemd service when systemd holds this config, on the cluster when kubernetes does,
        else under a detached supervisor."""
        from .windows import current_window

        job = self.job(cfg, job_name)
        s = job.schedule(sid)
        if s is None or not s.enabled or current_window(s, self.now) is None:
            return None
        out = self._start_now(cfg, job, sid, self.installed())  # the manifest, read once
        return "\n".join(o for o in out if o) or None

    def _start_now(self, cfg: Config, job: Job, sid: str, installed: dict[str, dict[str, Any]]) -> list[str]:
        """Start ``job`` for its open window of ``sid`` where each installed target runs it
        (``Target.start_now``: a systemd service, a cluster Job), else under a detached
        supervisor here."""
        from .windows import job_times

        until = job_times(job, self.now).next_end or self.now
        out, here, started_here = [], not installed, False
        for name, entry in installed.items():
            target = _target(name)
            said = target.start_now(cfg, job.name, sid, until, entry, self.render_ctx()) if target else None
            here = here or target is None or target.runs_here
            if said is not None:
                out.append(said)
                started_here = started_here or (target is not None and target.runs_here)
        if here and not started_here:
            out.append(self._checked(self.runtime().start_firing(job.name, sid)))
        return out

    def start_open_windows(self, cfg: Config, target: str, system: bool) -> str | None:
        """After install: start every job whose window is open now, where ``target`` runs it."""
        from .runtime.policy import latest_open

        entry = {**self.installed().get(target, {}), "system": system}
        out = []
        for job in cfg.jobs.values():
            w = latest_open(job, (self.now,))
            if w is not None:
                out += self._start_now(cfg, job, w.schedule.id, {target: entry})
        return "\n".join(o for o in out if o) or None

    def start(self, job_name: str, until: str | None) -> str:
        """Start now; a start override until the end of the open window(s) (or ``until``; with
        no window open, until the next window starts)."""
        from .windows import job_times

        rt = self.runtime()  # the trust check first; its config is the one acted on
        job = self.job(rt.cfg, job_name)
        if until is not None:
            t = self.parse_when(until)
        else:
            times = job_times(job, self.now)
            t_opt = times.next_end or times.next_start
            if t_opt is None:
                raise UsageError(f"job {job_name!r} has no enabled schedule: give --until WHEN")
            t = t_opt
        remote, local = self.where_jobs_run()
        out = [self._checked(rt.manual_start(job_name, t))] if local else []
        for target, entry in remote:
            said = target.start_now(rt.cfg, job.name, None, t, entry, self.render_ctx())
            out += [said] if said else []
        return "\n".join(out)

    def stop(self, job_name: str, until: str | None, progress: Callable[[str], None] | None = None) -> str:
        """Stop now; a stop override until the end of the open window(s) (or ``until``).
        ``progress`` hears, before the wait, what the stop will do."""
        from .windows import job_times

        rt = self.runtime()  # the trust check first; its config is the one acted on
        job = self.job(rt.cfg, job_name)
        t = self.parse_when(until) if until is not None else job_times(job, self.now).next_end
        remote, local = self.where_jobs_run()
        out = []
        if local:
            st = self.state.read_state(job_name, self.now, read_only=True)
            if progress is not None and rt.running(st):
                progress(
                    f"Stopping {job_name} (pid {st.pid}): {job.stop_signal} to its process group, "
                    f"SIGKILL if it is still there after {job.stop_timeout:g}s ..."
                )
            out.append(self._checked(rt.manual_stop(job_name, t)))
        for target, entry in remote:
            said = target.stop_now(job.name, entry, self.render_ctx())
            out += [said] if said else []
        return "\n".join(out)

    def humanize(self, message: str) -> str:
        """ISO 8601 instants in a runtime message, in the one format every command prints."""
        from .views import human

        def one(m: re.Match[str]) -> str:
            return human(datetime.fromisoformat(m.group(0)), self.view_tz)

        return _ISO_RE.sub(one, message)

    @staticmethod
    def _checked(reply: Reply) -> str:
        if reply.code != 0:
            err = OschedError(reply.message.strip().splitlines()[-1] if reply.message.strip() else "failed")
            err.exit_code = reply.code
            raise err
        return reply.message

    def parse_when(self, text: str) -> datetime:
        """--until: a delay ('2h', '90m'), a wall time in the host zone ('23:30', the next one),
        or an ISO 8601 instant ('2026-11-27T06:00', host zone unless it has an offset)."""
        from .parse import split_duration

        tz, now = self.host_tz, self.now
        seconds = split_duration(text)
        if seconds is not None and not text.strip().isdigit():
            t = now + timedelta(seconds=seconds)
        else:
            try:
                h, m = parse_time(text)
            except ValueError:
                t = _parse_instant(text, tz)
            else:
                t = _next_wall_time(now, h, m, tz)
        if t <= now:
            raise UsageError(f"--until: {text!r} is not in the future")
        return t.astimezone(UTC)

    # -- overrides, logs ------------------------------------------------------------------------------
    def overrides_in_force(self, job_name: str | None) -> list[tuple[str, Override]]:
        """(job, override) for every override in force now (expired ones are not shown)."""
        names = [self.known_job(job_name)] if job_name else self.state.jobs_with_state()
        rows = []
        for name in names:
            for kind in OVERRIDE_KINDS:
                ov = self.state.read_override(name, kind)
                if ov is not None and ov.expires is not None and ov.expires > self.now:
                    rows.append((name, ov))
        return rows

    def clear_overrides(self, job_name: str, kind: str | None) -> list[str]:
        job_name = self.known_job(job_name)
        cleared = []
        with self.state.lock(job_name):
            for k in [kind] if kind else list(OVERRIDE_KINDS):
                if self.state.remove_override(job_name, k):
                    reason = "osched override clear"
                    self.state.event(self.now, job_name, "override_cleared", kind=k, reason=reason)
                    cleared.append(k)
        return cleared

    def known_job(self, name: str) -> str:
        """``name`` if it is a job id of the config or of the state dir; a usage error
        otherwise (a name is never a path: ``../x`` is refused before any file is touched)."""
        from .parse import parse_id

        try:
            parse_id(name, "job name")
        except ValueError as e:
            raise UsageError(str(e)) from None
        try:
            in_config = name in self.load().jobs
        except OschedError:
            in_config = False
        if not in_config and name not in self.state.jobs_with_state():
            raise UsageError(f"no job named {name!r} in {self.config_path} or in the state dir")
        return name

    def log_tail(self, job_name: str, lines: int, follow: bool) -> tuple[bytes, int]:
        """The last ``lines`` lines of the job's output, and the offset to follow from."""
        path = self.state.output_log(self.known_job(job_name))
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            if not follow:
                raise UsageError(f"no output yet for {job_name!r} ({path})") from None
            data = b""
        return (b"\n".join(data.splitlines()[-lines:]) if lines > 0 else b""), len(data)

    def follow_log(self, job_name: str, pos: int, interval: float = 0.5) -> Iterator[bytes]:
        """New output as it is appended (a rotation or truncation starts over); endless."""
        path = self.state.output_log(job_name)
        while True:
            time.sleep(interval)
            try:
                size = path.stat().st_size
            except FileNotFoundError:
                continue
            if size < pos:
                pos = 0
            if size > pos:
                with open(path, "rb") as fh:
                    fh.seek(pos)
                    chunk = fh.read()
                pos += len(chunk)
                yield chunk


_ISO_RE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d(?::\d\d(?:\.\d+)?)?(?:[+-]\d\d:\d\d|Z)")


def _parse_instant(text: str, tz: ZoneInfo) -> datetime:
    try:
        t = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(
            f"--until: {text!r} is not a delay (2h, 90m), a time (23:30) or an ISO 8601 instant"
        ) from None
    return t if t.tzinfo else t.replace(tzinfo=tz)


def _next_wall_time(now: datetime, h: int, m: int, tz: ZoneInfo) -> datetime:
    """The next time the host's clock shows h:m."""
    local = now.astimezone(tz)
    t = local.replace(hour=h, minute=m, second=0, microsecond=0)
    if t <= local:
        t = (local + timedelta(days=1)).replace(hour=h, minute=m, second=0, microsecond=0)
        t = t.replace(tzinfo=None).replace(tzinfo=tz)
    return t


def _target(name: str) -> Target | None:
    """The registered target ``name`` (None: a manifest names one no longer registered)."""
    from . import targets

    try:
        return targets.get(name)
    except UsageError:
        return None
