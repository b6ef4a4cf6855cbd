"""The runtime with real processes: osched-start / osched-stop run as subprocesses (exactly
what the OS timers run), the fake agent as the job.  The clock is pinned with OSCHED_NOW
(it then advances in real time).  Every process a test starts is ended by pid."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from runtime_helpers import AGENT, Env, alive, wait_for

from osched.cli import cli

TUE_NOON = "2026-11-24T12:00:00+00:00"
DAY = {"id": "day", "start": "10:00", "duration": "4h", "days": ["tue"]}  # Tue 10:00-14:00 UTC


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Env]:
    e = Env(tmp_path)
    monkeypatch.setenv("OSCHED_CONFIG", str(e.config))
    monkeypatch.setenv("OSCHED_STATE_DIR", str(e.state))
    try:
        yield e
    finally:
        e.cleanup()


def cli_run(*args: str, now: str = TUE_NOON) -> object:
    return CliRunner().invoke(cli, list(args), env={"OSCHED_NOW": now})


# -- the start decision --------------------------------------------------------------------------
def test_start_skip_matrix(env: Env) -> None:
    env.write(
        [DAY, {"id": "off", "start": "10:00", "duration": "4h", "days": ["tue"], "enabled": False}],
        agent_args=["--work", "0.2"],
    )
    # outside the window: skipped, exit 0, nothing runs
    r = env.entry("start", "agent", "--schedule", "day", now="2026-11-24T09:00:00+00:00")
    assert (
        r.returncode == 0 and "outside the window of day (next start 2026-11-24T10:00:00+00:00)" in r.stdout
    )
    r = env.entry("start", "agent", "--schedule", "off", now=TUE_NOON)
    assert r.returncode == 0 and "schedule 'off' is disabled" in r.stdout
    r = env.entry("start", "agent", "--schedule", "ghost", now=TUE_NOON)
    assert r.returncode == 0 and "no schedule 'ghost'" in r.stdout
    r = env.entry("start", "nobody", "--schedule", "day", now=TUE_NOON)
    assert r.returncode == 0 and "no job 'nobody'" in r.stdout
    assert env.agent_pids() == []
    # inside: started; a second firing: already running
    r = env.entry("start", "agent", "--schedule", "day", now=TUE_NOON, check=True)
    assert "agent: started (pid" in r.stdout
    pid = env.job_state()["pid"]
    assert alive(pid) and env.agents(1) == [pid]
    r = env.entry("start", "agent", "--schedule", "day", now=TUE_NOON, check=True)
    assert f"already running (pid {pid})" in r.stdout
    assert env.kinds() == ["start_skipped"] * 3 + ["started", "start_skipped"]
    assert env.kinds("nobody") == ["start_skipped"]
    time.sleep(0.3)
    assert env.running_agents() == [pid]


def test_a_firing_up_to_a_minute_early_counts_as_the_start(env: Env) -> None:
    env.write([DAY])
    r = env.entry("start", "agent", "--schedule", "day", now="2026-11-24T09:58:50+00:00")
    assert "outside the window" in r.stdout
    r = env.entry("start", "agent", "--schedule", "day", now="2026-11-24T09:59:30+00:00", check=True)
    assert "started" in r.stdout
    st = env.job_state()
    assert (
        st["window_start"] == "2026-11-24T10:00:00+00:00" and st["window_end"] == "2026-11-24T14:00:00+00:00"
    )
    # the supervisor does not take the not-yet-open window for a closed one
    time.sleep(1.0)
    assert env.agents(1) == [st["pid"]] and env.running_agents() == [st["pid"]]


def test_exit_zero_is_done_for_the_window_and_the_next_window_runs_again(env: Env) -> None:
    env.write([{**DAY, "days": ["tue", "wed"]}], agent_args=["--work", "0.1", "--exit-after", "1"])
    env.entry("start", "agent", "--schedule", "day", now=TUE_NOON, check=True)
    env.wait_event("finished")
    assert env.job_state()["outcome"] == "finished"
    r = env.entry("start", "agent", "--schedule", "day", now="2026-11-24T13:00:00+00:00", check=True)
    assert "finished (exit 0)" in r.stdout and "in this window" in r.stdout
    assert len(env.agent_pids()) == 1
    # Wednesday's window is a new window
    r = env.entry("start", "agent", "--schedule", "day", now="2026-11-25T10:00:05+00:00", check=True)
    assert "started" in r.stdout
    env.wait_event("finished", 2)
    assert len(env.agent_pids()) == 2


def test_job_gets_args_env_workdir_relative_to_config(env: Env) -> None:
    (env.root / "work").mkdir()
    out = env.root / "seen.json"
    code = (
        "import json,os,sys; json.dump({'argv': sys.argv[1:], 'cwd': os.getcwd(), "
        "'env': {k: os.environ.get(k) for k in ('A','B','OSCHED_JOB','OSCHED_SCHEDULE','OSCHED_WINDOW_END','OSCHED_NOW')}}, "
        f"open({str(out)!r}, 'w'))"
    )
    env.write(
        [{**DAY, "args": ["--x", "a b"], "env": {"B": "from-schedule"}}],
        command=[sys.executable, "-c", code, "first"],
        workdir="work",
        env={"A": "from-job", "B": "from-job"},
    )
    env.entry("start", "agent", "--schedule", "day", now=TUE_NOON, check=True)
    env.wait_event("finished")
    seen = json.loads(out.read_text())
    assert seen["argv"] == ["first", "--x", "a b"]
    assert seen["cwd"] == str(env.root / "work")
    assert seen["env"] == {
        "A": "from-job",
        "B": "from-schedule",
        "OSCHED_JOB": "agent",
        "OSCHED_SCHEDULE": "day",
        "OSCHED_WINDOW_END": "2026-11-24T14:00:00+00:00",
        "OSCHED_NOW": None,
    }


def test_missing_command_or_workdir_is_a_failed_start_exit_1(env: Env) -> None:
    env.write([DAY], command=["/nonexistent/agent-binary"])
    r = env.entry("start", "agent", "--schedule", "day", now=TUE_NOON)
    assert r.returncode == 1
    assert r.stderr.strip().startswith("Error: agent: could not start: No such file or directory")
    assert env.kinds()[-1] == "start_failed"
    env.write([DAY], workdir="missing-dir")
    r = env.entry("start", "agent", "--schedule", "day", now=TUE_NOON)
    assert r.returncode == 1 and "workdir" in r.stderr and "missing-dir does not exist" in r.stderr


# -- stop, overlapping schedules, overrides -----------------------------------------------------
def test_latest_stop_wins_across_overlapping_schedules(env: Env) -> None:
    env.write(
        [
            {"id": "a", "start": "10:00", "duration": "2h", "days": ["tue"]},
            {"id": "b", "start": "11:00", "duration": "3h", "days": ["tue"]},
        ]
    )
    env.entry("start", "agent", "--schedule", "a", now="2026-11-24T10:30:00+00:00", check=True)
    pid = env.job_state()["pid"]
    r = env.entry("stop", "agent", "--schedule", "a", now="2026-11-24T12:00:00+00:00", check=True)
    assert "window agent/b is open until 2026-11-24T14:00:00+00:00" in r.stdout
    assert alive(pid)
    # b's start firing: already running, no second process
    r = env.entry("start", "agent", "--schedule", "b", now="2026-11-24T11:00:00+00:00", check=True)
    assert "already running" in r.stdout
    r = env.entry("stop", "agent", "--schedule", "b", now="2026-11-24T14:00:00+00:00", check=True)
    assert "stopped (window b ended)" in r.stdout
    wait_for(lambda: not alive(pid), 5, "the job to end")
    assert env.job_state()["outcome"] == "stopped"
    assert env.kinds()[-1] == "stopped" and env.events()[-1]["how"] == "SIGTERM"
    # the stop firing repeated: nothing to do
    r = env.entry("stop", "agent", "--schedule", "b", now="2026-11-24T14:00:30+00:00", check=True)
    assert "not running" in r.stdout


def test_manual_stop_blocks_timer_and_catch_up_until_override_expires(env: Env) -> None:
    env.write([DAY])
    env.entry("start", "agent", "--schedule", "day", now=TUE_NOON, check=True)
    pid = env.job_state()["pid"]
    r = cli_run("stop", "agent")
    assert r.exit_code == 0, r.output
    assert "stopped (manual stop); no scheduled start before Tue 2026-11-24 14:00 UTC" in r.output
    assert not alive(pid)
    ov = json.loads((env.state / "jobs/agent/override-stop.json").read_text())
    assert (
        ov["kind"] == "stop"
        and ov["expires"] == "2026-11-24T14:00:00+00:00"
        and ov["reason"] == "manual stop"
    )
    # a timer firing and a boot catch-up inside the window: no start
    r = env.entry("start", "agent", "--schedule", "day", now="2026-11-24T12:30:00+00:00", check=True)
    assert "stop override until 2026-11-24T14:00:00+00:00" in r.stdout
    r = env.entry("start", "--resume", now="2026-11-24T12:31:00+00:00", check=True)
    assert "stop override" in r.stdout
    assert env.running_agents() == []


def test_manual_stop_until_then_override_expires_and_timer_starts(env: Env) -> None:
    env.write([DAY])
    r = cli_run("stop", "agent", "--until", "10m")
    assert r.exit_code == 0 and "no scheduled start before Tue 2026-11-24 12:10 UTC" in r.output
    r = env.entry("start", "agent", "--schedule", "day", now="2026-11-24T12:05:00+00:00", check=True)
    assert "stop override" in r.stdout
    r = env.entry("start", "agent", "--schedule", "day", now="2026-11-24T12:10:00+00:00", check=True)
    assert "started" in r.stdout
    assert "override_expired" in env.kinds()
    assert not (env.state / "jobs/agent/override-stop.json").exists()


def test_manual_start_survives_the_scheduled_stop(env: Env) -> None:
    env.write([DAY])
    r = cli_run("start", "agent")
    assert r.exit_code == 0, r.output
    assert "started" in r.output and "manual start until Tue 2026-11-24 14:00 UTC" in r.output
    pid = env.job_state()["pid"]
    # a stop firing inside the override (an early or misplaced one) does not stop it
    r = env.entry("stop", "agent", "--schedule", "day", now="2026-11-24T13:00:00+00:00", check=True)
    assert "window agent/day is open" in r.stdout
    assert alive(pid)
    cli_run("start", "agent", "--until", "2026-11-24T18:00:00+00:00")
    r = env.entry("stop", "agent", "--schedule", "day", now="2026-11-24T14:00:00+00:00", check=True)
    assert "start override until 2026-11-24T18:00:00+00:00" in r.stdout
    assert alive(pid) and env.running_agents() == [pid]
    # once it has expired, the stop firing stops it
    r = env.entry("stop", "agent", "--schedule", "day", now="2026-11-24T18:00:00+00:00", check=True)
    assert "stopped" in r.stdout
    wait_for(lambda: not alive(pid), 5, "the job to end")
    assert "override_expired" in env.kinds()


def test_manual_start_outside_windows_lasts_until_the_next_window(env: Env) -> None:
    env.write([DAY])
    r = cli_run("start", "agent", now="2026-11-24T15:00:00+00:00")
    assert r.exit_code == 0, r.output
    assert "manual start until Tue 2026-12-01 10:00 UTC" in r.output
    r = cli_run("override", "list", "--json", now="2026-11-24T15:00:00+00:00")
    assert json.loads(r.output)["overrides"][0]["kind"] == "start"
    r = cli_run("override", "clear", "agent", now="2026-11-24T15:00:00+00:00")
    assert r.output.strip() == "Cleared start override of agent."
    assert (
        cli_run("override", "list", now="2026-11-24T15:00:00+00:00").output.strip()
        == "No overrides in force."
    )
    env.write([])
    r = cli_run("start", "agent", now="2026-11-24T15:00:00+00:00")
    assert r.exit_code == 2 and "has no enabled schedule: give --until WHEN" in r.output


@pytest.mark.parametrize("bad", ["yesterday", "-5m", "2020-01-01T00:00"])
def test_until_bad_values_exit_2(env: Env, bad: str) -> None:
    env.write([DAY])
    r = cli_run("stop", "agent", "--until", bad)
    assert r.exit_code == 2 and r.output.count("\n") == 1 and "--until" in r.output
    assert not (env.state / "jobs/agent/override-stop.json").exists()


# -- crashes ---------------------------------------------------------------------------------------
def test_crash_backoff_sequence_and_give_up(env: Env) -> None:
    env.write(
        [DAY],
        agent_args=["--work", "0.05", "--crash-after", "1"],
        restart={"retries": 3, "backoff": [0.3, 0.6]},
    )
    env.entry("start", "agent", "--schedule", "day", now=TUE_NOON, check=True)
    env.wait_event("gave_up", timeout=20)
    ev = env.events()
    assert [e["event"] for e in ev] == [
        "started",
        "crashed",
        "restarted",
        "crashed",
        "restarted",
        "crashed",
        "restarted",
        "gave_up",
    ]
    crashes = [e for e in ev if e["event"] == "crashed"]
    assert [(c["crash"], c["delay"]) for c in crashes] == [(1, 0.3), (2, 0.6), (3, 0.6)]
    assert crashes[0]["reason"] == "exit 1; restart 1 of 3 in 0.3s"
    assert ev[-1]["reason"] == "exit 1; 3 crash restarts used (retries = 3)"
    assert len(env.agent_pids()) == 4 and env.running_agents() == []
    # a repeated firing in the same window does not reset the count
    r = env.entry("start", "agent", "--schedule", "day", now="2026-11-24T12:30:00+00:00", check=True)
    assert "gave up after 3 crash restarts in this window" in r.stdout
    # the next window resets it
    r = env.entry("start", "agent", "--schedule", "day", now="2026-12-01T10:00:00+00:00", check=True)
    assert "started" in r.stdout and env.events()[-1]["crashes"] == 0


def test_backoff_delays_are_respected(env: Env) -> None:
    env.write(
        [DAY], agent_args=["--work", "0.01", "--crash-after", "1"], restart={"retries": 2, "backoff": [1]}
    )
    env.entry("start", "agent", "--schedule", "day", now=TUE_NOON, check=True)
    env.wait_event("gave_up", timeout=20)
    ev = env.events()
    from datetime import datetime

    def t(e: dict[str, str]) -> float:
        return datetime.fromisoformat(e["time"]).timestamp()

    crashed = [e for e in ev if e["event"] == "crashed"]
    restarted = [e for e in ev if e["event"] == "restarted"]
    assert len(crashed) == len(restarted) == 2
    for c, r in zip(crashed, restarted, strict=True):
        assert t(r) - t(c) >= 1  # whole seconds in the log; the delay is 1 s


def test_no_restart_after_the_window_ends(env: Env) -> None:
    env.write([DAY], agent_args=["--work", "2", "--crash-after", "1"])
    env.entry("start", "agent", "--schedule", "day", now="2026-11-24T13:59:59+00:00", check=True)
    ev = env.wait_event("crashed", timeout=10)
    assert "no restart: its window is over" in ev[0]["reason"]
    time.sleep(1.0)
    assert "restarted" not in env.kinds() and env.running_agents() == []


def test_no_restart_under_a_stop_override(env: Env, tmp_path: Path) -> None:
    env.write([DAY], agent_args=["--work", "1.5", "--crash-after", "1"])
    env.entry("start", "agent", "--schedule", "day", now=TUE_NOON, check=True)
    (env.state / "jobs/agent/override-stop.json").write_text(
        json.dumps(
            {"kind": "stop", "created": TUE_NOON, "expires": "2026-11-24T14:00:00+00:00", "reason": "test"}
        )
    )
    ev = env.wait_event("crashed", timeout=10)
    assert "no restart: a stop override is active" in ev[0]["reason"]


def test_supervisor_stops_the_job_when_no_stop_firing_comes(env: Env) -> None:
    env.write([DAY], agent_args=["--work", "0.2"])
    env.entry("start", "agent", "--schedule", "day", now="2026-11-24T13:59:58+00:00", check=True)
    pid = env.job_state()["pid"]
    ev = env.wait_event("stopped", timeout=15)
    assert ev[0]["reason"] == "its last window ended and no stop firing came"
    assert not alive(pid) and env.job_state()["outcome"] == "stopped"


# -- processes: concurrency, pids, groups -----------------------------------------------------------
def test_fifty_concurrent_starts_give_one_process(env: Env) -> None:
    env.write([DAY], agent_args=["--work", "0.5"])
    procs = [env.popen_entry("start", "agent", "--schedule", "day", now=TUE_NOON) for _ in range(50)]
    outs = [p.communicate(timeout=60) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1] for o in outs]
    assert len(env.agents(1)) == 1
    time.sleep(0.3)
    assert len(env.agent_pids()) == 1
    kinds = env.kinds()
    assert kinds.count("started") == 1 and kinds.count("start_skipped") == 49
    assert all("already running" in e["reason"] for e in env.events() if e["event"] == "start_skipped")


def test_supervisor_killed_then_new_start_recovers(env: Env) -> None:
    env.write([DAY], agent_args=["--work", "0.2"])
    env.entry("start", "agent", "--schedule", "day", now=TUE_NOON, check=True)
    st = env.job_state()
    os.kill(st["supervisor_pid"], signal.SIGKILL)
    wait_for(lambda: not alive(st["supervisor_pid"]), 5, "the supervisor to die")
    assert alive(st["pid"])
    # the job lives on: a new firing adopts it instead of starting a second copy
    r = env.entry("start", "agent", "--schedule", "day", now=TUE_NOON, check=True)
    assert "supervising it again" in r.stdout
    st2 = env.job_state()
    assert (
        st2["pid"] == st["pid"]
        and st2["supervisor_pid"] != st["supervisor_pid"]
        and alive(st2["supervisor_pid"])
    )
    # both killed: the pid file is stale, a new start starts a new job
    os.kill(st2["supervisor_pid"], signal.SIGKILL)
    os.killpg(st["pid"], signal.SIGKILL)
    wait_for(lambda: not alive(st["pid"]), 5, "the job to die")
    r = env.entry("start", "agent", "--schedule", "day", now=TUE_NOON, check=True)
    assert "started" in r.stdout
    assert env.job_state()["pid"] != st["pid"]
    wait_for(lambda: len(env.running_agents()) == 1, 5, "one running agent")


def test_a_reused_pid_is_never_signalled(env: Env) -> None:
    env.write([DAY])
    foreign = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(3600)"], start_new_session=True
    )
    env.started.append(foreign.pid)
    try:
        jobdir = env.state / "jobs/agent"
        jobdir.mkdir(parents=True, mode=0o700)
        env.state.chmod(0o700)
        (jobdir / "state.json").write_text(
            json.dumps(
                {
                    "pid": foreign.pid,
                    "pid_start": "1",
                    "supervisor_pid": foreign.pid,
                    "supervisor_start": "1",
                    "outcome": "running",
                    "schedule": "day",
                    "window_start": "2026-11-24T10:00:00+00:00",
                }
            )
        )
        r = env.entry("stop", "agent", "--schedule", "day", now="2026-11-24T14:00:00+00:00", check=True)
        assert "not running" in r.stdout
        r = cli_run("stop", "agent")
        assert r.exit_code == 0
        time.sleep(0.3)
        assert foreign.poll() is None, "osched signalled a process it did not start"
        cli_run("override", "clear", "agent")
        r = env.entry("start", "agent", "--schedule", "day", now=TUE_NOON, check=True)
        assert "started" in r.stdout and env.job_state()["pid"] != foreign.pid
    finally:
        foreign.kill()
        foreign.wait()


def test_a_reused_process_group_id_is_never_signalled(env: Env) -> None:
    """The job's last run left its group id P in the state; its group emptied, and an unrelated
    program became a session leader with pid P.  Neither the stop firing nor ``osched stop``
    signals it: a group whose leader id is taken by a process that is not the recorded leader
    is not the job's (issue 22, 1)."""
    env.write([DAY])
    impostor = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(3600)"], start_new_session=True)
    env.started.append(impostor.pid)
    try:
        jobdir = env.state / "jobs/agent"
        jobdir.mkdir(parents=True, mode=0o700)
        env.state.chmod(0o700)
        (jobdir / "state.json").write_text(json.dumps({
            "pid": None, "pgid": impostor.pid, "pgid_start": "1", "outcome": "finished",
            "schedule": "day", "window_start": "2026-11-24T10:00:00+00:00",
        }))
        r = env.entry("stop", "agent", "--schedule", "day", now="2026-11-24T14:00:00+00:00", check=True)
        assert "not running" in r.stdout and "leftover" not in r.stdout
        assert cli_run("stop", "agent").exit_code == 0
        time.sleep(0.3)
        assert impostor.poll() is None, "osched signalled a group that was not the job's"
    finally:
        impostor.kill()
        impostor.wait()


