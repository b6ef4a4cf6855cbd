"""Laptops (issue 26, items 3 and 4): on_ac_power, network and stop_on_battery; suspend.

The power supplies and the route table are read under ``$OSCHED_HOST_ROOT``: each test builds
a fake ``sys/class/power_supply`` and ``proc/net`` there.  The entrypoints run as the scheduler
runs them, with the waiter's and the supervisor's once-a-minute looks shortened (``PATCHED``)
so that a test takes seconds."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from osched.cli import cli
from osched.runtime import conditions, policy

TUE_NOON = "2026-11-24T12:00:00+00:00"
WINDOW = {"id": "day", "start": "10:00", "duration": "4h", "days": ["tue"]}
PATCHED = (
    "import sys, osched.runtime.conditions as c, osched.runtime.supervisor as s; "
    "c.POLL = 0.3; s.WAKE = 1.0; from osched.entry import _module_main; sys.exit(_module_main(sys.argv[1:]))"
)
ROUTE_HEAD = "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
LOCAL_ONLY = ROUTE_HEAD + "eth0\t0000A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n"
DEFAULT_UP = LOCAL_ONLY + "eth0\t00000000\t0100A8C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n"
V6_DEFAULT = "00000000000000000000000000000000 00 00000000000000000000000000000000 00 fe800000000000000000000000000001 00000400 00000001 00000000 00000003 wlan0\n"


def run(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args))


def power(root: Path, ac: bool | None, battery: bool = True) -> None:
    """A laptop's supplies: AC (online or not; None: no mains supply at all) and a battery."""
    base = root / "sys" / "class" / "power_supply"
    base.mkdir(parents=True, exist_ok=True)
    if ac is not None:
        (base / "AC").mkdir(exist_ok=True)
        (base / "AC" / "type").write_text("Mains\n")
        (base / "AC" / "online").write_text("1\n" if ac else "0\n")
    if battery:
        (base / "BAT0").mkdir(exist_ok=True)
        (base / "BAT0" / "type").write_text("Battery\n")
        (base / "BAT0" / "online").write_text("1\n")


def routes(root: Path, v4: str, v6: str = "") -> None:
    net = root / "proc" / "net"
    net.mkdir(parents=True, exist_ok=True)
    (net / "route").write_text(v4)
    (net / "ipv6_route").write_text(v6)


