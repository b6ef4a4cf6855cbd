"""Starting a job: its argv, workdir, environment and log; then who supervises it.

* foreground (the systemd service's main process): spawn, then supervise in this process;
* POSIX: a double fork; the grandchild (own session, stdio on /dev/null) spawns the job,
  reports through a pipe, lets go of the job's lock and becomes its supervisor;
* Windows (no fork): the job starts detached in its own process group and a detached
  ``python -m osched.entry supervise`` process adopts it.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..model import DEFAULT_LOG_KEEP, Job, Schedule
from ..paths import log_max_bytes
from ..state import Held, JobOutcome, JobState, iso
from .context import Host, Reply
from .spawn import close_inherited, detach_stdio, merged_env, secrets, workdir

if TYPE_CHECKING:
    from .supervisor import Supervisor

Prepare = Callable[[], tuple[Reply, "Supervisor | None"]]


def _report_to_launcher(line: str) -> None:
    """One line on stdout, then stdout closed: the launcher reads exactly that."""
    with contextlib.suppress(OSError, ValueError):  # a launcher gone meanwhile: supervise anyway
        sys.stdout.write(line + "\n")
        sys.stdout.flush()
        sys.stdout.close()


def relay(state: Any, job: Job, foreground: bool) -> int | None:
    """The write end of a pipe whose reader is ``osched.logrelay`` (double-forked: no one's
    child, so neither the supervisor's death nor its exit touches it), stamping each line of
    the job's output into its log; under systemd (``foreground``) it also copies the lines to
    the service's journal.  None where there is no relay (Windows, or it could not start):
    the job then writes to the log file itself."""
    if sys.platform == "win32":  # pragma: no cover - the Windows job writes to the file
        return None
    r, w = os.pipe()
    argv = [
        sys.executable,
        "-m",
        "osched.logrelay",
        str(state),
        job.name,
        str(log_max_bytes()),
        str(job.log_keep),
    ]
    argv += ["--tee"] if foreground else []
    try:
        child = os.fork()
    except OSError:
        os.close(r)
        os.close(w)
        return None
    if child == 0:  # pragma: no cover - runs in the forked child (checked by its effects)
        try:
            os.setsid()
            if os.fork():
                os._exit(0)
            os.dup2(r, 0)
            null = os.open(os.devnull, os.O_RDWR)
            os.dup2(null, 1)
            if not foreground:
                os.dup2(null, 2)
            close_inherited(keep=())
            os.execv(sys.executable, argv)
        finally:
            os._exit(127)
    os.close(r)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(child, 0)
    return w


class Launcher:
    """Starts the job and decides who supervises it; sees the runtime as a ``Host``."""

    def __init__(self, rt: Host) -> None:
        self.rt = rt

    # -- one process ---------------------------------------------------------------------------
    def open_log(self, job: str, header: str, spec: Job | None = None) -> int:
        keep = spec.log_keep if spec is not None else DEFAULT_LOG_KEEP
        return self.rt.state.open_log(job, header, log_max_bytes(), keep)

    def spawn(self, job: Job, s: Schedule | None, until: datetime | None, st: JobState, why: str) -> Any:
        """Start the job's process and record it in ``st`` (not yet written)."""
        rt = self.rt
        argv = [*job.command, *(s.args if s else ())]
        cwd = workdir(job, rt.cfg.path)
        if not cwd.is_dir():
            raise RuntimeError(f"workdir {cwd} does not exist")
        env = merged_env(job, s, until, secrets(job, rt.cfg.path))
        if job.limits and not rt.foreground and sys.platform != "win32":
            # the supervisor path's limits (the systemd target's unit carries them itself)
            import shutil

            from ..limits import exec_argv

            if shutil.which(argv[0], path=env.get("PATH")) is None:
                raise FileNotFoundError(2, "No such file or directory", argv[0])
            argv = exec_argv(job.limits, argv, sys.executable, job.name)
        now = rt.clock.now()
        fd = self.open_log(job.name, f"--- osched: starting {job.name} at {iso(now)} ({why}) ---\n", job)
        out = relay(rt.state.root, job, rt.foreground)  # stamped lines; None: straight to the file
        try:
            p = rt.procs.spawn(argv, str(cwd), env, fd if out is None else out)
        finally:
            os.close(fd)
            if out is not None:
                os.close(out)
        st.pid, st.pid_start = p.pid, rt.procs.start_time(p.pid)
        # its own process group (and session); a leader that already exited is still unreaped
        st.pgid, st.pgid_start = p.pid, st.pid_start or rt.procs.start_time(p.pid, zombie_ok=True)
        st.started_at, st.outcome, st.stop_requested = iso(now), JobOutcome.RUNNING, False
        return p

    def failed(self, job: Job, sid: str | None, st: JobState, e: BaseException) -> Reply:
        msg = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
        where = f": {e.filename}" if isinstance(e, OSError) and e.filename else ""
        self.rt.transition(
            job.name,
            st,
            JobOutcome.FAILED,
            "start_failed",
            supervised=True,
            schedule=sid,
            reason=f"{msg}{where}",
        )
        with contextlib.suppress(OSError):
            os.close(self.open_log(job.name, f"--- osched: could not start: {msg}{where} ---\n"))
        from .hooks import after

        after(self.rt, self, job, sid, "start_failed")
        return Reply(1, f"{job.name}: could not start: {msg}{where}")

    def _started(
        self, job: Job, sid: str | None, st: JobState, p: Any, supervisor_pid: int, reason: str
    ) -> Reply:
        rt = self.rt
        st.supervisor_pid, st.supervisor_start = supervisor_pid, rt.procs.start_time(supervisor_pid)
        try:
            rt.state.write_state(job.name, st)
        except OSError as e:  # unrecorded, the next firing would start a second copy: end it
            rt.procs.terminate(p.pid, "SIGKILL", 5.0)
            rt.event(
                job.name, "start_failed", schedule=sid, reason=f"state not written ({e.strerror}): job ended"
            )
            from .hooks import after

            after(rt, self, job, sid, "start_failed")  # every start_failed runs on_failure
            return Reply(1, f"{job.name}: could not record the started job ({e.strerror}); it was ended")
        rt.event(job.name, "started", schedule=sid, pid=p.pid, reason=reason, crashes=st.crashes)
        if not st.crashes:  # a start, not a crash restart
            from .hooks import after

            after(rt, self, job, sid, "started")
        return Reply(0, f"{job.name}: started (pid {p.pid}; {reason})")

    # -- who supervises --------------------------------------------------------------------------
    def prepare(
        self, job: Job, s: Schedule | None, until: datetime | None, st: JobState, reason: str
    ) -> tuple[Reply, Supervisor | None]:
        """Spawn the job and record it with this process as its supervisor."""
        from .supervisor import Supervisor

        sid = s.id if s else None
        try:
            p = self.spawn(job, s, until, st, reason)
        except (OSError, RuntimeError) as e:
            return self.failed(job, sid, st, e), None
        out = self._started(job, sid, st, p, os.getpid(), reason)
        return out, (Supervisor(self.rt, self, job.name, p) if out.code == 0 else None)

    def launch(
        self, job: Job, s: Schedule | None, until: datetime | None, st: JobState, held: Held, reason: str
    ) -> Reply:
        rt = self.rt
        if rt.foreground:
            # a stop signal between the spawn and the supervisor's own handlers (systemd stops
            # a unit that has just started) must reach the supervisor, not kill this process
            # and leave the job unsupervised
            import signal

            from ..osdep import stop_signals

            seen: list[Supervisor | bool] = []

            def early(signum: int, frame: Any) -> None:
                seen.append(True)
                for x in seen:
                    if not isinstance(x, bool):
                        x.terminated = True

            saved = {sig: signal.signal(sig, early) for sig in stop_signals()}
            out, supervisor = self.prepare(job, s, until, st, reason)
            if supervisor is None:
                for sig, old in saved.items():
                    signal.signal(sig, old)
                return out
            seen.append(supervisor)
            supervisor.terminated = supervisor.terminated or True in seen
            held.release()  # let the other entrypoints decide while we supervise
            return Reply(supervisor.run(), "")
        if rt.procs.name == "windows":
            rt.state.write_state(job.name, st)  # the window and crash count the supervisor reads
            extra = ["--schedule", s.id if s else "manual", "--until", iso(until) or "", "--reason", reason]
            return self._start_supervisor(job.name, extra)
        return self._detached(job.name, held, lambda: self.prepare(job, s, until, st, reason))

    def _start_supervisor(self, job_name: str, extra: list[str]) -> Reply:
        """Windows (no fork): a detached ``python -m osched.entry supervise`` process spawns
        (or adopts) the job itself, so it owns the job's Job Object, and reports its reply on
        its stdout while this process holds the job's lock for it."""
        import subprocess

        rt, win = self.rt, self.rt.procs
        tail = ["--config", str(rt.cfg.path), "--state-dir", str(rt.state.root)]
        sup = win.popen(
            [sys.executable, "-m", "osched.entry", "supervise", job_name, *extra, *tail],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            creationflags=win.DETACHED_PROCESS | win.CREATE_NEW_PROCESS_GROUP,
            close_fds=True,
        )
        line = sup.stdout.readline().decode("utf-8", "replace").strip() if sup.stdout else ""
        if not line:
            return Reply(1, f"{job_name}: the supervisor died before starting the job")
        code_s, _, msg = line.partition(" ")
        return Reply(int(code_s), msg)

    def supervise_here(
        self,
        job_name: str,
        sid: str,
        until: datetime | None,
        reason: str,
        adopt: bool,
        report: Callable[[str], None] | None = None,
    ) -> int:
        """``osched.entry supervise`` (Windows): start or adopt the job, report the reply on
        stdout (the launcher waits for that one line), then supervise until done."""
        from .supervisor import Supervisor

        rt = self.rt
        st = rt.state.read_state(job_name, rt.clock.now())
        supervisor: Supervisor | None = None
        if adopt:
            if not rt.running(st):
                out = Reply(0, f"{job_name}: not running")
            else:
                st.supervisor_pid, st.supervisor_start = os.getpid(), rt.procs.start_time(os.getpid())
                if rt.record(job_name, st, "not supervised again"):  # else the next firing adopts it
                    rt.event(job_name, "adopted", pid=st.pid, reason="its supervisor was gone")
                    out = Reply(0, f"{job_name}: already running (pid {st.pid}); supervising it again")
                    supervisor = Supervisor(rt, self, job_name, None, adopted_pid=st.pid)
                else:
                    out = Reply(1, f"{job_name}: running, but its supervisor could not be recorded")
        else:
            job = rt.job(job_name)
            out, supervisor = self.prepare(job, job.schedule(sid), until, st, reason)
        (report or _report_to_launcher)(f"{out.code} {out.message}")
        return supervisor.run() if supervisor is not None else out.code

    def adopt(self, job: Job, st: JobState, held: Held) -> Reply:
        """The job runs but its supervisor is gone (killed): start a new supervisor for it."""
        from .supervisor import Supervisor

        rt = self.rt
        if rt.procs.name == "windows":
            return self._start_supervisor(job.name, ["--adopt"])

        def prepare() -> tuple[Reply, Supervisor | None]:
            st.supervisor_pid, st.supervisor_start = os.getpid(), rt.procs.start_time(os.getpid())
            if not rt.record(job.name, st, "not supervised again"):  # else the next firing adopts it
                return Reply(1, f"{job.name}: running, but its supervisor could not be recorded"), None
            rt.event(job.name, "adopted", pid=st.pid, reason="its supervisor was gone")
            message = f"{job.name}: already running (pid {st.pid}); supervising it again"
            return Reply(0, message), Supervisor(rt, self, job.name, None, adopted_pid=st.pid)

        return self._detached(job.name, held, prepare)

    def _detached(self, job_name: str, held: Held, prepare: Prepare) -> Reply:
        """Double fork.  The grandchild (own session, stdio on /dev/null) runs ``prepare`` (start
        or adopt the job, write the state), reports its reply through a pipe, lets go of the
        job's lock and becomes the supervisor; this process returns the reported reply."""
        if sys.platform == "win32":  # pragma: no cover - Windows starts a supervisor process instead
            raise NotImplementedError
        r, w = os.pipe()
        child = os.fork()
        if child == 0:  # pragma: no cover - runs in the forked child (checked by its effects)
            code = 1
            try:
                os.close(r)
                os.setsid()
                if os.fork():
                    os._exit(0)
                detach_stdio()
                close_inherited(keep=(w, held.fd))
                out, supervisor = prepare()
                with contextlib.suppress(OSError):  # a launcher killed meanwhile: supervise anyway
                    os.write(w, f"{out.code} {out.message}".encode())
                    os.close(w)
                os.close(held.fd)  # this process's copy: the lock is free for the others
                code = supervisor.run() if supervisor is not None else out.code
            except BaseException:  # nothing may escape a forked child
                with contextlib.suppress(BaseException):
                    import traceback

                    self.rt.event(job_name, "supervisor_error", reason=traceback.format_exc(limit=3)[-500:])
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
            return Reply(1, f"{job_name}: the supervisor died before starting the job")
        code_s, _, msg = text.partition(" ")
        return Reply(int(code_s), msg)
