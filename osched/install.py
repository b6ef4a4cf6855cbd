"""Install and uninstall: what every target shares.  The target builds a ``Plan`` (a diff, the
commands, steps with undo); this module runs it, records the install manifest, and rolls
back what it wrote when a step or the manifest write fails.

The manifest is ``manifest.py``'s.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import targets, upkeep
from .errors import OschedError, UsageError
from .manifest import ManifestError, installed_targets, read_manifest, write_manifest
from .plan import Plan, sha
from .targets.base import RenderContext
from .upkeep import RENEW_AFTER_DAYS

if TYPE_CHECKING:
    from .config import Loaded


# -- install / uninstall ---------------------------------------------------------------------------------
@dataclass
class Outcome:
    target: str
    plan: Plan
    applied: bool


def install(loaded: Loaded, ctx: RenderContext, target: str, dry_run: bool = False) -> Outcome:
    """Render ``target``'s artifacts for ``loaded`` (the config as the trust check read it:
    what the entrypoints would refuse was refused there) and put them in place; the config's
    hash in the manifest is of the very bytes that were parsed."""
    from .trust import check_state_dir

    cfg = loaded.config
    check_state_dir(ctx.state_dir, create=not dry_run)
    t = targets.get(target)
    files = targets.render(target, cfg, ctx)
    manifest = read_manifest(ctx.state_dir, ctx.config_id)
    entry = manifest["targets"].get(target, {})
    if entry and bool(entry.get("system")) != ctx.system:
        where = "system-wide" if entry.get("system") else "per user"
        raise UsageError(f"{target} is installed {where} for this config: uninstall it first")
    _check_artifacts(t, entry, ctx)
    plan = t.plan(files, ctx, entry, False)
    if dry_run:
        return Outcome(target, plan, False)
    config_hash = sha(loaded.data)
    if (
        plan.empty
        and entry
        and entry.get("artifacts") == plan.artifacts
        and entry.get("config_sha256") == config_hash
        and not renewal_due(entry, ctx.now, RENEW_AFTER_DAYS // 10)
        and not upkeep.reasons(entry, ctx.now, ctx.host_zone)
    ):
        return Outcome(target, plan, False)  # nothing changed: nothing written, not even the manifest
    plan.apply()
    if plan.artifacts:
        manifest["targets"][target] = {
            "installed_at": ctx.now.isoformat(timespec="seconds"),
            "config": str(cfg.path),
            "config_sha256": config_hash,
            "system": ctx.system,
            "host_timezone": ctx.host_zone,
            "zone_files": upkeep.zone_stamps(upkeep.config_zones(cfg, ctx.host_zone)),
            "entrypoints": {
                "start_exe": ctx.start_exe,
                "stop_exe": ctx.stop_exe,
                "start_args": list(ctx.start_args),
                "stop_args": list(ctx.stop_args),
            },
            "location": plan.location,
            "artifacts": plan.artifacts,
            **plan.record,
        }
    else:
        manifest["targets"].pop(target, None)
    manifest["version"] = 1
    manifest["config"] = str(cfg.path)
    try:
        write_manifest(ctx.state_dir, ctx.config_id, manifest)
    except OSError as e:
        left = plan.rollback()
        if left:
            raise OschedError(
                f"writing the install manifest failed ({e}); rollback incomplete: {'; '.join(left)}"
            ) from e
        raise
    return Outcome(target, plan, True)


def _check_artifacts(t: Any, entry: dict[str, Any], ctx: RenderContext) -> None:
    from .manifest import outside

    where = outside(entry.get("artifacts", []), t.folders(ctx))
    if where is not None:
        raise ManifestError(f"the install manifest names {where}, outside {t.name}'s own folders: refused")


def uninstall(ctx: RenderContext, target: str, dry_run: bool = False) -> Outcome:
    """Remove what the manifest records for ``target``, after the trust check of the state dir
    the manifest is read from (a refusal changes nothing)."""
    from .trust import check_state_dir

    check_state_dir(ctx.state_dir, create=False)
    manifest = read_manifest(ctx.state_dir, ctx.config_id)
    entry = manifest["targets"].get(target, {})
    if entry:
        ctx = replace(ctx, system=bool(entry.get("system")))
    t = targets.get(target)
    _check_artifacts(t, entry, ctx)
    plan = t.plan([], ctx, entry, True)
    if dry_run:
        return Outcome(target, plan, False)
    plan.apply()
    if target in manifest["targets"]:
        manifest["targets"].pop(target)
        write_manifest(ctx.state_dir, ctx.config_id, manifest)
    return Outcome(target, plan, not plan.empty)


# Rendered artifacts carry dated firings for the DST days of the next HORIZON_DAYS (400); the
# firings renew an install after RENEW_AFTER_DAYS (``upkeep``), and an install that changes
# nothing still records its date once it is a month old.


def renewal_due(entry: dict[str, Any], now: datetime, days: int = RENEW_AFTER_DAYS) -> bool:
    """The target was installed more than ``days`` ago (or the date is unreadable)."""
    try:
        at = datetime.fromisoformat(str(entry.get("installed_at")))
    except ValueError:
        return True
    return at.tzinfo is None or now - at > timedelta(days=days)


def drift(target: str, entry: dict[str, Any], ctx: RenderContext, config_path: Path) -> list[str]:
    """What differs between the manifest and the OS (and the config since install)."""
    found: list[str] = []
    try:
        if sha(config_path.read_bytes()) != entry.get("config_sha256"):
            found.append("the config changed since install (run osched install)")
    except OSError:
        found.append(f"the config {config_path} is missing")
    try:
        found += targets.get(target).drift(entry, replace(ctx, system=bool(entry.get("system"))))
    except OschedError as e:
        found.append(str(e))
    return found


__all__ = [
    "ManifestError",
    "Outcome",
    "drift",
    "install",
    "installed_targets",
    "read_manifest",
    "renewal_due",
    "uninstall",
    "write_manifest",
]