def test_stop_ends_grandchildren_and_sigkills_after_timeout(env: Env) -> None:
    env.write(
        [DAY], agent_args=["--work", "0.2", "--child", str(env.childfile), "--ignore-term"], stop_timeout=1
    )
    env.entry("start", "agent", "--schedule", "day", now=TUE_NOON, check=True)
    child = wait_for(env.child_pids, 5, "the grandchild")[0]
    pid = env.job_state()["pid"]
    assert alive(child) and alive(pid)
    t0 = time.monotonic()
    r = env.entry("stop", "agent", "--schedule", "day", now="2026-11-24T14:00:00+00:00", check=True)
    assert "stopped" in r.stdout
    assert time.monotonic() - t0 >= 1.0  # waited stop_timeout before SIGKILL
    wait_for(lambda: not alive(child) and not alive(pid), 5, "the job and its grandchild to end")
    assert env.events()[-1]["how"] == "SIGKILL after 1s"


def test_foreground_supervisor_as_under_systemd(env: Env) -> None:
    env.write([DAY], agent_args=["--work", "0.2"])
    p = env.popen_entry("start", "agent", "--schedule", "day", "--foreground", now=TUE_NOON)
    st = wait_for(lambda: env.job_state().get("pid") and env.job_state(), 10, "the job")
    assert st["supervisor_pid"] == p.pid
    assert p.poll() is None  # it stays in the foreground
    p.send_signal(signal.SIGTERM)  # what systemd does on stop (KillMode=mixed)
    assert p.wait(timeout=10) == 0
    assert not alive(st["pid"])
    ev = env.events()[-1]
    assert ev["event"] == "stopped" and "SIGTERM" in ev["reason"]


