"""The Windows process layer, with the process calls replaced (nothing here runs Windows):
a detached job in its own process group, a detached supervisor, ``taskkill /T`` then ``/F``."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from osched import config as config_mod
from osched.runtime import Clock, Runtime
from osched.runtime.proc import WindowsProcs
from osched.state import StateDir

TUE_NOON = "2026-11-24T12:00:00+00:00"


class FakeWindows(WindowsProcs):
    def __init__(self) -> None:
        self.calls: list[tuple[str, Any, dict[str, Any]]] = []
        self.live: dict[int, str] = {}
        self.next_pid = 4000
        super().__init__(run=self._fake_run, popen=self._fake_popen)

    def _fake_popen(self, argv: list[str], **kw: Any) -> Any:
        self.next_pid += 1
        self.live[self.next_pid] = f"t{self.next_pid}"
        self.calls.append(("popen", argv, kw))
        return SimpleNamespace(pid=self.next_pid)

    def _fake_run(self, argv: list[str], **kw: Any) -> Any:
        self.calls.append(("run", argv, kw))
        if "/F" in argv:
            self.live.pop(int(argv[2]), None)
        return SimpleNamespace(returncode=0, stdout="", stderr="")

    def start_time(self, pid: int, zombie_ok: bool = False) -> str | None:
        return self.live.get(pid)


def make(tmp_path: Path, monkeypatch: Any) -> tuple[Runtime, FakeWindows]:
    cfg_path = tmp_path / "osched.toml"
    cfg_path.write_text(
        'timezone = "UTC"\n[jobs.agent]\ncommand = ["agent.exe", "--flag"]\nstop_timeout = 0.2\n'
        '[[jobs.agent.schedules]]\nid = "day"\nstart = "10:00"\nduration = "4h"\ndays = ["tue"]\n'
    )
    monkeypatch.setenv("OSCHED_NOW", TUE_NOON)
    fake = FakeWindows()
    rt = Runtime(config_mod.load(cfg_path), StateDir(tmp_path / "state"), clock=Clock(), procs=fake)
    return rt, fake


def test_windows_start_detaches_job_and_supervisor(tmp_path: Path, monkeypatch: Any) -> None:
    rt, fake = make(tmp_path, monkeypatch)
    out = rt.start_firing("agent", "day")
    assert out.code == 0 and "started (pid 4001" in out.message
    (kind, argv, kw), (_, argv2, kw2) = fake.calls
    flags = WindowsProcs.DETACHED_PROCESS | WindowsProcs.CREATE_NEW_PROCESS_GROUP
    assert (kind, argv, kw["creationflags"], kw["cwd"]) == (
        "popen",
        ["agent.exe", "--flag"],
        flags,
        str(tmp_path),
    )
    assert argv2 == [
        sys.executable,
        "-m",
        "osched.entry",
        "supervise",
        "agent",
        "--config",
        str(tmp_path / "osched.toml"),
        "--state-dir",
        str(tmp_path / "state"),
    ]
    assert kw2["creationflags"] == flags
    st = rt.state.read_state("agent", rt.clock.now())
    assert (st.pid, st.pid_start, st.supervisor_pid) == (4001, "t4001", 4002)
    # a second firing: already running, nothing spawned
    assert "already running" in rt.start_firing("agent", "day").message
    assert len(fake.calls) == 2


def test_windows_stop_is_taskkill_tree_then_force(tmp_path: Path, monkeypatch: Any) -> None:
    rt, fake = make(tmp_path, monkeypatch)
    rt.start_firing("agent", "day")
    fake.calls.clear()
    monkeypatch.setattr(os, "kill", lambda pid, sig: fake.calls.append(("kill", [pid, sig], {})))
    out = rt.manual_stop("agent", None)
    assert out.code == 0
    runs = [argv for kind, argv, _ in fake.calls if kind == "run"]
    assert runs == [["taskkill", "/PID", "4001", "/T"], ["taskkill", "/PID", "4001", "/T", "/F"]]
    assert rt.state.events("agent")[-1]["how"] == "SIGKILL after 0.2s"
    assert rt.state.read_state("agent", rt.clock.now()).outcome == "stopped"
