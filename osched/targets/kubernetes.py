"""Kubernetes: one ``batch/v1`` CronJob per schedule (DESIGN section 7), applied with kubectl.

A CronJob starts a Job at the window start; the Job's ``activeDeadlineSeconds`` is the window's
duration, so Kubernetes ends it at the window end (no stop firing is needed).
``concurrencyPolicy: Forbid`` never runs two at once; ``restartPolicy: Never`` with
``backoffLimit`` = ``restart.retries`` gives a crash a new pod inside the window.

DST: the CronJob controller evaluates ``schedule`` in ``timeZone`` with its own engine, which
runs a wall time in a repeated hour twice (kubernetes/kubernetes#121594) and skips or delays one
in a spring-forward gap.  A schedule whose start never falls in a gap or a repeated hour on a
listed day gets one CronJob in its own zone.  One whose start does is written in UTC instead,
one CronJob per UTC start time, each naming the months (or, in a month of a change, the
dates) it runs on: every window of the coming year starts once, at its instant.

Names: ``osched-<config id>-<job>-<schedule>-<hash of the ids>`` (DNS-1123, at most 52
characters: the controller appends 11 to its Jobs).
Labels: ``app.kubernetes.io/managed-by: osched``, ``osched/config-id``, ``osched/job``,
``osched/schedule``; install prunes and uninstall deletes by them.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

from ..errors import ConfigError
from ..model import Config, Job, Schedule
from ..paths import target_work_dir
from ..plan import Plan, file_diff, files_drift, noop, read_text, restore, run_step, sha
from ..project import near_change_windows
from ..runner import must
from ..templating import render as render_template
from ..windows import windows_between
from .base import File, Finding, RenderContext

MAX_NAME = 52
MANAGED = ("app.kubernetes.io/managed-by", "osched")
L_CONFIG, L_JOB, L_SCHEDULE, L_MANUAL = "osched/config-id", "osched/job", "osched/schedule", "osched/manual"
STARTING_DEADLINE = 300  # seconds: a controller later than this skips the run (and says so)
_DNS = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_LABEL = re.compile(r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?")


# -- names and labels --------------------------------------------------------------------------
def _hash(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode("utf-8")).hexdigest()[:6]


def cronjob_name(cid: str, job: str, schedule: str, part: int = 0) -> str:
    """``osched-<cid>-<job>-<schedule>-<hash>[-<part>]``: the ids lower-cased (``_`` as ``-``)
    and cut to fit 52 characters, then a hash of the exact ids, so no two schedules share a
    name (``a-b``/``c`` and ``a``/``b-c``, ``Agent`` and ``agent``, a part and an id ending
    in ``-1``)."""
    words = f"osched-{cid}-{job}-{schedule}".lower().replace("_", "-")
    tail = f"-{_hash(job, schedule)}" + (f"-{part}" if part else "")
    return words[: MAX_NAME - len(tail)].rstrip("-") + tail


def label_value(ident: str) -> str:
    """An id as a label value (those must end in a letter or digit; ids cannot hold '.')."""
    return ident if _LABEL.fullmatch(ident) else f"{ident.rstrip('-_')}.{_hash(ident)}"


def selector(cid: str, job: str | None = None) -> str:
    return f"{L_CONFIG}={cid}" + (f",{L_JOB}={label_value(job)}" if job else "")


def kubectl(settings: dict[str, str]) -> list[str]:
    """kubectl with the config's context and namespace (the current ones when unset)."""
    argv = ["kubectl"]
    if settings.get("context"):
        argv += ["--context", settings["context"]]
    if settings.get("namespace"):
        argv += ["--namespace", settings["namespace"]]
    return argv


# -- when: the schedule field ---------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class When:
    schedule: str  # five cron fields
    zone: str


def _dow(days: set[int] | frozenset[int]) -> str:
    return ",".join(str((d + 1) % 7) for d in sorted(days)) if len(days) < 7 else "*"


