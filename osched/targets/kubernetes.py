"""Kubernetes: one ``batch/v1`` CronJob per schedule (DESIGN section 7), applied with kubectl.

A CronJob starts a Job at the window start; the Job's ``activeDeadlineSeconds`` is the window's
duration, so Kubernetes ends it at the window end (no stop firing is needed).
``concurrencyPolicy: Forbid`` never runs two at once; ``restartPolicy: Never`` with
``backoffLimit`` = ``restart.retries`` gives a crash a new pod inside the window.

DST: one CronJob per schedule, in the schedule's own zone (it never runs out, and never fires
on a day that is not listed).  The controller's engine runs a wall time in a repeated hour
twice (kubernetes/kubernetes#121594) and skips one in a spring-forward gap; a cron line has no
year, so no dated line can stand in for one day.  A start that falls in a gap on a listed day
within three years is refused (exit 2: the window would not start), and so is one in a
repeated span no longer than its window (the second run would start after the window); a
longer window's second run is skipped by ``concurrencyPolicy: Forbid`` while the first Job
runs, which ``render`` notes.

Names: ``osched-<config id>-<job>-<schedule>-<hash of the ids>`` (DNS-1123, at most 52
characters: the controller appends 11 to its Jobs).
Labels: ``app.kubernetes.io/managed-by: osched``, ``osched/config-id``, ``osched/job``,
``osched/schedule``; install prunes and uninstall deletes by them.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

from ..model import Config
from ..paths import target_work_dir
from ..plan import Plan, file_diff, files_drift, noop, read_text, restore, run_step, sha
from ..runner import must
from .base import BaseTarget, File, Finding, RenderContext, Target, each_enabled
from .extras import condition_notes, date_notes, limit_notes, wake_notes
from .kubeobjects import cronjobs, document, fold_notes, kubectl, selector, split_until


# -- the target ------------------------------------------------------------------------------------------
class Kubernetes(BaseTarget):
    name: ClassVar[str] = "kubernetes"
    rank: ClassVar[int] = 50
    in_all: ClassVar[bool] = False  # needs an image per job: --target kubernetes only
    auto_priority: ClassVar[int | None] = None  # never chosen by --target auto
    auto_reason: ClassVar[str] = "asked for"
    cost: ClassVar[int] = 3
    runs_here: ClassVar[bool] = False  # the cluster runs the jobs

    def folders(self, ctx: RenderContext) -> list[Path]:
        return [target_work_dir(ctx.state_dir, self.name)]

    def start_now(
        self,
        cfg: Config,
        job: str,
        schedule: str | None,
        until: datetime,
        entry: dict[str, Any],
        ctx: RenderContext,
    ) -> str | None:
        """A Job on the cluster now, to ``until`` (a window's end, or a manual start's)."""
        from .kubecluster import start_on_cluster

        found = cfg.job(job)
        return None if found is None else start_on_cluster(ctx.runner, cfg, found, ctx, until)

    def stop_now(self, job: str, entry: dict[str, Any], ctx: RenderContext) -> str | None:
        from .kubecluster import stop_on_cluster

        return stop_on_cluster(ctx.runner, dict(entry.get("kubectl", {})), ctx.config_id, job)

    def report(self, entry: dict[str, Any], ctx: RenderContext) -> dict[str, Any]:
        """What the cluster did: per CronJob its last run and result."""
        from ..errors import OschedError
        from .kubecluster import cluster_status

        try:
            return {"cluster": cluster_status(ctx.runner, dict(entry.get("kubectl", {})), ctx.config_id)}
        except OschedError as e:
            return {"cluster_error": str(e)}

    def detect(self, ctx: RenderContext) -> bool:
        return False

    def notes(self, cfg: Config, ctx: RenderContext) -> list[str]:
        out = [n for j in cfg.jobs.values() for s in j.enabled_schedules for n in fold_notes(s, ctx.now)]
        delayed = [
            f"{j.name}/{s.id}" for j in cfg.jobs.values() for s in j.enabled_schedules if s.random_delay > 0
        ]
        if delayed:
            out.append(
                f"random_delay is not carried by kubernetes ({', '.join(delayed)}): a CronJob starts at "
                "its minute (the controller has no jitter)"
            )
        out += limit_notes(cfg, "kubernetes (cpu and memory become resources)", carried=("cpu", "memory"))
        out += wake_notes(cfg, "kubernetes") + condition_notes(cfg, "kubernetes") + date_notes(cfg)
        files = [j.name for j in cfg.jobs.values() if j.env_files and j.enabled_schedules]
        if files:
            out.append(
                f"env_files are not carried by kubernetes ({', '.join(files)}): name Secrets with "
                'secret_env = { NAME = "secret-name/key" } in [jobs.NAME.kubernetes]'
            )
        return out

    def runs_out(self, cfg: Config, entry: dict[str, Any], now: datetime) -> list[str]:
        """A schedule with skipped dates is a CronJob per month of the year after its install
        (``kubeobjects.whens``): said from 30 days before that year ends."""
        try:
            at = datetime.fromisoformat(str(entry.get("installed_at")))
        except ValueError:
            return []
        out = []
        for j in cfg.jobs.values():
            for s in j.enabled_schedules:
                until = split_until(s, at)
                if until is not None and now.date() >= date.fromisoformat(until) - timedelta(days=30):
                    out.append(
                        f"{j.name}/{s.id}: its CronJobs (one per month, for its skipped dates) "
                        f"run out on {until}"
                    )
        return out

    def render(self, cfg: Config, ctx: RenderContext) -> list[File]:
        meta = tuple(sorted(cfg.kubernetes.items()))
        files = []
        for job, s in each_enabled(cfg, "CronJobs"):
            for obj in cronjobs(cfg, job, s, ctx):
                # its env values may be secrets: private when written (render --output)
                name = f"{obj['metadata']['name']}.yaml"
                files.append(File(name, document(obj, ctx), mode=0o600, meta=meta))
        return files

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
        from ..manifest import installed_targets

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


TARGET: Target = Kubernetes()
