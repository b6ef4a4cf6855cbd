"""systemd ``.timer`` + ``.service`` units, user units by default (``--system``: system units).

Per schedule ``S`` of job ``J``:

* ``osched-J.S.timer`` -> ``osched-J.S.service``: ``OnCalendar=`` at the window start in the
  schedule's own IANA zone.  The service runs ``osched-start`` in the foreground, so the job
  runs inside a unit systemd tracks.  ``Persistent=true`` fires a missed start after boot.
* ``osched-J.S.stop.timer`` -> ``osched-J.S.stop.service`` (oneshot ``osched-stop``) at the
  window end's wall time.
* ``osched-resume-<config id>.service``: boot/login catch-up, ``osched-start --resume``.

systemd skips a wall time inside a DST gap and fires a repeated one on its first pass only;
osched opens a gap-shifted window at the gap's end, and a duration is elapsed time (an offset
change inside a window moves its end).  Every start or end of the coming 400 days that the
weekly specs miss is listed as a dated UTC ``OnCalendar=`` line (``hostfirings.near_change_windows``).
Pacific/Chatham wall times systemd 252 cannot compute are written in Pacific/Auckland.
``AccuracySec=1s``: the default (1 min) would let a start drift by up to a minute.
"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from ..hostfirings import in_second_pass, near_change_windows
from ..model import Config, Job, Schedule
from ..parse import DAY_NAMES
from ..plan import Plan, file_diff, files_drift, noop, quiet, read_text, restore, run_step, sha
from ..runner import must
from ..templating import render as render_template
from .base import BaseTarget, File, Finding, Fired, RenderContext, Target, enabled_pairs

ACCURACY = "1s"
RESUME_PREFIX = "osched-resume-"


# -- names: the only place that spells a unit name or a systemctl argv ------------------------
def unit_base(job: str, schedule: str) -> str:
    return f"osched-{job}.{schedule}"


def service_unit(job: str, schedule: str) -> str:
    """The service a schedule's window runs in."""
    return f"{unit_base(job, schedule)}.service"


def resume_unit(config_id: str) -> str:
    return f"{RESUME_PREFIX}{config_id}.service"


def systemctl(system: bool) -> list[str]:
    return ["systemctl"] if system else ["systemctl", "--user"]


def start_unit_argv(job: str, schedule: str, system: bool) -> list[str]:
    """Start a window's service now, without waiting for the job (resume, live start)."""
    return [*systemctl(system), "start", "--no-block", service_unit(job, schedule)]


def _days(days: set[int] | frozenset[int]) -> str:
    return ",".join(DAY_NAMES[d].capitalize() for d in sorted(days))


# systemd 252's calendar engine fails for some wall times of a zone ("Resource deadlock
# avoided" for Pacific/Chatham 02:45-02:59 on Sundays; 03:45-03:59 on its spring-forward
# day elapse never).  Such a wall time is written in a zone whose clock changes at the same
# instants by the same amount, shifted by the constant difference: the same instants.
# (zone, first bad minute, end minute) -> (equivalent zone, minutes to add)
EQUIVALENT: dict[str, tuple[int, int, str, int]] = {
    "Pacific/Chatham": (2 * 60 + 45, 4 * 60, "Pacific/Auckland", -45),
}


def equivalent(zone: str, minute_of_day: int) -> tuple[str, int] | None:
    """(zone, minutes to add) to write ``minute_of_day`` of ``zone`` in, when systemd's engine
    fails on it; None when it does not."""
    rule = EQUIVALENT.get(zone)
    if rule is None or not rule[0] <= minute_of_day < rule[1]:
        return None
    return rule[2], rule[3]


def _specs(table: dict[int, set[int]], zone: str) -> list[str]:
    out = []
    for m, days in sorted(table.items()):
        eq = equivalent(zone, m)
        if eq is None:
            out.append(f"{_days(days)} *-*-* {m // 60:02d}:{m % 60:02d}:00 {zone}")
            continue
        shifted: dict[int, set[int]] = {}
        for d in days:
            _add(shifted, d, m + eq[1])
        for mm, ds in sorted(shifted.items()):
            out.append(f"{_days(ds)} *-*-* {mm // 60:02d}:{mm % 60:02d}:00 {eq[0]}")
    return out


