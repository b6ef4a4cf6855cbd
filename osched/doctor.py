"""``osched doctor``: is everything in place for the OS to run the schedules?

Each check gives findings (level, message, fix hint); ``doctor`` exits 1 when any is FAIL.
"""

from __future__ import annotations

import getpass
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import install as inst
from .targets.base import RenderContext


@dataclass(frozen=True)
class Finding:
    level: str  # ok | warn | FAIL
    message: str
    fix: str = ""

    def line(self) -> str:
        return f"{self.level:<5} {self.message}" + (f"  -> {self.fix}" if self.fix else "")

    def as_dict(self) -> dict[str, str]:
        return {"level": self.level.lower(), "message": self.message, "fix": self.fix}


def daemon_pids(names: tuple[str, ...] = ("cron", "crond")) -> list[int]:
    pids = []
    for d in Path("/proc").iterdir() if Path("/proc").is_dir() else []:
        if not d.name.isdigit():
            continue
        try:
            if (d / "comm").read_text().strip() in names:
                pids.append(int(d.name))
        except OSError:
            continue
    return sorted(pids)


def check_entrypoints(ctx: RenderContext) -> list[Finding]:
    out = []
    for exe in (ctx.start_exe, ctx.stop_exe):
        p = Path(exe)
        if not p.is_absolute():
            out.append(Finding("FAIL", f"entrypoint {exe} is not an absolute path", "reinstall osched"))
        elif not p.exists():
            out.append(
                Finding("FAIL", f"entrypoint {exe} does not exist", "pip install osched into this Python")
            )
        elif not os.access(p, os.X_OK):
            out.append(Finding("FAIL", f"entrypoint {exe} is not executable", f"chmod +x {exe}"))
        else:
            out.append(Finding("ok", f"entrypoint {exe}"))
    return out


def check_permissions(config: Path, state: Path) -> list[Finding]:
    from .state import InsecureError, check_private

    out = []
    for path, what in ((config, "config file"), (state, "state dir")):
        if not path.exists():
            if what == "state dir":
                out.append(Finding("ok", f"state dir {path} (created on first use)"))
            continue
        try:
            check_private(path, what)
        except InsecureError as e:
            out.append(Finding("FAIL", str(e).removeprefix("refusing to run: "), f"chmod go-w {path}"))
        else:
            out.append(Finding("ok", f"{what} {path} is private to you"))
    return out


def check_scheduler(target: str, system: bool) -> list[Finding]:
    if target == "cron":
        out = []
        if shutil.which("crontab") is None and not os.environ.get(inst.CRONTAB_FILE_ENV):
            out.append(Finding("FAIL", "crontab command not found", "install cron (apt-get install cron)"))
        pids = daemon_pids()
        if pids:
            out.append(Finding("ok", f"cron daemon is running (pid {pids[0]})"))
        else:
            out.append(
                Finding(
                    "FAIL",
                    "no cron daemon is running",
                    "start it: systemctl start cron (or: service cron start)",
                )
            )
        return out
    if target == "systemd":
        if shutil.which("systemctl") is None:
            return [Finding("FAIL", "systemctl not found", "use --target cron")]
        r = inst.run([*inst.systemctl(system), "is-system-running"])
        state = r.out.strip() or inst._last_line(r)
        which = "system manager" if system else "user manager"
        out = []
        if state in ("running", "degraded"):
            out.append(Finding("ok", f"systemd {which} is {state}"))
        else:
            out.append(
                Finding(
                    "FAIL",
                    f"systemd {which} is not reachable ({state})",
                    "log in with a systemd session, or use --target cron",
                )
            )
        if not system:
            out.append(check_linger())
        return out
    tool = {"taskscheduler": "schtasks", "launchd": "launchctl"}[target]
    if shutil.which(tool) is None:
        return [
            Finding("FAIL", f"{tool} not found (is this {'Windows' if tool == 'schtasks' else 'macOS'}?)")
        ]
    return [Finding("ok", f"{tool} found")]


def check_linger() -> Finding:
    user = getpass.getuser()
    if Path("/var/lib/systemd/linger", user).exists():
        return Finding("ok", f"linger is on for {user}: user timers run while you are logged out")
    r = inst.run(["loginctl", "show-user", user, "-p", "Linger", "--value"])
    if r.code == 0 and r.out.strip() == "yes":
        return Finding("ok", f"linger is on for {user}")
    return Finding(
        "warn",
        f"linger is off for {user}: user timers run only while you are logged in",
        f"sudo loginctl enable-linger {user}",
    )


def run_checks(cfg_path: Path, state_dir: Path, ctx_factory: Any) -> list[Finding]:
    from . import config as config_mod
    from .errors import OschedError

    findings: list[Finding] = []
    try:
        cfg = config_mod.load(cfg_path)
        findings.append(Finding("ok", f"config {cfg_path} is valid ({len(cfg.jobs)} jobs)"))
    except OschedError as e:
        findings.append(Finding("FAIL", str(e), "fix the config"))
    findings += check_permissions(cfg_path, state_dir)
    ctx: RenderContext = ctx_factory(False)
    findings += check_entrypoints(ctx)
    installed = inst.installed_targets(state_dir, ctx.config_id)
    if not installed:
        target = inst.auto_target(False)
        findings.append(
            Finding("warn", "nothing installed for this config", f"osched install --target {target}")
        )
        findings += check_scheduler(target, False)
    for target, entry in installed.items():
        system = bool(entry.get("system"))
        findings += check_scheduler(target, system)
        drift = inst.drift(target, entry, ctx_factory(system), cfg_path)
        if drift:
            findings += [
                Finding("FAIL", f"{target}: {d}", "osched install (or osched uninstall)") for d in drift
            ]
        else:
            n = len(entry.get("artifacts", []))
            findings.append(
                Finding("ok", f"{target}: {n} artifacts installed in {entry.get('location')} match")
            )
    return findings
