"""The renewal a firing makes (docs/runtime.md, "Renewal").

``after_firing`` runs in the full path of every ``osched-start``/``osched-stop`` firing, after
its decision: each install of the config on this host that is due (``upkeep.reasons``) is
installed again, as ``osched install --target T`` would, under the config's install lock
(another firing renewing meanwhile skips).  It renews only what it can put back where it was:
the same location and folders, the artifacts as recorded (a hand edit is left for the user,
and reported), the entrypoints the install recorded.  It logs ``renewed`` or ``renew_failed``
to the events log and never changes the firing's exit code.
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .upkeep import as_installed, reasons

if TYPE_CHECKING:
    from .config import Loaded
    from .state import StateDir
    from .targets.base import RenderContext


# -- the renewal a firing makes --------------------------------------------------------------------
def after_firing(config_path: Path, state: StateDir, now: datetime) -> list[str]:
    """Renew the due host installs of the config; one line per target renewed or failed."""
    from . import manifest as manifest_mod
    from .core.store import try_lock
    from .targets.base import config_id

    cid = config_id(config_path)
    try:
        installed = manifest_mod.installed_targets(state.root, cid)
    except Exception:  # an unreadable manifest: status and doctor say so
        return []
    if not installed:
        return []
    from .tzhost import system_zone_name

    host = system_zone_name()
    due = {}
    from . import targets

    for name, entry in installed.items():
        if name not in targets.names() or not targets.get(name).runs_here:
            continue  # a cluster's CronJobs: no firing here renews them
        why = reasons(entry, now, host)
        if why:
            due[name] = why
    if not due:
        return []
    store = state.store
    try:
        fd = store.install_lock_fd(cid)
    except Exception:
        return []
    try:
        if not try_lock(fd, blocking=False):
            return []  # another firing is renewing
        return [
            _renew_one(config_path, state, now, host, name, installed[name], why) for name, why in due.items()
        ]
    finally:
        os.close(fd)


def _renew_one(
    config_path: Path,
    state: StateDir,
    now: datetime,
    host: str,
    name: str,
    entry: dict[str, Any],
    why: list[str],
) -> str:
    reason = "; ".join(why)
    from . import targets

    problem: str | None
    try:
        if not targets.get(name).renews_from_firing:
            problem = "a firing cannot reload the agent it runs in"
        else:
            problem = renew(config_path, state.root, now, host, name, entry)
    except Exception as e:  # any failure is reported, never the firing's
        problem = f"{type(e).__name__}: {e}"
    if problem is None:
        state.event(now, None, "renewed", target=name, reason=reason)
        return f"osched: renewed the {name} install ({reason})"
    state.event(now, None, "renew_failed", target=name, reason=f"{reason}; not renewed: {problem}")
    return f"osched: the {name} install needs `osched install --target {name}` ({reason}): {problem}"


def renew(
    config_path: Path, state_dir: Path, now: datetime, host: str, name: str, entry: dict[str, Any]
) -> str | None:
    """Install target ``name`` again as recorded in ``entry``; None when done, else why not."""
    from . import install as inst
    from . import targets
    from .config import open_trusted

    ctx = _context(config_path, state_dir, now, host, entry)
    drifted = targets.get(name).drift(entry, ctx)
    if drifted:
        return f"the installed artifacts were changed by hand ({drifted[0]})"
    with open_trusted(config_path) as opened:
        loaded: Loaded = opened.load()
    preview = inst.install(loaded, ctx, name, dry_run=True)
    moved = _moved(entry, preview.plan.location, preview.plan.artifacts)
    if moved is not None:
        return moved
    inst.install(loaded, ctx, name)
    return None


def _context(
    config_path: Path, state_dir: Path, now: datetime, host: str, entry: dict[str, Any]
) -> RenderContext:
    """The install's own context (``upkeep.as_installed``) in the system zone of now."""
    from .targets.base import RenderContext

    base = RenderContext(config_path=config_path, state_dir=state_dir, now=now, host_zone=host)
    return as_installed(base, entry)


def _moved(entry: dict[str, Any], location: str, artifacts: list[dict[str, Any]]) -> str | None:
    """Would the renewal write somewhere else than the install did (another crontab, another
    folder: the firing's environment is not the installing shell's)?"""
    if entry.get("location") != location:
        return f"it would install to {location}, not {entry.get('location')}"
    before = {str(Path(a["path"]).parent) for a in entry.get("artifacts", []) if a.get("path")}
    after = {str(Path(a["path"]).parent) for a in artifacts if a.get("path")}
    if before and after and not after <= before:
        return f"it would write to {sorted(after - before)[0]}, not {sorted(before)[0]}"
    return None
