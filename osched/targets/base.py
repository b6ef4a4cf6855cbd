"""What every target shares: the ``Target`` protocol, the output ``File``, the context a target
works in (paths, clock, host zone, settings, command runner), the entrypoints' argv, and
doctor ``Finding``s.

A target owns everything about its scheduler: rendering, its names (units, labels, task
paths), where it installs, the plan of install/uninstall steps, drift, and doctor checks.
Nothing outside a target module knows a unit name or a ``systemctl`` argv.
"""

from __future__ import annotations

import hashlib
import sys
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol
from zoneinfo import ZoneInfo

from .. import safe
from ..osdep import user_name
from ..parse import zone
from ..paths import Settings
from ..runner import Runner, subprocess_runner

if TYPE_CHECKING:
    from collections.abc import Iterator

    from ..model import Config, Job, Schedule
    from ..plan import Plan


@dataclass(slots=True)
class File:
    """One rendered artifact.  Not frozen: ``render --target all`` makes 80,000 of them for
    10,000 schedules, and a frozen dataclass's ``__init__`` (one ``object.__setattr__`` per
    field) costs eight times as much.  Nothing changes a File after its target made it."""

    name: str
    content: str
    mode: int = 0o644
    encoding: str = "utf-8"  # "utf-16" means UTF-16 LE with a BOM
    newline: str = "\n"
    meta: tuple[tuple[str, str], ...] = ()  # what the target's plan needs beside the text (not written)

    def data(self) -> bytes:
        text = self.content if self.newline == "\n" else self.content.replace("\n", self.newline)
        if self.encoding == "utf-16":
            return b"\xff\xfe" + text.encode("utf-16-le")
        return text.encode(self.encoding)


@dataclass(frozen=True)
class Finding:
    """One ``osched doctor`` line."""

    level: str  # ok | warn | FAIL
    message: str
    fix: str = ""

    def line(self) -> str:
        return f"{self.level:<5} {self.message}" + (f"  -> {self.fix}" if self.fix else "")

    def as_dict(self) -> dict[str, str]:
        return {"level": self.level.lower(), "message": self.message, "fix": self.fix}


def default_entrypoint(name: str) -> str:
    """The entrypoint installed beside the running interpreter, as an absolute path.  On
    Windows, where the scripts ``osched-start``/``osched-stop`` cannot run by name, it is the
    interpreter itself, and ``entry_args`` adds ``-m osched.entry start|stop``."""
    if sys.platform == "win32":
        return str(Path(sys.executable).absolute())
    return str(Path(sys.executable).absolute().parent / name)


def entry_args(name: str) -> tuple[str, ...]:
    """What follows ``default_entrypoint(name)`` on the command line: nothing, or on Windows
    the module and its verb."""
    if sys.platform == "win32":
        return ("-m", "osched.entry", name.removeprefix("osched-"))
    return ()


def config_id(config_path: Path) -> str:
    """A short, stable identity of the config file: the marker of osched's artifacts."""
    return hashlib.sha256(str(config_path).encode("utf-8")).hexdigest()[:8]


@dataclass(frozen=True)
class RenderContext:
    """Where and for whom a target renders and installs."""

    config_path: Path  # absolute
    state_dir: Path  # absolute
    now: datetime
    host_zone: str
    system: bool = False
    start_exe: str = field(default_factory=lambda: default_entrypoint("osched-start"))
    stop_exe: str = field(default_factory=lambda: default_entrypoint("osched-stop"))
    start_args: tuple[str, ...] = field(default_factory=lambda: entry_args("osched-start"))
    stop_args: tuple[str, ...] = field(default_factory=lambda: entry_args("osched-stop"))
    user: str = field(default_factory=user_name)  # by the real uid (osdep.user_name)
    # the artifacts name no state dir: a --system install's jobs run as another user, whose
    # entrypoints use that user's own (default) state dir (``as_system``)
    own_state: bool = False
    settings: Settings = field(default_factory=Settings.from_env)
    runner: Runner = subprocess_runner

    def __post_init__(self) -> None:
        """Every value that reaches an artifact is checked once, here (``safe.check``); ids and
        zone names are checked when the config is loaded.  A refusal is a usage error."""
        from ..errors import UsageError

        for p in (self.config_path, self.state_dir):
            if not Path(p).is_absolute():
                raise ValueError(f"{p} must be absolute")
        zone(self.host_zone)
        values = {
            "config path": str(self.config_path),
            "state dir": str(self.state_dir),
            "entrypoint": self.start_exe,
            "stop entrypoint": self.stop_exe,
        }
        try:
            for what, value in values.items():
                safe.check(value, what)
            safe.check_user(self.user)
        except ValueError as e:
            raise UsageError(str(e)) from None

    @cached_property
    def host_tz(self) -> ZoneInfo:
        return zone(self.host_zone)

    @cached_property
    def config_id(self) -> str:
        return config_id(self.config_path)

    def tail(self) -> list[str]:
        return list(self._tail)

    @cached_property
    def _tail(self) -> tuple[str, ...]:
        """The entrypoints' last arguments, built once (every artifact of every schedule has
        them: 80,000 files for 10,000 schedules)."""
        if self.own_state:
            return ("--config", str(self.config_path))
        return ("--config", str(self.config_path), "--state-dir", str(self.state_dir))

    def start_argv(
        self, job: str, schedule: str, foreground: bool = False, random_delay: bool = False
    ) -> list[str]:
        """``--foreground``: supervise in this process (the systemd service's main process).
        ``--random-delay``: the entrypoint delays a start by up to the schedule's
        ``random_delay`` (for schedulers that cannot)."""
        return [
            self.start_exe,
            *self.start_args,
            job,
            "--schedule",
            schedule,
            *self._tail,
            *(["--foreground"] if foreground else []),
            *(["--random-delay"] if random_delay else []),
        ]

    def stop_argv(self, job: str, schedule: str) -> list[str]:
        return [self.stop_exe, *self.stop_args, job, "--schedule", schedule, *self._tail]

    def resume_argv(self, systemd: str | None = None) -> list[str]:
        """``--systemd user|system``: resume by starting the schedules' service units."""
        tail = [*self.tail(), *(["--systemd", systemd] if systemd else [])]
        return [self.start_exe, *self.start_args, "--resume", *tail]