def test_foreground_exit_zero_ends_the_service(env: Env) -> None:
    env.write([DAY], agent_args=["--work", "0.1", "--exit-after", "1"])
    p = env.popen_entry("start", "agent", "--schedule", "day", "--foreground", now=TUE_NOON)
    assert p.wait(timeout=10) == 0
    assert env.kinds() == ["started", "finished"]


# -- state, security ----------------------------------------------------------------------------------
def test_corrupt_state_file_is_moved_aside(env: Env) -> None:
    env.write([DAY])
    jobdir = env.state / "jobs/agent"
    jobdir.mkdir(parents=True, mode=0o700)
    env.state.chmod(0o700)
    (jobdir / "state.json").write_text("{not json")
    r = env.entry("start", "agent", "--schedule", "day", now=TUE_NOON)
    assert r.returncode == 0 and "started" in r.stdout
    assert env.kinds()[:2] == ["state_corrupt", "started"]
    aside = list(jobdir.glob("state.json.corrupt-*"))
    assert len(aside) == 1 and aside[0].read_text() == "{not json"


@pytest.mark.parametrize("what", ["config", "state"])
def test_refuses_group_or_world_writable_config_or_state(env: Env, what: str) -> None:
    env.write([DAY])
    env.state.mkdir(mode=0o700)
    target = env.config if what == "config" else env.state
    target.chmod(0o666 if what == "config" else 0o777)
    r = env.entry("start", "agent", "--schedule", "day", now=TUE_NOON)
    assert r.returncode == 1
    assert r.stderr.startswith("Error: refusing to run: ") and "writable by other users" in r.stderr
    assert r.stderr.count("\n") == 1
    # the trust check comes first: a refusal writes nothing (no event, no state)
    assert not (env.state / "events.jsonl").exists() and env.agent_pids() == []
    assert not (env.state / "jobs").exists()


