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
weekly specs miss is listed as a dated UTC ``OnCalendar=`` line (``hostfirings.near_change_spans``).
Pacific/Chatham wall times systemd 252 cannot compute are written in Pacific/Auckland.
``AccuracySec=1s``: the default (1 min) would let a start drift by up to a minute.
"""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

from ..limits import systemd_lines
from ..model import Config, Job, Schedule
from ..plan import Plan, file_diff, files_drift, noop, quiet, read_text, restore, run_step, sha
from ..runner import must
from ..templating import render as render_template
from ..templating import render_with
from .base import BaseTarget, File, Finding, Fired, RenderContext, Target, each_enabled
from .extras import as_system, condition_notes
from .systemd_calendar import engine_notes, start_specs, stop_specs

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


def _common(ctx: RenderContext, run_as: str | None) -> dict[str, object]:
    return {
        "accuracy": ACCURACY,
        "wanted_by": "multi-user.target" if ctx.system else "default.target",
        "config": str(ctx.config_path),
        # system units would run as root: run them as the jobs' user (system_user)
        "run_as": run_as,
    }


def schedule_files(
    job: Job,
    s: Schedule,
    ctx: RenderContext,
    run_as: str | None = None,
    common: dict[str, object] | None = None,
) -> list[File]:
    """The four units of one schedule.  ``common``: ``_common(ctx, run_as)``, which a caller
    rendering thousands of schedules builds once."""
    base = unit_base(job.name, s.id)
    what = f"{job.name}/{s.id} ({s.start_text} for {s.duration_text} on {s.days_text}, {s.timezone})"
    shared = {**(common if common is not None else _common(ctx, run_as)), "what": what}
    return [
        File(
            f"{base}.timer",
            render_with(
                "systemd/start.timer.j2",
                {
                    **shared,
                    "specs": start_specs(s, ctx.now),
                    "unit": f"{base}.service",
                    "random_delay": int(s.random_delay),
                    "wake": s.wake,
                },
            ),
        ),
        File(
            f"{base}.service",
            render_with(
                "systemd/start.service.j2",
                {
                    **shared,
                    "argv": ctx.start_argv(job.name, s.id, foreground=True),
                    "limits": systemd_lines(job.limits),  # the service's cgroup: the job and its supervisor
                    "stop_timeout": int(job.stop_timeout) + 15,
                    "ac_power": job.on_ac_power,
                    # a user manager has no network-online.target: osched-start looks for a route
                    "network_online": job.network and ctx.system,
                },
            ),
        ),
        File(
            f"{base}.stop.timer",
            render_with(
                "systemd/stop.timer.j2",
                {**shared, "specs": stop_specs(s, ctx.now), "unit": f"{base}.stop.service"},
            ),
        ),
        File(
            f"{base}.stop.service",
            render_with("systemd/stop.service.j2", {**shared, "argv": ctx.stop_argv(job.name, s.id)}),
        ),
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

    def folders(self, ctx: RenderContext) -> list[Path]:
        return [ctx.settings.systemd_dir(ctx.system)]

    def notes(self, cfg: Config, ctx: RenderContext) -> list[str]:
        engine = [n for job in cfg.jobs.values() for s in job.enabled_schedules for n in engine_notes(s)]
        return engine + condition_notes(cfg, self.name, ctx.system)

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
        for job, sched in each_enabled(cfg, "firings"):
            j, s = job.name, sched.id
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
        run_as = None
        if ctx.system:
            run_as, ctx = as_system(cfg, ctx)
        common = _common(ctx, run_as)
        for job, s in each_enabled(cfg, "systemd units"):
            files.extend(schedule_files(job, s, ctx, run_as, common))
        if files:
            argv = ctx.resume_argv("system" if ctx.system else "user")
            text = render_template("systemd/resume.service.j2", argv=argv, **_common(ctx, run_as))
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
