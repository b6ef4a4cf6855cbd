"""The runtime: what ``osched-start`` / ``osched-stop`` decide and do, and the supervisor.

Every decision about a job is taken under the job's lock and logged to the events log.
Decisions (docs/runtime.md has the user's view):

* start firing of schedule S: acts only if S exists and is enabled, its window is open now
  (or opens within ``EARLY``), no stop override is active, the job is not running, and it has
  not finished (exit 0) or given up in this window.  A new window resets the crash count.
* stop firing: skips while any enabled schedule of the job has a window open (judged at
  ``now + EARLY``, so a stop firing at the end minute, or a little early, counts as the end)
  or a start override is active; otherwise stops the job's whole process group.
* the supervisor restarts a crashed job (exit != 0) after the backoff, at most ``retries``
  times per window, only while the job should be running; exit 0 means done for the window.
  It also stops the job when its last window has ended and no stop firing came.

Standard library only, and ``subprocess`` only when a process is started or stopped.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from . import proc as proc_mod
from .model import Config, Job, Schedule
from .state import JobState, Override, StateDir, iso, log_max_bytes, parse_iso
from .windows import Window, next_window, open_windows

NOW_ENV = "OSCHED_NOW"
EARLY = timedelta(seconds=60)  # a firing this much early still counts
GRACE = 5.0  # the supervisor's own end-of-window stop comes this long after the stop firing
WAKE = 30.0  # the supervisor re-checks the clock at least this often (suspend, clock changes)


class Clock:
    """UTC now.  ``$OSCHED_NOW`` (ISO 8601 with offset) starts the clock at that instant; it
    then advances in real time (like faketime), so supervisors and backoff still work."""

    def __init__(self) -> None:
        self.offset = 0.0
        raw = os.environ.get(NOW_ENV)
        if raw:
            t = datetime.fromisoformat(raw)
            if t.tzinfo is None:
                raise ValueError(f"{NOW_ENV}={raw!r} needs a UTC offset")
            self.offset = t.timestamp() - time.time()

    def now(self) -> datetime:
        return datetime.fromtimestamp(time.time() + self.offset, UTC)


@dataclass
class Outcome:
    code: int
    message: str


def merged_env(job: Job, s: Schedule | None, window_end: datetime | None) -> dict[str, str]:
    env = dict(os.environ)
    env.pop(NOW_ENV, None)
    env.update(job.env)
    if s is not None:
        env.update(s.env)
    env["OSCHED_JOB"] = job.name
    env["OSCHED_SCHEDULE"] = s.id if s is not None else "manual"
    if window_end is not None:
        env["OSCHED_WINDOW_END"] = iso(window_end) or ""
    return env


def workdir(job: Job, config_path: Path) -> Path:
    if job.workdir is None:
        return config_path.parent
    p = Path(os.path.expanduser(job.workdir))
    return p if p.is_absolute() else config_path.parent / p


class Runtime:
    def __init__(
        self,
        cfg: Config,
        state: StateDir,
        *,
        clock: Clock | None = None,
        procs: Any = None,
        foreground: bool = False,
    ) -> None:
        self.cfg = cfg
        self.state = state
        self.clock = clock or Clock()
        self.procs = procs or proc_mod.current()
        self.foreground = foreground

    # -- helpers ----------------------------------------------------------------------------------
    def event(self, job: str | None, event: str, **kw: Any) -> None:
        self.state.event(self.clock.now(), job, event, **kw)

    def skip(self, job: str, schedule: str | None, event: str, reason: str) -> Outcome:
        self.event(job, event, schedule=schedule, reason=reason)
        return Outcome(0, f"{job}: {reason}")

    def running(self, st: JobState) -> bool:
        return self.procs.alive(st.pid, st.pid_start)

    def supervised(self, st: JobState) -> bool:
        return self.procs.alive(st.supervisor_pid, st.supervisor_start)

    def keep_running(self, job: Job, now: datetime, strict: bool = False) -> tuple[datetime | None, str]:
        """Should the job be running at ``now``?  Returns (until, why) or (None, "").

        For a stop firing a window counts as open at ``now + EARLY``: one that ends within a
        minute is over, one that opens within a minute has begun ("latest stop wins" across
        schedules).  ``strict`` (the supervisor's own clock) also counts a window open at
        ``now`` itself, so nothing is stopped before its end."""
        times = (now, now + EARLY) if strict else (now + EARLY,)
        opened: list[Window] = [w for t in times for s in job.enabled_schedules for w in open_windows(s, t)]
        if opened:
            last = max(opened, key=lambda w: w.end)
            return last.end, f"window {job.name}/{last.schedule.id} is open until {iso(last.end)}"
        ov = self.state.active_override(job.name, "start", now)
        if ov is not None and ov.expires is not None:
            return ov.expires, f"start override until {iso(ov.expires)}"
        return None, ""

    # -- start firing ----------------------------------------------------------------------------
    def start_firing(self, job_name: str, sid: str) -> Outcome:
        job = self.cfg.job(job_name)
        if job is None:
            return self.skip(job_name, sid, "start_skipped", f"no job {job_name!r} in {self.cfg.path}")
        s = job.schedule(sid)
        if s is None:
            return self.skip(job_name, sid, "start_skipped", f"no schedule {sid!r} (removed from the config)")
        if not s.enabled:
            return self.skip(job_name, sid, "start_skipped", f"schedule {sid!r} is disabled")
        now = self.clock.now()
        if _window_for_start(s, now) is None:  # the common skip needs no lock
            return self.skip(
                job.name,
                sid,
                "start_skipped",
                f"outside the window of {sid} (next start {iso(next_window(s, now).start)})",
            )
        with self.state.lock(job.name) as lock_fd:
            now = self.clock.now()
            w = _window_for_start(s, now)
            if w is None:
                nxt = next_window(s, now).start
                return self.skip(
                    job.name, sid, "start_skipped", f"outside the window of {sid} (next start {iso(nxt)})"
                )
            ov = self.state.active_override(job.name, "stop", now)
            if ov is not None:
                return self.skip(job.name, sid, "start_skipped", f"stop override until {iso(ov.expires)}")
            st = self.state.read_state(job.name, now)
            if self.running(st):
                if not self.supervised(st) and not self.foreground:
                    return self.adopt(job, st, lock_fd)
                return self.skip(job.name, sid, "start_skipped", f"already running (pid {st.pid})")
            key = (sid, iso(w.start))
            if st.window_key() == key:
                if st.outcome == "finished":
                    return self.skip(
                        job.name,
                        sid,
                        "start_skipped",
                        f"finished (exit 0) at {st.finished_at} in this window",
                    )
                if st.outcome == "gave_up":
                    return self.skip(
                        job.name,
                        sid,
                        "start_skipped",
                        f"gave up after {st.crashes} crash restarts in this window",
                    )
            else:
                finished = parse_iso(st.finished_at)
                if finished is not None and finished >= w.start:
                    return self.skip(
                        job.name,
                        sid,
                        "start_skipped",
                        f"finished (exit 0) at {st.finished_at} in this window",
                    )
                st.crashes = 0
                st.schedule, st.window_start, st.window_end = sid, iso(w.start), iso(w.end)
            return self.launch(job, s, w.end, st, lock_fd, reason=f"window {sid} open until {iso(w.end)}")

    # -- manual start --------------------------------------------------------------------------------
    def manual_start(self, job_name: str, until: datetime) -> Outcome:
        job = self._job(job_name)
        with self.state.lock(job.name) as lock_fd:
            now = self.clock.now()
            if self.state.remove_override(job.name, "stop"):
                self.event(job.name, "override_cleared", kind="stop", reason="manual start")
            ov = Override("start", now, until, "manual start")
            self.state.write_override(job.name, ov)
            self.event(job.name, "override_created", kind="start", expires=iso(until), reason="manual start")
            st = self.state.read_state(job.name, now)
            if self.running(st):
                self.event(job.name, "start_skipped", reason=f"already running (pid {st.pid})")
                return Outcome(
                    0, f"{job.name}: already running (pid {st.pid}); kept running until {iso(until)}"
                )
            st.crashes = 0
            st.schedule, st.window_start, st.window_end = "manual", iso(now), iso(until)
            return self.launch(job, None, until, st, lock_fd, reason=f"manual start until {iso(until)}")

    # -- stop ---------------------------------------------------------------------------------------
    def stop_firing(self, job_name: str, sid: str | None) -> Outcome:
        job = self.cfg.job(job_name)
        if job is None:
            return self.skip(job_name, sid, "stop_skipped", f"no job {job_name!r} in {self.cfg.path}")
        with self.state.lock(job.name):
            now = self.clock.now()
            self.state.active_override(job.name, "stop", now)  # clears an expired one
            until, why = self.keep_running(job, now)
            if until is not None:
                return self.skip(job.name, sid, "stop_skipped", why)
            return self.stop_job(job, sid, f"window {sid} ended" if sid else "window ended")

    def manual_stop(self, job_name: str, until: datetime | None) -> Outcome:
        job = self._job(job_name)
        with self.state.lock(job.name):
            now = self.clock.now()
            if self.state.remove_override(job.name, "start"):
                self.event(job.name, "override_cleared", kind="start", reason="manual stop")
            if until is not None:
                self.state.write_override(job.name, Override("stop", now, until, "manual stop"))
                self.event(
                    job.name, "override_created", kind="stop", expires=iso(until), reason="manual stop"
                )
            out = self.stop_job(job, None, "manual stop")
            if until is not None:
                out.message += f"; no scheduled start before {iso(until)}"
            return out

    def stop_job(self, job: Job, sid: str | None, reason: str) -> Outcome:
        """Stop the job's process group now (the caller holds the lock)."""
        now = self.clock.now()
        st = self.state.read_state(job.name, now)
        running, supervised = self.running(st), self.supervised(st)
        if not running and not supervised:
            if st.outcome in ("running", "backoff"):
                st.outcome, st.pid = "stopped", None
                self.state.write_state(job.name, st)
            return self.skip(job.name, sid, "stop_skipped", "not running")
        st.stop_requested = True
        self.state.write_state(job.name, st)
        how = "gone"
        if running:
            assert st.pid is not None
            how = self.procs.terminate(st.pid, job.stop_signal, job.stop_timeout)
        if self.supervised(st) and not self.foreground and st.supervisor_pid != os.getpid():
            # a supervisor waiting out a crash backoff: end it (it re-checks and exits)
            with contextlib.suppress(ProcessLookupError):
                import signal

                os.kill(st.supervisor_pid or 0, signal.SIGTERM)
        st = self.state.read_state(job.name, self.clock.now())
        st.outcome, st.pid, st.pid_start, st.stop_requested = "stopped", None, None, True
        self.state.write_state(job.name, st)
        detail = {
            "signal": f"{job.stop_signal}",
            "killed": f"SIGKILL after {job.stop_timeout:g}s",
            "gone": "exited",
        }
        self.event(job.name, "stopped", schedule=sid, reason=reason, how=detail[how])
        return Outcome(0, f"{job.name}: stopped ({reason})")

    # -- resume -------------------------------------------------------------------------------------
    def resume(self, systemd: str | None = None) -> Outcome:
        """Boot/login catch-up: start each job whose window is open now."""
        lines, code = [], 0
        now = self.clock.now()
        for job in self.cfg.jobs.values():
            opened = [w for s in job.enabled_schedules for w in open_windows(s, now)]
            if not opened:
                continue
            w = max(opened, key=lambda w: w.end)
            if systemd:
                out = self._systemctl_start(job, w.schedule, systemd)
            else:
                out = self.start_firing(job.name, w.schedule.id)
            lines.append(out.message)
            code = max(code, out.code)
        return Outcome(code, "\n".join(lines) or "resume: no window is open")

    def _systemctl_start(self, job: Job, s: Schedule, manager: str) -> Outcome:
        import subprocess

        unit = f"osched-{job.name}.{s.id}.service"
        argv = ["systemctl", *(["--user"] if manager == "user" else []), "start", "--no-block", unit]
        r = subprocess.run(argv, capture_output=True, text=True, check=False)
        if r.returncode != 0:
            msg = (r.stderr or r.stdout).strip().splitlines()
            self.event(
                job.name,
                "start_failed",
                schedule=s.id,
                reason=f"{' '.join(argv)}: {msg[-1] if msg else r.returncode}",
            )
            return Outcome(1, f"{job.name}: could not start {unit}")
        self.event(job.name, "resume", schedule=s.id, reason=f"started {unit}")
        return Outcome(0, f"{job.name}: started {unit}")

    # -- launching -------------------------------------------------------------------------------
    def _job(self, name: str) -> Job:
        from .errors import UsageError

        job = self.cfg.job(name)
        if job is None:
            raise UsageError(f"no job named {name!r} in {self.cfg.path}")
        return job

    def _prepare(
        self, job: Job, s: Schedule | None, until: datetime | None
    ) -> tuple[list[str], str, dict[str, str]]:
        argv = [*job.command, *(s.args if s else ())]
        cwd = workdir(job, self.cfg.path)
        if not cwd.is_dir():
            raise RuntimeError(f"workdir {cwd} does not exist")
        return argv, str(cwd), merged_env(job, s, until)

    def _open_log(self, job: str, header: str) -> int:
        path = self.state.output_log(job)
        self.state.job_dir(job)
        with contextlib.suppress(FileNotFoundError):
            if path.stat().st_size > log_max_bytes():
                os.replace(path, path.with_name(path.name + ".1"))
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        os.write(fd, header.encode("utf-8", "replace"))
        return fd

    def _spawn(self, job: Job, s: Schedule | None, until: datetime | None, st: JobState, why: str) -> Any:
        argv, cwd, env = self._prepare(job, s, until)
        now = self.clock.now()
        fd = self._open_log(job.name, f"--- osched: {job.name} started at {iso(now)} ({why}) ---\n")
        try:
            p = self.procs.spawn(argv, cwd, env, fd)
        finally:
            os.close(fd)
        st.pid, st.pid_start = p.pid, self.procs.start_time(p.pid)
        st.started_at, st.outcome, st.stop_requested = iso(now), "running", False
        return p

    def launch(
        self, job: Job, s: Schedule | None, until: datetime | None, st: JobState, lock_fd: int, reason: str
    ) -> Outcome:
        sid = s.id if s else None
        if self.foreground:
            try:
                p = self._spawn(job, s, until, st, reason)
            except (OSError, RuntimeError) as e:
                return self._failed(job, sid, st, e)
            st.supervisor_pid, st.supervisor_start = os.getpid(), self.procs.start_time(os.getpid())
            self.state.write_state(job.name, st)
            self.event(job.name, "started", schedule=sid, pid=p.pid, reason=reason, crashes=st.crashes)
            os.close(lock_fd)  # let the other entrypoints decide while we supervise
            return Outcome(Supervisor(self, job.name, p).run(), "")
        if self.procs.name == "windows":
            return self._launch_windows(job, s, until, st, reason)
        return self._launch_detached(job, s, until, st, lock_fd, reason)

    def _failed(self, job: Job, sid: str | None, st: JobState, e: BaseException) -> Outcome:
        msg = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
        where = f": {e.filename}" if isinstance(e, OSError) and e.filename else ""
        st.outcome, st.pid = "failed", None
        self.state.write_state(job.name, st)
        self.event(job.name, "start_failed", schedule=sid, reason=f"{msg}{where}")
        return Outcome(1, f"{job.name}: could not start: {msg}{where}")

    def _launch_detached(
        self, job: Job, s: Schedule | None, until: datetime | None, st: JobState, lock_fd: int, reason: str
    ) -> Outcome:
        """Start the job from a detached supervisor, which then watches it."""
        sid = s.id if s else None

        def prepare() -> tuple[Outcome, Supervisor | None]:
            try:
                p = self._spawn(job, s, until, st, reason)
            except (OSError, RuntimeError) as e:
                return self._failed(job, sid, st, e), None
            st.supervisor_pid, st.supervisor_start = os.getpid(), self.procs.start_time(os.getpid())
            self.state.write_state(job.name, st)
            self.event(job.name, "started", schedule=sid, pid=p.pid, reason=reason, crashes=st.crashes)
            return Outcome(0, f"{job.name}: started (pid {p.pid}; {reason})"), Supervisor(self, job.name, p)

        return self._detached(job.name, lock_fd, prepare)

    def _detached(
        self, job_name: str, lock_fd: int, prepare: Callable[[], tuple[Outcome, Supervisor | None]]
    ) -> Outcome:
        """Double fork.  The grandchild (own session, stdio on /dev/null) runs ``prepare`` (start
        or adopt the job, write the state), reports its outcome through a pipe, lets go of the
        job's lock and becomes the supervisor; this process returns the reported outcome."""
        r, w = os.pipe()
        child = os.fork()
        if child == 0:  # pragma: no cover - runs in the forked child (checked by its effects)
            code = 1
            try:
                os.close(r)
                os.setsid()
                if os.fork():
                    os._exit(0)
                _detach_stdio()
                out, supervisor = prepare()
                os.write(w, f"{out.code} {out.message}".encode())
                os.close(w)
                os.close(lock_fd)
                code = supervisor.run() if supervisor is not None else out.code
            except BaseException:  # nothing may escape a forked child
                with contextlib.suppress(BaseException):
                    import traceback

                    self.event(job_name, "supervisor_error", reason=traceback.format_exc(limit=3)[-500:])
            finally:
                os._exit(code)
        os.close(w)
        chunks = []
        while chunk := os.read(r, 4096):
            chunks.append(chunk)
        os.close(r)
        os.waitpid(child, 0)
        text = b"".join(chunks).decode("utf-8", "replace")
        if not text:
            return Outcome(1, f"{job_name}: the supervisor died before starting the job")
        code_s, _, msg = text.partition(" ")
        return Outcome(int(code_s), msg)

    def _launch_windows(
        self, job: Job, s: Schedule | None, until: datetime | None, st: JobState, reason: str
    ) -> Outcome:
        """Windows: the job starts detached in its own process group; a detached supervisor
        process adopts it (no fork on Windows)."""
        sid = s.id if s else None
        win = self.procs
        assert isinstance(win, proc_mod.WindowsProcs)
        try:
            p = self._spawn(job, s, until, st, reason)
        except (OSError, RuntimeError) as e:
            return self._failed(job, sid, st, e)
        sup = win.popen(
            [sys.executable, "-m", "osched.entry", "supervise", job.name, *self._tail()],
            creationflags=win.DETACHED_PROCESS | win.CREATE_NEW_PROCESS_GROUP,
            close_fds=True,
        )
        st.supervisor_pid, st.supervisor_start = sup.pid, self.procs.start_time(sup.pid)
        self.state.write_state(job.name, st)
        self.event(job.name, "started", schedule=sid, pid=p.pid, reason=reason, crashes=st.crashes)
        return Outcome(0, f"{job.name}: started (pid {p.pid}; {reason})")

    def _tail(self) -> list[str]:
        return ["--config", str(self.cfg.path), "--state-dir", str(self.state.root)]

    def adopt(self, job: Job, st: JobState, lock_fd: int) -> Outcome:
        """The job runs but its supervisor is gone (killed): start a new supervisor for it."""
        if self.procs.name == "windows":
            return Outcome(0, f"{job.name}: already running (pid {st.pid})")

        def prepare() -> tuple[Outcome, Supervisor | None]:
            st.supervisor_pid, st.supervisor_start = os.getpid(), self.procs.start_time(os.getpid())
            self.state.write_state(job.name, st)
            self.event(job.name, "adopted", pid=st.pid, reason="its supervisor was gone")
            message = f"{job.name}: already running (pid {st.pid}); supervising it again"
            return Outcome(0, message), Supervisor(self, job.name, None, adopted_pid=st.pid)

        return self._detached(job.name, lock_fd, prepare)


def _window_for_start(s: Schedule, now: datetime) -> Window | None:
    """The window a start firing at ``now`` belongs to: open now, or opening within EARLY."""
    found = open_windows(s, now)
    if found:
        return found[0]
    for w in open_windows(s, now + EARLY):
        if w.start > now:
            return w
    return None


def _detach_stdio() -> None:
    fd = os.open(os.devnull, os.O_RDWR)
    for target in (0, 1, 2):
        os.dup2(fd, target)
    if fd > 2:
        os.close(fd)


class _Terminated(Exception):
    pass


class Supervisor:
    """Waits for the job; restarts it after a crash; stops it when its time is over."""

    def __init__(self, rt: Runtime, job_name: str, popen: Any, adopted_pid: int | None = None) -> None:
        self.rt = rt
        self.job_name = job_name
        self.popen = popen
        self.adopted = adopted_pid
        self.terminated = False
        self._wake_r = self._wake_w = -1

    # -- waiting --------------------------------------------------------------------------------
    def _install_signals(self) -> None:
        import signal

        def handler(signum: int, frame: Any) -> None:
            self.terminated = True

        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_w, False)
        os.set_blocking(self._wake_r, False)
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, handler)
        signal.set_wakeup_fd(self._wake_w)

    def _pid(self) -> int:
        return int(self.popen.pid if self.popen is not None else self.adopted or 0)

    def wait(self, timeout: float) -> tuple[bool, int | None]:
        """Wait up to ``timeout`` s for the job to end or a signal.  (ended, exit code or None)"""
        import select

        pid = self._pid()
        deadline = time.monotonic() + max(0.0, timeout)
        pidfd = -1
        with contextlib.suppress(OSError, AttributeError):
            pidfd = os.pidfd_open(pid)  # type: ignore[attr-defined,unused-ignore]
        try:
            while True:
                ended, code = self._poll()
                if ended or self.terminated:
                    return ended, code
                left = deadline - time.monotonic()
                if left <= 0:
                    return False, None
                fds = [self._wake_r] + ([pidfd] if pidfd >= 0 else [])
                step = left if pidfd >= 0 else min(left, 0.2)
                ready, _, _ = select.select(fds, [], [], step)
                if self._wake_r in ready:
                    with contextlib.suppress(OSError):
                        os.read(self._wake_r, 512)
        finally:
            if pidfd >= 0:
                os.close(pidfd)

    def _poll(self) -> tuple[bool, int | None]:
        if self.popen is not None:
            code = self.popen.poll()
            return (code is not None), code
        st = self.rt.state.read_state(self.job_name, self.rt.clock.now())
        return (not self.rt.procs.alive(self.adopted, st.pid_start)), None

    def sleep(self, seconds: float) -> None:
        import select

        deadline = time.monotonic() + seconds
        while not self.terminated:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            ready, _, _ = select.select([self._wake_r], [], [], left)
            if ready:
                with contextlib.suppress(OSError):
                    os.read(self._wake_r, 512)

    def _reap(self) -> None:
        if self.popen is not None:
            self.popen.poll()

    # -- the loop -------------------------------------------------------------------------------
    def run(self) -> int:
        self._install_signals()
        rt = self.rt
        while True:
            job = rt.cfg.job(self.job_name)
            now = rt.clock.now()
            until, _ = rt.keep_running(job, now, strict=True) if job else (None, "")
            timeout = WAKE if until is None else min(WAKE, max(0.0, (until - now).total_seconds() + GRACE))
            ended, code = self.wait(timeout)
            if self.terminated and not ended:
                return self._stop_for("the supervisor was asked to stop (SIGTERM)")
            if not ended:
                self._rotate_log()
                if self._window_over():
                    return 0
                continue
            delay = self._after_exit(code)
            if delay is None:
                return 0
            self.sleep(delay)
            if self.terminated:
                with rt.state.lock(self.job_name):
                    self._finish_state("stopped")
                rt.event(self.job_name, "restart_skipped", reason="the supervisor was asked to stop")
                return 0
            if not self._restart():
                return 0

    def _reload(self) -> Job | None:
        from . import config as config_mod
        from .errors import ConfigError

        try:
            self.rt.cfg = config_mod.load(self.rt.cfg.path)
        except ConfigError as e:
            self.rt.event(self.job_name, "config_error", reason=str(e))
        return self.rt.cfg.job(self.job_name)

    def _window_over(self) -> bool:
        """``GRACE`` seconds after the end of the last window (no stop firing came): stop,
        with the stop's checks.  The OS's stop firing, at the end minute, normally comes first."""
        rt = self.rt
        job = self._reload()
        grace = timedelta(seconds=GRACE)
        if job is not None and rt.keep_running(job, rt.clock.now() - grace, strict=True)[0] is not None:
            return False
        with rt.state.lock(self.job_name):
            job = rt.cfg.job(self.job_name)
            if job is None:
                self._terminate_job(job)
                rt.event(self.job_name, "stopped", reason="the job was removed from the config")
                self._finish_state("stopped")
                return True
            until, _ = rt.keep_running(job, rt.clock.now() - grace, strict=True)
            if until is not None:
                return False
            how = self._terminate_job(job)
            self._finish_state("stopped")
            rt.event(
                self.job_name, "stopped", reason="its last window ended and no stop firing came", how=how
            )
        return True

    def _terminate_job(self, job: Job | None) -> str:
        sig = job.stop_signal if job else "SIGTERM"
        timeout = job.stop_timeout if job else 30.0
        return str(self.rt.procs.terminate(self._pid(), sig, timeout, reap=self._reap))

    def _stop_for(self, reason: str) -> int:
        job = self.rt.cfg.job(self.job_name)
        how = self._terminate_job(job)
        with self.rt.state.lock(self.job_name):
            self._finish_state("stopped")
        self.rt.event(self.job_name, "stopped", reason=reason, how=how)
        return 0

    def _finish_state(self, outcome: str) -> None:
        st = self.rt.state.read_state(self.job_name, self.rt.clock.now())
        if st.pid in (None, self._pid()):
            st.outcome, st.pid, st.pid_start = outcome, None, None
            st.supervisor_pid = st.supervisor_start = None
            self.rt.state.write_state(self.job_name, st)

    def _after_exit(self, code: int | None) -> float | None:
        """Record the exit; return the restart delay, or None when the supervisor is done."""
        rt = self.rt
        name = self.job_name
        with rt.state.lock(name):
            now = rt.clock.now()
            st = rt.state.read_state(name, now)
            st.last_exit = code
            mine = st.pid == self._pid()
            if st.stop_requested or not mine:
                if mine:
                    st.outcome, st.pid, st.pid_start = "stopped", None, None
                st.supervisor_pid = st.supervisor_start = None
                rt.state.write_state(name, st)
                return None
            st.pid = st.pid_start = None
            if code == 0:
                st.outcome, st.finished_at = "finished", iso(now)
                st.supervisor_pid = st.supervisor_start = None
                rt.state.write_state(name, st)
                rt.event(name, "finished", exit=0, reason="exit 0: done for this window")
                return None
            what = (
                f"exit {code}"
                if code is not None and code >= 0
                else (
                    f"killed by signal {-code}"
                    if code is not None
                    else "ended (exit status unknown: adopted)"
                )
            )
            job = self._reload()
            why_not = ""
            if job is None:
                why_not = "the job was removed from the config"
            elif rt.state.active_override(name, "stop", now) is not None:
                why_not = "a stop override is active"
            elif rt.keep_running(job, now, strict=True)[0] is None:
                why_not = "its window is over"
            elif st.crashes >= job.retries:
                st.outcome = "gave_up"
                st.supervisor_pid = st.supervisor_start = None
                rt.state.write_state(name, st)
                rt.event(
                    name,
                    "gave_up",
                    exit=code,
                    reason=f"{what}; {st.crashes} crash restarts used (retries = {job.retries})",
                )
                return None
            if why_not:
                st.outcome = "failed"
                st.supervisor_pid = st.supervisor_start = None
                rt.state.write_state(name, st)
                rt.event(name, "crashed", exit=code, reason=f"{what}; no restart: {why_not}")
                return None
            assert job is not None
            st.crashes += 1
            delay = job.backoff[min(st.crashes - 1, len(job.backoff) - 1)]
            st.outcome = "backoff"
            rt.state.write_state(name, st)
            rt.event(
                name,
                "crashed",
                exit=code,
                crash=st.crashes,
                delay=delay,
                reason=f"{what}; restart {st.crashes} of {job.retries} in {delay:g}s",
            )
            return delay

    def _restart(self) -> bool:
        rt = self.rt
        name = self.job_name
        with rt.state.lock(name):
            now = rt.clock.now()
            job = self._reload()
            st = rt.state.read_state(name, now)
            why_not = ""
            if job is None:
                why_not = "the job was removed from the config"
            elif st.stop_requested:
                why_not = "it was stopped"
            elif rt.state.active_override(name, "stop", now) is not None:
                why_not = "a stop override is active"
            elif rt.keep_running(job, now, strict=True)[0] is None:
                why_not = "its window is over"
            elif rt.running(st):
                why_not = f"already running (pid {st.pid})"
            if why_not:
                if not rt.running(st):
                    st.outcome = "stopped" if st.stop_requested else "failed"
                    st.supervisor_pid = st.supervisor_start = None
                    rt.state.write_state(name, st)
                rt.event(name, "restart_skipped", reason=why_not)
                return False
            assert job is not None
            s = job.schedule(st.schedule or "")
            until, _ = rt.keep_running(job, now, strict=True)
            try:
                self.popen = rt._spawn(job, s, until, st, f"restart {st.crashes} of {job.retries}")
            except (OSError, RuntimeError) as e:
                rt._failed(job, st.schedule, st, e)
                return False
            self.adopted = None
            rt.state.write_state(name, st)
            rt.event(name, "restarted", schedule=st.schedule, pid=self.popen.pid, crash=st.crashes)
            return True

    def _rotate_log(self) -> None:
        """Copy-truncate the output log when it outgrows the limit (the job keeps its fd)."""
        path = self.rt.state.output_log(self.job_name)
        try:
            if path.stat().st_size <= log_max_bytes():
                return
            import shutil

            shutil.copyfile(path, path.with_name(path.name + ".1"))
            with open(path, "r+b") as fh:
                fh.truncate(0)
        except OSError:
            pass