def test_refuses_config_owned_by_another_user(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    from osched.trust import InsecureError, check_private

    env.write([DAY])
    monkeypatch.setattr(os, "geteuid", lambda: os.stat(env.config).st_uid + 1)
    with pytest.raises(InsecureError, match=r"is owned by uid \d+, not by uid \d+"):
        check_private(env.config, "config file")


def test_usage_and_config_errors_exit_2(env: Env) -> None:
    env.write([DAY])
    r = env.entry("start", "agent")
    assert r.returncode == 2 and "--schedule ID is required" in r.stderr
    r = env.entry("start", "agent", "--schedule", "day", "--bogus")
    assert r.returncode == 2 and "unknown option --bogus" in r.stderr
    env.config.write_text('timezone = "Mars/Olympus"\n')
    r = env.entry("start", "agent", "--schedule", "day", now=TUE_NOON)
    assert r.returncode == 2 and "unknown time zone 'Mars/Olympus'" in r.stderr
    assert env.kinds(None)[-1] == "config_error"


def test_skip_path_imports_no_click_jinja2_crontab_or_subprocess(env: Env) -> None:
    env.write([DAY])
    code = (
        "import sys, json; from osched.entry import run; "
        f"a = run('osched-start', ['agent', '--schedule', 'day', '--config', {str(env.config)!r}, "
        f"'--state-dir', {str(env.state)!r}]); "
        f"b = run('osched-stop', ['agent', '--schedule', 'day', '--config', {str(env.config)!r}, "
        f"'--state-dir', {str(env.state)!r}]); "
        "print(json.dumps([a, b, sorted(sys.modules)]))"
    )
    r = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, "OSCHED_NOW": "2026-11-24T09:00:00+00:00"},
        check=True,
    )
    a, b, mods = json.loads(r.stdout)
    assert (a, b) == (0, 0)
    assert env.kinds() == ["start_skipped", "stop_skipped"]
    for heavy in ("click", "jinja2", "crontab", "tomlkit", "platformdirs", "subprocess"):
        assert heavy not in mods, f"{heavy} imported on the skip path"


