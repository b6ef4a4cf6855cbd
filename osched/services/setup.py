"""Install and uninstall as use cases, once: what changed, what started, and what the user
should know (``tell``: the story; ``warn``: notes and warnings, which the CLI puts on
stderr).  ``osched.api`` calls these; the CLI calls ``osched.api``."""

from __future__ import annotations

import os
import shlex
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .editing import Editing, Tell

STARTER = """\
#:schema {schema}
# osched configuration (reference: docs/config.md, or `osched --help`).  The line above lets
# an editor with a TOML language server (taplo, Even Better TOML) check keys as you type.
#
# Default time zone for every schedule below (IANA name). A schedule may set its own.
timezone = "{zone}"

# A job is a command (an argv list; no shell) that runs only inside its windows.
#
# [jobs.nightly-agent]
# command = ["python3", "-m", "agent", "--project", "demo"]
# workdir = "~/projects/demo"
# env = {{ MODEL = "opus" }}
# stop_signal = "SIGTERM"        # sent to the whole process group at the end of the window
# stop_timeout = "30s"           # then SIGKILL
# restart = {{ retries = 3, backoff = ["10s", "30s", "90s"] }}   # crash restarts per window
#
# [[jobs.nightly-agent.schedules]]
# id = "weeknights"
# start = "22:00"                # wall clock in the schedule's zone
# duration = "8h"                # 1 minute .. 7 days: "90m", "1h30m", or minutes as an integer
# days = ["mon-fri"]             # mon..sun, ranges, "daily", "weekdays", "weekends"
# enabled = true
"""


@dataclass(frozen=True)
class Installed:
    target: str
    changed: bool
    started: str | None


class Setup(Editing):
    def init_config(self, tz: str | None, force: bool, tell: Tell, label: Callable[[str], str]) -> Path:
        """Write a commented starter config (the host's zone unless ``tz``): its path."""
        import stat

        from ..configschema import path as schema_path
        from ..errors import UsageError
        from ..fsutil import atomic_write
        from ..parse import zone, zone_note
        from ..tzhost import host_zone_name

        path = self.config_path
        try:
            mode = path.lstat().st_mode
        except FileNotFoundError:
            mode = None
        if mode is not None and not stat.S_ISREG(mode):
            raise UsageError(f"{path} exists and is not a regular file: init replaces only a config file")
        if mode is not None and not force:
            raise UsageError(f"{path} already exists (use --force to overwrite it)")
        name = tz or host_zone_name()
        try:
            zone(name)
        except ValueError as e:
            raise UsageError(f"{label('timezone')}: {e}") from None
        text = STARTER.format(zone=name, schema=Path(schema_path()).as_uri())
        atomic_write(path, text.encode("utf-8"), mode=0o600)
        tell(f"Wrote {path} (time zone {name}).")
        note = zone_note(name)
        if note:
            tell(f"Note: {note}")
        return path

    def install_use(
        self, target: str, system: bool, dry_run: bool, start_now: bool, tell: Tell, warn: Tell
    ) -> Installed:
        """``target``: a target's name, or "auto" (the one this machine has: said)."""
        from .. import targets

        cfg = self.load_trusted().config
        ctx = self.render_ctx(system)
        name = targets.auto(ctx) if target == "auto" else target
        if target == "auto":
            tell(f"Target: {name} ({targets.get(name).auto_reason}; --target chooses another).")
        out = self.install(name, system, dry_run)
        self._plan(out, dry_run, tell)
        for line in self.render_notes([name], cfg, ctx):
            warn(line)
        for f in targets.get(name).doctor(ctx):  # installed, but will anything fire it?
            if f.level != "ok":
                warn(f"Warning: {f.message}" + (f" ({f.fix})" if f.fix else ""))
        started = None
        if not dry_run and start_now:
            started = self.start_open_windows(cfg, name, system)
            if started:
                tell(started)
        return Installed(name, not out.plan.empty, started)

    def uninstall_use(self, target: str, dry_run: bool, purge: bool, tell: Tell) -> list[str]:
        """``target``: a target's name, or "auto" (every target this config is installed in).
        The targets it was removed from."""
        from .. import install as inst

        names = list(self.installed()) if target == "auto" else [target]
        if not names:
            tell(f"Nothing is installed for {self.config_path}.")
        for name in names:
            self._plan(inst.uninstall(self.render_ctx(), name, dry_run), dry_run, tell)
        if not dry_run:
            for line in self.after_uninstall(purge):
                tell(line)
        return names

    @staticmethod
    def _plan(out: Any, dry_run: bool, tell: Tell) -> None:
        plan = out.plan
        if plan.empty:
            tell(f"{out.target}: nothing to change ({plan.location}).")
            return
        if dry_run:
            tell(plan.diff.removesuffix("\n"))
            for cmd in plan.commands:
                tell(f"would run: {shlex.join(cmd)}")
            tell(f"{out.target}: dry run, nothing changed.")
            return
        for line in plan.summary:
            tell(f"{out.target}: {line}")

    def render_notes(self, names: Any, cfg: Any, ctx: Any) -> list[str]:
        """What the user should know about how ``names`` were rendered: the host zone when $TZ
        names another, and wall times a scheduler's engine cannot compute (their equivalent)."""
        from .. import targets
        from ..targets.extras import user_note
        from ..tzhost import system_zone_doubt, tz_differs

        out = []
        chosen = [targets.get(n) for n in names]
        if any(t.host_local for t in chosen):
            warning = tz_differs()
            if warning and ctx.host_zone != os.environ.get("TZ", "").lstrip(":"):
                out.append(f"Warning: {warning}")
            doubt = system_zone_doubt()
            if doubt:
                out.append(f"Warning: {doubt}: give the zone with --host-timezone or OSCHED_HOST_TZ")
        for t in chosen:
            out += [f"note: {note}" for note in t.notes(cfg, ctx)]
        said = user_note(cfg, ctx)
        if said and any(t.runs_here for t in chosen):
            out.append(f"note: {said}")
        return out
