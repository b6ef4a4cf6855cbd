"""The kubernetes target's calls to a running cluster: doctor's checks, the manual overrides
(``osched stop`` deletes the job's running Jobs, ``osched start`` creates one) and ``status``.
"""

from __future__ import annotations

import contextlib
import json
from datetime import datetime
from typing import Any

from ..errors import UsageError
from ..model import Config, Job
from ..runner import Runner, must
from .base import Finding, RenderContext
from .kubeobjects import L_JOB, document, kubectl, manual_job, selector


def check_cluster(run: Runner, settings: dict[str, str]) -> list[Finding]:
    import shutil

    if shutil.which("kubectl") is None:
        return [Finding("FAIL", "kubectl not found", "install kubectl, or use another --target")]
    kc = kubectl(settings)
    out = [Finding("ok", "kubectl found")]
    r = run([*kc, "version", "-o", "json", "--request-timeout=10s"])
    server = ""
    with contextlib.suppress(ValueError, AttributeError):
        server = json.loads(r.out or "{}").get("serverVersion", {}).get("gitVersion", "")
    if r.code != 0 or not server:
        return [
            *out,
            Finding("FAIL", f"the cluster is not reachable: {r.last_line()}", "check kubectl's context"),
        ]
    out.append(Finding("ok", f"cluster reachable (Kubernetes {server})"))
    ns = settings.get("namespace")
    if ns:
        r = run([*kc, "get", "namespace", ns, "-o", "name"])
        out.append(
            Finding("ok", f"namespace {ns} exists")
            if r.code == 0
            else Finding("FAIL", f"namespace {ns} not found", f"kubectl create namespace {ns}")
        )
    for verb, what in (("create", "cronjobs.batch"), ("delete", "jobs.batch"), ("create", "jobs.batch")):
        r = run([*kc, "auth", "can-i", verb, what])
        if r.out.strip() == "yes":
            out.append(Finding("ok", f"RBAC: can {verb} {what}"))
        else:
            out.append(Finding("FAIL", f"RBAC: cannot {verb} {what}", "ask for a Role with that verb"))
    return out


def stop_on_cluster(run: Runner, settings: dict[str, str], cid: str, job: str) -> str:
    """``osched stop JOB``: delete the job's running Jobs; its CronJobs fire again only at the
    next window, so the stop lasts to the window end by itself."""
    cmd = [*kubectl(settings), "delete", "job", "-l", selector(cid, job), "--ignore-not-found"]
    r = must(run, cmd)
    n = sum(1 for line in r.out.splitlines() if "deleted" in line)
    return f"kubernetes: {n} running Job{'s' if n != 1 else ''} of {job} deleted"


def start_on_cluster(run: Runner, cfg: Config, job: Job, ctx: RenderContext, until: datetime) -> str:
    obj = manual_job(cfg, job, ctx, until)
    must(run, [*kubectl(cfg.kubernetes), "apply", "-f", "-"], input=document(obj, ctx))
    return f"kubernetes: Job {obj['metadata']['name']} created, until {until.isoformat(timespec='minutes')}"


def cluster_status(run: Runner, settings: dict[str, str], cid: str) -> list[dict[str, Any]]:
    """Per CronJob: last schedule time, active Jobs, the last Job's result."""
    kc = kubectl(settings)
    r = run([*kc, "get", "cronjob", "-l", selector(cid), "-o", "json"])
    if r.code != 0:
        raise UsageError(f"kubectl get cronjob failed (exit {r.code}): {r.last_line()}")
    jobs = run([*kc, "get", "job", "-l", selector(cid), "-o", "json"])
    last: dict[str, dict[str, Any]] = {}
    for j in json.loads(jobs.out or "{}").get("items", []) if jobs.code == 0 else []:
        owner = next((o["name"] for o in j["metadata"].get("ownerReferences", [])), None)
        started = j.get("status", {}).get("startTime", "")
        if owner and started >= last.get(owner, {}).get("started", ""):
            conds = [
                c["type"] for c in j.get("status", {}).get("conditions", []) if c.get("status") == "True"
            ]
            last[owner] = {"started": started, "result": (conds or ["Running"])[-1]}
    rows = []
    for cj in json.loads(r.out or "{}").get("items", []):
        name, st = cj["metadata"]["name"], cj.get("status", {})
        rows.append(
            {
                "name": name,
                "job": cj["metadata"].get("labels", {}).get(L_JOB),
                "last_schedule": st.get("lastScheduleTime"),
                "active": len(st.get("active", [])),
                "last_result": last.get(name, {}).get("result"),
            }
        )
    return rows
