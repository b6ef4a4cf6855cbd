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
