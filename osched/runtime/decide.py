"""What ``osched-start`` / ``osched-stop`` (and ``osched start/stop``) do: take the job's
lock, read the state and overrides, ask ``policy``, apply the answer, log an event.

Every decision about a job is taken under the job's lock and logged to the events log
(docs/runtime.md has the user's view).  Standard library only, and ``subprocess`` only when a
process is started or stopped.
"""

from __future__ import annotations

import contextlib
import os
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import UsageError
from ..model import Config, Job
from ..state import JobOutcome, JobState, Override, StateDir, iso
from . import policy
from .clock import Clock
from .context import Reply, how_ended
from .policy import Action, Facts
from .proc import default_procs

if TYPE_CHECKING:
    from collections.abc import Callable

    from ..runner import Runner
    from .launch import Launcher
    from .proc import Procs

    # (job, schedule) -> (unit, command, error or None): targets.unit_starter
    UnitStarter = Callable[[str, str], tuple[str, str, str | None]]

LOCK_WAIT = 120.0  # a firing waits this long for another decision (a stop's grace) before giving up


def load_checked(
    config_path: Path,
    state: StateDir,
    job: str | None = None,
    create: bool = True,
    now: datetime | None = None,
) -> Config:
    """The config, after the trust checks every entrypoint and manual start/stop make first:
    the state dir (created 0700 when missing), then the config read from the one descriptor
    that was checked.  ``trust.InsecureError`` is a refusal: nothing has been written.
    ``job``: only that job is needed (a firing), so its compiled plan is enough when the
    config is unchanged (``cache.py``); with ``now``, its fire file is renewed for the fast
    lane (``fastlane.py``) when needed."""
    return load_noting(config_path, state, job, create, now)[0]


def load_noting(
    config_path: Path,
    state: StateDir,
    job: str | None = None,
    create: bool = True,
    now: datetime | None = None,
) -> tuple[Config, bool]:
    """``load_checked``, and whether the job's fire file had to be renewed: a firing then also
    looks whether the install is due for renewal (``renewal``), a few times a month at most."""
    from .. import cache
    from ..trust import check_state_dir

    check_state_dir(state.root, create=create)
    return cache.for_firing_noting(state.store, config_path, job, now)


