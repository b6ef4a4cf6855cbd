"""``on_failure``: the job's hook, run when it gives up after its retries or cannot start.

The hook never blocks the job's restarts (there are none left) and never restarts anything;
its result is an event (``on_failure``: exit code, or ``on_failure_failed``).  It gets the
job's environment plus ``OSCHED_JOB``, ``OSCHED_SCHEDULE``, ``OSCHED_EVENT`` (``gave_up`` or
``start_failed``) and ``OSCHED_EXIT_CODE`` (empty when there is none); its output goes to the
job's output log.

* detached (cron, launchd, a manual start): a double-forked process waits for the hook, so the
  entrypoint or supervisor returns at once;
* foreground (systemd): the hook runs before the service's main process exits (systemd would
  end a detached one with the service), for at most ``FOREGROUND_TIMEOUT`` seconds;
* Windows: started detached; only its start is an event.
"""

from __future__ import annotations

import contextlib
import os
import sys
from typing import TYPE_CHECKING

from ..model import Job
from ..paths import NOW_ENV

if TYPE_CHECKING:
    from .context import Host, Starter

TIMEOUT = 300.0  # a detached hook is ended after this long
FOREGROUND_TIMEOUT = 60.0
EVENT_ENV = "OSCHED_EVENT"
EXIT_CODE_ENV = "OSCHED_EXIT_CODE"


def hook_env(job: Job, sid: str | None, event: str, exit_code: int | None) -> dict[str, str]:
    env = dict(os.environ)
    env.pop(NOW_ENV, None)
    env.update(job.env)
    env.update(
        {
            "OSCHED_JOB": job.name,
            "OSCHED_SCHEDULE": sid or "manual",
            EVENT_ENV: event,
            EXIT_CODE_ENV: "" if exit_code is None else str(exit_code),
        }
    )
    return env


def on_failure(
    rt: Host, starter: Starter, job: Job, sid: str | None, event: str, exit_code: int | None
) -> None:
    """Run ``job.on_failure`` (if any) for ``event``; never raises."""
    if not job.on_failure:
        return
    try:
        if sys.platform == "win32":  # pragma: no cover - Windows only
            _start_detached_windows(rt, job, sid, event, exit_code)
        elif rt.foreground:
            _run(rt, starter, job, sid, event, exit_code, FOREGROUND_TIMEOUT)
        else:
            _run_detached(rt, starter, job, sid, event, exit_code)
    except Exception as e:  # a hook must never break the runtime
        rt.event(job.name, "on_failure_failed", schedule=sid, reason=str(e) or type(e).__name__)


def _run(
    rt: Host, starter: Starter, job: Job, sid: str | None, event: str, exit_code: int | None, timeout: float
) -> None:
    import subprocess

    from .spawn import workdir

    assert job.on_failure is not None
    log = starter.open_log(job.name, f"--- osched: on_failure for {event} ---\n")
    try:
        p = subprocess.Popen(
            list(job.on_failure),
            cwd=str(workdir(job, rt.cfg.path)),
            env=hook_env(job, sid, event, exit_code),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,
            close_fds=True,
        )
    except OSError as e:
        rt.event(job.name, "on_failure_failed", schedule=sid, reason=f"{e.strerror}: {job.on_failure[0]}")
        return
    finally:
        os.close(log)
    leader_start = rt.procs.start_time(p.pid, zombie_ok=True)  # its group ends with it (below)
    try:
        code = p.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        rt.procs.terminate(p.pid, "SIGTERM", 5.0)
        p.wait()
        rt.event(
            job.name, "on_failure_failed", schedule=sid, reason=f"ended after {timeout:g}s", event_of=event
        )
        return
    # what the hook left in the background (``sleep 3091 & exit 0``) ends with it, as a job's
    # leftovers do at its window end: proven members of its group only
    rt.procs.end_group(p.pid, leader_start, "SIGTERM", 5.0)
    rt.event(job.name, "on_failure", schedule=sid, exit=code, reason=f"on_failure for {event} exited {code}")


def _run_detached(
    rt: Host, starter: Starter, job: Job, sid: str | None, event: str, exit_code: int | None
) -> None:
    if sys.platform == "win32":  # pragma: no cover
        raise NotImplementedError
    from .spawn import close_inherited, detach_stdio

    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the forked child (checked by its effects)
        try:
            os.setsid()
            if os.fork():
                os._exit(0)
            detach_stdio()
            close_inherited(keep=())
            _run(rt, starter, job, sid, event, exit_code, TIMEOUT)
        finally:
            os._exit(0)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(child, 0)


def _start_detached_windows(  # pragma: no cover - Windows only
    rt: Host, job: Job, sid: str | None, event: str, exit_code: int | None
) -> None:
    import subprocess

    from .spawn import workdir
    from .winproc import CREATE_NEW_PROCESS_GROUP, DETACHED_PROCESS

    assert job.on_failure is not None
    p = subprocess.Popen(
        list(job.on_failure),
        cwd=str(workdir(job, rt.cfg.path)),
        env=hook_env(job, sid, event, exit_code),
        creationflags=DETACHED_PROCESS | CREATE_NEW_PROCESS_GROUP,
        close_fds=True,
    )
    rt.event(job.name, "on_failure", schedule=sid, pid=p.pid, reason=f"on_failure for {event} started")