def clashes(s: Schedule, now: datetime) -> bool:
    """Does the start fall in a gap or a repeated hour of its zone on a listed day this year?"""
    tz = s.tz
    for w in near_change_windows(s, (s.timezone,), int(now.timestamp()) // 86400):
        d = w.start.astimezone(tz).date()
        for day in (d - timedelta(days=1), d, d + timedelta(days=1)):
            if day.weekday() not in s.days:
                continue
            wall = datetime(day.year, day.month, day.day, s.hour, s.minute)
            if wall.replace(tzinfo=tz, fold=0).utcoffset() != wall.replace(tzinfo=tz, fold=1).utcoffset():
                return True
    return False


def whens(s: Schedule, now: datetime) -> list[When]:
    if not clashes(s, now):
        return [When(f"{s.minute} {s.hour} * * {_dow(s.days)}", s.timezone)]
    return _utc_whens(s, now)


def _utc_whens(s: Schedule, now: datetime) -> list[When]:
    """The window starts from now to the render month a year on, grouped by UTC time of day;
    per group, the months whose every matching weekday is a start, and dates for the rest."""
    end = datetime(now.year + 1, now.month, 1, tzinfo=UTC)
    groups: dict[tuple[int, int], set[date]] = {}
    for w in windows_between(s, now, end):
        if now <= w.start < end:
            groups.setdefault((w.start.hour, w.start.minute), set()).add(w.start.date())
    out = []
    for (h, m), dates in sorted(groups.items()):
        dows = {d.weekday() for d in dates}
        full: list[tuple[int, set[date]]] = []
        partial: list[tuple[int, set[date]]] = []
        for month in range(1, 13):
            mine = {d for d in dates if d.month == month}
            if not mine:
                continue
            expected = {d for d in _days(now.date(), end.date()) if d.month == month and d.weekday() in dows}
            (full if mine == expected else partial).append((month, mine))
        if full:
            months = ",".join(str(mo) for mo, _ in full)
            out.append(When(f"{m} {h} * {months} {_dow(dows)}", "Etc/UTC"))
        for month, mine in partial:
            out.append(When(f"{m} {h} {','.join(str(d.day) for d in sorted(mine))} {month} *", "Etc/UTC"))
    return out


def _days(a: date, b: date) -> list[date]:
    return [a + timedelta(days=i) for i in range((b - a).days)]


# -- the objects ---------------------------------------------------------------------------------------
def _labels(cid: str, job: str, schedule: str | None) -> dict[str, str]:
    out = {MANAGED[0]: MANAGED[1], L_CONFIG: cid, L_JOB: label_value(job)}
    if schedule is not None:
        out[L_SCHEDULE] = label_value(schedule)
    return out


def image_of(cfg: Config, job: Job) -> str:
    image = job.kubernetes.get("image")
    if not image:
        raise ConfigError(
            "required by --target kubernetes (the container image to run)",
            str(cfg.path),
            f"jobs.{job.name}.kubernetes.image",
        )
    return str(image)


def job_spec(
    cfg: Config, job: Job, s: Schedule | None, deadline: int, labels: dict[str, str]
) -> dict[str, Any]:
    """A Job's spec: the container runs the job's command (and the schedule's args and env)."""
    env = {**job.env, **(s.env if s else {})}
    container: dict[str, Any] = {
        "name": "job",
        "image": image_of(cfg, job),
        "command": [*job.command, *(s.args if s else ())],
    }
    if env:
        container["env"] = [{"name": k, "value": v} for k, v in env.items()]
    if job.workdir and job.workdir.startswith("/"):
        container["workingDir"] = job.workdir
    res = job.kubernetes.get("resources")
    if res:
        container["resources"] = {"requests": dict(res), "limits": dict(res)}
    pod: dict[str, Any] = {
        "restartPolicy": "Never",
        "terminationGracePeriodSeconds": math.ceil(job.stop_timeout),
        "containers": [container],
    }
    if job.kubernetes.get("service_account"):
        pod["serviceAccountName"] = job.kubernetes["service_account"]
    return {
        "activeDeadlineSeconds": deadline,
        "backoffLimit": job.retries,
        "template": {"metadata": {"labels": labels}, "spec": pod},
    }


def _metadata(cfg: Config, name: str, labels: dict[str, str], what: str) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if cfg.kubernetes.get("namespace"):
        meta["namespace"] = cfg.kubernetes["namespace"]
    meta["labels"] = labels
    meta["annotations"] = {"osched/config": str(cfg.path), "osched/window": what}
    return meta


def cronjobs(cfg: Config, job: Job, s: Schedule, ctx: RenderContext) -> list[dict[str, Any]]:
    labels = _labels(ctx.config_id, job.name, s.id)
    what = f"{s.start_text} for {s.duration_text} on {s.days_text} ({s.timezone})"
    found = whens(s, ctx.now)
    out = []
    for i, when in enumerate(found):
        name = cronjob_name(ctx.config_id, job.name, s.id, i if len(found) > 1 else 0)
        out.append(
            {
                "apiVersion": "batch/v1",
                "kind": "CronJob",
                "metadata": _metadata(cfg, name, labels, what),
                "spec": {
                    "schedule": when.schedule,
                    "timeZone": when.zone,
                    "concurrencyPolicy": "Forbid",
                    "startingDeadlineSeconds": min(STARTING_DEADLINE, s.duration * 60),
                    "jobTemplate": {
                        "metadata": {"labels": labels},
                        "spec": job_spec(cfg, job, s, s.duration * 60, labels),
                    },
                },
            }
        )
    return out


def manual_job(cfg: Config, job: Job, ctx: RenderContext, until: datetime) -> dict[str, Any]:
    """``osched start JOB``: a Job from the same template, ending at ``until``."""
    labels = {**_labels(ctx.config_id, job.name, None), L_MANUAL: "true"}
    stamp = int(ctx.now.timestamp())
    name = cronjob_name(ctx.config_id, job.name, f"manual-{stamp}")
    deadline = max(1, round((until - ctx.now).total_seconds()))
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": _metadata(cfg, name, labels, f"manual start until {until.isoformat()}"),
        "spec": job_spec(cfg, job, None, deadline, labels),
    }


