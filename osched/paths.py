"""Every path osched uses and every ``OSCHED_*`` variable it reads, in one place.

Resolution order: the command-line flag, then osched's variable, then the platform's dirs
(platformdirs).  Tests redirect everything by setting variables, never by touching a home.
Both the config and the state dir are made absolute before anything writes them into an OS
artifact.  Targets never read the environment: they get a ``Settings`` snapshot.

Standard library only (platformdirs is imported when a default dir is needed): the
entrypoints import this on the path every timer firing takes.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from .core import cache as core_cache
from .where import APP, CONFIG_ENV, STATE_ENV, absolute, config_path, state_dir

__all__ = [  # the config and state dir lookups live in where; re-exported here
    "APP",
    "CONFIG_ENV",
    "STATE_ENV",
    "absolute",
    "config_path",
    "state_dir",
]

# -- osched's variables -----------------------------------------------------------------------
NOW_ENV = "OSCHED_NOW"  # an ISO 8601 instant: the clock starts there (core.timefmt.parse_now)
LOG_MAX_ENV = "OSCHED_LOG_MAX_BYTES"  # rotate a job's output log above this size
CRONTAB_FILE_ENV = "OSCHED_CRONTAB_FILE"  # a file instead of `crontab -l` / `crontab FILE`
CRON_D_ENV = "OSCHED_CRON_D"  # instead of /etc/cron.d
SYSTEMD_DIR_ENV = "OSCHED_SYSTEMD_DIR"  # instead of the user/system unit dir
LAUNCHD_DIR_ENV = "OSCHED_LAUNCHD_DIR"  # instead of ~/Library/LaunchAgents or /Library/LaunchDaemons
HOST_TZ_ENV = core_cache.HOST_TZ_ENV  # the zone cron/Task Scheduler/launchd run in, if not the system's
# set by osched in the job's environment
JOB_ENV = "OSCHED_JOB"
SCHEDULE_ENV = "OSCHED_SCHEDULE"
WINDOW_END_ENV = "OSCHED_WINDOW_END"

LOG_MAX_BYTES = 10 * 1024 * 1024


def log_max_bytes() -> int:
    raw = os.environ.get(LOG_MAX_ENV, "")
    return int(raw) if raw.isdigit() and int(raw) > 0 else LOG_MAX_BYTES


# -- the state dir's layout: the state store's (core.store), the only place its paths are built --
def target_work_dir(state: Path, target: str) -> Path:
    """Files a target keeps for the OS tool to read (Task Scheduler's task XML)."""
    from .core.store import Store

    return Path(Store(state).path(target))


# -- where targets install ------------------------------------------------------------------------
def _home() -> str:
    return os.path.expanduser("~")


@dataclass(frozen=True)
class Settings:
    """The environment's say in where targets install, read once (``Settings.from_env()``)."""

    crontab_file: Path | None = None
    cron_d: Path = Path("/etc/cron.d")
    systemd_dir_override: Path | None = None
    launchd_dir_override: Path | None = None
    xdg_config_home: Path = field(default_factory=lambda: Path(_home()) / ".config")
    home: Path = field(default_factory=lambda: Path(_home()))

    @classmethod
    def from_env(cls) -> Settings:
        env = os.environ

        def opt(name: str) -> Path | None:
            return Path(env[name]) if env.get(name) else None

        return cls(
            crontab_file=opt(CRONTAB_FILE_ENV),
            cron_d=opt(CRON_D_ENV) or Path("/etc/cron.d"),
            systemd_dir_override=opt(SYSTEMD_DIR_ENV),
            launchd_dir_override=opt(LAUNCHD_DIR_ENV),
            xdg_config_home=opt("XDG_CONFIG_HOME") or Path(_home()) / ".config",
        )

    def systemd_dir(self, system: bool) -> Path:
        if self.systemd_dir_override is not None:
            return self.systemd_dir_override
        return Path("/etc/systemd/system") if system else self.xdg_config_home / "systemd" / "user"

    def launchd_dir(self, system: bool) -> Path:
        if self.launchd_dir_override is not None:
            return self.launchd_dir_override
        return Path("/Library/LaunchDaemons") if system else self.home / "Library" / "LaunchAgents"
