"""Kubernetes objects of osched's: names, labels, the CronJobs of a schedule and a manual Job,
as plain dicts, and their YAML.  Used by the target (render, install) and by the cluster
operations (``kubecluster``: start, stop, status, doctor); imports neither."""

from __future__ import annotations

import hashlib
import itertools
import math
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from ..errors import ConfigError
from ..model import Config, Job, Schedule
from ..templating import render as render_template
from .base import RenderContext

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
    return ",".join(str(n) for n in sorted((d + 1) % 7 for d in days)) if len(days) < 7 else "*"


CLASH_YEARS = 3  # how far ahead a render looks for a start in a DST change (renders are checked again)


@dataclass(frozen=True, slots=True)
class Clash:
    """A listed day on which the start's wall time falls in a change of its zone."""

    day: date
    kind: str  # "gap" (the wall time is skipped) or "fold" (it comes twice)
    first: datetime  # the naive wall times the change affects: [first, last)
    last: datetime

    @property
    def minutes(self) -> int:
        return int((self.last - self.first).total_seconds() // 60)


def clashes(s: Schedule, now: datetime, years: int = CLASH_YEARS) -> list[Clash]:
    """The days of the coming ``years`` on which ``s`` starts in a gap or a repeated span of
    its zone: where the CronJob controller skips the start, or runs it twice."""
    from ..zonechanges import HORIZON_DAYS, transitions

    day0 = int(now.timestamp()) // 86400
    wall = timedelta(hours=s.hour, minutes=s.minute)
    seen: dict[int, tuple[int, int]] = {}
    for k in range(years * 366 // HORIZON_DAYS + 1):
        for t in transitions(s.timezone, day0 + k * HORIZON_DAYS)[1]:
            seen[t.at] = (t.before, t.after)
    out = []
    for at, (before, after) in sorted(seen.items()):
        instant = datetime.fromtimestamp(at, UTC).replace(tzinfo=None)
        a, b = instant + timedelta(minutes=before), instant + timedelta(minutes=after)
        first, last, kind = (a, b, "gap") if after > before else (b, a, "fold")
        d = first.date() - timedelta(days=1)
        while datetime(d.year, d.month, d.day) <= last:
            start = datetime(d.year, d.month, d.day) + wall
            listed = d.weekday() in s.days and (s.on is None or d == s.on)
            if listed and first <= start < last and instant >= now.replace(tzinfo=None):
                out.append(Clash(d, kind, first, last))
            d += timedelta(days=1)
    return out


def when(s: Schedule) -> When:
    """The CronJob's schedule: the start's wall time on the listed days, in the schedule's own
    zone.  It never runs out and never fires on a day that is not listed.  A one-off window:
    its day and month (a CronJob has no year field: ``kubernetes.notes`` says so)."""
    if s.on is not None:
        return When(f"{s.minute} {s.hour} {s.on.day} {s.on.month} *", s.timezone)
    return When(f"{s.minute} {s.hour} * * {_dow(s.days)}", s.timezone)


SPLIT_MONTHS = 12  # a schedule with skipped dates: one CronJob per month, this many months ahead


def whens(s: Schedule, now: datetime) -> list[When]:
    """The CronJobs' schedules: ``when``, or, for a schedule whose dates skip some days
    (``skip``, ``holidays``), one per month of the coming ``SPLIT_MONTHS`` naming its days of
    month: a cron line cannot say "mondays but not the 24th" (its day-of-month and weekday
    fields are or-ed), and no osched entrypoint runs in the cluster to skip the date.  A month
    field repeats every year, so these run out: install again within the year (``doctor``
    says when)."""
    span = _split_span(s, now)
    if span is None:
        return [when(s)]
    from ..dates import excluded

    first, end = span
    by_month: dict[tuple[int, int], list[int]] = {}
    day = first
    while day < end:
        if day.weekday() in s.days and not excluded(s, day):
            by_month.setdefault((day.year, day.month), []).append(day.day)
        day += timedelta(days=1)
    return [
        When(f"{s.minute} {s.hour} {','.join(map(str, days))} {month} *", s.timezone)
        for (_, month), days in sorted(by_month.items())
    ]


def split_until(s: Schedule, now: datetime) -> str | None:
    """The date a month-split schedule's CronJobs run out (``whens``); None when not split."""
    span = _split_span(s, now)
    return None if span is None else span[1].isoformat()


def _split_span(s: Schedule, now: datetime) -> tuple[date, date] | None:
    """(first date, first date after) of a month-split schedule's CronJobs: from today to the
    first of the month ``SPLIT_MONTHS`` on; None for a schedule that is not split."""
    if s.on is not None or (not s.skip and s.holidays is None):
        return None
    first = now.astimezone(s.tz).date()
    months = first.month - 1 + SPLIT_MONTHS
    return first, date(first.year + months // 12, months % 12 + 1, 1)


def refusal(s: Schedule, now: datetime) -> tuple[str, str] | None:
    """Why the controller cannot run ``s`` right in the coming years: its start falls in a gap
    on a listed day (the controller skips it: the window would not start), or in a repeated
    span no longer than the window (the second run would start after the window), or two of
    its windows overlap (a DST change shortens the time between them: Forbid would skip the
    second, and the first Job ends at its deadline, leaving the rest of the window empty)."""
    for c in clashes(s, now):
        span = f"{c.first:%H:%M}-{c.last:%H:%M}"
        if c.kind == "gap":
            why = (
                f"{s.start_text} {s.timezone} does not exist on {c.day} ({span} is skipped) and the "
                "Kubernetes CronJob controller skips such a start"
            )
        elif s.duration <= c.minutes:
            why = (
                f"{s.start_text} {s.timezone} comes twice on {c.day} ({span} repeats) and the "
                "Kubernetes CronJob controller would run the job again after the window"
            )
        else:
            continue
        fix = f"start at {c.last:%H:%M} or later or before {c.first:%H:%M}, or use a zone without DST (UTC)"
        return "start", f"{why}: {fix}"
    from ..windows import windows_between

    found = windows_between(s, now, now + timedelta(days=366 * CLASH_YEARS))
    for w1, w2 in itertools.pairwise(found):
        if w2.start < w1.end:
            gap = int((w2.start - w1.start).total_seconds() // 60)
            return "duration", (
                f"the window of {w1.start.astimezone(s.tz).date()} ends after the next one starts (a DST "
                "change shortens the time between them) and the Kubernetes CronJob controller cannot "
                f"extend a running Job: make the window at most {gap // 60}h{gap % 60:02d}m long"
            )
    return None


def fold_notes(s: Schedule, now: datetime) -> list[str]:
    """The repeated-hour days the controller fires twice (the second is skipped by
    ``concurrencyPolicy: Forbid`` while the first Job runs)."""
    days = [c for c in clashes(s, now) if c.kind == "fold" and s.duration > c.minutes]
    if not days:
        return []
    return [
        f"kubernetes: {s.job}/{s.id}: {s.start_text} {s.timezone} comes twice on "
        f"{', '.join(str(c.day) for c in days[:3])}: the controller fires it twice; the second run "
        "is skipped while the first Job runs (a Job that ended earlier is started again, and "
        f"runs up to {days[0].minutes} minutes past the window's end)"
    ]


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
    secrets = job.kubernetes.get("secret_env") or {}
    if env or secrets:
        container["env"] = [{"name": k, "value": v} for k, v in env.items() if k not in secrets] + [
            {"name": k, "valueFrom": {"secretKeyRef": dict(ref)}} for k, ref in secrets.items()
        ]
    if job.workdir and job.workdir.startswith("/"):
        container["workingDir"] = job.workdir
    from ..limits import kube_resources

    res = job.kubernetes.get("resources") or kube_resources(job.limits)  # the table wins
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
    refused = refusal(s, ctx.now)
    if refused is not None:
        key, message = refused
        raise ConfigError(message, str(cfg.path), f"jobs.{job.name}.schedules[{s.id}].{key}")
    labels = _labels(ctx.config_id, job.name, s.id)
    what = f"{s.start_text} for {s.duration_text} on {s.days_text} ({s.timezone})"
    return [
        {
            "apiVersion": "batch/v1",
            "kind": "CronJob",
            "metadata": _metadata(cfg, cronjob_name(ctx.config_id, job.name, s.id, part), labels, what),
            "spec": {
                "schedule": w.schedule,
                "timeZone": w.zone,
                "concurrencyPolicy": "Forbid",
                "startingDeadlineSeconds": min(STARTING_DEADLINE, s.duration * 60),
                "jobTemplate": {
                    "metadata": {"labels": labels},
                    "spec": job_spec(cfg, job, s, s.duration * 60, labels),
                },
            },
        }
        for part, w in enumerate(whens(s, ctx.now))
    ]


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
