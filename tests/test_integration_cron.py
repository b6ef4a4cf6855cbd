"""The real cron daemon (Debian cron 3.0pl1), as a dedicated test user: osched install puts
marked lines into that user's crontab, the start firing really starts the job, the stop
firing ends it, and uninstall leaves the crontab byte for byte as it was."""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from integration import (
    UserEnv,
    kill_user_processes,
    next_start,
    proc_owner,
    require_root,
    user_env,
    wait_until,
)
from runtime_helpers import alive, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("daemons")]  # one worker: one cron daemon at a time
__all__ = ["user_env"]

CRON = "/usr/sbin/cron"
PIDFILE = Path("/run/crond.pid")
FOREIGN = (
    "# the test user's own crontab\n"
    'MAILTO=""\n'
    "SHELL=/bin/sh\n"
    "\n"
    "17  3 * * *   /bin/true   --nightly # keep me\n"
    "@weekly\t/bin/true %% weekly\n"
)


def running_cron() -> int | None:
    try:
        pid = int(PIDFILE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    try:
        comm = Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return None
    return pid if comm == "cron" and alive(pid) else None


@pytest.fixture(scope="module")
def cron_daemon() -> Iterator[int]:
    """The cron daemon: started here (TZ=UTC) unless one runs already; stopped by pid."""
    require_root()
    if not Path(CRON).exists():
        raise RuntimeError(f"{CRON} is missing: .ci/run installs the cron package")
    pid = running_cron()
    if pid is not None:
        yield pid
        return
    PIDFILE.unlink(missing_ok=True)
    proc = subprocess.Popen(
        [CRON, "-f", "-L", "15"],
        env={"TZ": "UTC", "PATH": "/usr/bin:/bin"},
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(lambda: running_cron() == proc.pid, 10, "cron to start")
        yield proc.pid
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        PIDFILE.unlink(missing_ok=True)


def crontab_l(env: UserEnv) -> str:
    r = env.run("crontab", "-l", check=False)
    return r.stdout if r.returncode == 0 else ""


def test_install_fires_starts_stops_and_uninstall_restores_the_crontab(
    user_env: UserEnv, cron_daemon: int
) -> None:
    env = user_env
    env.run("crontab", "-", input=FOREIGN)
    original = crontab_l(env)
    assert original == FOREIGN
    start = next_start(20)
    env.write_config(start, minutes=1)
    try:
        r = env.osched("install", "--target", "cron", "--no-start")
        assert f"cron: crontab of {env.name}: 4 osched lines" in r.stdout
        tab = crontab_l(env)
        assert tab.startswith(FOREIGN)
        ours = tab[len(FOREIGN) :].splitlines()
        assert len(ours) == 4 and all(" # osched:" in ln for ln in ours)
        assert ours[1].startswith(f"{start.minute} {start.hour} * * ")
        assert f"{env.bin}/osched-start agent --schedule soon --config {env.config}" in ours[1]
        # the cron daemon is seen by doctor
        r = env.osched("doctor", check=False)
        assert f"ok    cron daemon is running (pid {cron_daemon})" in r.stdout, r.stdout
        assert f"ok    cron: 4 artifacts installed in crontab of {env.name} match" in r.stdout

        # the start firing: cron runs osched-start at the minute, the job appears
        wait_until(start)
        st = wait_for(
            lambda: (s := env.job_state()).get("pid") and alive(s["pid"]) and s, 40, "cron to start the job"
        )
        assert proc_owner(st["pid"]) == env.uid
        assert st["schedule"] == "soon" and st["window_start"].startswith(start.strftime("%Y-%m-%dT%H:%M"))
        assert [e["event"] for e in env.events()][:1] == ["started"]
        # the stop firing, a minute later, ends it
        wait_until(start + timedelta(minutes=1))
        wait_for(lambda: not alive(st["pid"]), 40, "cron to stop the job")
        stopped = wait_for(lambda: [e for e in env.events() if e["event"] == "stopped"], 10, "stopped event")
        assert stopped[0]["reason"] == "window soon ended", env.events()

        r = env.osched("uninstall")
        assert "osched lines removed" in r.stdout
        assert crontab_l(env) == original
    finally:
        kill_user_processes(env)
        env.run("crontab", "-r", check=False)
