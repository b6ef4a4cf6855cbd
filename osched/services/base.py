"""One command's view of the world: the config and state paths, one frozen "now", the host
zone, the command runner, the config loaded once, where it is installed.  Every use case
(``control``, ``reading``, ``installing``) builds on it; nothing here prints."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cached_property
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from .. import config as config_mod
from .. import paths
from ..errors import OschedError, UsageError
from ..model import Config, Job
from ..parse import parse_time, zone
from ..runner import Runner, subprocess_runner
from ..runtime import Clock
from ..state import StateDir
from ..targets.base import RenderContext, Target


@dataclass
class AppBase:
    config_flag: str | None = None
    state_flag: str | None = None
    runner: Runner = subprocess_runner
    procs: Any = None  # the runtime's process layer (None: this platform's)
    display_zone: str | None = None  # --timezone: show times in this zone, not the host's
    _clock: Clock | None = field(default=None, repr=False)
    # one command, one load of the config and one read of the manifest, passed along
    _loaded: config_mod.Loaded | None = field(default=None, repr=False)
    _installed: dict[str, dict[str, Any]] | None = field(default=None, repr=False)
    state_refusal: str | None = field(default=None, repr=False)  # the state dir is not the user's

    # -- where and when ------------------------------------------------------------------------------
    @cached_property
    def config_path(self) -> Path:
        return _text_path(paths.config_path(self.config_flag), "the config file")

    @cached_property
    def state_dir(self) -> Path:
        return _text_path(paths.state_dir(self.state_flag), "the state dir")

    @cached_property
    def state(self) -> StateDir:
        return StateDir(self.state_dir)

    @property
    def clock(self) -> Clock:
        if self._clock is None:
            try:
                self._clock = Clock().frozen()
            except ValueError as e:
                raise UsageError(str(e)) from None
        return self._clock

    @property
    def now(self) -> datetime:
        return self.clock.now()

    @cached_property
    def host_zone(self) -> str:
        """The zone times are shown in ($TZ first)."""
        from ..tzhost import host_zone_name

        return host_zone_name()

    @cached_property
    def scheduler_zone(self) -> str:
        """The zone cron, Task Scheduler and launchd run in (the system's)."""
        from ..tzhost import system_zone_name

        return system_zone_name()

    @property
    def host_tz(self) -> ZoneInfo:
        return zone(self.host_zone)

    @property
    def view_tz(self) -> ZoneInfo:
        """The zone times are shown in: ``--timezone``, else the host's."""
        return zone(self.display_zone) if self.display_zone else self.host_tz

    def use(self, loaded: config_mod.Loaded) -> None:
        """This command's config is ``loaded`` (an edit just wrote it): nothing reads it again."""
        self._loaded = loaded

    def load_trusted(self) -> config_mod.Loaded:
        """The config through the trust check, once per command: bytes, config and identity
        together (what ``install`` hashes is what it parsed)."""
        if self._loaded is None:
            self._loaded = config_mod.load_trusted(self.config_path)
        return self._loaded

    def load(self) -> Config:
        """The validated config; this command's load if it made one, else from its plan when
        the file is unchanged (``cache.py``), which a parse writes again when the state dir
        exists and is trusted."""
        if self._loaded is not None:
            return self._loaded.config
        from .. import cache
        from ..core.cache import identity
        from ..trust import InsecureError, check_state_dir

        try:
            ident = identity(self.config_path.stat())
            check_state_dir(self.state_dir, create=False)  # plans only from a trusted state dir
            trusted = self.state_dir.is_dir()
        except (OSError, InsecureError):
            trusted = False
        if not trusted:
            return config_mod.load(self.config_path)
        cached = cache.read_plan(self.state.store, self.config_path, ident)
        if cached is not None:
            return cached
        cfg = config_mod.load(self.config_path)
        cache.remember(self.state.store, cfg, ident)
        return cfg

    def job(self, cfg: Config, name: str) -> Job:
        job = cfg.job(name)
        if job is None:
            known = ", ".join(cfg.jobs) or "none"
            raise UsageError(f"no job named {name!r} in {cfg.path} (jobs: {known})")
        return job

    def render_ctx(self, system: bool = False, host_zone: str | None = None) -> RenderContext:
        return RenderContext(
            config_path=self.config_path,
            state_dir=self.state_dir,
            now=self.now,
            host_zone=host_zone or self.scheduler_zone,
            system=system,
            runner=self.runner,
        )

    # -- installed targets ------------------------------------------------------------------------------
    def installed(self) -> dict[str, dict[str, Any]]:
        """Where this config is installed (the manifest, read once per command).  A state dir
        that is not the user's is not read (the entrypoints refuse it too): nothing is
        installed as far as this user can tell, and ``state_refusal`` says why, with its owner
        named, for the command to show instead of a bare permission error."""
        from ..core.store import Store
        from ..install import installed_targets

        if self._installed is None:
            bad = Store(self.state_dir).refusal() if self.state_dir.exists() else None
            if bad is not None:
                from ..trust import refused

                self.state_refusal = str(refused(bad))
                self._installed = {}
            else:
                self._installed = installed_targets(self.state_dir, self.render_ctx().config_id)
        return self._installed

    def installed_changed(self) -> None:
        """An install or uninstall wrote the manifest: read it again when next asked."""
        self._installed = None

    def where_jobs_run(
        self, installed: dict[str, dict[str, Any]] | None = None
    ) -> tuple[list[tuple[Target, dict[str, Any]]], bool]:
        """(the installed targets that run the jobs elsewhere, with their manifest entries;
        whether this machine runs them too)."""
        installed = self.installed() if installed is None else installed
        remote = [(t, e) for n, e in installed.items() if (t := _target(n)) is not None and not t.runs_here]
        return remote, not installed or len(remote) < len(installed)

    def known_job(self, name: str) -> str:
        """``name`` if it is a job id of the config or of the state dir; a usage error
        otherwise (a name is never a path: ``../x`` is refused before any file is touched)."""
        from ..parse import parse_id

        try:
            parse_id(name, "job name")
        except ValueError as e:
            raise UsageError(str(e)) from None
        try:
            in_config = name in self.load().jobs
        except OschedError:
            in_config = False
        if not in_config and name not in self.state.jobs_with_state():
            raise UsageError(f"no job named {name!r} in {self.config_path} or in the state dir")
        return name

    # -- instants the user types ------------------------------------------------------------------
    def parse_when(self, text: str) -> datetime:
        """--until: a delay ('2h', '90m'), a wall time in the host zone ('23:30', the next one),
        or an ISO 8601 instant ('2026-11-27T06:00', host zone unless it has an offset)."""
        from ..parse import split_duration

        tz, now = self.host_tz, self.now
        seconds = split_duration(text)
        if seconds is not None and not text.strip().isdigit():
            try:
                t = now + timedelta(seconds=seconds)
            except OverflowError:
                raise UsageError(f"--until: {text!r} is too far away") from None
        else:
            try:
                h, m = parse_time(text)
            except ValueError:
                t = _parse_instant(text, tz)
            else:
                t = _next_wall_time(now, h, m, tz)
        if t <= now:
            raise UsageError(f"--until: {text!r} is not in the future")
        if t.year > 9000:
            raise UsageError(f"--until: {text!r} is too far away")
        return t.astimezone(UTC)

    # -- overrides, logs ------------------------------------------------------------------------------


_ISO_RE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d(?::\d\d(?:\.\d+)?)?(?:[+-]\d\d:\d\d|Z)")


def _parse_instant(text: str, tz: ZoneInfo) -> datetime:
    try:
        t = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(
            f"--until: {text!r} is not a delay (2h, 90m), a time (23:30) or an ISO 8601 instant"
        ) from None
    return t if t.tzinfo else t.replace(tzinfo=tz)


def _next_wall_time(now: datetime, h: int, m: int, tz: ZoneInfo) -> datetime:
    """The next time the host's clock shows h:m."""
    local = now.astimezone(tz)
    t = local.replace(hour=h, minute=m, second=0, microsecond=0)
    if t <= local:
        t = (local + timedelta(days=1)).replace(hour=h, minute=m, second=0, microsecond=0)
        t = t.replace(tzinfo=None).replace(tzinfo=tz)
    return t


def _target(name: str) -> Target | None:
    """The registered target ``name`` (None: a manifest names one no longer registered)."""
    from .. import targets

    try:
        return targets.get(name)
    except UsageError:
        return None


def _text_path(path: Path, what: str) -> Path:
    """``path``, or a UsageError when it is not UTF-8: both paths go into units, crontab lines,
    task XML and plists, which are text (a name with other bytes reaches Python as a lone
    surrogate, which no encoder takes)."""
    try:
        str(path).encode("utf-8")
    except UnicodeEncodeError:
        shown = os.fsencode(path).decode("ascii", "backslashreplace")
        raise UsageError(
            f"{what} {shown} is not UTF-8: osched writes its path into the scheduler's files, "
            "which are text; rename it, or give --config/--state-dir a UTF-8 path"
        ) from None
    return path