# -- resume, live start, CLI views ------------------------------------------------------------------
def test_resume_starts_jobs_whose_window_is_open(env: Env) -> None:
    env.write([DAY])
    r = env.entry("start", "--resume", now="2026-11-24T09:00:00+00:00", check=True)
    assert r.stdout.strip() == "resume: no window is open" and env.agent_pids() == []
    r = env.entry("start", "--resume", now=TUE_NOON, check=True)
    assert "started" in r.stdout and len(env.agents(1)) == 1


def test_resume_under_systemd_starts_the_service_unit(env: Env, tmp_path: Path) -> None:
    env.write([DAY])
    bindir = tmp_path / "bin"
    bindir.mkdir()
    log = tmp_path / "systemctl.argv"
    (bindir / "systemctl").write_text(f'#!/bin/sh\necho "$@" >> {log}\n')
    (bindir / "systemctl").chmod(0o755)
    os.environ["PATH"] = f"{bindir}:{os.environ['PATH']}"
    try:
        r = env.entry("start", "--resume", "--systemd", "user", now=TUE_NOON, check=True)
    finally:
        os.environ["PATH"] = os.environ["PATH"].split(":", 1)[1]
    assert log.read_text() == "--user start --no-block osched-agent.day.service\n"
    assert "started osched-agent.day.service" in r.stdout and env.agent_pids() == []


