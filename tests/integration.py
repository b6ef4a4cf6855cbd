"""Fixtures for the tests against the real cron daemon and a real systemd user manager.

They run as a dedicated test user (``oschedit<pid>``, removed at the end), who gets osched
the way a user would: a virtual environment (Debian's /usr/bin/python3, readable by that user) with the wheel built
from this checkout.  Daemons are started here and stopped by pid; every file made is removed.
Needs root (to create the user and start the daemons); CI runs as root.
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from conftest import EXAMPLES, ROOT

USER = f"oschedit{os.getpid()}"  # unique: another test run may share this machine
SYSTEM_PYTHON = "/usr/bin/python3"


def require_root() -> None:
    if os.geteuid() == 0:
        return
    if os.environ.get("CI") == "true":
        raise RuntimeError("the integration tests need root under CI (.ci/run runs as root)")
    pytest.skip("needs root: creates a test user and starts cron / a systemd user manager")


@dataclass
class UserEnv:
    name: str
    uid: int
    gid: int
    home: Path
    base: Path  # world-readable: venv, wheel, fake agent
    work: Path  # the user's own dir for config and state
    runtime_dir: Path | None = None

    @property
    def bin(self) -> Path:
        return self.base / "venv" / "bin"

    @property
    def config(self) -> Path:
        return self.work / "osched.toml"

    @property
    def state(self) -> Path:
        return self.work / "state"

    def env(self, **extra: str) -> dict[str, str]:
        env = {
            "HOME": str(self.home),
            "USER": self.name,
            "LOGNAME": self.name,
            "PATH": f"{self.bin}:/usr/local/bin:/usr/bin:/bin",
            "TZ": "UTC",
            "LANG": "C.UTF-8",
            "OSCHED_CONFIG": str(self.config),
            "OSCHED_STATE_DIR": str(self.state),
        }
        if self.runtime_dir:
            env["XDG_RUNTIME_DIR"] = str(self.runtime_dir)
        env.update(extra)
        return env

    def run(
        self, *argv: str, input: str | None = None, check: bool = True, **extra: str
    ) -> subprocess.CompletedProcess[str]:
        cmd = [
            "setpriv",
            f"--reuid={self.uid}",
            f"--regid={self.gid}",
            "--init-groups",
            "env",
            "-i",
            *(f"{k}={v}" for k, v in self.env(**extra).items()),
            *argv,
        ]
        r = subprocess.run(cmd, input=input, capture_output=True, text=True, cwd="/", timeout=300)
        if check:
            assert r.returncode == 0, f"{argv}: exit {r.returncode}\n{r.stdout}\n{r.stderr}"
        return r

    def osched(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self.run(str(self.bin / "osched"), *args, check=check)

    def write_config(self, start: datetime, minutes: int = 1, sid: str = "soon") -> None:
        day = start.strftime("%a").lower()
        text = (
            'timezone = "UTC"\n\n[jobs.agent]\n'
            f'command = ["{self.bin}/python", "{self.base}/fake_agent.py", "--work", "0.5"]\n'
            'stop_timeout = "5s"\n\n'
            f'[[jobs.agent.schedules]]\nid = "{sid}"\nstart = "{start:%H:%M}"\n'
            f'duration = "{minutes}m"\ndays = ["{day}"]\n'
        )
        self.run("sh", "-c", f"umask 077; cat > {self.config}", input=text)

    def job_state(self) -> dict[str, Any]:
        try:
            data: dict[str, Any] = json.loads((self.state / "jobs/agent/state.json").read_text())
        except FileNotFoundError:
            return {}
        return data

    def events(self) -> list[dict[str, Any]]:
        path = self.state / "events.jsonl"
        return [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []


def next_start(min_lead: float = 20.0) -> datetime:
    """The next whole minute at least ``min_lead`` seconds away (UTC)."""
    t = datetime.now(UTC) + timedelta(seconds=min_lead)
    return (t + timedelta(minutes=1)).replace(second=0, microsecond=0)


def wait_until(when: datetime) -> None:
    delay = (when - datetime.now(UTC)).total_seconds()
    if delay > 0:
        time.sleep(delay)


def proc_owner(pid: int) -> int:
    return os.stat(f"/proc/{pid}").st_uid


def ppid(pid: int) -> int:
    stat = Path(f"/proc/{pid}/stat").read_bytes()
    return int(stat[stat.rfind(b")") + 2 :].split()[1])


def kill_user_processes(env: UserEnv) -> None:
    """End anything of ours the test user still runs (the fake agent, supervisors), by pid."""
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            if d.stat().st_uid != env.uid:
                continue
            cmd = (d / "cmdline").read_bytes()
            if str(env.base).encode() in cmd:
                os.kill(int(d.name), signal.SIGKILL)


@pytest.fixture(scope="session")
def user_env() -> Iterator[UserEnv]:
    require_root()
    if not Path(SYSTEM_PYTHON).exists():
        raise RuntimeError(f"{SYSTEM_PYTHON} is missing (.ci/run installs python3-venv)")
    try:  # each test module that imports this fixture gets its own instance: same user
        pw = pwd.getpwnam(USER)
    except KeyError:
        subprocess.run(["useradd", "-m", "-s", "/bin/bash", USER], check=True)
        pw = pwd.getpwnam(USER)
    base = Path(tempfile.mkdtemp(prefix="osched-it-", dir="/var/tmp"))
    base.chmod(0o755)
    work = Path(pw.pw_dir) / f"osched-it-{base.name}"
    try:
        dist = base / "dist"
        subprocess.run(
            [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(dist), str(ROOT)],
            check=True,
            capture_output=True,
        )
        (wheel,) = dist.glob("osched-*.whl")
        subprocess.run([SYSTEM_PYTHON, "-m", "venv", str(base / "venv")], check=True, capture_output=True)
        r = subprocess.run(
            [
                str(base / "venv/bin/python"),
                "-m",
                "pip",
                "install",
                "-q",
                "--disable-pip-version-check",
                str(wheel),
            ],
            capture_output=True,
            text=True,
        )
        assert r.returncode == 0, r.stderr
        shutil.copy(EXAMPLES / "fake_agent.py", base / "fake_agent.py")
        subprocess.run(["chmod", "-R", "a+rX", str(base)], check=True)
        env = UserEnv(USER, pw.pw_uid, pw.pw_gid, Path(pw.pw_dir), base, work)
        env.run("mkdir", "-m", "700", "-p", str(work))
        yield env
    finally:
        shutil.rmtree(base, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)
        for d in Path("/proc").iterdir():  # anything the test user still runs, by pid
            with contextlib.suppress(OSError, ValueError):
                if d.name.isdigit() and d.stat().st_uid == pw.pw_uid:
                    os.kill(int(d.name), signal.SIGKILL)
        for _ in range(50):  # userdel refuses while a process of the user is still there
            if subprocess.run(["userdel", "-r", USER], check=False, capture_output=True).returncode in (0, 6):
                break
            time.sleep(0.1)
