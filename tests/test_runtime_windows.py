"""The Windows runtime on Linux: the Windows-only calls (process creation flags, Job Objects,
console control events, taskkill) are replaced by fakes at the process layer's boundary
(``WinAPI``, ``popen``, ``run``); everything above it — the decisions, the launcher, the
portable supervisor loop — is the code Windows runs.  Nothing here runs Windows itself."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from osched import config as config_mod
from osched.runtime import Clock, Runtime
from osched.runtime.proc import WindowsProcs
from osched.runtime.winproc import CREATE_NEW_PROCESS_GROUP, CREATE_NO_WINDOW, DETACHED_PROCESS
from osched.state import StateDir

TUE_NOON = "2026-11-24T12:00:00+00:00"


class FakeAPI:
    """Windows as the process layer sees it: processes by pid, named Job Objects."""

    def __init__(self) -> None:
        self.live: dict[int, str] = {}
        self.jobs: dict[str, dict[str, Any]] = {}  # name -> {"pids": set, "open": handles}
        self.calls: list[tuple[str, Any]] = []
        self.break_ends = True  # a CTRL_BREAK ends the process (False: it ignores it)

    def start_time(self, pid: int) -> str | None:
        return self.live.get(pid)

    def create_job(self, name: str, pid: int) -> Any:
        self.calls.append(("create_job", name))
        self.jobs[name] = {"pids": {pid}, "kill_on_close": True}
        return ("job", name)

    def open_job(self, name: str) -> Any:
        self.calls.append(("open_job", name))
        return ("job", name) if name in self.jobs else None

    def active_processes(self, job: Any) -> int:
        return len([p for p in self.jobs[job[1]]["pids"] if p in self.live or p < 0])

    def terminate_job(self, job: Any) -> None:
        self.calls.append(("terminate_job", job[1]))
        for pid in self.jobs[job[1]]["pids"]:
            self.live.pop(pid, None)
        self.jobs[job[1]]["pids"] = set()

    def ctrl_break(self, pid: int) -> bool:
        self.calls.append(("ctrl_break", pid))
        if self.break_ends:
            self.live.pop(pid, None)
        return True

    def close(self, handle: Any) -> None:
        self.calls.append(("close", handle[1]))


class FakeWindows(WindowsProcs):
    def __init__(self, api: FakeAPI | None = None) -> None:
        self.popens: list[tuple[list[str], dict[str, Any]]] = []
        self.runs: list[list[str]] = []
        self.next_pid = 4000
        self.exit_code: int | None = None  # what a spawned job's wait() returns (None: runs on)
        super().__init__(run=self._run, popen=self._popen, api=api or FakeAPI())

    def _popen(self, argv: list[str], **kw: Any) -> Any:
        self.next_pid += 1
        pid = self.next_pid
        api: FakeAPI = self.api  # type: ignore[assignment]
        api.live[pid] = f"t{pid}"
        self.popens.append((argv, kw))
        line = f"0 agent: started (pid {pid + 1}; window day open)\n".encode()
        code = self.exit_code

        def done() -> int | None:
            if code is not None:
                api.live.pop(pid, None)
            return code

        return SimpleNamespace(
            pid=pid, stdout=SimpleNamespace(readline=lambda: line), wait=done, poll=done
        )

    def _run(self, argv: list[str], **kw: Any) -> Any:
        self.runs.append(argv)
        return SimpleNamespace(returncode=0, stdout="", stderr="")


def make(tmp_path: Path, monkeypatch: Any, procs: FakeWindows | None = None) -> tuple[Runtime, FakeWindows]:
    cfg_path = tmp_path / "osched.toml"
    cfg_path.write_text(
        'timezone = "UTC"\n[jobs.agent]\ncommand = ["agent.exe", "--flag"]\nstop_timeout = 0.3\n'
        '[[jobs.agent.schedules]]\nid = "day"\nstart = "10:00"\nduration = "4h"\ndays = ["tue"]\n'
    )
    monkeypatch.setenv("OSCHED_NOW", TUE_NOON)
    fake = procs or FakeWindows()
    rt = Runtime(config_mod.load(cfg_path), StateDir(tmp_path / "state"), clock=Clock(), procs=fake)
    return rt, fake


def test_a_start_firing_starts_a_detached_supervisor_that_reports_back(tmp_path: Path, monkeypatch: Any) -> None:
    rt, fake = make(tmp_path, monkeypatch)
    out = rt.start_firing("agent", "day")
    assert (out.code, out.message) == (0, "agent: started (pid 4002; window day open)")
    ((argv, kw),) = fake.popens
    assert argv[:5] == [sys.executable, "-m", "osched.entry", "supervise", "agent"]
    assert argv[5:11] == ["--schedule", "day", "--until", "2026-11-24T14:00:00+00:00", "--reason",
                          "window day open until 2026-11-24T14:00:00+00:00"]
    assert argv[11:] == ["--config", str(tmp_path / "osched.toml"), "--state-dir", str(tmp_path / "state")]
    assert kw["creationflags"] == DETACHED_PROCESS | CREATE_NEW_PROCESS_GROUP and kw["close_fds"]
    # the window the supervisor will read was recorded before it started
    st = rt.state.read_state("agent", rt.clock.now())
    assert (st.schedule, st.window_start, st.crashes) == ("day", "2026-11-24T10:00:00+00:00", 0)


def test_the_supervisor_process_spawns_the_job_in_a_job_object_and_supervises_it(
    tmp_path: Path, monkeypatch: Any
) -> None:
    fake = FakeWindows()
    fake.exit_code = 0  # the job finishes at once: the portable loop records it and ends
    rt, _ = make(tmp_path, monkeypatch, fake)
    lines: list[str] = []
    code = rt.launcher.supervise_here(
        "agent", "day", None, "window day open", adopt=False, report=lines.append
    )
    assert code == 0 and lines == ["0 agent: started (pid 4001; window day open)"]
    ((argv, kw),) = fake.popens
    assert argv == ["agent.exe", "--flag"] and kw["cwd"] == str(tmp_path)
    assert kw["creationflags"] == CREATE_NEW_PROCESS_GROUP | CREATE_NO_WINDOW
    api: FakeAPI = fake.api  # type: ignore[assignment]
    assert api.calls[0] == ("create_job", "Local\\osched-4001-t4001")
    assert api.jobs["Local\\osched-4001-t4001"]["kill_on_close"]
    kinds = [e["event"] for e in rt.state.events("agent")]
    assert kinds == ["started", "finished"]
    st = rt.state.read_state("agent", rt.clock.now())
    assert (st.outcome, st.pgid, st.pgid_start) == ("finished", 4001, "t4001")


def test_stop_is_ctrl_break_then_the_job_object_ends(tmp_path: Path, monkeypatch: Any) -> None:
    fake = FakeWindows()
    rt, _ = make(tmp_path, monkeypatch, fake)
    api: FakeAPI = fake.api  # type: ignore[assignment]
    api.break_ends = False  # the job ignores CTRL_BREAK
    st = rt.state.read_state("agent", rt.clock.now())
    p = fake.spawn(["agent.exe"], str(tmp_path), {}, 1)
    st.pid, st.pid_start, st.outcome = p.pid, fake.start_time(p.pid), "running"
    rt.state.write_state("agent", st)
    monkeypatch.setattr(os, "kill", lambda pid, sig: None)
    other = FakeWindows(api)  # `osched stop` is another process: it opens the Job Object by name
    rt2 = Runtime(rt.cfg, rt.state, clock=rt.clock, procs=other)
    out = rt2.manual_stop("agent", None)
    assert out.code == 0
    steps = [c for c in api.calls if c[0] != "create_job"]
    assert steps == [
        ("ctrl_break", 4001),
        ("open_job", "Local\\osched-4001-t4001"),
        ("terminate_job", "Local\\osched-4001-t4001"),
        ("close", "Local\\osched-4001-t4001"),
    ]
    assert rt.state.events("agent")[-1]["how"] == "SIGKILL after 0.3s"
    assert other.runs == []  # no taskkill needed


def test_without_a_job_object_stop_falls_back_to_taskkill(tmp_path: Path, monkeypatch: Any) -> None:
    fake = FakeWindows()
    api: FakeAPI = fake.api  # type: ignore[assignment]
    api.break_ends = False
    api.live[777] = "t777"
    assert fake.terminate(777, "SIGTERM", 0.2) == "killed"
    assert fake.runs == [["taskkill", "/PID", "777", "/T", "/F"]]


def test_what_the_job_left_in_its_job_object_is_ended_at_the_window_end(tmp_path: Path, monkeypatch: Any) -> None:
    fake = FakeWindows()
    rt, _ = make(tmp_path, monkeypatch, fake)
    api: FakeAPI = fake.api  # type: ignore[assignment]
    p = fake.spawn(["agent.exe"], str(tmp_path), {}, 1)
    api.jobs["Local\\osched-4001-t4001"]["pids"].add(-5)  # a child still in the job object
    api.live.pop(p.pid)  # the leader exited
    st = rt.state.read_state("agent", rt.clock.now())
    st.pgid, st.pgid_start, st.outcome = p.pid, "t4001", "finished"
    rt.state.write_state("agent", st)
    monkeypatch.setenv("OSCHED_NOW", "2026-11-24T14:00:00+00:00")
    rt.clock = Clock()
    out = rt.stop_firing("agent", "day")
    assert "stopped 1 leftover process" in out.message
    assert ("terminate_job", "Local\\osched-4001-t4001") in api.calls


def test_adopting_on_windows_starts_a_supervisor_with_adopt(tmp_path: Path, monkeypatch: Any) -> None:
    rt, fake = make(tmp_path, monkeypatch)
    out = rt.launcher.adopt(rt.job("agent"), rt.state.read_state("agent", rt.clock.now()), None)  # type: ignore[arg-type]
    assert out.code == 0
    ((argv, _),) = fake.popens
    assert argv[4:6] == ["agent", "--adopt"]


@pytest.mark.skipif(sys.platform != "win32", reason="msvcrt locking and the ctypes Kernel32 exist only on Windows")
def test_kernel32_on_windows() -> None:  # pragma: no cover
    from osched.runtime.winproc import Kernel32

    assert Kernel32().start_time(os.getpid())


def test_the_documented_windows_trust_rule_checks_no_mode_bits(tmp_path: Path, monkeypatch: Any) -> None:
    """On Windows the owner/mode checks are not made (ACLs decide; docs/runtime.md)."""
    from osched import trust

    cfg = tmp_path / "osched.toml"
    cfg.write_text('timezone = "UTC"\n')
    cfg.chmod(0o666)
    with pytest.raises(trust.InsecureError):
        trust.read_config(cfg)
    monkeypatch.setattr(trust, "WINDOWS", True)
    assert trust.read_config(cfg) == b'timezone = "UTC"\n'
    trust.check_state_dir(tmp_path / "state")  # created, not checked
    assert (tmp_path / "state").is_dir()
