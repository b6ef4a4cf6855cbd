"""The job's hooks and pings: ``on_start`` when it starts, ``on_success`` when it finishes
(exit 0) or is stopped, ``on_failure`` when it gives up after its retries or cannot start; and
``ping_url``: a GET of ``URL/start``, ``URL`` and ``URL/fail`` at the same moments (the
healthchecks.io convention), ``PING_TIMEOUT`` seconds at most.

A hook never delays the job's start or stop and never restarts anything; its result is an
event (``on_start`` etc.: exit code, or ``on_start_failed`` etc.; ``ping`` or
``ping_failed``, naming the URL's host only).  A hook gets the job's environment plus
``OSCHED_JOB``, ``OSCHED_SCHEDULE``, ``OSCHED_EVENT`` (``started``, ``finished``, ``stopped``,
``gave_up`` or ``start_failed``) and ``OSCHED_EXIT_CODE`` (empty when there is none); its
output goes to the job's output log.

* detached (cron, launchd, a manual start, and every start): a double-forked process pings
  and waits for the hook, so the entrypoint or supervisor goes on at once;
* foreground (systemd), after the job ended: the ping and the hook run before the service's
  main process exits (systemd would end a detached one with the service), the hook for at
  most ``FOREGROUND_TIMEOUT`` seconds;
* Windows: the hook is started detached (only its start is an event); the ping is a GET from a
  detached interpreter.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from ..model import Job
from ..paths import NOW_ENV

if TYPE_CHECKING:
    from .context import Host, Starter

TIMEOUT = 300.0  # a detached hook is ended after this long
FOREGROUND_TIMEOUT = 60.0
PING_TIMEOUT = 10.0
# what happened -> (the hook, the ping URL's suffix)
AFTER = {
    "started": ("on_start", "/start"),
    "finished": ("on_success", ""),
    "stopped": ("on_success", ""),
    "gave_up": ("on_failure", "/fail"),
    "start_failed": ("on_failure", "/fail"),
}
EVENT_ENV = "OSCHED_EVENT"
EXIT_CODE_ENV = "OSCHED_EXIT_CODE"


def hook_secrets(job: Job, config_path: Path) -> dict[str, str]:
    """The job's ``env_files`` for its hooks too (a notification may need a token); one that
    cannot be read leaves the hook without them (the job's own start says why)."""
    if not job.env_files:
        return {}
    from .spawn import secrets

    try:
        return secrets(job, config_path)
    except RuntimeError:
        return {}


def hook_env(
    job: Job, sid: str | None, event: str, exit_code: int | None, config_path: Path
) -> dict[str, str]:
    env = dict(os.environ)
    env.pop(NOW_ENV, None)
    env.update(job.env)
    env.update(hook_secrets(job, config_path))
    env.update(
        {
            "OSCHED_JOB": job.name,
            "OSCHED_SCHEDULE": sid or "manual",
            EVENT_ENV: event,
            EXIT_CODE_ENV: "" if exit_code is None else str(exit_code),
        }
    )
    return env


def after(
    rt: Host, starter: Starter, job: Job, sid: str | None, event: str, exit_code: int | None = None
) -> None:
    """Run the hook and the ping that ``event`` calls for (``AFTER``), if the job has them;
    never raises."""
    hook, suffix = AFTER[event]
    argv: tuple[str, ...] | None = getattr(job, hook)
    url = job.ping_url + suffix if job.ping_url else None
    if not argv and not url:
        return
    try:
        if sys.platform == "win32":  # pragma: no cover - Windows only
            _start_detached_windows(rt, job, sid, hook, event, exit_code, url)
        elif rt.foreground and event != "started":
            _run(rt, starter, job, sid, hook, event, exit_code, url, FOREGROUND_TIMEOUT)
        else:
            _run_detached(rt, starter, job, sid, hook, event, exit_code, url)
    except Exception as e:  # a hook must never break the runtime
        rt.event(job.name, f"{hook}_failed", schedule=sid, reason=str(e) or type(e).__name__)


def ping(url: str) -> str:
    """GET ``url``: "" when it answered 2xx, else why not (naming the host, not the URL: its
    path is often a secret)."""
    import urllib.error
    import urllib.request
    from urllib.parse import urlsplit

    host = urlsplit(url).hostname or "?"
    req = urllib.request.Request(url, headers={"User-Agent": "osched"})
    try:
        with urllib.request.urlopen(req, timeout=PING_TIMEOUT) as r:
            code = r.status
    except urllib.error.HTTPError as e:
        return f"{host} answered HTTP {e.code}"
    except (urllib.error.URLError, OSError, ValueError) as e:
        reason = getattr(e, "reason", None) or e
        return f"{host} did not answer ({reason})"
    return "" if 200 <= code < 300 else f"{host} answered HTTP {code}"


def _ping(rt: Host, job: Job, sid: str | None, event: str, url: str) -> None:
    from urllib.parse import urlsplit

    why = ping(url)
    if why:
        rt.event(job.name, "ping_failed", schedule=sid, reason=f"ping for {event}: {why}")
    else:
        host = urlsplit(url).hostname
        rt.event(job.name, "ping", schedule=sid, reason=f"ping for {event}: {host} answered")


def _run(
    rt: Host,
    starter: Starter,
    job: Job,
    sid: str | None,
    hook: str,
    event: str,
    exit_code: int | None,
    url: str | None,
    timeout: float,
) -> None:
    import subprocess

    from .spawn import workdir

    if url:
        _ping(rt, job, sid, event, url)
    argv: tuple[str, ...] | None = getattr(job, hook)
    if not argv:
        return
    log = starter.open_log(job.name, f"--- osched: {hook} for {event} ---\n")
    try:
        p = subprocess.Popen(
            list(argv),
            cwd=str(workdir(job, rt.cfg.path)),
            env=hook_env(job, sid, event, exit_code, rt.cfg.path),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,
            close_fds=True,
        )
    except OSError as e:
        rt.event(job.name, f"{hook}_failed", schedule=sid, reason=f"{e.strerror}: {argv[0]}")
        return
    finally:
        os.close(log)
    leader_start = rt.procs.start_time(p.pid, zombie_ok=True)  # its group ends with it (below)
    try:
        code = p.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        rt.procs.terminate(p.pid, "SIGTERM", 5.0)
        p.wait()
        rt.event(job.name, f"{hook}_failed", schedule=sid, reason=f"ended after {timeout:g}s", event_of=event)
        return
    # what the hook left in the background (``sleep 3091 & exit 0``) ends with it, as a job's
    # leftovers do at its window end: proven members of its group only
    rt.procs.end_group(p.pid, leader_start, "SIGTERM", 5.0)
    rt.event(job.name, hook, schedule=sid, exit=code, reason=f"{hook} for {event} exited {code}")


def _run_detached(
    rt: Host,
    starter: Starter,
    job: Job,
    sid: str | None,
    hook: str,
    event: str,
    exit_code: int | None,
    url: str | None,
) -> None:
    if sys.platform == "win32":  # pragma: no cover
        raise NotImplementedError
    from .spawn import in_detached_process

    def work() -> int:
        _run(rt, starter, job, sid, hook, event, exit_code, url, TIMEOUT)
        return 0

    in_detached_process(work)


def _start_detached_windows(  # pragma: no cover - Windows only
    rt: Host, job: Job, sid: str | None, hook: str, event: str, exit_code: int | None, url: str | None
) -> None:
    import subprocess

    from .spawn import workdir
    from .winproc import CREATE_NEW_PROCESS_GROUP, DETACHED_PROCESS

    flags = DETACHED_PROCESS | CREATE_NEW_PROCESS_GROUP
    if url:  # the GET from a detached interpreter: the job's start or stop never waits for it
        code = "import sys; from osched.runtime.hooks import ping; sys.exit(1 if ping(sys.argv[1]) else 0)"
        subprocess.Popen([sys.executable, "-c", code, url], creationflags=flags, close_fds=True)
    argv: tuple[str, ...] | None = getattr(job, hook)
    if not argv:
        return
    p = subprocess.Popen(
        list(argv),
        cwd=str(workdir(job, rt.cfg.path)),
        env=hook_env(job, sid, event, exit_code, rt.cfg.path),
        creationflags=flags,
        close_fds=True,
    )
    rt.event(job.name, hook, schedule=sid, pid=p.pid, reason=f"{hook} for {event} started")
