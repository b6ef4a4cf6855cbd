"""The Windows process layer: the job runs in a Job Object, so its whole tree ends together,
and ends when its supervisor dies (``JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE``).

* start: ``CREATE_NEW_PROCESS_GROUP | CREATE_NO_WINDOW`` (a hidden console of its own, so a
  console control event can reach it), then the process goes into a Job Object named after
  its pid and start time (``Local\\osched-<pid>-<start>``): any osched process of the user, such
  as ``osched stop``, can open it by name;
* stop: ``CTRL_BREAK_EVENT`` to the job's process group (attached to its console), then, after
  ``stop_timeout``, ``TerminateJobObject``; when the Job Object cannot be opened,
  ``taskkill /T /F``;
* leftovers: processes still in the Job Object after the leader exited.

Every call into Windows goes through ``WinAPI``; the ctypes one (``Kernel32``) runs only on
Windows, and tests/test_runtime_windows.py drives this module through a fake of it on Linux.
What only a Windows machine can show is listed in docs/install-taskscheduler.md.
"""

from __future__ import annotations

import time
from typing import Any, Protocol

CREATE_NEW_PROCESS_GROUP = 0x00000200
CREATE_NO_WINDOW = 0x08000000
DETACHED_PROCESS = 0x00000008


class WinAPI(Protocol):
    def start_time(self, pid: int) -> str | None: ...
    def create_job(self, name: str, pid: int) -> Any: ...  # a handle; the process is assigned to it
    def open_job(self, name: str) -> Any: ...  # a handle, or None when there is no such job
    def active_processes(self, job: Any) -> int: ...
    def terminate_job(self, job: Any) -> None: ...
    def ctrl_break(self, pid: int) -> bool: ...
    def close(self, handle: Any) -> None: ...


def job_name(pid: int, start: str | None) -> str:
    return f"Local\\osched-{pid}-{start or 0}"


class WindowsProcs:
    name = "windows"
    DETACHED_PROCESS = DETACHED_PROCESS
    CREATE_NEW_PROCESS_GROUP = CREATE_NEW_PROCESS_GROUP
    CREATE_NO_WINDOW = CREATE_NO_WINDOW

    def __init__(self, run: Any = None, popen: Any = None, api: WinAPI | None = None) -> None:
        self._run = run
        self._popen = popen
        self._api = api
        self.jobs: dict[int, Any] = {}  # pid -> Job Object handle held by this process

    @property
    def api(self) -> WinAPI:
        if self._api is None:  # pragma: no cover - Windows only
            self._api = Kernel32()
        return self._api

    @property
    def run(self) -> Any:
        if self._run is None:
            import subprocess

            return subprocess.run
        return self._run

    @property
    def popen(self) -> Any:
        if self._popen is None:
            import subprocess

            return subprocess.Popen
        return self._popen

    def start_time(self, pid: int, zombie_ok: bool = False) -> str | None:
        return self.api.start_time(pid) if pid > 0 else None

    def alive(self, pid: int | None, start: str | None) -> bool:
        return bool(pid) and start is not None and self.start_time(pid or 0) == start

    def spawn(self, argv: list[str], cwd: str, env: dict[str, str], out_fd: int) -> Any:
        from .spawn import start_job

        flags = CREATE_NEW_PROCESS_GROUP | CREATE_NO_WINDOW
        p = start_job(self.popen, argv, cwd, env, out_fd, creationflags=flags)
        self.jobs[p.pid] = self.api.create_job(job_name(p.pid, self.start_time(p.pid)), p.pid)
        return p

    def taskkill(self, pid: int, force: bool) -> int:
        argv = ["taskkill", "/PID", str(pid), "/T"] + (["/F"] if force else [])
        r = self.run(argv, capture_output=True, text=True, check=False)
        return int(r.returncode)

    def _end_job(self, pid: int, start: str | None) -> bool:
        """TerminateJobObject on the job's Job Object (ours, or opened by name)."""
        handle = self.jobs.pop(pid, None)
        opened = handle is None
        if opened:
            handle = self.api.open_job(job_name(pid, start))
        if handle is None:
            return False
        try:
            self.api.terminate_job(handle)
        finally:
            if opened:
                self.api.close(handle)
        return True

    def terminate(self, pid: int, signame: str, timeout: float, reap: Any = None, poll: float = 0.2) -> str:
        """CTRL_BREAK_EVENT, wait up to ``timeout``, then end the whole Job Object.
        (``signame`` has no meaning on Windows: the graceful stop is always CTRL_BREAK.)"""
        start = self.start_time(pid)
        if start is None:
            return "gone"
        self.api.ctrl_break(pid)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if reap is not None:
                reap()
            if self.start_time(pid) != start:
                self._end_job(pid, start)  # what it left behind goes with it
                return "signal"
            time.sleep(poll)
        if not self._end_job(pid, start):
            self.taskkill(pid, force=True)
        return "killed"

    def leftovers(self, pgid: int | None, leader_start: str | None) -> list[int]:
        """Processes left in the job's Job Object (their count, as pseudo ids)."""
        if not pgid:
            return []
        handle = self.jobs.get(pgid) or self.api.open_job(job_name(pgid, leader_start))
        if handle is None:
            return []
        try:
            return list(range(self.api.active_processes(handle)))
        finally:
            if pgid not in self.jobs:
                self.api.close(handle)

    def end_group(self, pgid: int | None, leader_start: str | None, signame: str, timeout: float) -> str:
        if not pgid or not self.leftovers(pgid, leader_start):
            return "gone"
        return "killed" if self._end_job(pgid, leader_start) else "gone"


