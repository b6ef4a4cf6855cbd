"""A real systemd user manager (systemd 252), as a dedicated test user.

PID 1 here is not systemd, so the fixture does what ../shared/ORACLES.md describes: it makes
``/run/systemd/system`` exist (sd_booted), gives the user a cgroup it owns in every
hierarchy, and starts ``systemd --user`` in it; on a machine with a real user manager the
same tests run against that.  Everything it starts is stopped by pid, and what it created is
removed.  Checks: the units load, ``NextElapseUSecRealtime`` equals osched's next window
start, a near-future timer starts the job inside its service, the stop timer ends it, and
uninstall leaves no unit behind.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from integration import (
    UserEnv,
    kill_user_processes,
    next_start,
    ppid,
    require_root,
    user_env,
    wait_until,
)
from runtime_helpers import alive, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("daemons")]  # one worker: one cron daemon at a time
__all__ = ["user_env"]

SYSTEMD = "/lib/systemd/systemd"


def _hierarchies() -> list[Path]:
    out = []
    for h in ("/sys/fs/cgroup/systemd", "/sys/fs/cgroup/unified", "/sys/fs/cgroup"):
        r = subprocess.run(["stat", "-f", "-c", "%T", h], capture_output=True, text=True)
        if r.stdout.strip() in ("cgroup2fs", "cgroupfs"):
            out.append(Path(h))
    return out


@pytest.fixture(scope="module")
def manager(user_env: UserEnv) -> Iterator[UserEnv]:
    require_root()
    if not Path(SYSTEMD).exists():
        raise RuntimeError(f"{SYSTEMD} is missing: .ci/run installs systemd")
    env = user_env
    runtime = Path(f"/tmp/osched-it-run-{env.name}")
    runtime.mkdir(mode=0o700, exist_ok=True)
    os.chown(runtime, env.uid, env.gid)
    env.runtime_dir = runtime
    made_run_dir = not Path("/run/systemd/system").exists()
    Path("/run/systemd/system").mkdir(parents=True, exist_ok=True)
    cgroups = [h / f"osched-it-{env.name}" for h in _hierarchies()]
    for cg in cgroups:
        cg.mkdir(exist_ok=True)
        subprocess.run(["chown", "-R", f"{env.uid}:{env.gid}", str(cg)], check=True)
    procs = " ".join(str(cg / "cgroup.procs") for cg in cgroups)
    user_env_args = " ".join(
        f"{k}={v}" for k, v in env.env().items() if k in ("HOME", "USER", "LOGNAME", "XDG_RUNTIME_DIR")
    )
    script = (
        f"for f in {procs}; do echo $$ > $f; done; "
        f"exec setpriv --reuid={env.uid} --regid={env.gid} --init-groups env -i {user_env_args} "
        f"PATH=/usr/local/bin:/usr/bin:/bin {SYSTEMD} --user"
    )
    log = open(runtime.with_suffix(".log"), "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        ["bash", "-c", script], start_new_session=True, stdout=log, stderr=log, stdin=subprocess.DEVNULL
    )
    try:
        wait_for(
            lambda: (
                env.run("systemctl", "--user", "is-system-running", check=False).stdout.strip()
                in ("running", "degraded")
            ),
            15,
            "the user manager",
        )
        yield env
    finally:
        kill_user_processes(env)
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
        for cg in cgroups:  # remove the cgroup tree bottom-up
            for d in sorted((p for p in cg.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
                with contextlib.suppress(OSError):
                    d.rmdir()
            with contextlib.suppress(OSError):
                cg.rmdir()
        if made_run_dir:
            with contextlib.suppress(OSError):
                Path("/run/systemd/system").rmdir()
        subprocess.run(["rm", "-rf", str(runtime), str(runtime.with_suffix(".log"))], check=False)
        env.runtime_dir = None


def sc(env: UserEnv, *args: str) -> str:
    return env.run("systemctl", "--user", "--no-pager", *args).stdout


def prop(env: UserEnv, unit: str, name: str) -> str:
    return sc(env, "show", "-p", name, "--value", unit).strip()


def test_units_load_fire_inside_the_service_and_uninstall_leaves_nothing(manager: UserEnv) -> None:
    env = manager
    start = next_start(25)
    env.write_config(start, minutes=1)
    unit_dir = env.home / ".config/systemd/user"
    try:
        # auto picks systemd because the user manager answers
        r = env.osched("install", "--no-start")
        assert "systemd: " in r.stdout and "5 units added" in r.stdout, r.stdout
        for unit in ("osched-agent.soon.timer", "osched-agent.soon.stop.timer"):
            assert prop(env, unit, "LoadState") == "loaded"
            assert prop(env, unit, "ActiveState") == "active"
        assert "osched-agent.soon.timer" in sc(env, "list-timers", "--all")
        # systemd's next elapse equals osched's next window start
        nxt = json.loads(env.osched("next", "--json", "-n", "1").stdout)["windows"][0]
        ours = datetime.fromisoformat(nxt["start"])
        theirs = prop(env, "osched-agent.soon.timer", "NextElapseUSecRealtime")
        assert datetime.strptime(theirs, "%a %Y-%m-%d %H:%M:%S %Z").replace(tzinfo=UTC) == ours == start
        end_elapse = prop(env, "osched-agent.soon.stop.timer", "NextElapseUSecRealtime")
        assert datetime.strptime(end_elapse, "%a %Y-%m-%d %H:%M:%S %Z").replace(
            tzinfo=UTC
        ) == start + timedelta(minutes=1)
        r = env.osched("doctor", check=False)
        assert "ok    systemd user manager is" in r.stdout, r.stdout
        # no journald here: a drop-in sends the service's output to a file, which is what the
        # journal would be given (journalctl --user -u osched-agent.soon.service)
        journal = env.work / "service-output.txt"
        dropin = unit_dir / "osched-agent.soon.service.d"
        env.run("mkdir", "-p", str(dropin))
        env.run(
            "sh",
            "-c",
            f"printf '[Service]\\nStandardOutput=append:{journal}\\nStandardError=append:{journal}\\n' > {dropin}/out.conf",
        )
        sc(env, "daemon-reload")

        # the timer fires: the job runs inside osched-agent.soon.service
        wait_until(start)
        service = "osched-agent.soon.service"
        wait_for(lambda: prop(env, service, "ActiveState") == "active", 20, "the service to start")
        main = int(prop(env, service, "MainPID"))
        st = wait_for(lambda: (s := env.job_state()).get("pid") and s, 20, "the job")
        assert st["supervisor_pid"] == main and ppid(st["pid"]) == main
        cgroup = Path(f"/proc/{st['pid']}/cgroup").read_text()
        assert service in cgroup
        # the stop timer ends it, and the service with it
        wait_until(start + timedelta(minutes=1))
        wait_for(lambda: not alive(st["pid"]), 20, "the stop timer to end the job")
        wait_for(lambda: prop(env, service, "ActiveState") == "inactive", 20, "the service to end")
        assert prop(env, service, "Result") == "success"
        assert [e["event"] for e in env.events()][-1] in ("stopped", "stop_skipped")
        assert any(e["event"] == "stopped" and e.get("reason") == "window soon ended" for e in env.events())
        # the job's lines reached the service's output (the journal) unstamped, and its log stamped
        told = journal.read_text()
        assert f"fake_agent {st['pid']}: start" in told and f"{st['pid']}: got signal 15" in told, told
        logged = (env.state / "jobs" / "agent" / "output.log").read_text()
        assert f"+00:00 fake_agent {st['pid']}: start" in logged
        env.run("rm", "-rf", str(dropin))

        r = env.osched("uninstall")
        assert "5 removed" in r.stdout, r.stdout
        assert not unit_dir.exists() or not list(unit_dir.rglob("osched-*"))
        r = env.run("systemctl", "--user", "--no-pager", "list-unit-files", "osched-*", check=False)
        assert "0 unit files listed" in r.stdout  # (exit 1: nothing matched)
    finally:
        kill_user_processes(env)
        subprocess.run(["rm", "-rf", str(unit_dir)], check=False)


def test_the_supervisor_path_puts_limits_in_a_scope_of_the_user_manager(manager: UserEnv) -> None:
    """``osched.limitexec`` (cron's and launchd's jobs with memory, tasks or cpu limits) asks
    the user's manager for a transient scope holding the job, with the limits on it.  The
    process runs inside the manager's own tree here (a ``systemd-run --user`` service), as a
    job started from a login session does on a host whose PID 1 is systemd."""
    env = manager
    job = (  # no "$": systemd-run expands it
        "import os, subprocess; print(open('/proc/self/cgroup').read()); "
        "subprocess.run(['systemctl', '--user', 'show', '-p', 'MemoryMax', '-p', 'TasksMax', "
        "'-p', 'CPUQuotaPerSecUSec', '-p', 'Description', f'osched-lx-{os.getpid()}.scope'])"
    )
    r = env.run(
        "systemd-run", "--user", "--wait", "--pipe", "--quiet", "--collect", "--",
        str(env.bin / "python"), "-m", "osched.limitexec",
        "--as", str(512 * 1024 * 1024), "--nproc", "64", "--cpu", "50", "--scope", "lx",
        "--", str(env.bin / "python"), "-c", job,
    )  # fmt: skip
    out = r.stdout + r.stderr
    assert "osched: limits in the cgroup of osched-lx-" in out, out
    assert ".scope\n" in out and "/osched-lx-" in r.stdout
    assert "MemoryMax=536870912" in r.stdout and "TasksMax=64" in r.stdout, r.stdout
    assert "CPUQuotaPerSecUSec=500ms" in r.stdout and "Description=osched job lx" in r.stdout
