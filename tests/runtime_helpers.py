"""Shared helpers for the runtime tests: a config writer, the entrypoints run as real
processes, and a cleanup that ends, by pid, every process a test started."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conftest import EXAMPLES

AGENT = EXAMPLES / "fake_agent.py"


def proc_start(pid: int) -> str | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return None
    rest = raw[raw.rfind(b")") + 2 :].split()
    return None if rest[0] in (b"Z", b"X") else rest[19].decode()


def alive(pid: int) -> bool:
    return proc_start(pid) is not None


def wait_for(pred: Callable[[], Any], timeout: float = 10.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{k} = {toml_value(x)}" for k, x in v.items()) + " }"
    raise TypeError(v)


@dataclass
class Env:
    root: Path
    started: list[int] = field(default_factory=list)  # extra pids to clean up

    @property
    def config(self) -> Path:
        return self.root / "osched.toml"

    @property
    def state(self) -> Path:
        return self.root / "state"

    @property
    def pidfile(self) -> Path:
        return self.root / "agent.pids"

    @property
    def childfile(self) -> Path:
        return self.root / "child.pids"

    def write(
        self,
        schedules: list[dict[str, Any]],
        *,
        job: str = "agent",
        agent_args: list[str] | None = None,
        command: list[str] | None = None,
        **job_keys: Any,
    ) -> None:
        cmd = command or [
            sys.executable,
            str(AGENT),
            "--pidfile",
            str(self.pidfile),
            *(agent_args or ["--work", "0.2"]),
        ]
        keys = {"command": cmd, "stop_timeout": "5s", "restart": {"retries": 3, "backoff": [0.3, 0.3, 0.3]}}
        keys.update(job_keys)
        lines = ['timezone = "UTC"', "", f"[jobs.{job}]"]
        lines += [f"{k} = {toml_value(v)}" for k, v in keys.items()]
        for s in schedules:
            lines += ["", f"[[jobs.{job}.schedules]]"]
            lines += [f"{k} = {toml_value(v)}" for k, v in s.items()]
        self.config.write_text("\n".join(lines) + "\n")

    def _entry_call(self, kind: str, args: tuple[str, ...], now: str | None) -> tuple[list[str], dict[str, str]]:
        """``python -m osched.entry KIND ARGS`` on this env's config and state, clock at ``now``."""
        env = dict(os.environ)
        env.pop("OSCHED_NOW", None)
        if now:
            env["OSCHED_NOW"] = now
        argv = [sys.executable, "-m", "osched.entry", kind, *args]
        return [*argv, "--config", str(self.config), "--state-dir", str(self.state), "-v"], env

    def entry(
        self, kind: str, *args: str, now: str | None = None, check: bool = False
    ) -> subprocess.CompletedProcess[str]:
        argv, env = self._entry_call(kind, args, now)
        r = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=60)
        if check:
            assert r.returncode == 0, r.stderr
        return r

    def popen_entry(self, kind: str, *args: str, now: str | None = None) -> subprocess.Popen[str]:
        argv, env = self._entry_call(kind, args, now)
        p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        self.started.append(p.pid)
        return p

    def job_state(self, job: str = "agent") -> dict[str, Any]:
        try:
            data: dict[str, Any] = json.loads((self.state / "jobs" / job / "state.json").read_text())
        except FileNotFoundError:
            return {}
        return data

    def events(self, job: str | None = "agent") -> list[dict[str, Any]]:
        path = self.state / "events.jsonl"
        if not path.exists():
            return []
        recs = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        return [r for r in recs if job is None or r.get("job") == job]

    def kinds(self, job: str | None = "agent") -> list[str]:
        return [r["event"] for r in self.events(job)]

    def agent_pids(self) -> list[int]:
        return [int(x) for x in self.pidfile.read_text().split()] if self.pidfile.exists() else []

    def agents(self, n: int = 1, timeout: float = 10.0) -> list[int]:
        """The fake agents' pids, once ``n`` of them have written their pid file."""
        return list(wait_for(lambda: len(p := self.agent_pids()) >= n and p, timeout, f"{n} agent pid(s)"))

    def child_pids(self) -> list[int]:
        return [int(x) for x in self.childfile.read_text().split()] if self.childfile.exists() else []

    def running_agents(self) -> list[int]:
        return [p for p in self.agent_pids() if alive(p)]

    def wait_event(self, kind: str, count: int = 1, timeout: float = 15.0) -> list[dict[str, Any]]:
        return wait_for(
            lambda: (ev := [e for e in self.events() if e["event"] == kind]) and len(ev) >= count and ev,
            timeout,
            f"{count} {kind!r} event(s); have {self.kinds()}",
        )

    def cleanup(self) -> None:
        """End everything this test started, by pid: supervisors, job groups, grandchildren.
        Again until none is left: a supervisor that saw its job killed may have restarted it
        before it was killed itself (or before its pid reached the state file), and that copy's
        pid is known only afterwards; a process whose command line names this test's folder is
        this test's, whatever the files say."""
        deadline = time.monotonic() + 5.0
        while True:
            self._cleanup_once()
            time.sleep(0.2)
            left = self._named_ours()
            if not left or time.monotonic() > deadline:
                break
            for pid in left:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)

    def _named_ours(self) -> list[int]:
        """Live processes whose command line names this env's folder (its config, state or
        pid file), other than this one."""
        mark = str(self.root).encode() + b"/"
        out = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit() or int(entry) == os.getpid():
                continue
            try:
                cmd = Path(f"/proc/{entry}/cmdline").read_bytes()
                zombie = ") Z " in Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if mark in cmd and not zombie:
                out.append(int(entry))
        return out

    def _cleanup_once(self) -> None:
        pids: list[int] = list(self.started) + self.agent_pids() + self.child_pids()
        jobs = self.state / "jobs"
        if jobs.is_dir():
            for d in jobs.iterdir():
                with contextlib.suppress(OSError, ValueError):
                    st = json.loads((d / "state.json").read_text())
                    for key in ("supervisor_pid", "pid"):
                        if st.get(key):
                            pids.append(int(st[key]))
        supervisors = set()
        if jobs.is_dir():
            for d in jobs.iterdir():
                with contextlib.suppress(OSError, ValueError):
                    st = json.loads((d / "state.json").read_text())
                    pid, since = int(st.get("supervisor_pid") or 0), str(st.get("supervisor_start") or "")
                    if pid and (not since or _started(pid) == since):  # not a reused pid
                        supervisors.add(pid)
        for pid in set(pids):
            # a supervisor forked in-process by `osched start` under CliRunner runs as the test
            # process does (pytest, or an xdist worker)
            if ours(pid) or (pid in supervisors and pid != os.getpid() and forked_test_runner(pid)):
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)


def _started(pid: int) -> str:
    """The process's start time in clock ticks (``/proc/PID/stat`` field 22), as osched records it."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return ""


def forked_test_runner(pid: int) -> bool:
    """A fork of this test process (its command line: pytest's, or an xdist worker's)."""
    try:
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
        return cmd == Path(f"/proc/{os.getpid()}/cmdline").read_bytes() or b"pytest" in cmd
    except OSError:
        return False


def ours(pid: int) -> bool:
    """Only processes the tests start: the fake agent, its sleeping child, osched's entry."""
    try:
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return any(m in cmd for m in (b"fake_agent.py", b"time.sleep(3600)", b"osched.entry"))