Fired = tuple[datetime, str, str, str]  # a firing simulate replays: (UTC instant, job, schedule, start|stop)


class Target(Protocol):
    """One OS scheduler.  A module in ``osched/targets/`` that defines ``TARGET: Target`` is one
    (mypy checks it against this protocol).  No module outside ``targets/`` names a target:
    what differs between them is a member here."""

    name: ClassVar[str]  # the --target value
    rank: ClassVar[int]  # order in `render --target all` and in listings
    in_all: ClassVar[bool]  # rendered by `render --target all`
    auto_priority: ClassVar[int | None]  # `--target auto` tries targets by this (None: never)
    auto_reason: ClassVar[str]  # why `--target auto` chose it ("a systemd manager answers")
    cost: ClassVar[int]  # relative render cost (splits `render --target all` across two processes)
    host_local: ClassVar[bool]  # fires by the host's clock: the system zone decides its times
    runs_here: ClassVar[bool]  # its jobs run on this machine (False: a cluster runs them)
    # a firing may install it again (``renewal``): False when installing reloads the very job
    # the firing runs in (launchd's bootout ends the agent's processes)
    renews_from_firing: ClassVar[bool]
    simulated: ClassVar[bool]  # `simulate` can read its artifacts back (``firings``)
    # a firing missed while the machine slept runs at resume (systemd Persistent=, Task
    # Scheduler StartWhenAvailable, launchd's coalesced intervals); cron's is lost
    catches_up: ClassVar[bool]

    def detect(self, ctx: RenderContext) -> bool:
        """Is this the scheduler to use on this machine (``--target auto``)?"""

    def render(self, cfg: Config, ctx: RenderContext) -> list[File]:
        """The artifacts, as files; no I/O."""

    def plan(self, files: list[File], ctx: RenderContext, recorded: dict[str, Any], uninstall: bool) -> Plan:
        """The steps that make the OS hold ``files`` (or, ``uninstall``, nothing of ours);
        ``recorded`` is this target's entry of the install manifest ({} if none)."""

    def drift(self, recorded: dict[str, Any], ctx: RenderContext) -> list[str]:
        """What differs between the manifest entry and what the OS holds now."""

    def doctor(self, ctx: RenderContext) -> list[Finding]:
        """Is the scheduler there and running?"""

    def notes(self, cfg: Config, ctx: RenderContext) -> list[str]:
        """What the user should know about how ``cfg`` was rendered (one line each)."""

    def runs_out(self, cfg: Config, entry: dict[str, Any], now: datetime) -> list[str]:
        """Artifacts of the install ``entry`` that stop firing soon by themselves (``doctor``
        warns; a host target's renewal is ``upkeep``'s)."""

    def folders(self, ctx: RenderContext) -> list[Path]:
        """The folders it writes artifact files into: a recorded artifact anywhere else is
        refused (a manifest is never trusted to name what to delete)."""

    def start_now(
        self,
        cfg: Config,
        job: str,
        schedule: str | None,
        until: datetime,
        entry: dict[str, Any],
        ctx: RenderContext,
    ) -> str | None:
        """Start ``job`` now in the scheduler's own unit of work (a systemd service for a
        schedule's window, a Job on a cluster), with ``entry`` its install manifest entry; the
        message, or None when the local runtime starts it (``schedule`` None: a manual start)."""

    def stop_now(self, job: str, entry: dict[str, Any], ctx: RenderContext) -> str | None:
        """Stop ``job``'s runs the scheduler holds outside this machine; the message, or None."""

    def report(self, entry: dict[str, Any], ctx: RenderContext) -> dict[str, Any]:
        """Extra fields for ``status``'s row of this target (what a cluster did)."""

    def firings(
        self,
        cfg: Config,
        ctx: RenderContext,
        files: list[File],
        a: datetime,
        b: datetime,
        engine: str,
        notes: list[str],
    ) -> tuple[list[Fired], str]:
        """When the artifacts ``files`` fire in ``[a, b)``, read back as the scheduler reads
        them, and the engine that computed it (``simulate``)."""