def document(obj: dict[str, Any], ctx: RenderContext) -> str:
    return render_template("kubernetes/object.yaml.j2", manifest=obj, config=str(ctx.config_path)) + "\n"


# -- the target ------------------------------------------------------------------------------------------
class Kubernetes:
    name: ClassVar[str] = "kubernetes"
    rank: ClassVar[int] = 50
    in_all: ClassVar[bool] = False  # needs an image per job: --target kubernetes only
    auto_priority: ClassVar[int | None] = None  # never chosen by --target auto
    auto_reason: ClassVar[str] = "asked for"
    cost: ClassVar[int] = 3

    def detect(self, ctx: RenderContext) -> bool:
        return False

    def render(self, cfg: Config, ctx: RenderContext) -> list[File]:
        meta = tuple(sorted(cfg.kubernetes.items()))
        files = []
        for job in cfg.jobs.values():
            for s in job.enabled_schedules:
                for obj in cronjobs(cfg, job, s, ctx):
                    files.append(File(f"{obj['metadata']['name']}.yaml", document(obj, ctx), meta=meta))
        return files

    def notes(self, cfg: Config) -> list[str]:
        return []

    def plan(self, files: list[File], ctx: RenderContext, recorded: dict[str, Any], uninstall: bool) -> Plan:
        settings = dict(files[0].meta) if files else dict(recorded.get("kubectl", {}))
        kc = kubectl(settings)
        work = target_work_dir(ctx.state_dir, self.name)
        plan = Plan(
            self.name,
            location=f"cluster {settings.get('context') or '(current context)'}, "
            f"namespace {settings.get('namespace') or '(context default)'}",
        )
        plan.record = {"kubectl": settings}
        desired = {} if uninstall else {f.name: f.content for f in files}
        before = {a["id"]: a for a in recorded.get("artifacts", [])}
        changed = []
        for name, content in sorted(desired.items()):
            path = work / name
            plan.artifacts.append({"id": name, "path": str(path), "sha256": sha(content)})
            old = read_text(path)
            if old != content or name not in before:
                changed.append((path, old, content))
                plan.diffs.append(file_diff(f"cronjob/{name[:-5]} ({path})", old, content))
        gone = [Path(a.get("path", work / n)) for n, a in sorted(before.items()) if n not in desired]
        if uninstall:
            _plan_uninstall(plan, ctx, kc, gone)
        elif changed or gone:
            _plan_apply(plan, ctx, kc, changed, desired, gone)
        return plan

    def drift(self, recorded: dict[str, Any], ctx: RenderContext) -> list[str]:
        return files_drift(recorded.get("artifacts", []))

    def doctor(self, ctx: RenderContext) -> list[Finding]:
        from ..install import installed_targets

        entry = installed_targets(ctx.state_dir, ctx.config_id).get(self.name)
        if entry is not None:
            settings = dict(entry.get("kubectl", {}))
        else:  # not installed (yet): the config's [kubernetes] table
            from ..config import load

            settings = load(ctx.config_path).kubernetes
        from .kubecluster import check_cluster

        return check_cluster(ctx.runner, settings)


