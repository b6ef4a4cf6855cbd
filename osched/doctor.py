"""``osched doctor``: is everything in place for the OS to run the schedules?

Each check gives findings (level, message, fix hint); ``doctor`` exits 1 when any is FAIL.
The checks of a scheduler itself belong to its target (``Target.doctor``).
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from . import install as inst
from . import targets, upkeep
from .model import Config
from .targets.base import Finding, RenderContext

__all__ = ["Finding", "run_checks"]


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
    from .trust import InsecureError, check_private

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


def check_installed(ctx: RenderContext, cfg: Config | None = None) -> list[Finding]:
    """Per installed target: its scheduler's checks, drift, and what it makes of the config
    (its notes: which limits it enforces how, what it does not carry)."""
    findings: list[Finding] = []
    try:
        installed = inst.installed_targets(ctx.state_dir, ctx.config_id)
    except inst.ManifestError as e:
        return [
            Finding("FAIL", str(e), "move it aside, then osched install (and remove stale entries by hand)")
        ]
    if not installed:
        name = targets.auto(ctx)
        findings.append(
            Finding("warn", "nothing installed for this config", f"osched install --target {name}")
        )
        return findings + targets.get(name).doctor(ctx)
    for name, entry in installed.items():
        tctx = replace(ctx, system=bool(entry.get("system")))
        findings += targets.get(name).doctor(tctx)
        drift = inst.drift(name, entry, tctx, ctx.config_path)
        if drift:
            findings += [
                Finding("FAIL", f"{name}: {d}", "osched install (or osched uninstall)") for d in drift
            ]
        else:
            n = len(entry.get("artifacts", []))
            findings.append(
                Finding("ok", f"{name}: {n} artifacts installed in {entry.get('location')} match")
            )
        t = targets.get(name)
        if cfg is not None:
            with contextlib.suppress(Exception):  # a note is information: never a failed check
                findings += [Finding("ok", f"{name}: {note}") for note in t.notes(cfg, tctx)]
            fix = f"osched install --target {name}"
            findings += [Finding("warn", f"{name}: {why}", fix) for why in t.runs_out(cfg, entry, ctx.now)]
        if not t.catches_up and cfg is not None and _has_battery():
            findings.append(
                Finding(
                    "warn",
                    f"{name}: this machine has a battery, and a window that opens while it sleeps "
                    f"is missed ({name} does not run missed firings at resume; a running job is "
                    "still stopped within a minute of resume)",
                    "osched install --target systemd (Persistent= timers catch up)",
                )
            )
        # a cluster's CronJobs are in the schedules' own zones and never run out
        by_firing = " (the next firing does it)" if t.renews_from_firing else ""
        for why in upkeep.reasons(entry, ctx.now, ctx.host_zone) if t.runs_here else []:
            findings.append(Finding("warn", f"{name}: {why}", f"osched install --target {name}{by_firing}"))
    return findings


def _has_battery() -> bool:
    from .runtime.conditions import has_battery

    return has_battery()


def check_host_zone() -> list[Finding]:
    """cron, Task Scheduler and launchd run in the system zone, whatever $TZ says."""
    from .tzhost import system_zone_doubt, system_zone_name, tz_differs

    out = []
    doubt = system_zone_doubt()
    if doubt:
        out.append(
            Finding(
                "warn",
                f"the system zone is a guess: {doubt}",
                "link it: ln -sf /usr/share/zoneinfo/AREA/CITY /etc/localtime "
                "(or export OSCHED_HOST_TZ=AREA/CITY where the scheduler runs)",
            )
        )
    warning = tz_differs()
    if warning:
        return [*out, Finding("warn", warning, f"unset TZ, or export OSCHED_HOST_TZ={system_zone_name()}")]
    if not doubt:
        out.append(Finding("ok", f"host-local schedulers run in {system_zone_name()}"))
    return out


def check_dates(cfg: Config, now: datetime) -> list[Finding]:
    """One-off windows that are over (no artifact carries them any more) and skip dates that
    have passed: said, so the config can be tidied (``osched window remove``, ``osched skip
    --remove``)."""
    from .dates import parse_skip_item
    from .windows import one_off_over

    out = []
    today = now.date()
    for job in cfg.jobs.values():
        lists = [("", job.skip_items)] + [(s.id, s.skip_items) for s in job.schedules]
        for sid, items in lists:
            past = [i for i in items if max(parse_skip_item(i)) < today]
            if past:
                where = f"{job.name}/{sid}" if sid else job.name
                fix = f"osched skip {job.name}{' --schedule ' + sid if sid else ''} --remove {' '.join(past)}"
                out.append(Finding("ok", f"{where}: skip dates in the past: {', '.join(past)}", fix))
        for s in job.schedules:
            if one_off_over(s, now):
                what = f"{job.name}/{s.id}: the one-off window of {s.on} is over (finished)"
                out.append(Finding("ok", what, f"osched window remove {job.name} {s.id}"))
    return out


def check_commands(cfg: Config) -> list[Finding]:
    """Every job's program (and on_failure hook) can be run by the timer, with its bare PATH."""
    from .resolve import TIMER_PATH, timer_problem

    found = []
    for job in cfg.jobs.values():
        for what, argv in (("program", job.command), ("on_failure", job.on_failure)):
            if not argv:
                continue
            problem = timer_problem(job, cfg.path.parent, argv, what)
            if problem:
                if "/" in argv[0]:  # a path: osched job set makes it absolute from where you run it
                    name = argv[0].rsplit("/", 1)[-1]
                    fix = f"osched job set {job.name} -- /full/path/to/{name} ..."
                else:
                    fix = f"osched job set {job.name} -- $(command -v {argv[0]}) ..."
                    fix += f"  (timer PATH={TIMER_PATH})"
                found.append(Finding("FAIL", problem, fix))
    if not found and cfg.jobs:
        found.append(Finding("ok", "every job's program can be found by the timer"))
    return found


