"""A newcomer's first hour: each mistake from the issue, typed as a user types it."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from runtime_helpers import Env, wait_for

from osched.cli import cli

TUE_NOON = "2026-11-24T12:00:00+00:00"
DAY = {"id": "day", "start": "10:00", "duration": "4h", "days": ["tue"]}


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Env]:
    e = Env(tmp_path)
    monkeypatch.setenv("OSCHED_CONFIG", str(e.config))
    monkeypatch.setenv("OSCHED_STATE_DIR", str(e.state))
    monkeypatch.setenv("OSCHED_NOW", TUE_NOON)
    try:
        yield e
    finally:
        e.cleanup()


def run(*args: str, **kw: Any) -> Any:
    return CliRunner().invoke(cli, list(args), **kw)


def init(env: Env) -> None:
    assert run("init", "--timezone", "UTC").exit_code == 0


# -- 1. a command that runs from the shell runs from the timer ------------------------------------------
def test_a_command_on_your_path_is_stored_absolute_and_runs_under_a_bare_path(
    env: Env, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bindir = tmp_path / "home-bin"
    bindir.mkdir()
    agent = bindir / "my-agent"
    agent.write_text(f"#!/bin/sh\necho started > {tmp_path}/ran\nsleep 30\n")
    agent.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bindir}:{os.environ['PATH']}")
    init(env)
    r = run("job", "add", "pathjob", "--", "my-agent", "--flag")
    assert r.exit_code == 0, r.output
    assert f"Added job 'pathjob': {agent} --flag" in r.output
    assert f"Note: my-agent resolved to {agent} (timers run with PATH=/usr/bin:/bin)" in r.output
    assert run("schedule", "add", "pathjob", "--start", "10:00", "--duration", "4h", "--days", "tue",
               "--id", "day", "--no-start").exit_code == 0
    # the entrypoint as cron runs it: PATH=/usr/bin:/bin only
    argv = [sys.executable, "-m", "osched.entry", "start", "pathjob", "--schedule", "day", "--config",
            str(env.config), "--state-dir", str(env.state)]
    bare = {"PATH": "/usr/bin:/bin", "OSCHED_NOW": TUE_NOON, "HOME": str(tmp_path)}
    r2 = subprocess.run(argv, capture_output=True, text=True, env=bare, timeout=30)
    assert r2.returncode == 0, r2.stderr
    wait_for((tmp_path / "ran").exists, 5, "the job to run from a bare PATH")
    st = json.loads((env.state / "jobs" / "pathjob" / "state.json").read_text())
    env.started += [st["pid"], st["supervisor_pid"]]
    subprocess.run([sys.executable, "-m", "osched.entry", "stop", "pathjob", "--config", str(env.config),
                    "--state-dir", str(env.state)], env={**bare, "OSCHED_NOW": "2026-11-24T14:00:00+00:00"},
                   timeout=30)


def test_a_command_that_does_not_exist_is_refused(env: Env) -> None:
    init(env)
    r = run("job", "add", "ghost", "--", "definitely-not-a-command")
    assert r.exit_code == 2
    assert "command 'definitely-not-a-command' is not found on your PATH; give its full path" in r.output
    r = run("job", "add", "ghost", "--", "/nonexistent/tool")
    assert r.exit_code == 2 and "/nonexistent/tool is not an executable file" in r.output
    assert "ghost" not in env.config.read_text()


def test_doctor_finds_a_command_the_timer_cannot_run(env: Env) -> None:
    env.write([DAY], command=["my-agent-not-on-timer-path"])
    r = run("doctor")
    assert r.exit_code == 1
    assert "FAIL  job agent: program 'my-agent-not-on-timer-path' is not on the timer's PATH (/usr/bin:/bin)" in r.output


# -- on_failure --------------------------------------------------------------------------------------
def test_on_failure_runs_when_the_job_gives_up(env: Env, tmp_path: Path) -> None:
    out = tmp_path / "hook.out"
    hook = [sys.executable, "-c",
            f"import os; open({str(out)!r}, 'w').write(' '.join(os.environ[k] for k in "
            "('OSCHED_JOB', 'OSCHED_SCHEDULE', 'OSCHED_EVENT', 'OSCHED_EXIT_CODE')))"]
    env.write([DAY], agent_args=["--work", "0.05", "--crash-after", "1"],
              restart={"retries": 1, "backoff": [0.1]}, on_failure=hook)
    env.entry("start", "agent", "--schedule", "day", now=TUE_NOON, check=True)
    env.wait_event("on_failure", timeout=20)
    assert out.read_text() == "agent day gave_up 1"
    kinds = env.kinds()
    assert kinds[kinds.index("gave_up"):] == ["gave_up", "on_failure"]
    assert "restarted" in kinds and kinds.count("restarted") == 1  # the hook restarts nothing


def test_on_failure_runs_when_the_job_cannot_start_and_its_failure_is_an_event(env: Env, tmp_path: Path) -> None:
    out = tmp_path / "hook.out"
    hook = ["/bin/sh", "-c", f'echo "$OSCHED_EVENT:$OSCHED_EXIT_CODE" > {out}']
    env.write([DAY], command=[str(tmp_path / "missing-program")], on_failure=hook)
    r = env.entry("start", "agent", "--schedule", "day", now=TUE_NOON)
    assert r.returncode == 1
    env.wait_event("on_failure", timeout=10)
    assert out.read_text() == "start_failed:\n"
    env.write([DAY], command=[str(tmp_path / "missing-program")], on_failure=[str(tmp_path / "no-hook")])
    env.entry("start", "agent", "--schedule", "day", now=TUE_NOON)
    env.wait_event("on_failure_failed", timeout=10)
    log = (env.state / "jobs" / "agent" / "output.log").read_text()
    assert "--- osched: could not start: " in log and "started at" not in log


def test_job_set_on_failure_is_resolved_and_removable(env: Env) -> None:
    init(env)
    assert run("job", "add", "agent", "--", "true").exit_code == 0
    r = run("job", "set", "agent", "--on-failure", "notify-send-missing 'agent failed'")
    assert r.exit_code == 2 and "--on-failure: command 'notify-send-missing' is not found" in r.output
    r = run("job", "set", "agent", "--on-failure", "sh -c 'echo failed'")
    assert r.exit_code == 0, r.output
    assert json.loads(run("list", "--json").output)["jobs"][0]["on_failure"] == [shutil.which("sh"), "-c", "echo failed"]
    assert run("job", "set", "agent", "--on-failure", "").exit_code == 0
    assert "on_failure" not in env.config.read_text()
    assert stat.S_IMODE(env.config.stat().st_mode) == 0o600
