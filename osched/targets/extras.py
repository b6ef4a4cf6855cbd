"""What the targets share about a job beyond its windows: who a ``--system`` install runs it
as (``system_user``, ``as_system``, ``user_note``) and what a target makes of its ``limits``
(``limit_notes``)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..model import Config
    from .base import RenderContext


def limit_notes(cfg: Config, target: str, carried: tuple[str, ...] | None = None) -> list[str]:
    """What ``target`` makes of the jobs' ``limits`` where it is not a cgroup's exact limit:
    ``carried`` names the keys it carries (None: the supervisor path, ``limits``)."""
    from ..limits import supervisor_notes

    out = []
    for j in cfg.jobs.values():
        if not j.limits or not j.enabled_schedules:
            continue
        if carried is None:
            how = supervisor_notes(j.limits)
            if how:
                out.append(f"{j.name}: on {target} the supervisor enforces {'; '.join(how)}")
        else:
            left = [k for k in j.limits if k not in carried]
            if left:
                out.append(f"{j.name}: limits {', '.join(left)} are not carried by {target}")
    return out


def user_note(cfg: Config, ctx: RenderContext) -> str | None:
    """A per-user install runs every job as the installing user: a ``user`` naming someone
    else is said (it is for ``--system`` installs)."""
    others = sorted(f"{j.name} ({j.user})" for j in cfg.jobs.values() if j.user and j.user != ctx.user)
    if ctx.system or not others:
        return None
    return f"user is for --system installs; this one runs every job as you ({ctx.user}): {', '.join(others)}"


def as_system(cfg: Config, ctx: RenderContext, local: bool = True) -> tuple[str, RenderContext]:
    """A --system render's user (``system_user``) and the context its artifacts are rendered
    with: when that user is not the one installing, the artifacts name no state dir, so each
    entrypoint keeps its state in the state dir of the user it runs as (the installer's
    manifest stays in the installer's)."""
    from dataclasses import replace

    user = system_user(cfg, ctx, local)
    return user, (ctx if user == ctx.user else replace(ctx, own_state=True))


def system_user(cfg: Config, ctx: RenderContext, local: bool = True) -> str:
    """Who a ``--system`` install runs the config's jobs as: their ``user`` key.  One user for
    the whole config (the entrypoints run as that user and must own the config and state dir),
    an account that exists (``local``: on this machine, the one the install is for); never root
    unless the config says ``user = "root"``."""
    import os

    from ..errors import ConfigError

    jobs = [j for j in cfg.jobs.values() if j.enabled_schedules]
    if not jobs:
        return ctx.user
    missing = [j for j in jobs if j.user is None]
    if missing:
        hint = os.environ.get("SUDO_USER") or "alice"
        if hint == "root":
            hint = "alice"
        raise ConfigError(
            f'a --system install needs the user the job runs as (user = "{hint}"); osched never '
            'runs a job as root unless the config says user = "root"',
            str(cfg.path),
            f"jobs.{missing[0].name}.user",
        )
    users = {j.user for j in jobs}
    if len(users) > 1:
        raise ConfigError(
            f"a --system install runs one config as one user (its config and state dir are that user's): "
            f"{', '.join(sorted(u for u in users if u))} differ; split the config",
            str(cfg.path),
            f"jobs.{jobs[-1].name}.user",
        )
    user = str(jobs[0].user)
    if local and sys.platform != "win32":
        import pwd

        try:
            pwd.getpwnam(user)
        except KeyError:
            raise ConfigError(
                f"no user {user!r} on this machine", str(cfg.path), f"jobs.{jobs[0].name}.user"
            ) from None
    return user


WAKE_INSTEAD = {
    "cron": "cron cannot wake the machine: use the systemd target (WakeSystem=), or set an RTC "
    "alarm (sudo rtcwake -m no -t <epoch>) before each window",
    "launchd": "launchd cannot wake the machine for a calendar job: schedule a wake with "
    "sudo pmset repeat wakeorpoweron <days> <HH:MM:SS> a minute or two before the window",
    "kubernetes": "a cluster is not put to sleep: wake has no meaning there",
}


def wake_notes(cfg: Config, target: str) -> list[str]:
    """One line for the schedules with ``wake = true`` that ``target`` cannot wake for."""
    woken = [f"{j.name}/{s.id}" for j in cfg.jobs.values() for s in j.enabled_schedules if s.wake]
    if not woken or target not in WAKE_INSTEAD:
        return []
    return [f"wake is not carried by {target} ({', '.join(woken)}): {WAKE_INSTEAD[target]}"]


# what each target does with a job's on_ac_power / network / stop_on_battery; {} = the
# entrypoint checks them (a start waits for them within its window) and the supervisor stops
# the job on battery: said once per key
POWER_WAYS = {
    "systemd": {
        "on_ac_power": "systemd checks ConditionACPower= as the window opens: a window that opens "
        "on battery is skipped, not started later",
        "network": "the units wait for network-online.target",
        "network user": "a user manager has no network-online.target: osched-start waits for a "
        "default route within the window",
    },
    "taskscheduler": {
        "on_ac_power": "DisallowStartIfOnBatteries: a window that opens on battery is skipped, not "
        "started later",
        "network": "RunOnlyIfNetworkAvailable: a window that opens offline is skipped",
        "stop_on_battery": "StopIfGoingOnBatteries is set, and the supervisor stops the job itself "
        "(the task ends when it hands the job over)",
    },
    "kubernetes": dict.fromkeys(
        ("on_ac_power", "network", "stop_on_battery", "keep_awake"),
        "a cluster node is not a laptop: not applied",
    ),
}


def laptop_keys(cfg: Config) -> bool:
    """Does the config say it is for a machine that sleeps (any job or schedule key of
    docs/laptops.md)?"""
    keys = ("keep_awake", "on_ac_power", "network", "stop_on_battery")
    return any(
        any(getattr(j, k) for k in keys) or any(s.wake for s in j.enabled_schedules)
        for j in cfg.jobs.values()
        if j.enabled_schedules
    )


def condition_notes(cfg: Config, target: str, system: bool = False) -> list[str]:
    """What ``target`` makes of the jobs' ``on_ac_power``, ``network``, ``stop_on_battery``
    (and, on a cluster, ``keep_awake``): one line per key that some job sets."""
    ways = POWER_WAYS.get(target, {})
    out = []
    for key in ("on_ac_power", "network", "stop_on_battery", "keep_awake"):
        jobs = [j.name for j in cfg.jobs.values() if getattr(j, key) and j.enabled_schedules]
        if not jobs:
            continue
        way = ways.get(f"{key} user" if not system and f"{key} user" in ways else key)
        if way is None and key == "keep_awake":
            continue  # every host target holds the inhibitor in the supervisor: nothing to say
        if way is None:
            way = (
                f"{target} does not check it: osched-start does when the window opens and waits "
                "for it within the window (looking once a minute)"
                if key != "stop_on_battery"
                else "the supervisor looks once a minute and stops the job on battery"
            )
        out.append(f"{key} ({', '.join(jobs)}): {way}")
    if target == "cron" and laptop_keys(cfg):
        out.append(
            "cron runs no firing missed while the machine sleeps: a window that opens in sleep "
            "is missed (systemd's Persistent= timers run it at resume); a running job is still "
            "stopped within a minute of resume"
        )
    return out


def date_notes(cfg: Config) -> list[str]:
    """What a cluster makes of ``skip``, ``holidays`` and one-off windows: no osched
    entrypoint runs there to skip a date, and a CronJob has no year."""
    out = []
    skipped = [
        f"{j.name}/{s.id}"
        for j in cfg.jobs.values()
        for s in j.enabled_schedules
        if (s.skip or s.holidays) and s.on is None
    ]
    if skipped:
        out.append(
            f"skip and holidays on kubernetes ({', '.join(skipped)}): one CronJob per month of the "
            "coming year, naming its days (a cron line cannot leave out a date); install again "
            "within the year (doctor says when)"
        )
    once = [f"{j.name}/{s.id}" for j in cfg.jobs.values() for s in j.enabled_schedules if s.on is not None]
    if once:
        out.append(
            f"a one-off window is a CronJob for its day and month ({', '.join(once)}): a CronJob has "
            "no year, so install again (or uninstall) after the window, before the date comes again"
        )
    return out