def _plan_apply(
    plan: Plan,
    ctx: RenderContext,
    kc: list[str],
    changed: list[tuple[Path, str | None, str]],
    desired: dict[str, str],
    gone: list[Path],
) -> None:
    """``kubectl diff`` (shown), ``kubectl apply`` of every manifest, the local copies, then the
    config's CronJobs that are no longer rendered deleted (found by label)."""
    run = ctx.runner
    docs = "---\n".join(desired[n] for n in sorted(desired))
    r = run([*kc, "diff", "-f", "-"], input=docs)
    if r.code == 1 and r.out:
        plan.diffs.append(r.out if r.out.endswith("\n") else r.out + "\n")
    elif r.code > 1:
        plan.diffs.append(f"# kubectl diff failed (exit {r.code}): {r.last_line()}\n")
    apply = [*kc, "apply", "-f", "-"]
    new_names = [p.name[:-5] for p, old, _ in changed if old is None]
    olds = "---\n".join(old for _, old, _ in changed if old is not None)

    def do_apply() -> None:
        try:
            must(run, apply, input=docs)
        except Exception:  # kubectl applies document by document: undo what it did before failing
            undo_apply()
            raise

    def undo_apply() -> None:
        if new_names:
            run([*kc, "delete", "cronjob", *new_names, "--ignore-not-found"])
        if olds:
            run(apply, input=olds)

    plan.add(do_apply, undo_apply, apply)
    for path, old, content in changed:
        plan.add(plan.write(path, content.encode("utf-8"), 0o600), restore(path, old))
    prune = [*kc, "get", "cronjob", "-l", selector(ctx.config_id), "-o", "json"]
    keep = {n[:-5] for n in desired}

    def do_prune() -> None:
        r = must(run, prune)
        names = sorted({i["metadata"]["name"] for i in json.loads(r.out or "{}").get("items", [])} - keep)
        if names:
            must(run, [*kc, "delete", "cronjob", *names, "--cascade=orphan", "--ignore-not-found"])
        for path in gone:
            path.unlink(missing_ok=True)

    plan.add(do_prune, noop, prune)
    plan.summary.append(f"{len(desired)} CronJobs applied ({len(changed)} new or changed), stale ones pruned")


def _plan_uninstall(plan: Plan, ctx: RenderContext, kc: list[str], gone: list[Path]) -> None:
    """Delete this config's CronJobs by label; their running Jobs run to their deadline."""
    cmd = [*kc, "delete", "cronjob", "-l", selector(ctx.config_id), "--cascade=orphan", "--ignore-not-found"]
    plan.add(run_step(ctx.runner, cmd), noop, cmd)
    for path in gone:
        old = read_text(path)
        plan.diffs.append(file_diff(str(path), old or "", None))
        plan.add(_unlink(path), restore(path, old))
    plan.summary.append(f"CronJobs labelled {selector(ctx.config_id)} deleted")


def _unlink(path: Path) -> Any:
    def step() -> None:
        path.unlink(missing_ok=True)

    return step


TARGET = Kubernetes()