class Runtime:
    def __init__(
        self,
        cfg: Config,
        state: StateDir,
        *,
        clock: Clock | None = None,
        procs: Procs | None = None,
        foreground: bool = False,
        runner: Runner | None = None,
    ) -> None:
        self.cfg = cfg
        self.state = state
        self.clock = clock or Clock()
        self.procs: Any = procs or default_procs()
        self.foreground = foreground
        self.runner = runner
        self._launcher: Launcher | None = None
        self.upkeep_due = False  # the firing's fire file was renewed: look at the install too

    @property
    def launcher(self) -> Launcher:
        """Spawning and supervising (imported only when something is started)."""
        if self._launcher is None:
            from .launch import Launcher

            self._launcher = Launcher(self)
        return self._launcher

    # -- reading --------------------------------------------------------------------------------
    def event(self, job: str | None, event: str, **kw: Any) -> None:
        self.state.event(self.clock.now(), job, event, **kw)

    def change(self, job: str, st: JobState, event: str, **kw: Any) -> None:
        """Record a change of the job's state and its event together (the caller holds the
        job's lock): the state file first, then the line in the events log."""
        self.state.write_state(job, st)
        self.event(job, event, **kw)

    def transition(
        self,
        job: str,
        st: JobState,
        outcome: JobOutcome,
        event: str | None = None,
        *,
        supervised: bool = False,
        **kw: Any,
    ) -> bool:
        """The one way a run's outcome changes after its processes were dealt with: set
        ``outcome`` (a run that is over has no process: ``pid`` cleared; and, unless
        ``supervised``, no supervisor), record it (``record``: a full disk is said, never
        raised) and log ``event`` with ``kw``.  False when the state could not be recorded."""
        st.outcome = outcome
        if outcome is not JobOutcome.RUNNING:
            st.pid = st.pid_start = None
        if not supervised:
            st.supervisor_pid = st.supervisor_start = None
        ok = self.record(job, st, str(outcome))
        if event is not None:
            self.event(job, event, **kw)
        return ok

    def record(self, job: str, st: JobState, what: str) -> bool:
        """Write the job's state after something was already done to its processes (a stop):
        a record that cannot be written (a full disk) never undoes or blocks that; it is said
        on stderr and in the events log (when that can be written), and False is returned."""
        try:
            self.state.write_state(job, st)
        except OSError as e:
            import sys

            why = f"{what}, but its state could not be recorded ({e.strerror or e})"
            sys.stderr.write(f"osched: {job}: {why}\n")
            self.event(job, "state_unrecorded", reason=why)
            return False
        return True

    def edge_within(self, job_name: str, sid: str, kind: str, minutes: int) -> datetime | None:
        """The next start (``kind`` "start") or end of schedule ``sid``'s windows after now and
        within ``minutes``: what ``--wait`` sleeps until (a firing the scheduler can only make
        at an unambiguous wall time before a DST change, docs/runtime.md)."""
        from datetime import timedelta

        from ..windows import windows_between

        job = self.cfg.job(job_name)
        s = job.schedule(sid) if job is not None else None
        if s is None or not s.enabled:
            return None
        now = self.clock.now()
        limit = now + timedelta(minutes=minutes)
        for w in windows_between(s, now - timedelta(days=8), limit + timedelta(minutes=1)):
            t = w.start if kind == "start" else w.end
            if now < t <= limit:
                return t
        return None

    def reload(self, job: str, refused: str) -> str:
        """Read the config again (a supervisor, between runs), through the same trust checks as
        the entrypoints: "" when it was read, else the refusal (the config last read is kept,
        so the window end is still kept, and restarts are blocked).  ``refused``: the last
        refusal, so a lasting one is logged once; a config error is logged and keeps it too."""
        from ..errors import ConfigError
        from ..trust import InsecureError, check_state_dir

        try:
            check_state_dir(self.state.root, create=False)
        except (InsecureError, OSError) as e:
            return str(e)  # the state dir is not trusted: no event written
        try:
            self.cfg = load_checked(self.cfg.path, self.state, job, create=False)
        except InsecureError as e:
            if refused != str(e):
                self.event(job, "refused", reason=str(e))
            return str(e)
        except ConfigError as e:
            self.event(job, "config_error", reason=str(e))
        return ""

    def skip(self, job: str, schedule: str | None, event: str, reason: str) -> Reply:
        self.event(job, event, schedule=schedule, reason=reason)
        return Reply(0, f"{job}: {reason}")

    def running(self, st: JobState) -> bool:
        return bool(self.procs.alive(st.pid, st.pid_start))

    def supervised(self, st: JobState) -> bool:
        return bool(self.procs.alive(st.supervisor_pid, st.supervisor_start))

    def facts(self, job: str, now: datetime | None = None) -> Facts:
        """Everything the policy needs, read now (the caller holds the job's lock)."""
        now = now or self.clock.now()
        st = self.state.read_state(job, now)
        return Facts(
            now=now,
            state=st,
            running=self.running(st),
            supervised=self.supervised(st),
            stop_override=self.state.active_override(job, "stop", now),
            start_override=self.state.active_override(job, "start", now),
        )

    def keep_running(self, job: Job, now: datetime, strict: bool = False) -> tuple[datetime | None, str]:
        return policy.keep_running(job, now, self.state.active_override(job.name, "start", now), strict)

    def job(self, name: str) -> Job:
        job = self.cfg.job(name)
        if job is None:
            raise UsageError(f"no job named {name!r} in {self.cfg.path}")
        return job

    # -- start firing ----------------------------------------------------------------------------
    def start_firing(self, job_name: str, sid: str) -> Reply:
        out, end = self.start_or_wait(job_name, sid, first=True)
        if end is None:
            return out
        from .conditions import start_when_met  # on_ac_power / network unmet: wait for them

        return start_when_met(self, job_name, sid, end, out)

    def start_or_wait(self, job_name: str, sid: str, first: bool = False) -> tuple[Reply, datetime | None]:
        """Decide and apply a start firing; (reply, None), or (reply, the window's end) when
        the job's ``on_ac_power``/``network`` is unmet (``first``: log it)."""
        job = self.cfg.job(job_name)
        pre = policy.start_precheck(job, job_name, sid, self.cfg.path, self.clock.now())
        if pre.action == Action.SKIP or job is None:  # the common skip takes no lock
            return self.skip(job_name, sid, "start_skipped", pre.reason), None
        with self.state.lock(job.name, LOCK_WAIT) as held:
            facts = self.facts(job.name)
            d = policy.start_decision(job, job_name, sid, self.cfg.path, facts, self.foreground)
            st = facts.state
            if d.action == Action.ADOPT:
                return self.launcher.adopt(job, st, held), None
            if d.action == Action.SKIP or d.window is None:
                return self.skip(job.name, sid, "start_skipped", d.reason), None
            why = self._unmet(job)
            if why is not None:
                why = f"{why}; waiting for it until {iso(d.window.end)}"
                return (
                    self.skip(job.name, sid, "start_skipped", why) if first else Reply(0, why)
                ), d.window.end
            if d.new_window:
                st.crashes = 0
                st.schedule, st.window_start, st.window_end = sid, iso(d.window.start), iso(d.window.end)
            s = job.schedule(sid)
            return self.launcher.launch(job, s, d.window.end, st, held, reason=d.reason), None

    def _unmet(self, job: Job) -> str | None:
        if not (job.on_ac_power or job.network) or self.procs.name == "windows":
            return None  # Task Scheduler's own settings hold a Windows start back
        from .conditions import unmet

        return unmet(job)

    # -- manual start --------------------------------------------------------------------------------
    def manual_start(self, job_name: str, until: datetime) -> Reply:
        job = self.job(job_name)
        with self.state.lock(job.name, LOCK_WAIT) as held:
            now = self.clock.now()
            if self.state.remove_override(job.name, "stop"):
                self.event(job.name, "override_cleared", kind="stop", reason="manual start")
            self.state.write_override(job.name, Override("start", now, until, "manual start"))
            self.event(job.name, "override_created", kind="start", expires=iso(until), reason="manual start")
            st = self.state.read_state(job.name, now)
            if self.running(st):
                self.event(job.name, "start_skipped", reason=f"already running (pid {st.pid})")
                return Reply(
                    0, f"{job.name}: already running (pid {st.pid}); kept running until {iso(until)}"
                )
            st.crashes = 0
            st.schedule, st.window_start, st.window_end = "manual", iso(now), iso(until)
            return self.launcher.launch(job, None, until, st, held, reason=f"manual start until {iso(until)}")

    # -- stop ---------------------------------------------------------------------------------------
    def stop_firing(self, job_name: str, sid: str | None) -> Reply:
        job = self.cfg.job(job_name)
        if job is None:
            return self.skip(job_name, sid, "stop_skipped", f"no job {job_name!r} in {self.cfg.path}")
        with self.state.lock(job.name, LOCK_WAIT):
            now = self.clock.now()
            self.state.active_override(job.name, "stop", now)  # clears an expired one
            d = policy.stop_decision(job, now, self.state.active_override(job.name, "start", now))
            if d.action == Action.SKIP:
                return self.skip(job.name, sid, "stop_skipped", d.reason)
            return self.stop_job(job, sid, f"window {sid} ended" if sid else "window ended")

    def manual_stop(self, job_name: str, until: datetime | None) -> Reply:
        """Stop now; then clear a start override and write the stop override.  The stop comes
        first: an override that cannot be written (a full disk) is said, never a reason not to
        stop."""
        job = self.job(job_name)
        with self.state.lock(job.name, LOCK_WAIT):
            now = self.clock.now()
            out = self.stop_job(job, None, "manual stop")
            try:
                if self.state.remove_override(job.name, "start"):
                    self.event(job.name, "override_cleared", kind="start", reason="manual stop")
                if until is not None:
                    self.state.write_override(job.name, Override("stop", now, until, "manual stop"))
                    self.event(
                        job.name, "override_created", kind="stop", expires=iso(until), reason="manual stop"
                    )
                    out.message += f"; no scheduled start before {iso(until)}"
            except OSError as e:
                out.message += (
                    f"; but the stop override could not be written ({e.strerror or e}): "
                    "the next start firing of an open window may start it again"
                )
            return out

    def stop_job(self, job: Job, sid: str | None, reason: str) -> Reply:
        """Stop the job's process group now (the caller holds the lock)."""
        st = self.state.read_state(job.name, self.clock.now())
        running, supervised = self.running(st), self.supervised(st)
        if not running and not supervised:
            if st.outcome in (JobOutcome.RUNNING, JobOutcome.BACKOFF):
                self.transition(job.name, st, JobOutcome.STOPPED)
            return self.end_leftovers(job, sid, st, reason)
        st.stop_requested = True  # the supervisor must not restart it: recorded when it can be
        self.record(job.name, st, "stopping")
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
        st.stop_requested = True
        self.transition(
            job.name,
            st,
            JobOutcome.STOPPED,
            "stopped",
            supervised=True,  # the supervisor clears its own
            schedule=sid,
            reason=reason,
            how=how_ended(how, job),
        )
        return Reply(0, f"{job.name}: stopped ({reason})")

    def end_leftovers(self, job: Job, sid: str | None, st: JobState, reason: str) -> Reply:
        """The job's leader is gone: end what is left of its process group (a child it put in
        the background), so nothing of it outlives the window."""
        left = self.procs.leftovers(st.pgid, st.pgid_start)
        if not left:
            return self.skip(job.name, sid, "stop_skipped", "not running")
        how = self.procs.end_group(st.pgid, st.pgid_start, job.stop_signal, job.stop_timeout)
        self.event(
            job.name,
            "stopped",
            schedule=sid,
            reason=f"{reason}: {len(left)} leftover process(es) of its group",
            how=how_ended(how, job),
        )
        return Reply(0, f"{job.name}: stopped {len(left)} leftover process(es) ({reason})")

    # -- resume -------------------------------------------------------------------------------------
    def resume(self, starter: UnitStarter | None = None) -> Reply:
        """Boot/login catch-up: start each job whose window is open now.  ``starter``: start the
        window's own unit instead (``targets.unit_starter``: systemd's service), so the job
        runs in it."""
        lines, code = [], 0
        now = self.clock.now()
        for job in self.cfg.jobs.values():
            w = policy.latest_open(job, (now,))
            if w is None:
                continue
            if starter is not None:
                out = self.start_in_unit(job, w.schedule.id, starter)
            else:
                out = self.start_firing(job.name, w.schedule.id)
            lines.append(out.message)
            code = max(code, out.code)
        return Reply(code, "\n".join(lines) or "resume: no window is open")

    def start_in_unit(self, job: Job, sid: str, starter: UnitStarter) -> Reply:
        unit, command, error = starter(job.name, sid)
        if error is not None:
            self.event(job.name, "start_failed", schedule=sid, reason=f"{command}: {error}")
            return Reply(1, f"{job.name}: could not start {unit}: {error}")
        self.event(job.name, "resume", schedule=sid, reason=f"started {unit}")
        return Reply(0, f"{job.name}: started {unit}")
