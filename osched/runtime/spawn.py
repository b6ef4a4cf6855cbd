"""Starting a process for a job or a hook: its argv's environment, its workdir, and the
detaching a forked supervisor does.  Used by the launcher, the hooks and both process layers;
imports nothing else of the runtime."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from ..model import Job, Schedule
from ..paths import JOB_ENV, NOW_ENV, SCHEDULE_ENV, WINDOW_END_ENV
from ..state import iso


def start_job(popen: Any, argv: list[str], cwd: str, env: dict[str, str], out_fd: int, **kw: Any) -> Any:
    """``argv`` without a shell, stdin on /dev/null, stdout and stderr on ``out_fd``."""
    import subprocess

    return popen(
        argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=out_fd, stderr=out_fd, close_fds=True, **kw
    )


def merged_env(
    job: Job, s: Schedule | None, window_end: datetime | None, secrets: dict[str, str] | None = None
) -> dict[str, str]:
    """The entrypoint's environment, then the job's ``env``, then its ``env_files``
    (``secrets``: as systemd's EnvironmentFile= overrides Environment=), then the schedule's
    ``env``, plus ``OSCHED_JOB``, ``OSCHED_SCHEDULE`` and ``OSCHED_WINDOW_END``."""
    env = dict(os.environ)
    env.pop(NOW_ENV, None)
    env.update(job.env)
    env.update(secrets or {})
    if s is not None:
        env.update(s.env)
    env[JOB_ENV] = job.name
    env[SCHEDULE_ENV] = s.id if s is not None else "manual"
    if window_end is not None:
        env[WINDOW_END_ENV] = iso(window_end) or ""
    return env


def secrets(job: Job, config_path: Path) -> dict[str, str]:
    """The job's ``env_files``, read now (``envfile``); RuntimeError names a file that cannot
    be used (and never a value)."""
    if not job.env_files:
        return {}
    from .. import envfile
    from ..osdep import euid

    try:
        return envfile.load(job.env_files, config_path, euid())
    except envfile.EnvFileError as e:
        raise RuntimeError(str(e)) from None


def workdir(job: Job, config_path: Path) -> Path:
    if job.workdir is None:
        return config_path.parent
    p = Path(os.path.expanduser(job.workdir))
    return p if p.is_absolute() else config_path.parent / p


def detach_stdio() -> None:
    fd = os.open(os.devnull, os.O_RDWR)
    for target in (0, 1, 2):
        os.dup2(fd, target)
    if fd > 2:
        os.close(fd)


def close_inherited(keep: tuple[int, ...]) -> None:
    """Close every descriptor above stdio but ``keep``: a supervisor forked from a caller (a
    shell pipeline, a test runner) must not hold the caller's pipes open for days."""
    low = 3
    for fd in sorted(k for k in keep if k >= low):
        os.closerange(low, fd)
        low = fd + 1
    top = 65536
    if sys.platform != "win32":
        with contextlib.suppress(ValueError, OSError):
            top = int(os.sysconf("SC_OPEN_MAX"))
    os.closerange(low, max(top, low))


def in_detached_process(work: Callable[[], int]) -> None:
    """Run ``work`` in a grandchild of its own session, stdio on /dev/null and no inherited
    descriptors (the firing that asked returns at once; nothing waits for it); POSIX only."""
    if sys.platform == "win32":  # pragma: no cover - callers take their Windows path first
        raise NotImplementedError
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the forked child (checked by its effects)
        code = 1
        try:
            os.setsid()
            if os.fork():
                os._exit(0)
            detach_stdio()
            close_inherited(keep=())
            code = work()
        finally:
            os._exit(code)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(child, 0)
