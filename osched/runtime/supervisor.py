"""The supervisor: waits for the job, restarts it after a crash (with backoff), and stops it
when its time is over and no stop firing came.  Its decisions come from ``policy``.

Waiting is in ``wait``/``sleep`` alone and is the same on every platform: a thread waits for
the spawned process, a socket carries stop signals (``signal.set_wakeup_fd``), and both set
one event the loop waits on.  Only an adopted job (not our child) is looked at every
``ADOPTED_POLL`` seconds.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from ..limits import exit_note
from ..model import Job
from ..osdep import stop_signals
from ..paths import log_max_bytes
from ..state import JobOutcome, iso
from . import policy
from .context import how_ended
from .policy import GRACE, WAKE

ADOPTED_POLL = 0.5  # seconds between looks at an adopted job (not our child)

if TYPE_CHECKING:
    from .context import Host, Starter


ENDED = {JobOutcome.FINISHED: "finished", JobOutcome.GAVE_UP: "gave_up"}


class Supervisor:
    def __init__(
        self, rt: Host, starter: Starter, job_name: str, popen: Any, adopted_pid: int | None = None
    ) -> None:
        self.rt = rt
        self.starter = starter
        self.job_name = job_name
        self.popen = popen
        self.adopted = adopted_pid
        self.terminated = False
        self.refused = ""  # the last reload's trust refusal
        self.manual = False  # the run's end is a manual start's until (no stop firing comes)
        self.until: datetime | None = None
        self._wake = threading.Event()  # set by the process waiter and by stop signals
        self._sockets: tuple[Any, Any] | None = None
        self._old_wakeup = -1

    # -- waiting: portable (threads and a socket), the same code on every platform ------------
    def _install_signals(self) -> None:
        """A stop signal sets ``terminated`` and wakes the loop: the C-level handler writes to
        a socket (``signal.set_wakeup_fd``; Windows accepts sockets there), and a thread
        reading it sets the wake event."""
        import signal
        import socket

        def handler(signum: int, frame: Any) -> None:
            self.terminated = True

        r, w = socket.socketpair()
        w.setblocking(False)
        self._sockets = (r, w)
        self._old_wakeup = signal.set_wakeup_fd(w.fileno())
        for sig in stop_signals():
            signal.signal(sig, handler)
        threading.Thread(target=self._relay, args=(r,), daemon=True, name="osched-signals").start()

    def _relay(self, sock: Any) -> None:
        while True:
            try:
                if not sock.recv(512):
                    return
            except OSError:
                return
            self._wake.set()

    def _watch(self) -> None:
        """A thread that waits for the spawned process and wakes the loop when it ends."""
        popen = self.popen
        if popen is None:
            return

        def wait() -> None:
            with contextlib.suppress(Exception):
                popen.wait()
            self._wake.set()

        threading.Thread(target=wait, daemon=True, name="osched-wait").start()

    def _pid(self) -> int:
        return int(self.popen.pid if self.popen is not None else self.adopted or 0)

    def wait(self, timeout: float) -> tuple[bool, int | None]:
        """Wait up to ``timeout`` s for the job to end or a stop signal.  (ended, exit code)"""
        deadline = time.monotonic() + max(0.0, timeout)
        while True:
            self._wake.clear()
            ended, code = self._poll()
            if ended or self.terminated:
                return ended, code
            left = deadline - time.monotonic()
            if left <= 0:
                return False, None
            # an adopted job is no child of ours: nothing wakes us when it ends, so look again
            self._wake.wait(left if self.popen is not None else min(left, ADOPTED_POLL))

    def _poll(self) -> tuple[bool, int | None]:
        if self.popen is not None:
            code = self.popen.poll()
            return (code is not None), code
        st = self.rt.state.read_state(self.job_name, self.rt.clock.now())
        return (not self.rt.procs.alive(self.adopted, st.pid_start)), None

    def sleep(self, seconds: float) -> None:
        """Sleep (a crash backoff) unless a stop signal comes."""
        deadline = time.monotonic() + seconds
        while not self.terminated:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            self._wake.clear()
            self._wake.wait(left)

    def _reap(self) -> None:
        if self.popen is not None:
            self.popen.poll()

    # -- the loop -------------------------------------------------------------------------------
    def run(self) -> int:
        import signal

        saved = {sig: signal.getsignal(sig) for sig in stop_signals()}
        self._install_signals()
        job = self.rt.cfg.job(self.job_name)
        release = None
        if job is not None and job.keep_awake:
            from .awake import hold

            release = hold(self.job_name)  # no idle sleep while this supervisor runs
        try:
            self._watch()
            return self._loop()
        finally:
            if release is not None:
                release()  # a supervisor run inside another program (tests) gives its signals back
            signal.set_wakeup_fd(self._old_wakeup)
            for sig, handler in saved.items():
                if handler is not None:
                    signal.signal(sig, handler)
            if self._sockets is not None:
                for sock in self._sockets:
                    sock.close()

    def _loop(self) -> int:
        rt = self.rt
        while True:
            job = rt.cfg.job(self.job_name)
            now = rt.clock.now()
            until, why = rt.keep_running(job, now, strict=True) if job else (None, "")
            # a manual run's until: no stop firing comes, the supervisor is the stop, on time;
            # a window's end: the stop firing comes at its minute, the supervisor GRACE after
            self.manual = until is not None and why.startswith("start override")
            self.until = until
            grace = 0.0 if self.manual else GRACE
            timeout = WAKE if until is None else min(WAKE, max(0.0, (until - now).total_seconds() + grace))
            ended, code = self.wait(timeout)
            if self.terminated and not ended:
                return self._stop_for("the supervisor was asked to stop (SIGTERM)")
            if not ended:
                self._rotate_log()
                if self._window_over() or self._battery_stop(job):
                    return 0
                continue
            delay = self._after_exit(code)
            if delay is None:
                return 0
            self.sleep(delay)
            if self.terminated:
                with rt.state.lock(self.job_name):
                    self._finish_state(JobOutcome.STOPPED)
                rt.event(self.job_name, "restart_skipped", reason="the supervisor was asked to stop")
                return 0
            if not self._restart():
                return 0

    def _reload(self) -> Job | None:
        """Read the config again, through the same trust check as the entrypoints.  A refusal
        keeps the config last read (so the window end is still kept) and blocks restarts."""
        self.refused = self.rt.reload(self.job_name, self.refused)
        return self.rt.cfg.job(self.job_name)

    def facts(self) -> policy.Facts:
        return self.rt.facts(self.job_name).with_refusal(self.refused)

    def _over(self, job: Job | None) -> bool:
        """Is every window of the job over (``GRACE`` seconds ago; a manual run's until: now)?"""
        rt = self.rt
        grace = 0.0 if self.manual else GRACE
        return (
            job is None
            or rt.keep_running(job, rt.clock.now() - timedelta(seconds=grace), strict=True)[0] is None
        )

    def _window_over(self) -> bool:
        """``GRACE`` seconds after the end of the last window (no stop firing came): stop,
        with the stop's checks.  The OS's stop firing, at the end minute, normally comes first."""
        rt = self.rt
        if not self._over(self._reload()):
            return False
        with rt.state.lock(self.job_name):
            job = rt.cfg.job(self.job_name)
            if not self._over(job):
                return False
            how = self._terminate_job(job)
            self._finish_state(JobOutcome.STOPPED)
            reason = "its last window ended and no stop firing came"
            if self.manual and self.until is not None:
                reason = f"its manual run reached its until time ({iso(self.until)})"
            if job is None:
                reason = "the job was removed from the config"
            rt.event(self.job_name, "stopped", reason=reason, how=how_ended(how, job))
        if job is not None:
            self._after(job, "stopped", self._schedule(), None)  # outside the lock: it may take a while
        return True

    def _battery_stop(self, job: Job | None) -> bool:
        """``stop_on_battery``: the machine runs on battery now: stop the job (no restart)."""
        if job is None or not job.stop_on_battery:
            return False
        from .conditions import on_ac_power

        if on_ac_power():
            return False
        with self.rt.state.lock(self.job_name):
            how = self._terminate_job(job)
            self._finish_state(JobOutcome.STOPPED)
            reason = "the machine went on battery power (stop_on_battery = true)"
            self.rt.event(self.job_name, "stopped", reason=reason, how=how_ended(how, job))
        self._after(job, "stopped", self._schedule(), None)
        return True

    def _after(self, job: Job, event: str, sid: str | None, code: int | None) -> None:
        """The hook and ping for how the job ended (``hooks.after``)."""
        from .hooks import after

        after(self.rt, self.starter, job, sid, event, code)

    def _terminate_job(self, job: Job | None) -> str:
        sig = job.stop_signal if job else "SIGTERM"
        timeout = job.stop_timeout if job else 30.0
        return str(self.rt.procs.terminate(self._pid(), sig, timeout, reap=self._reap))

    def _stop_for(self, reason: str) -> int:
        job = self.rt.cfg.job(self.job_name)
        how = self._terminate_job(job)
        with self.rt.state.lock(self.job_name):
            self._finish_state(JobOutcome.STOPPED)
        self.rt.event(self.job_name, "stopped", reason=reason, how=how_ended(how, job))
        if job is not None:
            self._after(job, "stopped", self._schedule(), None)
        return 0

    def _schedule(self) -> str | None:
        return self.rt.state.read_state(self.job_name, self.rt.clock.now()).schedule

    def _finish_state(self, outcome: JobOutcome) -> None:
        st = self.rt.state.read_state(self.job_name, self.rt.clock.now())
        if st.pid in (None, self._pid()):
            self.rt.transition(self.job_name, st, outcome)

    def _after_exit(self, code: int | None) -> float | None:
        """Record the exit; return the restart delay, or None when the supervisor is done."""
        rt, name = self.rt, self.job_name
        with rt.state.lock(name):
            st = rt.state.read_state(name, rt.clock.now())
            st.last_exit = code
            mine = st.pid == self._pid()
            if st.stop_requested or not mine:
                # a stop (firing or manual) ended this supervisor's run and recorded its event
                by_stop = st.stop_requested and st.outcome == JobOutcome.STOPPED
                stopped = mine or (by_stop and st.supervisor_pid == os.getpid())
                if mine:
                    rt.transition(name, st, JobOutcome.STOPPED)
                else:  # only this supervisor is gone (another run may be recorded)
                    st.supervisor_pid = st.supervisor_start = None
                    rt.record(name, st, "its supervisor ended")
                if not stopped:
                    return None
                job, kind = rt.cfg.job(name), "stopped"
            else:
                st.pid = st.pid_start = None
                job = self._reload() if code != 0 else rt.cfg.job(name)
                note = exit_note(job.limits, code) if job is not None and not rt.foreground else ""
                d = policy.exit_decision(job, code, st.crashes, self.facts(), note)
                if d.outcome is JobOutcome.BACKOFF:
                    st.crashes += 1
                    if rt.transition(name, st, d.outcome, supervised=True):
                        rt.event(name, "crashed", exit=code, crash=st.crashes, delay=d.delay, reason=d.reason)
                        return d.delay
                    # a restart that could not be recorded is not made
                    why = f"{d.reason}; no restart: the state cannot be written"
                    rt.transition(name, st, JobOutcome.FAILED, "crashed", exit=code, reason=why)
                    return None
                if d.outcome is JobOutcome.FINISHED:
                    st.finished_at = iso(rt.clock.now())
                kind = ENDED.get(d.outcome, "crashed")
                rt.transition(name, st, d.outcome, kind, exit=code, reason=d.reason)
        if job is not None and kind in ("stopped", "finished", "gave_up"):
            self._after(job, kind, st.schedule, code)  # outside the lock: it may take a while
        return None

    def _restart(self) -> bool:
        rt, name = self.rt, self.job_name
        with rt.state.lock(name):
            job = self._reload()
            facts = self.facts()
            st = facts.state
            why_not = policy.restart_blocker(job, facts)
            if why_not or job is None:
                if not facts.running:
                    rt.transition(name, st, JobOutcome.STOPPED if st.stop_requested else JobOutcome.FAILED)
                rt.event(name, "restart_skipped", reason=why_not)
                return False
            until, _ = policy.keep_running(job, facts.now, facts.start_override, strict=True)
            if rt.procs.leftovers(st.pgid, st.pgid_start):  # one copy at a time, never two
                how = rt.procs.end_group(st.pgid, st.pgid_start, job.stop_signal, job.stop_timeout)
                rt.event(
                    name, "stopped", reason="leftover processes of the crashed run", how=how_ended(how, job)
                )
            try:
                self.popen = self.starter.spawn(
                    job, job.schedule(st.schedule or ""), until, st, f"restart {st.crashes} of {job.retries}"
                )
            except (OSError, RuntimeError) as e:
                self.starter.failed(job, st.schedule, st, e)
                return False
            self.adopted = None
            self._watch()
            try:
                rt.state.write_state(name, st)
            except OSError as e:  # an unrecorded copy would be unsupervised and unstoppable: end it
                assert self.popen is not None
                rt.procs.terminate(self.popen.pid, "SIGKILL", 5.0, reap=self._reap)
                why = f"the restarted job's state could not be recorded ({e.strerror or e}); it was ended"
                import sys

                sys.stderr.write(f"osched: {name}: {why}\n")
                rt.event(name, "restart_failed", reason=why)
                return False
            rt.event(name, "restarted", schedule=st.schedule, pid=self.popen.pid, crash=st.crashes)
            return True

    def _rotate_log(self) -> None:
        """Copy-truncate the output log when it outgrows the limit (the job keeps its fd):
        Windows, where the job writes the file itself; elsewhere the log relay rotates it."""
        import sys

        if sys.platform == "win32":  # pragma: no cover
            self.rt.state.rotate_log(self.job_name, log_max_bytes())