def test_schedule_add_inside_its_window_starts_the_job_unless_no_start(env: Env) -> None:
    env.write([])
    r = cli_run(
        "schedule",
        "add",
        "agent",
        "--start",
        "10:00",
        "--duration",
        "4h",
        "--days",
        "tue",
        "--timezone",
        "UTC",
        "--id",
        "day",
        "--no-start",
    )
    assert r.exit_code == 0 and "started" not in r.output and env.agent_pids() == []
    cli_run("schedule", "disable", "agent", "day")
    r = cli_run("schedule", "enable", "agent", "day")
    assert r.exit_code == 0, r.output
    assert "agent: started (pid" in r.output
    wait_for(env.running_agents, 5, "the job")


def test_status_events_logs_show_the_runtime(env: Env) -> None:
    env.write([DAY], agent_args=["--work", "0.1", "--verbose"])
    env.entry("start", "agent", "--schedule", "day", now=TUE_NOON, check=True)
    st = env.job_state()
    r = cli_run("status", "--json")
    job = json.loads(r.output)["jobs"][0]
    assert job["process"]["pid"] == st["pid"] and job["process"]["supervisor_pid"] == st["supervisor_pid"]
    assert job["crash_count"] == 0 and job["overrides"] == [] and job["outcome"] == "running"
    r = cli_run("status")
    assert f"running (pid {st['pid']} since" in r.output
    wait_for(lambda: "step 2" in (env.state / "jobs/agent/output.log").read_text(), 5, "output")
    r = cli_run("logs", "agent", "-n", "2")
    assert r.exit_code == 0 and "fake_agent" in r.output and len(r.output.splitlines()) == 2
    r = cli_run("events", "agent", "--json")
    assert [e["event"] for e in json.loads(r.output)["events"]] == ["started"]
    r = cli_run("events")
    assert "agent/day  started  pid" in r.output
    r = cli_run("logs", "nobody")
    assert r.exit_code == 2 and "no job named 'nobody'" in r.output


