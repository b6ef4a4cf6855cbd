"""Kubernetes objects of osched's: names, labels, the CronJobs of a schedule and a manual Job,
as plain dicts, and their YAML.  Used by the target (render, install) and by the cluster
operations (``kubecluster``: start, stop, status, doctor); imports neither."""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from ..errors import ConfigError
from ..hostfirings import near_change_windows
from ..model import Config, Job, Schedule
from ..templating import render as render_template
from ..windows import windows_between
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
