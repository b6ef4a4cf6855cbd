"""A new user's first hour, as issue 24 asks it: a fresh account on this machine goes from
``git clone`` through the README's first line (pipx, as on a stock Debian 12) to a night job
in its crontab, run by the real cron daemon, that starts, stops, fails, notifies, and is
uninstalled, with ``osched`` found on PATH the way a new login shell finds it.

The clone is of this checkout's HEAD (what CI tests: a clean clone).  The user gets nothing
else: no variables of osched's, a login shell's PATH, the default config and state dirs.
Slow (pipx builds and installs the package, then two cron minutes pass); needs root for the
account and the daemon."""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from integration import next_start, require_root, wait_until
from runtime_helpers import alive, wait_for
from test_integration_cron import cron_daemon

from conftest import ROOT

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("daemons")]  # one worker: one cron daemon at a time
__all__ = ["cron_daemon"]

USER = f"oschedwalk{os.getpid()}"


def readme_first_line() -> str:
    """The README's first command line: the install and the example's render."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = text.split("```sh\n", 1)[1].split("```", 1)[0]
    return block.splitlines()[0].split("  #", 1)[0].strip()


@dataclass
class Newcomer:
    name: str
    uid: int
    gid: int
    home: Path

    def sh(self, script: str, check: bool = True, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        """``script`` in a new login shell of the user's, from their home."""
        argv = [
            "setpriv", f"--reuid={self.uid}", f"--regid={self.gid}", "--init-groups",
            "env", "-i", f"HOME={self.home}", f"USER={self.name}", f"LOGNAME={self.name}",
            "PATH=/usr/local/bin:/usr/bin:/bin", "LANG=C.UTF-8", "SHELL=/bin/bash",
            "bash", "-lc", f"cd && {script}",
        ]  # fmt: skip
        r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, cwd="/")
        if check:
            assert r.returncode == 0, f"{script}: exit {r.returncode}\n{r.stdout}\n{r.stderr}"
        return r


@pytest.fixture(scope="module")
def newcomer() -> Iterator[Newcomer]:
    require_root()
    if shutil.which("pipx") is None:
        raise RuntimeError("pipx is missing: .ci/run installs it (the README's first line needs it)")
    subprocess.run(["useradd", "-m", "-s", "/bin/bash", USER], check=True)
    pw = pwd.getpwnam(USER)
    try:
        yield Newcomer(USER, pw.pw_uid, pw.pw_gid, Path(pw.pw_dir))
    finally:
        subprocess.run(["crontab", "-r", "-u", USER], check=False, capture_output=True)
        for d in Path("/proc").iterdir():  # anything the user still runs, by pid
            with contextlib.suppress(OSError, ValueError):
                if d.name.isdigit() and d.stat().st_uid == pw.pw_uid:
                    os.kill(int(d.name), signal.SIGKILL)
        for _ in range(50):
            if subprocess.run(["userdel", "-r", USER], check=False, capture_output=True).returncode in (0, 6):
                break
            time.sleep(0.1)


def crontab(user: Newcomer) -> str:
    r = subprocess.run(["crontab", "-l", "-u", user.name], capture_output=True, text=True, check=False)
    return r.stdout if r.returncode == 0 else ""


def test_from_git_clone_through_the_readme_to_a_night_job_and_back(
    newcomer: Newcomer, cron_daemon: int
) -> None:
    user = newcomer
    src = user.home / "osched"
    subprocess.run(["git", "clone", "-q", "--no-hardlinks", str(ROOT), str(src)], check=True)
    subprocess.run(["chown", "-R", f"{user.uid}:{user.gid}", str(src)], check=True)

    # the README's first line, as written, from the clone
    line = readme_first_line()
    assert line.startswith("pipx install . && ")
    r = user.sh(f"cd osched && {line}")
    assert "==> cron/crontab <==" in r.stdout and "osched-start demo-agent" in r.stdout
    assert "==> systemd/" in r.stdout

    # a new login shell finds osched on PATH (Debian's ~/.profile adds ~/.local/bin)
    assert user.sh("command -v osched").stdout.strip() == f"{user.home}/.local/bin/osched"
    r = user.sh("osched init")
    assert (user.home / ".config/osched/osched.toml").exists(), r.stdout

    # a job given by a relative path is stored absolute, and said so
    user.sh("printf '#!/bin/sh\\necho tick\\nexec sleep 600\\n' > ticker.sh && chmod +x ticker.sh")
    r = user.sh("osched job add agent -- ./ticker.sh")
    assert f"{user.home}/ticker.sh" in r.stdout, r.stdout
    # a job that fails at once, with a notification
    r = user.sh(
        f"osched job add flaky --retries 0 --on-failure 'touch {user.home}/notified' -- sh -c 'exit 3'"
    )
    start = next_start(40)
    day = start.strftime("%a").lower()
    for job in ("agent", "flaky"):
        user.sh(
            f"osched schedule add {job} --start {start:%H:%M} --duration 1m --days {day} --timezone UTC --id soon"
        )
    r = user.sh("osched install --target cron --no-start")
    assert f"crontab of {user.name}" in r.stdout, r.stdout
    assert re.search(rf"^{start.minute} {start.hour} \* \* .*osched-start agent", crontab(user), re.M)

    # cron starts both; the agent runs, the flaky job fails and notifies
    wait_until(start)
    wait_for((user.home / "notified").exists, 60, "on_failure to notify")
    r = user.sh("osched status --json")
    assert '"agent"' in r.stdout
    state = user.home / ".local/state/osched/jobs/agent/state.json"  # the default state dir
    pid = wait_for(
        lambda: state.exists() and json.loads(state.read_text()).get("pid"), 30, "the agent to run"
    )
    assert alive(pid)
    r = user.sh("osched status")
    flaky = next(ln for ln in r.stdout.splitlines() if ln.startswith("flaky"))
    assert re.search(r"fail|exit", flaky), r.stdout  # its failure, on its line
    r = user.sh("osched doctor")  # the setup is sound: every check passes
    assert "cron daemon is running" in r.stdout and "FAIL" not in r.stdout, r.stdout

    # the stop firing ends the agent at the window's end
    wait_until(start + timedelta(minutes=1))
    wait_for(lambda: not alive(pid), 60, "cron to stop the agent")
    r = user.sh("osched events agent")
    assert "stopped" in r.stdout and "window soon ended" in r.stdout, r.stdout

    # uninstall --purge: no osched line left, and the state dir said and gone
    r = user.sh("osched uninstall --purge")
    assert "osched" not in crontab(user), crontab(user)
    assert not (user.home / ".local/state/osched/jobs/agent").exists(), r.stdout
