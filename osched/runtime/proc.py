"""The process layer: start a job in its own process group, identify a pid safely, stop a
whole group.  One class per platform; ``default_procs()`` picks it.

A pid alone is never trusted: ``start_time(pid)`` is recorded with it, and a pid whose start
time differs (the process ended and the number was reused) is treated as gone and is never
signalled.  ``subprocess`` is imported only when something is started or stopped, so the
entrypoints' skip path stays cheap.
"""

from __future__ import annotations

import os
import sys
import time
from typing import TYPE_CHECKING, Any


class _Procs:
    name = ""

    def start_time(self, pid: int, zombie_ok: bool = False) -> str | None:
        raise NotImplementedError

    def alive(self, pid: int | None, start: str | None) -> bool:
        return bool(pid) and start is not None and self.start_time(pid or 0) == start

    def leftovers(self, pgid: int | None, leader_start: str | None) -> list[int]:
        """Live members of the job's process group after its leader exited (none here)."""
        return []

    def end_group(self, pgid: int | None, leader_start: str | None, signame: str, timeout: float) -> str:
        """End what is left of the job's process group: "signal", "killed" or "gone"."""
        return "gone"


class PosixProcs(_Procs):
    """Linux (``/proc``) and other POSIX systems (``ps``)."""

    name = "posix"

    def start_time(self, pid: int, zombie_ok: bool = False) -> str | None:
        """An opaque token that changes when ``pid`` is reused; None if there is no such live
        process (a zombie counts as gone, unless ``zombie_ok``: its unreaped child's start
        time is still its own)."""
        if pid <= 0:
            return None
        try:
            with open(f"/proc/{pid}/stat", "rb") as fh:
                raw = fh.read()
        except FileNotFoundError:
            return None
        except OSError:
            return self._ps_start(pid)
        # the command name (field 2) may contain spaces and parentheses: split after the last ')'
        rest = raw[raw.rfind(b")") + 2 :].split()
        if rest[0] in (b"Z", b"X") and not zombie_ok:
            return None
        return rest[19].decode()  # field 22: start time in clock ticks since boot

    def _ps_start(self, pid: int) -> str | None:  # pragma: no cover - non-Linux POSIX
        import subprocess

        r = subprocess.run(
            ["ps", "-o", "stat=,lstart=", "-p", str(pid)], capture_output=True, text=True, check=False
        )
        out = r.stdout.strip()
        if r.returncode != 0 or not out or out.startswith("Z"):
            return None
        return out.split(None, 1)[1]

    def spawn(self, argv: list[str], cwd: str, env: dict[str, str], out_fd: int) -> Any:
        """Start ``argv`` (no shell) as the leader of a new session and process group."""
        import subprocess

        from .spawn import start_job

        return start_job(subprocess.Popen, argv, cwd, env, out_fd, start_new_session=True)

    def leftovers(self, pgid: int | None, leader_start: str | None) -> list[int]:
        """Live members of the job's process group (its leader may be gone), proven the job's:
        processes whose process group and session are ``pgid`` (the job ran in a session of
        its own) and that started no earlier than the leader; and the group is not another
        one under a reused id: a live process ``pgid`` that is not the recorded leader (a new
        session leader took the id after the job's group emptied) means none of it is the
        job's.  Linux reads /proc; elsewhere nothing is found (docs/runtime.md)."""
        if not pgid or leader_start is None or not leader_start.isdigit() or not os.path.isdir("/proc"):
            return []
        leader = self.start_time(pgid)
        if leader is not None and leader != leader_start:
            return []  # the id was reused: that group is someone else's
        since, found = int(leader_start), []
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            try:
                with open(f"/proc/{name}/stat", "rb") as fh:
                    raw = fh.read()
            except OSError:
                continue
            rest = raw[raw.rfind(b")") + 2 :].split()
            if rest[0] in (b"Z", b"X") or int(rest[2]) != pgid or int(rest[3]) != pgid:
                continue
            if int(rest[19]) >= since:
                found.append(int(name))
        return found

    def end_group(self, pgid: int | None, leader_start: str | None, signame: str, timeout: float) -> str:
        """``signame`` to what is left of the group, SIGKILL after ``timeout``: each member
        proven the job's (``leftovers``) is signalled through a pidfd opened on it and checked
        again, never by a bare id that could have been reused meanwhile."""
        if not pgid or not self.leftovers(pgid, leader_start):
            return "gone"
        self._signal_members(pgid, leader_start, signame)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.leftovers(pgid, leader_start):
                return "signal"
            time.sleep(0.05)
        self._signal_members(pgid, leader_start, "SIGKILL")
        for _ in range(100):
            if not self.leftovers(pgid, leader_start):
                break
            time.sleep(0.05)
        return "killed"

    def _signal_members(self, pgid: int, leader_start: str | None, signame: str) -> None:
        if sys.platform != "linux":  # pragma: no cover - leftovers are found on Linux only
            return
        import signal

        sig = getattr(signal, signame)
        for pid in self.leftovers(pgid, leader_start):
            try:
                fd = os.pidfd_open(pid)
            except OSError:
                continue  # gone meanwhile
            try:  # the pidfd pins the process: check it is still a member, then signal it
                if pid in self.leftovers(pgid, leader_start):
                    signal.pidfd_send_signal(fd, sig)
            except OSError:
                pass
            finally:
                os.close(fd)

    def signal_group(self, pgid: int, signame: str) -> bool:
        import signal

        if sys.platform == "win32":  # pragma: no cover - never used there (winproc.py)
            raise NotImplementedError
        try:
            os.killpg(pgid, getattr(signal, signame))
        except ProcessLookupError:
            return False
        return True

    def group_alive(self, pgid: int) -> bool:
        if sys.platform == "win32":  # pragma: no cover - never used there (winproc.py)
            raise NotImplementedError
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True

    def terminate(self, pid: int, signame: str, timeout: float, reap: Any = None, poll: float = 0.05) -> str:
        """Send ``signame`` to the job's process group (the group id is the job's pid), wait up
        to ``timeout`` seconds for every member to go, then SIGKILL the group.  ``reap`` is
        called while waiting when the caller is the job's parent.  Returns how it ended:
        ``"signal"``, ``"killed"`` or ``"gone"`` (nothing was left to signal)."""
        if not self.signal_group(pid, signame):
            return "gone"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if reap is not None:
                reap()
            if not self.group_alive(pid):
                return "signal"
            time.sleep(poll)
        self.signal_group(pid, "SIGKILL")
        for _ in range(100):
            if reap is not None:
                reap()
            if not self.group_alive(pid):
                break
            time.sleep(poll)
        return "killed"


if TYPE_CHECKING:
    from .winproc import WindowsProcs

    Procs = PosixProcs | WindowsProcs


def default_procs() -> Procs:
    """The process layer of this platform (tests pass their own to ``Runtime``)."""
    if sys.platform == "win32":
        from .winproc import WindowsProcs

        return WindowsProcs()
    return PosixProcs()


def __getattr__(name: str) -> Any:  # ``from osched.runtime.proc import WindowsProcs`` still works
    if name == "WindowsProcs":
        from .winproc import WindowsProcs

        return WindowsProcs
    raise AttributeError(name)
