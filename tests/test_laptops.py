"""Laptops (issue 26): what each target does about waking the machine for a window."""

from __future__ import annotations

import json
from typing import Any

from click.testing import CliRunner

from osched.cli import cli

DAY = {"id": "night", "start": "22:00", "duration": "8h", "days": ["mon-fri"]}


def run(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args))


def test_wake_is_a_schedule_key_shown_and_edited(env: Any) -> None:
    env.write([DAY])
    assert run("schedule", "set", "agent", "night", "--wake", "--no-start").exit_code == 0
    assert "wake = true" in env.config.read_text()
    assert json.loads(run("show", "agent", "--json").output)["schedules"][0]["wake"] is True
    assert "wakes the machine" in run("show", "agent").output
    assert run("schedule", "set", "agent", "night", "--no-wake", "--no-start").exit_code == 0
    assert json.loads(run("show", "agent", "--json").output)["schedules"][0]["wake"] is False
    env.write([{**DAY, "wake": "yes"}])
    r = run("list")
    assert r.exit_code == 2 and "jobs.agent.schedules[night].wake: must be true or false" in r.output


def test_each_target_wakes_for_the_start_or_says_what_to_use(env: Any, monkeypatch: Any) -> None:
    monkeypatch.setenv("OSCHED_HOST_TZ", "UTC")
    env.write([{**DAY, "wake": True}], kubernetes={"image": "x:1"})
    out = run("render", "--target", "all").output
    start_timer = out.split("==> systemd/osched-agent.night.timer <==")[1].split("==>")[0]
    stop_timer = out.split("==> systemd/osched-agent.night.stop.timer <==")[1].split("==>")[0]
    assert "\nWakeSystem=true\n" in start_timer and "WakeSystem" not in stop_timer
    start_task = out.split("agent.night.start.xml <==")[1].split("==>")[0]
    stop_task = out.split("agent.night.stop.xml <==")[1].split("==>")[0]
    assert "<WakeToRun>true</WakeToRun>" in start_task and "<WakeToRun>false</WakeToRun>" in stop_task
    assert "note: wake is not carried by cron (agent/night): cron cannot wake the machine" in out
    assert "note: wake is not carried by launchd (agent/night)" in out and "pmset repeat wakeorpoweron" in out
    env.write([DAY])
    assert "WakeSystem" not in run("render", "--target", "systemd").output


# -- keep_awake ------------------------------------------------------------------------------------
TUE_NOON = "2026-11-24T12:00:00+00:00"
WINDOW = {"id": "day", "start": "10:00", "duration": "4h", "days": ["tue"]}
FAKE_INHIBIT = """#!/bin/sh
# a fake systemd-inhibit: records how it was called and its pid, then runs the command
echo "$$ $*" >> "$FAKE_INHIBIT_LOG"
while [ "${1#--}" != "$1" ]; do shift; done
exec "$@"
"""


def _fake_inhibit(tmp_path: Any, monkeypatch: Any) -> Any:
    import os

    bindir = tmp_path / "fakebin"
    bindir.mkdir()
    fake = bindir / "systemd-inhibit"
    fake.write_text(FAKE_INHIBIT)
    fake.chmod(0o755)
    log = tmp_path / "inhibit.log"
    monkeypatch.setenv("PATH", f"{bindir}:{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_INHIBIT_LOG", str(log))
    return log


def _inhibitor(log: Any) -> tuple[int, str]:
    from runtime_helpers import wait_for

    line = wait_for(lambda: log.exists() and log.read_text().splitlines()[-1:], 20, "the inhibitor")[0]
    pid, args = line.split(" ", 1)
    return int(pid), args


def test_keep_awake_holds_an_inhibitor_while_the_job_runs(env: Any, tmp_path: Any, monkeypatch: Any) -> None:
    from runtime_helpers import alive, wait_for

    log = _fake_inhibit(tmp_path, monkeypatch)
    env.write([WINDOW], agent_args=["--work", "0.2"], keep_awake=True)
    env.entry("start", "agent", "--schedule", "day", now=TUE_NOON, check=True)
    pid, args = _inhibitor(log)
    assert "--what=idle:sleep --mode=block --who=osched --why=osched job agent is running" in args
    assert alive(pid)
    env.entry("stop", "agent", "--schedule", "day", now="2026-11-24T14:00:00+00:00", check=True)
    wait_for(lambda: not alive(pid), 20, "the inhibitor to be released after the stop")


def test_keep_awake_is_released_when_the_job_gives_up(env: Any, tmp_path: Any, monkeypatch: Any) -> None:
    from runtime_helpers import alive, wait_for

    log = _fake_inhibit(tmp_path, monkeypatch)
    env.write(
        [WINDOW],
        agent_args=["--work", "0.3", "--crash-after", "1"],
        restart={"retries": 1, "backoff": [0.2]},
        keep_awake=True,
    )
    env.entry("start", "agent", "--schedule", "day", now=TUE_NOON, check=True)
    pid, _ = _inhibitor(log)
    env.wait_event("gave_up", timeout=20)  # a crash, a restart, a give-up: one inhibitor, then none
    wait_for(lambda: not alive(pid), 20, "the inhibitor to be released after the give-up")
    assert len(log.read_text().splitlines()) == 1


def test_keep_awake_through_the_cli_and_doctor(env: Any, tmp_path: Any, monkeypatch: Any) -> None:
    env.write([WINDOW])
    assert run("job", "set", "agent", "--keep-awake").exit_code == 0
    assert json.loads(run("show", "agent", "--json").output)["keep_awake"] is True
    monkeypatch.setenv("PATH", str(tmp_path))  # no systemd-inhibit, no tail
    out = run("doctor").output
    assert "warn  keep_awake (agent): no systemd-inhibit here, the machine may sleep" in out
