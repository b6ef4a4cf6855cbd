"""The real cron daemon (Debian cron 3.0pl1), as a dedicated test user: osched install puts
marked lines into that user's crontab, the start firing really starts the job, the stop
firing ends it, and uninstall leaves the crontab byte for byte as it was."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import tempfile
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
        # the cron daemon is seen by doctor: this one, or another test's that runs beside it
        # (the DST suite starts its own under faketime; doctor names the first it finds)
        from osched.targets.cron import daemon_pids

        running = {cron_daemon, *daemon_pids()}
        r = env.osched("doctor", check=False)
        named = re.search(r"ok    cron daemon is running \(pid (\d+)\)", r.stdout)
        assert named is not None, r.stdout
        assert int(named.group(1)) in running | set(daemon_pids()), (named.group(1), running)
        assert f"ok    cron: 4 artifacts installed in crontab of {env.name} match" in r.stdout

        # the start firing: cron runs osched-start at the minute, the job appears
        wait_until(start)
        st = wait_for(
            lambda: (s := env.job_state()).get("pid") and alive(s["pid"]) and s, 40, "cron to start the job"
        )
        assert proc_owner(st["pid"]) == env.uid
        assert st["schedule"] == "soon" and st["window_start"].startswith(start.strftime("%Y-%m-%dT%H:%M"))
        # the state is written before the event (a second firing must see the job first):
        # the event may come a moment after the pid
        wait_for(env.events, 10, "the started event")
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


def test_a_system_install_runs_the_job_as_its_user_never_root(
    user_env: UserEnv, cron_daemon: int, tmp_path: Path
) -> None:
    """Issue 25: root installs /etc/cron.d for a config whose job says user = the test user;
    the real cron daemon runs the job as that user, its state in that user's own state dir."""
    env = user_env
    base = Path(tempfile.mkdtemp(prefix="osched-sys-", dir="/var/tmp"))  # root's, 0755
    base.chmod(0o755)
    config = base / "osched.toml"
    start = next_start(25)
    config.write_text(
        'timezone = "UTC"\n\n[jobs.agent]\n'
        f'user = "{env.name}"\n'
        f'command = ["{env.bin}/python", "{env.base}/fake_agent.py", "--work", "0.5"]\n'
        'stop_timeout = "5s"\n\n'
        f'[[jobs.agent.schedules]]\nid = "soon"\nstart = "{start:%H:%M}"\nduration = "1m"\n'
        f'days = ["{start.strftime("%a").lower()}"]\n'
    )
    config.chmod(0o644)  # root's: the job's user trusts it (root could change anything anyway)
    root_state = tmp_path / "root-state"
    run = {**os.environ, "OSCHED_CONFIG": str(config), "OSCHED_STATE_DIR": str(root_state), "TZ": "UTC"}
    run.pop("OSCHED_CRON_D", None)
    osched = [str(env.bin / "osched")]
    user_state = env.home / ".local/state/osched"
    try:
        r = subprocess.run(
            [*osched, "install", "--target", "cron", "--system", "--no-start"],
            env=run,
            capture_output=True,
            text=True,
        )
        assert r.returncode == 0, r.stderr
        (cron_d,) = Path("/etc/cron.d").glob(f"osched-{config_id_of(r.stdout)}*")
        line = next(ln for ln in cron_d.read_text().splitlines() if "osched-start agent" in ln)
        assert f" {env.name} {env.bin}/osched-start agent " in line and "--state-dir" not in line
        wait_until(start)
        st = wait_for(
            lambda: (s := _state(user_state)).get("pid") and alive(s["pid"]) and s,
            60,
            "cron to start the job as the user",
        )
        assert proc_owner(st["pid"]) == env.uid  # never root
        assert user_state.stat().st_uid == env.uid and not (root_state / "jobs").exists()
    finally:
        subprocess.run([*osched, "uninstall", "--target", "cron"], env=run, capture_output=True)
        kill_user_processes(env)
        shutil.rmtree(base, ignore_errors=True)
    assert not list(Path("/etc/cron.d").glob(f"osched-{config_id_of(r.stdout)}*"))


def config_id_of(install_output: str) -> str:
    """The config id in ``install``'s first line (``cron: /etc/cron.d/osched-<id>: ...``)."""
    import re

    m = re.search(r"osched-([0-9a-f]{8})", install_output)
    assert m, install_output
    return m.group(1)


def _state(state: Path) -> dict[str, object]:
    import json

    try:
        return dict(json.loads((state / "jobs/agent/state.json").read_text()))
    except (OSError, ValueError):
        return {}