def engine_notes(s: Schedule) -> list[str]:
    """What systemd is given instead of the schedule's own wall times, said at render time."""
    walls = {s.hour * 60 + s.minute: "start", (s.hour * 60 + s.minute + s.duration) % 1440: "end"}
    notes = []
    for m, what in walls.items():
        eq = equivalent(s.timezone, m)
        if eq is not None:
            notes.append(
                f"{s.job}/{s.id}: systemd 252 cannot compute {m // 60:02d}:{m % 60:02d} {s.timezone} "
                f"on every day; the {what} is written as {(m + eq[1]) // 60 % 24:02d}:{(m + eq[1]) % 60:02d} "
                f"{eq[0]}, the same instants"
            )
    return notes


def _add(table: dict[int, set[int]], day: int, minute: int) -> None:
    total = (day * 1440 + minute) % (7 * 1440)
    table.setdefault(total % 1440, set()).add(total // 1440)


@lru_cache(maxsize=65536)  # the instants near a change repeat across schedules
def _dated(t: datetime) -> str:
    """A one-off instant, in UTC."""
    return f"{t.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"


def _fires(weekly: dict[int, set[int]], t: datetime, tz: ZoneInfo) -> bool:
    """Does a weekly spec of ``weekly`` elapse at instant ``t``?  systemd fires a wall time
    once, at its first occurrence, and skips one inside a gap (``t`` is a real instant)."""
    local = t.astimezone(tz)
    if in_second_pass(local):
        return False
    return local.weekday() in weekly.get(local.hour * 60 + local.minute, ())


def _with_dated(
    specs: list[str], weekly: dict[int, set[int]], points: list[datetime], s: Schedule
) -> list[str]:
    """``specs`` plus a dated UTC line for every instant no weekly spec elapses at: a start
    pushed out of a gap, an end moved by an offset change in its window or in the repeated
    hour's second pass."""
    out = list(specs)
    for t in points:
        spec = _dated(t)
        if not _fires(weekly, t, s.tz) and spec not in out:
            out.append(spec)
    return out


def _near(s: Schedule, now: datetime) -> tuple[tuple[datetime, datetime], ...]:
    """(start, end) of the windows near an offset change of the schedule's zone; cached on the
    timing, as the start and the stop timer both ask."""
    return _near_cached(s.hour, s.minute, s.duration, s.days, s.timezone, int(now.timestamp()) // 86400)


@lru_cache(maxsize=65536)
def _near_cached(
    hour: int, minute: int, duration: int, days: frozenset[int], zone: str, day: int
) -> tuple[tuple[datetime, datetime], ...]:
    s = Schedule(id="", job="", hour=hour, minute=minute, duration=duration, days=days, timezone=zone)
    return tuple((w.start, w.end) for w in near_change_windows(s, (zone,), day))


def start_specs(s: Schedule, now: datetime) -> list[str]:
    return list(_timer_specs(s.hour, s.minute, s.duration, s.days, s.timezone, now, True))


def stop_specs(s: Schedule, now: datetime) -> list[str]:
    """The nominal end, weekly; and a dated line for every end a DST change moves."""
    return list(_timer_specs(s.hour, s.minute, s.duration, s.days, s.timezone, now, False))


@lru_cache(maxsize=65536)  # a function of the timing alone: schedules that share one share it
def _timer_specs(
    hour: int, minute: int, duration: int, days: frozenset[int], zone: str, now: datetime, start: bool
) -> tuple[str, ...]:
    s = Schedule(id="", job="", hour=hour, minute=minute, duration=duration, days=days, timezone=zone)
    weekly: dict[int, set[int]] = {}
    if start:
        weekly[hour * 60 + minute] = set(days)
        points = [a for a, _ in _near(s, now) if a >= now]
    else:
        for d in days:
            _add(weekly, d, hour * 60 + minute + duration)
        points = [b for _, b in _near(s, now) if b >= now]
    return tuple(_with_dated(_specs(weekly, zone), weekly, points, s))


def _common(ctx: RenderContext) -> dict[str, object]:
    return {
        "accuracy": ACCURACY,
        "wanted_by": "multi-user.target" if ctx.system else "default.target",
        "config": str(ctx.config_path),
        # system units would run as root: run them as the user who rendered them
        "run_as": ctx.user if ctx.system else None,
    }


def schedule_files(job: Job, s: Schedule, ctx: RenderContext) -> list[File]:
    base = unit_base(job.name, s.id)
    what = f"{job.name}/{s.id} ({s.start_text} for {s.duration_text} on {s.days_text}, {s.timezone})"
    common = {**_common(ctx), "what": what}

    def unit(name: str, template: str, **kw: object) -> File:
        return File(name, render_template(f"systemd/{template}", **common, **kw))

    return [
        unit(f"{base}.timer", "start.timer.j2", specs=start_specs(s, ctx.now), unit=f"{base}.service"),
        unit(
            f"{base}.service",
            "start.service.j2",
            argv=ctx.start_argv(job.name, s.id, foreground=True),
            stop_timeout=int(job.stop_timeout) + 15,
        ),
        unit(
            f"{base}.stop.timer",
            "stop.timer.j2",
            specs=stop_specs(s, ctx.now),
            unit=f"{base}.stop.service",
        ),
        unit(f"{base}.stop.service", "stop.service.j2", argv=ctx.stop_argv(job.name, s.id)),
    ]


class Systemd(BaseTarget):
    name: ClassVar[str] = "systemd"
    rank: ClassVar[int] = 20
    in_all: ClassVar[bool] = True
    auto_priority: ClassVar[int | None] = 50  # when a manager answers
    auto_reason: ClassVar[str] = "a systemd manager answers"
    cost: ClassVar[int] = 6

    def detect(self, ctx: RenderContext) -> bool:
        return reachable(ctx)

    simulated: ClassVar[bool] = True

    def notes(self, cfg: Config) -> list[str]:
        return [n for job in cfg.jobs.values() for s in job.enabled_schedules for n in engine_notes(s)]

    def start_now(
        self,
        cfg: Config,
        job: str,
        schedule: str | None,
        until: datetime,
        entry: dict[str, Any],
        ctx: RenderContext,
    ) -> str | None:
        """A schedule's window runs in its service unit: start that (a manual start, with no
        schedule, runs under osched's own supervisor)."""
        if schedule is None:
            return None
        must(ctx.runner, start_unit_argv(job, schedule, bool(entry.get("system"))))
        return f"{job}: started {service_unit(job, schedule)}"

    def firings(
        self,
        cfg: Config,
        ctx: RenderContext,
        files: list[File],
        a: datetime,
        b: datetime,
        engine: str,
        notes: list[str],
    ) -> tuple[list[Fired], str]:
        """Each timer's ``OnCalendar=`` lines, by ``systemd-analyze calendar`` when it is
        installed (``engine`` auto or systemd-analyze), else by osched's own engine."""
        from ..scheduler_models import systemd_analyze_fires, systemd_fires

        exe = shutil.which("systemd-analyze") if engine in ("auto", "systemd-analyze") else None
        if engine == "systemd-analyze" and exe is None:
            raise ValueError("systemd-analyze is not installed (--engine osched uses osched's own)")
        by_name = {f.name: f.content for f in files}
        out: list[Fired] = []
        for j, s in enabled_pairs(cfg):
            for kind, suffix in (("start", ".timer"), ("stop", ".stop.timer")):
                text = by_name[unit_base(j, s) + suffix]
                specs = [ln.split("=", 1)[1] for ln in text.splitlines() if ln.startswith("OnCalendar=")]
                found = (
                    list(systemd_analyze_fires(specs, a, b, exe, notes).values())
                    if exe
                    else [systemd_fires(spec, a, b) for spec in specs]
                )
                out += [(t, j, s, kind) for t in sorted({t for ts in found for t in ts})]
        return out, "systemd-analyze" if exe else "osched"

    def render(self, cfg: Config, ctx: RenderContext) -> list[File]:
        files: list[File] = []
        for job in cfg.jobs.values():
            for s in job.enabled_schedules:
                files.extend(schedule_files(job, s, ctx))
        if files:
            argv = ctx.resume_argv("system" if ctx.system else "user")
            text = render_template("systemd/resume.service.j2", argv=argv, **_common(ctx))
            files.append(File(resume_unit(ctx.config_id), text))
        return files

    def plan(self, files: list[File], ctx: RenderContext, recorded: dict[str, Any], uninstall: bool) -> Plan:
        directory = ctx.settings.systemd_dir(ctx.system)
        plan = Plan(self.name, location=str(directory))
        desired = {} if uninstall else {f.name: f.content for f in files}
        before = {a["id"] for a in recorded.get("artifacts", [])}
        gone = sorted(before - set(desired))
        changed = _plan_files(plan, directory, desired)
        _plan_disable(plan, ctx, gone)
        for name in gone:
            path = directory / name
            old = read_text(path)
            if old is not None:
                plan.diffs.append(file_diff(str(path), old, None))
                plan.add(restore(path, None), restore(path, old))
        if plan.steps:
            _plan_enable(plan, ctx, desired, changed, before)
            n_new = len([n for n in changed if n not in before])
            plan.summary.append(
                f"{directory}: {n_new} units added, {len(changed) - n_new} changed, {len(gone)} removed"
            )
        return plan

    def drift(self, recorded: dict[str, Any], ctx: RenderContext) -> list[str]:
        return files_drift(recorded.get("artifacts", []))

    def doctor(self, ctx: RenderContext) -> list[Finding]:
        if shutil.which("systemctl") is None:
            return [Finding("FAIL", "systemctl not found", "use --target cron")]
        r = ctx.runner([*systemctl(ctx.system), "is-system-running"])
        state = r.out.strip() or r.last_line()
        which = "system manager" if ctx.system else "user manager"
        if state in ("running", "degraded"):
            out = [Finding("ok", f"systemd {which} is {state}")]
        else:
            out = [
                Finding(
                    "FAIL",
                    f"systemd {which} is not reachable ({state})",
                    "log in with a systemd session, or use --target cron",
                )
            ]
        return out if ctx.system else [*out, linger(ctx)]


def reachable(ctx: RenderContext) -> bool:
    import sys

    if sys.platform in ("darwin", "win32") or shutil.which("systemctl") is None:
        return False
    r = ctx.runner([*systemctl(ctx.system), "is-system-running"])
    return r.out.strip() in ("running", "degraded", "starting", "initializing", "maintenance")


def linger(ctx: RenderContext) -> Finding:
    from pathlib import Path

    user = ctx.user
    if Path("/var/lib/systemd/linger", user).exists():
        return Finding("ok", f"linger is on for {user}: user timers run while you are logged out")
    r = ctx.runner(["loginctl", "show-user", user, "-p", "Linger", "--value"])
    if r.code == 0 and r.out.strip() == "yes":
        return Finding("ok", f"linger is on for {user}")
    return Finding(
        "warn",
        f"linger is off for {user}: user timers run only while you are logged in",
        f"sudo loginctl enable-linger {user}",
    )


def _plan_files(plan: Plan, directory: Any, desired: dict[str, str]) -> list[str]:
    """Write the wanted unit files that differ; return their names."""
    changed = []
    for name, content in sorted(desired.items()):
        path = directory / name
        old = read_text(path)
        plan.artifacts.append({"id": name, "path": str(path), "sha256": sha(content)})
        if old != content:
            changed.append(name)
            plan.diffs.append(file_diff(str(path), old, content))
            plan.add(plan.write(path, content.encode("utf-8"), 0o644), restore(path, old))
    return changed


def _plan_disable(plan: Plan, ctx: RenderContext, gone: list[str]) -> None:
    """Units no longer wanted: timers stopped and disabled, the resume service disabled."""
    sc, run = systemctl(ctx.system), ctx.runner
    timers = [n for n in gone if n.endswith(".timer")]
    if timers:
        cmd = [*sc, "disable", "--now", *timers]
        plan.add(quiet(run, cmd), noop, cmd)
    resume = [n for n in gone if n.startswith(RESUME_PREFIX)]  # enabled, not started
    if resume:
        cmd = [*sc, "disable", *resume]
        plan.add(quiet(run, cmd), noop, cmd)


def _plan_enable(
    plan: Plan, ctx: RenderContext, desired: dict[str, str], changed: list[str], before: set[str]
) -> None:
    """daemon-reload; enable --now the timers (restart changed ones); enable the resume unit."""
    sc, run = systemctl(ctx.system), ctx.runner
    reload_cmd = [*sc, "daemon-reload"]
    plan.add(run_step(run, reload_cmd), quiet(run, reload_cmd), reload_cmd)
    timers = sorted(n for n in desired if n.endswith(".timer"))
    resume = sorted(n for n in desired if n.startswith(RESUME_PREFIX))
    if timers:
        cmd = [*sc, "enable", "--now", *timers]
        plan.add(
            run_step(run, cmd),
            quiet(run, [*sc, "disable", "--now", *[t for t in timers if t not in before]]),
            cmd,
        )
        restart = [t for t in timers if t in changed and t in before]
        if restart:  # so a new OnCalendar= takes effect at once
            cmd = [*sc, "restart", *restart]
            plan.add(run_step(run, cmd), noop, cmd)
    if resume:
        cmd = [*sc, "enable", *resume]
        plan.add(run_step(run, cmd), quiet(run, [*sc, "disable", *resume]), cmd)


TARGET: Target = Systemd()
