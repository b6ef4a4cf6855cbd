"""What operators ask every scheduler for (issue 25): start jitter (``random_delay``), start
and success hooks and pings, the right user, secrets outside the config, resource limits,
timestamped logs.  Each key end to end: config, CLI, show, render for every target, and the
entrypoints on this machine."""

from __future__ import annotations

import json
import os
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from osched.cli import cli

WINDOW = {"id": "n", "start": "12:00", "duration": "30m", "days": ["tue"]}


def osched(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


# -- random_delay --------------------------------------------------------------------------------
def test_random_delay_is_a_schedule_key_shown_and_edited(env: Any) -> None:
    env.write([{**WINDOW, "random_delay": "10m"}])
    r = osched("show", "agent")
    assert "random delay up to 10m" in r.output
    data = json.loads(osched("show", "agent", "--json").output)
    assert data["schedules"][0]["random_delay_seconds"] == 600
    r = osched("schedule", "set", "agent", "n", "--random-delay", "90s", "--no-start")
    assert r.exit_code == 0, r.output
    assert 'random_delay = "90s"' in env.config.read_text()
    r = osched(
        "schedule",
        "add",
        "agent",
        "--start",
        "20:00",
        "--duration",
        "1h",
        "--days",
        "mon",
        "--random-delay",
        "5m",
        "--id",
        "late",
    )
    assert r.exit_code == 0, r.output
    assert 'random_delay = "5m"' in env.config.read_text()


def test_a_random_delay_as_long_as_the_window_is_refused(env: Any) -> None:
    env.write([{**WINDOW, "random_delay": "30m"}])
    r = osched("list")
    assert r.exit_code == 2
    assert "jobs.agent.schedules[n].random_delay: must be shorter than the window (30m)" in r.output
    r = osched("schedule", "set", "agent", "n", "--random-delay", "soon")
    assert r.exit_code == 2 and "--random-delay" in r.output


def test_every_target_carries_random_delay(env: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OSCHED_HOST_TZ", "UTC")
    env.write([{**WINDOW, "random_delay": "10m"}], kubernetes={"image": "x:1"})
    out = osched("render", "--target", "all").output
    timer = out.split("==> systemd/osched-agent.n.timer <==")[1].split("==>")[0]
    assert "RandomizedDelaySec=600" in timer
    stop_timer = out.split("==> systemd/osched-agent.n.stop.timer <==")[1].split("==>")[0]
    assert "RandomizedDelaySec" not in stop_timer  # the stop keeps the window's end
    service = out.split("==> systemd/osched-agent.n.service <==")[1].split("==>")[0]
    assert "--random-delay" not in service  # systemd delays it: the entrypoint must not again
    cron = [ln for ln in out.splitlines() if "osched-start agent" in ln and not ln.startswith("#")]
    assert cron and all(ln.split(" # ")[0].endswith("--random-delay") for ln in cron)
    assert "<RandomDelay>PT600S</RandomDelay>" in out.split("start.xml <==")[1].split("==>")[0]
    assert "<string>--random-delay</string>" in out.split("agent.n.start.plist <==")[1].split("==>")[0]
    kube = osched("render", "--target", "kubernetes")
    assert "note: random_delay is not carried by kubernetes (agent/n)" in kube.output


def _started_at(env: Any) -> datetime:
    (started,) = [e for e in env.events() if e["event"] == "started"]
    return datetime.fromisoformat(started["time"])


def test_the_entrypoint_delays_a_start_within_the_delay(env: Any) -> None:
    env.write([{**WINDOW, "random_delay": "10m"}])
    r = env.entry("start", "agent", "--schedule", "n", "--random-delay", now="2026-11-24T12:00:00+00:00")
    assert r.returncode == 0, r.stderr
    t = _started_at(env)
    window = datetime.fromisoformat("2026-11-24T12:00:00+00:00")
    assert window <= t <= window + timedelta(minutes=10, seconds=5)


def test_a_delay_never_reaches_past_the_window(env: Any) -> None:
    env.write([{**WINDOW, "duration": "3m", "random_delay": "2m30s"}])
    r = env.entry("start", "agent", "--schedule", "n", "--random-delay", now="2026-11-24T12:01:30+00:00")
    assert r.returncode == 0, r.stderr
    t = _started_at(env)
    assert t <= datetime.fromisoformat("2026-11-24T12:02:05+00:00")  # a minute before the end


def test_no_delay_for_a_firing_that_skips(env: Any) -> None:
    env.write([{**WINDOW, "random_delay": "10m"}])
    r = env.entry("start", "agent", "--schedule", "n", "--random-delay", now="2026-11-24T15:00:00+00:00")
    assert r.returncode == 0 and "outside the window" in r.stdout
    (skip,) = [e for e in env.events() if e["event"] == "start_skipped"]
    assert datetime.fromisoformat(skip["time"]) < datetime.fromisoformat("2026-11-24T15:00:05+00:00")


def test_next_and_status_show_the_window_not_the_delayed_start(env: Any) -> None:
    env.write([{**WINDOW, "random_delay": "10m"}])
    data = json.loads(osched("next", "--json", "-n", "1").output)
    assert data["windows"][0]["start"].startswith("2026-12-01T12:00")