@pytest.fixture
def host(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "host"
    root.mkdir()
    monkeypatch.setenv(conditions.ROOT_ENV, str(root))
    return root


# -- reading the machine ---------------------------------------------------------------------------
def test_power_is_read_as_systemd_reads_it(host: Path) -> None:
    assert conditions.on_ac_power() and not conditions.has_battery()  # nothing to read: a desktop
    power(host, ac=False)
    assert not conditions.on_ac_power() and conditions.has_battery()
    power(host, ac=True)
    assert conditions.on_ac_power()
    (host / "sys/class/power_supply/AC").rename(host / "sys/class/power_supply/ADP1")
    (host / "sys/class/power_supply/ADP1/type").write_text("USB_C\n")
    (host / "sys/class/power_supply/ADP1/online").write_text("0\n")
    assert not conditions.on_ac_power()  # a USB-C charger unplugged is battery too
    power(host, ac=None)  # a battery but no mains supply described: systemd says AC
    (host / "sys/class/power_supply/ADP1/type").write_text("Battery\n")
    assert conditions.on_ac_power()


def test_the_network_is_up_when_a_default_route_is(host: Path) -> None:
    assert conditions.network_up()  # no route table to read: nothing is held back
    routes(host, LOCAL_ONLY)
    assert not conditions.network_up()
    routes(host, DEFAULT_UP)
    assert conditions.network_up()
    routes(host, LOCAL_ONLY.replace("0001", "0000") + "eth0\t00000000\t0100A8C0\t0002\t0\t0\t0\t0\t0\t0\t0\n")
    assert not conditions.network_up()  # a default route that is not up
    routes(host, LOCAL_ONLY, V6_DEFAULT)
    assert conditions.network_up()
    routes(host, LOCAL_ONLY, V6_DEFAULT.replace("wlan0", "lo"))
    assert not conditions.network_up()


# -- the keys --------------------------------------------------------------------------------------
def test_the_keys_are_flags_shown_and_edited(env: Any) -> None:
    env.write([WINDOW])
    r = run("job", "set", "agent", "--on-ac-power", "--network", "--stop-on-battery")
    assert r.exit_code == 0, r.output
    shown = json.loads(run("show", "agent", "--json").output)
    assert (shown["on_ac_power"], shown["network"], shown["stop_on_battery"]) == (True, True, True)
    assert "stop on battery: True" in run("show", "agent").output
    assert run("job", "set", "agent", "--no-network").exit_code == 0
    assert "network = false" in env.config.read_text()
    env.write([WINDOW], on_ac_power="yes")
    r = run("list")
    assert r.exit_code == 2 and "jobs.agent.on_ac_power: must be true or false" in r.output


def test_render_says_what_each_target_does(env: Any, monkeypatch: Any) -> None:
    monkeypatch.setenv("OSCHED_HOST_TZ", "UTC")
    env.write([WINDOW], on_ac_power=True, network=True, stop_on_battery=True, kubernetes={"image": "x:1"})
    r = run("render", "--target", "all")
    out = r.output
    service = out.split("==> systemd/osched-agent.day.service <==")[1].split("==>")[0]
    assert "\nConditionACPower=true\n" in service and "network-online" not in service  # a user unit
    stop_service = out.split("==> systemd/osched-agent.day.stop.service <==")[1].split("==>")[0]
    assert "ConditionACPower" not in stop_service
    start_task = out.split("agent.day.start.xml <==")[1].split("==>")[0]
    stop_task = out.split("agent.day.stop.xml <==")[1].split("==>")[0]
    for key in ("DisallowStartIfOnBatteries", "StopIfGoingOnBatteries", "RunOnlyIfNetworkAvailable"):
        assert f"<{key}>true</{key}>" in start_task and f"<{key}>false</{key}>" in stop_task
    assert "note: on_ac_power (agent): cron does not check it: osched-start does" in out
    assert "note: network (agent): a user manager has no network-online.target" in out
    assert "note: stop_on_battery (agent): the supervisor looks once a minute" in out
    assert "note: on_ac_power (agent): DisallowStartIfOnBatteries" in out
    assert "note: keep_awake" not in out
    assert "note: cron runs no firing missed while the machine sleeps" in out
    env.write([WINDOW], network=True, user="root")
    system = run("render", "--target", "systemd", "--system").output
    service = system.split("osched-agent.day.service <==")[1].split("==>")[0]
    assert "\nWants=network-online.target\nAfter=network-online.target\n" in service
    env.write([WINDOW])
    assert "ConditionACPower" not in run("render", "--target", "systemd").output
    assert "missed while the machine sleeps" not in run("render", "--target", "cron").output


# -- the waiter -------------------------------------------------------------------------------------
def _start(env: Any, now: str = TUE_NOON) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-c", PATCHED, "start", "agent", "--schedule", "day"]
    argv += ["--config", str(env.config), "--state-dir", str(env.state), "-v"]
    e = {**os.environ, "OSCHED_NOW": now}
    return subprocess.run(argv, capture_output=True, text=True, env=e, timeout=60, check=False)


def test_a_window_on_battery_waits_then_starts_on_ac(env: Any, host: Path) -> None:
    power(host, ac=False)
    env.write([WINDOW], on_ac_power=True)
    r = _start(env)
    assert r.returncode == 0, r.stderr
    skipped = env.wait_event("start_skipped")[0]
    assert "on battery power (on_ac_power = true); waiting for it until 2026-11-24T14:00" in skipped["reason"]
    time.sleep(1.0)
    assert env.running_agents() == [] and "started" not in env.kinds()
    power(host, ac=True)
    env.wait_event("started", timeout=20)
    assert env.agents()


def test_a_window_that_ends_while_waiting_never_starts(env: Any, host: Path) -> None:
    routes(host, LOCAL_ONLY)
    env.write([{**WINDOW, "duration": "121m"}], network=True)  # ends at 12:01:00
    r = _start(env, now="2026-11-24T12:00:57+00:00")
    assert r.returncode == 0, r.stderr
    ended = env.wait_event("start_skipped", count=2, timeout=20)[-1]
    assert ended["reason"] == "the window ended while waiting: no network route is up (network = true)"
    assert "started" not in env.kinds() and env.running_agents() == []


def test_a_window_offline_starts_when_a_route_comes_up(env: Any, host: Path) -> None:
    routes(host, LOCAL_ONLY)
    env.write([WINDOW], network=True)
    _start(env)
    env.wait_event("start_skipped")
    routes(host, DEFAULT_UP)
    env.wait_event("started", timeout=20)


def test_a_manual_start_is_not_held_back(env: Any, host: Path) -> None:
    power(host, ac=False)
    env.write([WINDOW], on_ac_power=True)
    env.entry("start", "agent", "--schedule", "day", now=TUE_NOON, check=True)
    assert "waiting" in env.wait_event("start_skipped")[0]["reason"]
    r = run("start", "agent", "--until", "1h")
    assert r.exit_code == 0, r.output
    env.wait_event("started")


def test_stop_on_battery_stops_the_job(env: Any, host: Path) -> None:
    power(host, ac=True)
    env.write([WINDOW], stop_on_battery=True)
    assert _start(env).returncode == 0
    env.wait_event("started")
    env.agents()
    power(host, ac=False)
    stopped = env.wait_event("stopped", timeout=20)[0]
    assert stopped["reason"] == "the machine went on battery power (stop_on_battery = true)"
    from runtime_helpers import wait_for

    wait_for(lambda: env.running_agents() == [], 10, "the job to end")
    assert "restarted" not in env.kinds()


# -- suspend and resume ------------------------------------------------------------------------------
def test_a_window_that_ends_in_suspend_is_stopped_at_resume(env: Any) -> None:
    """The machine sleeps (the supervisor is stopped) while the clock passes the window's end
    and the stop firing is missed; at resume the supervisor ends the job by itself."""
    from runtime_helpers import wait_for

    assert policy.WAKE <= 60  # a supervisor looks at the clock at least once a minute
    env.write([{**WINDOW, "duration": "2h"}])  # ends at 12:00:00
    assert _start(env, now="2026-11-24T11:59:57+00:00").returncode == 0
    env.wait_event("started")
    env.agents()
    supervisor = int(env.job_state()["supervisor_pid"])
    os.kill(supervisor, signal.SIGSTOP)  # asleep
    try:
        time.sleep(4.0)  # the window's end passes; no stop firing comes
        assert env.running_agents() and "stopped" not in env.kinds()
    finally:
        os.kill(supervisor, signal.SIGCONT)  # resume
    resumed = time.monotonic()
    stopped = env.wait_event("stopped", timeout=60)[0]
    assert stopped["reason"] == "its last window ended and no stop firing came"
    wait_for(lambda: env.running_agents() == [], 10, "the job to end")
    assert time.monotonic() - resumed < 60


def test_doctor_warns_cron_users_with_a_battery(
    env: Any, host: Path, tmp_path: Path, monkeypatch: Any
) -> None:
    crontab = tmp_path / "crontab"
    crontab.write_text("")
    monkeypatch.setenv("OSCHED_CRONTAB_FILE", str(crontab))
    env.write([WINDOW])
    assert run("install", "--target", "cron").exit_code == 0
    out = run("doctor").output
    assert "windows that open while it sleeps" not in out and "a window that opens while it sleeps" not in out
    power(host, ac=True)
    out = run("doctor").output
    assert "warn  cron: this machine has a battery, and a window that opens while it sleeps is missed" in out
    assert "osched install --target systemd (Persistent= timers catch up)" in out


# -- macOS, through fake pmset, route and caffeinate on PATH ------------------------------------------
PMSET_AC = """Now drawing from 'AC Power'
 -InternalBattery-0 (id=4653155)	100%; charged; 0:00 remaining present: true
"""
PMSET_BATTERY = """Now drawing from 'Battery Power'
 -InternalBattery-0 (id=4653155)	87%; discharging; 5:12 remaining present: true
"""


def _fake_tools(tmp_path: Path, monkeypatch: Any, pmset: str, route_ok: bool) -> Path:
    bindir = tmp_path / "fakebin"
    bindir.mkdir(exist_ok=True)
    log = tmp_path / "calls.log"
    for name, body in (
        ("pmset", f"cat <<'EOF'\n{pmset}EOF\n"),
        (
            "route",
            "exit 0\n" if route_ok else "echo 'route: writing to routing socket: not in table' >&2; exit 1\n",
        ),
        ("caffeinate", "exit 0\n"),
    ):
        tool = bindir / name
        tool.write_text(f'#!/bin/sh\necho "{name} $*" >> "{log}"\n{body}')
        tool.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bindir}:{os.environ['PATH']}")
    return log


def test_macos_reads_pmset_and_route(tmp_path: Path, monkeypatch: Any) -> None:
    log = _fake_tools(tmp_path, monkeypatch, PMSET_BATTERY, route_ok=False)
    monkeypatch.setattr(sys, "platform", "darwin")
    assert not conditions.on_ac_power() and conditions.has_battery() and not conditions.network_up()
    _fake_tools(tmp_path, monkeypatch, PMSET_AC, route_ok=True)
    assert conditions.on_ac_power() and conditions.network_up()
    calls = log.read_text().splitlines()
    assert "pmset -g batt" in calls and "route -n get default" in calls


def test_macos_keeps_awake_with_caffeinate_on_the_supervisor(tmp_path: Path, monkeypatch: Any) -> None:
    from osched.runtime import awake

    _fake_tools(tmp_path, monkeypatch, PMSET_AC, route_ok=True)
    monkeypatch.setattr(sys, "platform", "darwin")
    argv = awake.argv_for("agent", 4242)
    assert argv is not None and argv[0].endswith("fakebin/caffeinate") and argv[1:] == ["-i", "-w", "4242"]