def test_logs_follow_prints_new_output(env: Env) -> None:
    env.write([DAY])
    log = env.state / "jobs/agent/output.log"
    log.parent.mkdir(parents=True)
    log.write_text("old line\n")
    p = subprocess.Popen([sys.executable, "-m", "osched", "logs", "agent", "--follow"],
                         stdout=subprocess.PIPE, text=True, env={**os.environ})
    env.started.append(p.pid)
    try:
        assert p.stdout is not None
        assert p.stdout.readline() == "old line\n"
        with log.open("a") as fh:
            fh.write("new line\n")
        assert p.stdout.readline() == "new line\n"
    finally:
        p.kill()
        p.wait()


def test_output_log_rotates_by_size(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 25: rotated by size, ``log_keep`` old files kept (the newest is .1)."""
    env.write([DAY], agent_args=["--work", "0.01", "--exit-after", "6"], log_keep=2)
    monkeypatch.setenv("OSCHED_LOG_MAX_BYTES", "120")
    env.entry("start", "agent", "--schedule", "day", now=TUE_NOON, check=True)
    env.wait_event("finished")
    env.entry("start", "agent", "--schedule", "day", now="2026-12-01T10:00:00+00:00", check=True)
    env.wait_event("finished", 2)
    log = env.state / "jobs/agent/output.log"
    wait_for(lambda: "done" in log.read_text(), 10, "the relay to write the last line")
    assert log.with_name("output.log.1").exists() and log.with_name("output.log.2").exists()
    assert not log.with_name("output.log.3").exists()
    assert "2026-11-24" not in log.read_text() + log.with_name("output.log.1").read_text()


def test_fake_agent_is_the_shipped_example() -> None:
    assert AGENT.exists()


def test_a_manual_run_stops_at_its_until_time_and_says_so(env: Env) -> None:
    """``start --until`` outside any window: no stop firing comes, so the supervisor is the stop,
    at the until time (not up to 35 s later), with a reason that names it (issue 24, 6)."""
    env.write([DAY], agent_args=["--work", "0.2"])
    started = time.monotonic()
    r = cli_run("start", "agent", "--until", "3s", now="2026-11-24T18:00:00+00:00")
    assert r.exit_code == 0, r.output
    (pid,) = env.agents(1)
    wait_for(lambda: not alive(pid), 15, "the job to stop")
    assert time.monotonic() - started < 6.5
    stop = env.wait_event("stopped")[-1]
    assert "until time" in stop["reason"] and "window" not in stop["reason"], stop
