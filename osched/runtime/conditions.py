"""A job's start conditions, ``on_ac_power`` and ``network``, and ``stop_on_battery``.

Read where the scheduler does not carry them itself (cron, launchd; systemd user units for the
network): the start entrypoint checks them when a window opens, and a window that opens on
battery or offline waits for them (``wait``) until it ends.

* Power, Windows: ``GetSystemPowerStatus`` (the supervisor's ``stop_on_battery``; a start's
  conditions are Task Scheduler's own task settings there).
* Power, Linux: ``/sys/class/power_supply/*/type`` and ``online``, read as systemd's
  ``ConditionACPower=`` reads them: on AC when a mains supply is online, or when the machine
  has no mains supply at all (a desktop, a server, a container); on battery when it has mains
  supplies and none is online.  macOS: ``pmset -g batt``.
* Network, Linux: a default route that is up (``/proc/net/route``, ``/proc/net/ipv6_route``);
  macOS: ``route -n get default``; Windows: Task Scheduler's ``RunOnlyIfNetworkAvailable``.

``$OSCHED_HOST_ROOT`` (default ``/``) is where ``sys`` and ``proc`` are read from: tests point
it at a fake tree; a container can point it at the host's mounted ``/sys`` and ``/proc``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..model import Job
    from .context import Host, Reply

ROOT_ENV = "OSCHED_HOST_ROOT"
ROUTES_MAX = 4 << 20  # a route table is read whole (a host with containers has thousands of routes)
POLL = 60.0  # a waiting start looks again at most this often (DESIGN §6: no faster wake-ups)
MAINS = {"Mains", "USB", "USB_C", "USB_PD", "USB_PD_DRP", "USB_DCP", "USB_CDP", "USB_ACA"}


def _root() -> Path:
    return Path(os.environ.get(ROOT_ENV) or "/")


def _read(path: Path, limit: int = 4096) -> str:
    try:
        with open(path, encoding="ascii", errors="replace") as f:
            return f.read(limit).strip()
    except OSError:
        return ""


def has_battery() -> bool:
    """Does this machine run on a battery at times (a laptop)?"""
    if sys.platform == "darwin":
        return "InternalBattery" in _tool(["pmset", "-g", "batt"])
    folder = _root() / "sys" / "class" / "power_supply"
    try:
        names = sorted(os.listdir(folder))
    except OSError:
        return False
    return any(_read(folder / n / "type") == "Battery" for n in names)


def on_ac_power() -> bool:
    """True on AC power, or where that cannot be told (then nothing is held back)."""
    if sys.platform == "win32":  # pragma: no cover - Windows only
        return _windows_ac()
    if sys.platform == "darwin":
        out = _tool(["pmset", "-g", "batt"])
        return "'Battery Power'" not in out
    folder = _root() / "sys" / "class" / "power_supply"
    try:
        names = sorted(os.listdir(folder))
    except OSError:
        return True
    mains = [n for n in names if _read(folder / n / "type") in MAINS]
    if not mains:
        return True
    return any(_read(folder / n / "online") == "1" for n in mains)


def _windows_ac() -> bool:  # pragma: no cover - Windows only
    """``GetSystemPowerStatus``: ACLineStatus 0 is battery (1 AC, 255 unknown)."""
    import ctypes

    class Status(ctypes.Structure):
        _fields_ = [
            ("ACLineStatus", ctypes.c_ubyte),
            ("BatteryFlag", ctypes.c_ubyte),
            ("BatteryLifePercent", ctypes.c_ubyte),
            ("SystemStatusFlag", ctypes.c_ubyte),
            ("BatteryLifeTime", ctypes.c_ulong),
            ("BatteryFullLifeTime", ctypes.c_ulong),
        ]

    st = Status()
    if not ctypes.windll.kernel32.GetSystemPowerStatus(ctypes.byref(st)):  # type: ignore[attr-defined,unused-ignore]
        return True
    return int(st.ACLineStatus) != 0


def network_up() -> bool:
    """True when a default route is up (IPv4 or IPv6); where that cannot be told, True."""
    if sys.platform == "win32":  # pragma: no cover - Task Scheduler's settings decide there
        return True
    if sys.platform == "darwin":
        try:
            r = subprocess.run(
                ["route", "-n", "get", "default"], check=False, capture_output=True, timeout=10
            )
        except (OSError, subprocess.TimeoutExpired):
            return True
        return r.returncode == 0
    proc = _root() / "proc" / "net"
    v4, v6 = _read(proc / "route", ROUTES_MAX), _read(proc / "ipv6_route", ROUTES_MAX)
    if not v4 and not v6:
        return True  # no route table to read (a restricted /proc): do not hold the job back
    for line in v4.splitlines()[1:]:
        f = line.split()
        # Iface Destination Gateway Flags ...: the default route, flagged up (RTF_UP = 1)
        if len(f) > 3 and f[1] == "00000000" and int(f[3], 16) & 1:
            return True
    for line in v6.splitlines():
        f = line.split()
        # dest, dest prefix, src, src prefix, next hop, metric, refcnt, use, flags, iface
        if len(f) == 10 and f[0] == "0" * 32 and f[1] == "00" and f[9] != "lo" and int(f[8], 16) & 1:
            return True
    return False


def _tool(argv: list[str]) -> str:
    try:
        return subprocess.run(argv, check=False, capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.TimeoutExpired):
        return ""


def unmet(job: Job) -> str | None:
    """What keeps ``job`` from starting now (its ``on_ac_power`` or ``network``), or None."""
    if job.on_ac_power and not on_ac_power():
        return "the machine is on battery power (on_ac_power = true)"
    if job.network and not network_up():
        return "no network route is up (network = true)"
    return None


def wait(job: Job, end: datetime, now: Callable[[], datetime], sleep: Callable[[float], None]) -> bool:
    """Wait until ``job``'s conditions hold (True) or ``end`` comes (False), looking once a
    minute: no faster wake-ups while nothing changes."""
    while True:
        if unmet(job) is None:
            return True
        left = (end - now()).total_seconds()
        if left <= 0:
            return False
        sleep(min(POLL, left))


def start_when_met(rt: Host, job_name: str, sid: str, end: datetime, said: Reply) -> Reply:
    """A window opened with the job's conditions unmet (``said``): wait for them until ``end``,
    then decide the start again.  Under systemd (``rt.foreground``) this process waits, as the
    service's main process; elsewhere a detached waiter does, and the firing returns now."""
    if rt.foreground or sys.platform == "win32":
        return _wait_and_start(rt, job_name, sid, end)
    from .spawn import in_detached_process

    in_detached_process(lambda: _wait_and_start(rt, job_name, sid, end).code)
    return said


def _wait_and_start(rt: Host, job_name: str, sid: str, end: datetime) -> Reply:
    import time

    from .context import Reply

    while True:
        job = rt.cfg.job(job_name)
        if job is None or not wait(job, end, rt.clock.now, time.sleep):
            why = unmet(job) if job is not None else "the job was removed"
            rt.event(job_name, "start_skipped", schedule=sid, reason=f"the window ended while waiting: {why}")
            return Reply(0, f"{job_name}: the window ended while waiting ({why})")
        out, again = rt.start_or_wait(job_name, sid)
        if again is None:
            return out
