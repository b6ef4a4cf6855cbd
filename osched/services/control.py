"""Control: manual start and stop, overrides, and starting a job whose window just became live
(an edit, an install) where its target runs it.  ``start`` and ``stop`` take the same
in-process path as the entrypoints (``runtime.Runtime``) and return its ``Reply``."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

from ..errors import OschedError, UsageError
from ..model import Config, Job
from ..runtime import Clock, Reply
from ..state import OVERRIDE_KINDS, Override
from .base import AppBase, _target


class Control(AppBase):
    # -- manual control -------------------------------------------------------------------------------
    def runtime(self) -> Any:
        """The runtime, after the same trust checks the entrypoints make."""
        from ..runtime import Runtime, load_checked
        from ..trust import check_state_dir

        if self._loaded is not None:  # this command's load passed the trust check already
            check_state_dir(self.state_dir)
            cfg = self._loaded.config
        else:
            cfg = load_checked(self.config_path, self.state)
        return Runtime(cfg, self.state, clock=Clock(), procs=self.procs, runner=self.runner)

    def live_start(self, cfg: Config, job_name: str, sid: str) -> str | None:
        """A schedule that becomes live inside its window starts the job at once: in its
        systemd service when systemd holds this config, on the cluster when kubernetes does,
        else under a detached supervisor."""
        from ..windows import current_window

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
        from ..windows import job_times

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
        from ..runtime.policy import latest_open

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
        from ..windows import job_times

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
        from ..windows import job_times

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
            with _finishing(progress):
                out.append(self._checked(rt.manual_stop(job_name, t)))
        for target, entry in remote:
            said = target.stop_now(job.name, entry, self.render_ctx())
            out += [said] if said else []
        return "\n".join(out)

    def after_uninstall(self, purge: bool) -> list[str]:
        """What still runs and what stays after an uninstall; with ``purge``, the running jobs
        of this config are stopped and their state (state file, overrides, output logs) and
        this config's caches removed.  The events log stays (other configs may share it)."""
        from ..errors import OschedError
        from ..runtime.proc import default_procs

        try:
            cfg = self.load()
        except OschedError:
            return []
        procs = self.procs or default_procs()
        running = [
            (name, st)
            for name in cfg.jobs
            if procs.alive((st := self.state.read_state(name, self.now, read_only=True)).pid, st.pid_start)
        ]
        store = self.state.store
        kept = [name for name in cfg.jobs if store.exists(("jobs", name))]
        if not purge:
            lines = [
                f"Still running: {name} (pid {st.pid}), started by hand or in a window open now: "
                f"osched stop {name} (or uninstall --purge)"
                for name, st in running
            ]
            if kept:
                lines.append(
                    f"Kept in {self.state_dir}: the state, overrides and output logs of {', '.join(kept)}, "
                    "and the events log (osched uninstall --purge removes all but the events log)"
                )
            return lines
        lines = [self.stop(name, None) for name, _ in running]
        import time

        for _, st in running:  # its supervisor writes its last state as it ends: wait for it
            deadline = time.monotonic() + 15.0
            while procs.alive(st.supervisor_pid, st.supervisor_start) and time.monotonic() < deadline:
                time.sleep(0.05)
        for name in kept:
            store.remove_job(name)
        for entry in store.listdir("plans", store.cache_key(str(self.config_path))):
            store.remove(("plans", store.cache_key(str(self.config_path)), entry))
        if kept:
            gone = ", ".join(kept)
            lines.append(f"Removed the state of {gone} from {self.state_dir} (the events log stays)")
        return lines

    @staticmethod
    def _checked(reply: Reply) -> str:
        if reply.code != 0:
            err = OschedError(reply.message.strip().splitlines()[-1] if reply.message.strip() else "failed")
            err.exit_code = reply.code
            raise err
        return reply.message

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
        from ..trust import check_state_dir

        job_name = self.known_job(job_name)
        check_state_dir(self.state_dir, create=False)  # it deletes and writes: the trust check first
        cleared = []
        with self.state.lock(job_name):
            for k in [kind] if kind else list(OVERRIDE_KINDS):
                if self.state.remove_override(job_name, k):
                    reason = "osched override clear"
                    self.state.event(self.now, job_name, "override_cleared", kind=k, reason=reason)
                    cleared.append(k)
        return cleared


@contextlib.contextmanager
def _finishing(progress: Callable[[str], None] | None) -> Iterator[None]:
    """A stop, once begun, finishes: Ctrl-C while it waits out ``stop_timeout`` says so and is
    ignored (an aborted stop would leave the job running with its override half changed)."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def later(signum: int, frame: object) -> None:
        if progress is not None:
            progress("Finishing the stop first (it ends with SIGKILL after stop_timeout) ...")

    old = signal.signal(signal.SIGINT, later)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old)