def check_keep_awake(cfg: Config) -> list[Finding]:
    """Jobs with ``keep_awake``: is there an inhibitor to hold here (logind answering)?"""
    import subprocess
    import sys

    from .runtime.awake import argv_for

    awake = [j.name for j in cfg.jobs.values() if j.keep_awake]
    if not awake or sys.platform == "win32":
        return []
    argv = argv_for("doctor", os.getpid())
    names = ", ".join(awake)
    if argv is None:
        tool = "caffeinate" if sys.platform == "darwin" else "systemd-inhibit"
        return [Finding("warn", f"keep_awake ({names}): no {tool} here, the machine may sleep", "")]
    if sys.platform != "darwin":
        try:
            r = subprocess.run([argv[0], "--list"], capture_output=True, timeout=10, check=False)
            ok = r.returncode == 0
        except (OSError, subprocess.TimeoutExpired):
            ok = False
        if not ok:
            why = f"keep_awake ({names}): logind does not answer, the machine may sleep"
            return [Finding("warn", why, "")]
    return [Finding("ok", f"keep_awake ({names}): {argv[0]} holds an inhibitor while the job runs")]


def check_last_firings(cfg: Config, state_dir: Path) -> list[Finding]:
    """A job whose last firing failed (a config error, a refusal, a start that failed): the
    scheduler ran osched and nothing happened; say it in one line."""
    from .state import StateDir
    from .status import last_failure

    last = StateDir(state_dir).last_events()
    out = []
    for job in cfg.jobs:
        f = last_failure(last.get(job))
        if f:
            out.append(
                Finding(
                    "FAIL",
                    f"{job}: the last firing failed at {f['time']}: {f['event']}: {f['reason']}",
                    f"osched events {job}",
                )
            )
    return out


def check_schema_line(config_path: Path) -> list[Finding]:
    """The config's ``#:schema`` line (``osched init`` writes it) names this osched's schema:
    after a move (a new venv, a new Python) editors would check against a stale file or none."""
    import os
    import stat
    from urllib.parse import unquote, urlsplit

    from .configschema import path

    try:  # never blocking on a FIFO, never reading a device
        fd = os.open(config_path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
        try:
            head = os.read(fd, 4096) if stat.S_ISREG(os.fstat(fd).st_mode) else b""
        finally:
            os.close(fd)
    except OSError:
        return []
    first = head.split(b"\n", 1)[0].decode("utf-8", "replace").strip()
    if not first.startswith("#:schema "):
        return []
    target = first.removeprefix("#:schema ").strip()
    current = Path(path())
    named = Path(unquote(urlsplit(target).path)) if target.startswith("file:") else None
    if named is None or named == current:
        return [Finding("ok", f"the #:schema line names {target}")] if named else []
    fix = f"make the config's first line: #:schema {current.as_uri()}"
    if not named.exists():
        return [Finding("warn", f"the config's #:schema line names a file that is gone: {named}", fix)]
    if named.name == current.name and named.parent.name == "osched":
        return [Finding("warn", f"the config's #:schema line names another osched's schema: {named}", fix)]
    return []


def run_checks(ctx: RenderContext) -> list[Finding]:
    from . import config as config_mod
    from .errors import OschedError

    findings: list[Finding] = []
    cfg = None
    try:
        cfg = config_mod.load(ctx.config_path)
        n = len(cfg.jobs)
        findings.append(Finding("ok", f"config {ctx.config_path} is valid ({n} job{'s' if n != 1 else ''})"))
        findings += check_commands(cfg)
        findings += check_keep_awake(cfg)
        findings += check_dates(cfg, ctx.now)
        findings += check_last_firings(cfg, ctx.state_dir)
    except OschedError as e:
        findings.append(Finding("FAIL", str(e), "fix the config"))
    findings += check_permissions(ctx.config_path, ctx.state_dir)
    findings += check_schema_line(ctx.config_path)
    findings += check_entrypoints(ctx)
    findings += check_host_zone()
    return findings + check_installed(ctx, cfg)