def enabled_pairs(cfg: Config) -> list[tuple[str, str]]:
    """(job, schedule) of every enabled schedule, in the config's order."""
    return [(j.name, s.id) for j in cfg.jobs.values() for s in j.enabled_schedules]


def ahead(cfg: Config, now: datetime) -> Config:
    """``cfg`` without its one-off windows that are over at ``now``: no artifact carries them
    (``doctor`` reports them as finished)."""
    from dataclasses import replace

    from ..windows import one_off_over

    if not any(one_off_over(s, now) for j in cfg.jobs.values() for s in j.schedules):
        return cfg
    jobs = {
        n: replace(j, schedules=tuple(s for s in j.schedules if not one_off_over(s, now)))
        for n, j in cfg.jobs.items()
    }
    return replace(cfg, jobs=jobs)


def each_enabled(cfg: Config, label: str) -> Iterator[tuple[Job, Schedule]]:
    """(job, schedule) of every enabled schedule, in the config's order, as work a listener
    may watch (``progress``: a bar on a terminal)."""
    from .. import progress

    return progress.each([(j, s) for j in cfg.jobs.values() for s in j.enabled_schedules], label)


def per_file_firings(
    cfg: Config,
    files: list[File],
    name: Any,
    fires: Any,
) -> list[Fired]:
    """Firings of targets with one artifact per schedule and kind: ``name(job, schedule,
    kind)`` is its file name, ``fires(text)`` its instants."""
    by_name = {f.name: f.content for f in files}
    return [
        (t, job.name, s.id, kind)
        for job, s in each_enabled(cfg, "firings")
        for kind in ("start", "stop")
        for t in fires(by_name[name(job.name, s.id, kind)])
    ]


class BaseTarget:
    """The defaults of the protocol's optional parts: a target subclasses it and overrides
    what it does differently."""

    auto_reason: ClassVar[str] = "asked for"
    host_local: ClassVar[bool] = False
    runs_here: ClassVar[bool] = True
    renews_from_firing: ClassVar[bool] = True
    simulated: ClassVar[bool] = False
    catches_up: ClassVar[bool] = True

    def notes(self, cfg: Config, ctx: RenderContext) -> list[str]:
        return []

    def runs_out(self, cfg: Config, entry: dict[str, Any], now: datetime) -> list[str]:
        return []

    def folders(self, ctx: RenderContext) -> list[Path]:
        return []

    def start_now(
        self,
        cfg: Config,
        job: str,
        schedule: str | None,
        until: datetime,
        entry: dict[str, Any],
        ctx: RenderContext,
    ) -> str | None:
        return None

    def stop_now(self, job: str, entry: dict[str, Any], ctx: RenderContext) -> str | None:
        return None

    def report(self, entry: dict[str, Any], ctx: RenderContext) -> dict[str, Any]:
        return {}

    def firings(
        self,
        cfg: Config,
        ctx: RenderContext,
        files: list[File],
        a: datetime,
        b: datetime,
        engine: str,
        notes: list[str],
    ) -> tuple[list[Fired], str]:
        raise NotImplementedError(f"simulate cannot read {type(self).__name__}'s artifacts back")


def write_files(files: list[File], directory: Path) -> list[Path]:
    """``render --output``: write every file, then make them durable with one sync.  These are
    copies for the user to read or ship, not state osched relies on, so each is written in
    place (never through a symlink) rather than by rename: 80,000 files at 10,000 schedules."""
    import os

    from ..fsutil import sync_dirs

    directory.mkdir(parents=True, exist_ok=True)
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    written = []
    for f in files:
        path = directory / f.name
        fd = os.open(path, flags, f.mode)
        try:
            os.write(fd, f.data())
        finally:
            os.close(fd)
        written.append(path)
    sync_dirs([directory])
    return written


def tool_finding(tool: str, platform: str) -> list[Finding]:
    """The scheduler's command-line tool is on PATH."""
    import shutil

    if shutil.which(tool) is None:
        return [Finding("FAIL", f"{tool} not found (is this {platform}?)")]
    return [Finding("ok", f"{tool} found")]