class Kernel32:  # pragma: no cover - runs on Windows only (typed for every platform)
    """``WinAPI`` through ctypes."""

    JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE = 0x2000
    JobObjectExtendedLimitInformation = 9
    JobObjectBasicAccountingInformation = 1

    def __init__(self) -> None:
        import ctypes

        self.ctypes: Any = ctypes
        self.k32: Any = ctypes.WinDLL("kernel32", use_last_error=True)  # type: ignore[attr-defined,unused-ignore]

    def start_time(self, pid: int) -> str | None:
        ct = self.ctypes
        from ctypes import wintypes

        h = self.k32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
        if not h:
            return None
        try:
            code = wintypes.DWORD()
            if not self.k32.GetExitCodeProcess(h, ct.byref(code)) or code.value != 259:  # STILL_ACTIVE
                return None
            c, e, k, u = (wintypes.FILETIME() for _ in range(4))
            if not self.k32.GetProcessTimes(h, *(ct.byref(x) for x in (c, e, k, u))):
                return None
            return str((c.dwHighDateTime << 32) | c.dwLowDateTime)
        finally:
            self.k32.CloseHandle(h)

    def create_job(self, name: str, pid: int) -> Any:
        ct = self.ctypes
        job = self.k32.CreateJobObjectW(None, name)
        info = (ct.c_byte * 144)()  # JOBOBJECT_EXTENDED_LIMIT_INFORMATION (x64)
        ct.c_uint32.from_buffer(info, 16).value = self.JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE  # LimitFlags
        self.k32.SetInformationJobObject(job, self.JobObjectExtendedLimitInformation, info, ct.sizeof(info))
        proc = self.k32.OpenProcess(0x0001 | 0x0100, False, pid)  # PROCESS_TERMINATE | SET_QUOTA
        try:
            self.k32.AssignProcessToJobObject(job, proc)
        finally:
            self.k32.CloseHandle(proc)
        return job

    def open_job(self, name: str) -> Any:
        h = self.k32.OpenJobObjectW(0x0008 | 0x0004, False, name)  # TERMINATE | QUERY
        return h or None

    def active_processes(self, job: Any) -> int:
        ct = self.ctypes
        info = (ct.c_byte * 48)()  # JOBOBJECT_BASIC_ACCOUNTING_INFORMATION
        if not self.k32.QueryInformationJobObject(
            job, self.JobObjectBasicAccountingInformation, info, ct.sizeof(info), None
        ):
            return 0
        return int(ct.c_uint32.from_buffer(info, 40).value)  # ActiveProcesses

    def terminate_job(self, job: Any) -> None:
        self.k32.TerminateJobObject(job, 1)

    def ctrl_break(self, pid: int) -> bool:
        """CTRL_BREAK_EVENT to the process group ``pid`` from its own (hidden) console."""
        self.k32.FreeConsole()
        if not self.k32.AttachConsole(pid):
            return False
        try:
            self.k32.SetConsoleCtrlHandler(None, True)  # do not stop ourselves
            return bool(self.k32.GenerateConsoleCtrlEvent(1, pid))
        finally:
            self.k32.FreeConsole()
            self.k32.SetConsoleCtrlHandler(None, False)

    def close(self, handle: Any) -> None:
        self.k32.CloseHandle(handle)
