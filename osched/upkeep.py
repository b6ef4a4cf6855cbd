"""Keeping installed artifacts right without the user: what makes an install due for renewal,
and the renewal a firing makes (docs/runtime.md, "Renewal").

An install is right for the host it was rendered on, with the zone rules it was rendered with,
for ``zonechanges.HORIZON_DAYS`` (its dated firings for DST days end there).  It is *due* when

* it is ``RENEW_AFTER_DAYS`` old (70 days before its dated firings run out);
* the system zone the host-local schedulers run in is no longer the one it was rendered for
  (``/etc/localtime`` relinked or replaced);
* a zone file it was rendered with changed (a tzdata update), found by the file's mtime and
  size as the fire files find it.

``reasons`` says why, for ``status``, ``doctor`` and ``install`` (an install that would change
nothing still records itself when due); ``renewal`` renews from the firings.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .targets.base import RenderContext

RENEW_AFTER_DAYS = 330


def zone_stamps(keys: set[str]) -> dict[str, list[int]]:
    """Each zone's file as ``zoneinfo`` finds it (``core.cache.zone_file``, as the fire files
    stamp it): [mtime ns, size]; [0, 0] when it comes from elsewhere (the tzdata package,
    which changes only with osched's environment)."""
    from .core.cache import zone_file

    out: dict[str, list[int]] = {}
    for key in sorted(keys):
        found = zone_file(key)
        out[key] = [found[1], found[2]] if found is not None else [0, 0]
    return out


def config_zones(cfg: Any, host_zone: str) -> set[str]:
    """The zones an install of ``cfg`` is rendered with: its schedules' and the host's."""
    return {s.timezone for j in cfg.jobs.values() for s in j.schedules} | {host_zone}


def reasons(entry: dict[str, Any], now: datetime, host_zone: str | None = None) -> list[str]:
    """Why the install ``entry`` (a manifest target on this host) needs rendering again; []
    when it is right.  ``host_zone``: the system zone now (None: not compared)."""
    out = []
    try:
        at = datetime.fromisoformat(str(entry.get("installed_at")))
    except ValueError:
        at = None
    if at is None or at.tzinfo is None:
        out.append("its install date is unreadable")
    elif now - at >= timedelta(days=RENEW_AFTER_DAYS):
        from .zonechanges import HORIZON_DAYS

        ends = (at + timedelta(days=HORIZON_DAYS)).date().isoformat()
        out.append(f"installed {at.date().isoformat()}: its firings for DST days run out on {ends}")
    recorded = entry.get("host_timezone")
    if host_zone is not None and isinstance(recorded, str) and recorded != host_zone:
        out.append(f"the system zone is now {host_zone}; it was rendered for {recorded}")
    stamps = entry.get("zone_files")
    if isinstance(stamps, dict) and stamps:
        now_stamps = zone_stamps({str(k) for k in stamps})
        changed = sorted(k for k, v in stamps.items() if now_stamps.get(k) != v)
        if changed:
            out.append(f"the zone rules changed since install (tzdata update: {', '.join(changed[:3])})")
    return out


def as_installed(ctx: RenderContext, entry: dict[str, Any], **changes: Any) -> RenderContext:
    """``ctx`` with what the install ``entry`` recorded: system-wide or not, the entrypoints
    (a firing's environment, or a later osched, may name others), then ``changes``."""
    from dataclasses import replace

    recorded = entry.get("entrypoints")
    extra: dict[str, Any] = {}
    if isinstance(recorded, dict):
        for key in ("start_exe", "stop_exe"):
            if isinstance(recorded.get(key), str):
                extra[key] = recorded[key]
        for key in ("start_args", "stop_args"):
            value = recorded.get(key)
            if isinstance(value, list) and all(isinstance(v, str) for v in value):
                extra[key] = tuple(value)
    return replace(ctx, system=bool(entry.get("system")), **extra, **changes)
