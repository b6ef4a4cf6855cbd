"""``keep_awake``: while a job's supervisor runs, the machine does not go to sleep on idle.

* Linux: ``systemd-inhibit --what=idle:sleep --mode=block`` holds a logind inhibitor for a
  command that ends with the supervisor (``tail --pid``), so even a supervisor killed outright
  lets it go within a second;
* macOS: ``caffeinate -i -w <supervisor pid>``;
* Windows: ``SetThreadExecutionState(ES_CONTINUOUS | ES_SYSTEM_REQUIRED)`` in the supervisor.

``hold`` returns the release; the supervisor calls it however the job ends (stop, crash, give
up).  Without the tool (no logind) nothing is held and ``doctor`` says so."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Callable

ES_CONTINUOUS = 0x80000000
ES_SYSTEM_REQUIRED = 0x00000001


def argv_for(job: str, pid: int) -> list[str] | None:
    """The inhibitor's argv on this platform, or None where there is none."""
    if sys.platform == "darwin":
        exe = shutil.which("caffeinate")
        return [exe, "-i", "-w", str(pid)] if exe else None
    exe, tail = shutil.which("systemd-inhibit"), shutil.which("tail")
    if exe is None or tail is None:
        return None
    why = f"osched job {job} is running"
    return [
        exe,
        "--what=idle:sleep",
        "--mode=block",
        "--who=osched",
        f"--why={why}",
        tail,
        f"--pid={pid}",
        "-f",
        "/dev/null",
    ]


def hold(job: str) -> Callable[[], None]:
    """Keep the machine awake until the returned function is called (or this process ends)."""
    if sys.platform == "win32":  # pragma: no cover - Windows only
        import ctypes

        kernel32 = ctypes.windll.kernel32
        kernel32.SetThreadExecutionState(ES_CONTINUOUS | ES_SYSTEM_REQUIRED)
        return lambda: kernel32.SetThreadExecutionState(ES_CONTINUOUS) and None
    argv = argv_for(job, os.getpid())
    if argv is None:
        return lambda: None
    import subprocess

    try:
        p = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            close_fds=True,
        )
    except OSError:
        return lambda: None

    def release() -> None:
        if p.poll() is None:
            p.terminate()
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()

    return release
