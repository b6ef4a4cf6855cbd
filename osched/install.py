"""Install and uninstall rendered artifacts into the OS scheduler, with a manifest.

One backend per target.  Each turns "what should be there" (the rendered files) and "what
the manifest says we put there" into a ``Plan``: the change as a unified diff, the commands it
would run, and an ``apply`` that performs it and rolls back what it wrote when a step fails.

* cron: osched's lines are found by their marker comment (``# osched:<config id>:...``);
  foreign lines, comments, variables and blank lines are kept byte for byte.  python-crontab
  re-renders a whole table (it moves variables to the top, drops quotes, collapses spaces), so
  osched edits the table as text and uses python-crontab to validate its own lines.
* systemd: unit files in the user (or system) unit dir; ``daemon-reload``; ``enable --now``
  of the timers; units of the same config that are no longer wanted are disabled and removed.
* taskscheduler: ``schtasks /Create /TN \\osched\\NAME /XML FILE /F`` and ``/Delete``.
* launchd: plists in LaunchAgents (LaunchDaemons), ``launchctl bootstrap`` / ``bootout``.

The manifest (``<state>/install/<config id>.toml``) records, per target, each artifact and
the sha256 of its content, and the config's own hash: uninstall removes exactly that, even
after the TOML changed, and ``status``/``doctor`` report drift.
"""

from __future__ import annotations

import contextlib
import difflib
import hashlib
import os
import re
import shutil
import sys
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .errors import OschedError, UsageError
from .fsutil import atomic_write
from .targets.base import File, RenderContext

CRONTAB_FILE_ENV = "OSCHED_CRONTAB_FILE"  # a file instead of `crontab -l` / `crontab -`
CRON_D_ENV = "OSCHED_CRON_D"  # instead of /etc/cron.d
SYSTEMD_DIR_ENV = "OSCHED_SYSTEMD_DIR"  # instead of the user/system unit dir
LAUNCHD_DIR_ENV = "OSCHED_LAUNCHD_DIR"  # instead of ~/Library/LaunchAgents or /Library/LaunchDaemons
TARGETS = ("cron", "systemd", "taskscheduler", "launchd")


class InstallError(OschedError):
    """A scheduler tool refused a step; what this run wrote has been rolled back."""


@dataclass
class Result:
    code: int
    out: str
    err: str


def _subprocess_run(argv: list[str], input: str | None = None) -> Result:
    import subprocess

    try:
        r = subprocess.run(argv, input=input, capture_output=True, text=True, check=False, timeout=120)
    except FileNotFoundError:
        return Result(127, "", f"{argv[0]}: command not found")
    return Result(r.returncode, r.stdout, r.stderr)


RUN: Callable[..., Result] = _subprocess_run  # tests replace this for schtasks/launchctl


def run(argv: list[str], input: str | None = None) -> Result:
    return RUN(argv, input=input)


def must(argv: list[str], input: str | None = None) -> Result:
    r = run(argv, input=input)
    if r.code != 0:
        raise InstallError(f"{' '.join(argv)} failed (exit {r.code}): {_last_line(r)}")
    return r


def _last_line(r: Result) -> str:
    lines = [ln.strip() for ln in (r.err + "\n" + r.out).splitlines() if ln.strip()]
    return lines[-1] if lines else "no message"


def sha(data: str | bytes) -> str:
    return hashlib.sha256(data.encode("utf-8") if isinstance(data, str) else data).hexdigest()


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


# -- the manifest ------------------------------------------------------------------------------------
def manifest_path(state_dir: Path, config_id: str) -> Path:
    return state_dir / "install" / f"{config_id}.toml"


def read_manifest(state_dir: Path, config_id: str) -> dict[str, Any]:
    path = manifest_path(state_dir, config_id)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {"targets": {}}
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise OschedError(
            f"{path}: install manifest is unreadable ({e}); move it aside to reinstall"
        ) from None
    data.setdefault("targets", {})
    return data


def write_manifest(state_dir: Path, config_id: str, data: dict[str, Any]) -> None:
    import tomli_w

    path = manifest_path(state_dir, config_id)
    if not data.get("targets"):
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        return
    atomic_write(path, tomli_w.dumps(data).encode("utf-8"), mode=0o600)


# -- plans ---------------------------------------------------------------------------------------------
@dataclass
class Plan:
    target: str
    diff: str = ""
    commands: list[list[str]] = field(default_factory=list)
    summary: list[str] = field(default_factory=list)
    artifacts: list[dict[str, Any]] = field(default_factory=list)  # for the manifest
    location: str = ""
    steps: list[Callable[[], None]] = field(default_factory=list)
    undo: list[Callable[[], None]] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.steps

    def apply(self) -> None:
        """Run the steps; on failure run the undo actions of what was done, newest first."""
        done: list[Callable[[], None]] = []
        try:
            for i, step in enumerate(self.steps):
                step()
                done.append(self.undo[i])
        except BaseException:
            for u in reversed(done):
                with contextlib.suppress(Exception):
                    u()
            raise


def _noop() -> None:
    pass


def file_diff(name: str, old: str | None, new: str | None) -> str:
    a = (old or "").splitlines(keepends=True)
    b = (new or "").splitlines(keepends=True)
    return "".join(
        difflib.unified_diff(
            a,
            b,
            fromfile=name if old is not None else "/dev/null",
            tofile=name if new is not None else "/dev/null",
        )
    )


def _read_text(path: Path, encoding: str = "utf-8") -> str | None:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    if encoding == "utf-16":
        return data.decode("utf-16")
    return data.decode(encoding, errors="replace")


# -- cron ------------------------------------------------------------------------------------------------
def _marker_re(cid: str) -> re.Pattern[str]:
    return re.compile(r"#\s*osched:" + re.escape(cid) + r":\S*\s*$")


class CronUser:
    """The user's crontab, edited as text by marker."""

    def __init__(self, ctx: RenderContext) -> None:
        self.ctx = ctx
        self.file = os.environ.get(CRONTAB_FILE_ENV)

    @property
    def location(self) -> str:
        return self.file or f"crontab of {self.ctx.user}"

    def read(self) -> str:
        if self.file:
            return _read_text(Path(self.file)) or ""
        r = run(["crontab", "-l"])
        if r.code == 0:
            return r.out
        if "no crontab" in (r.err + r.out).lower():
            return ""
        raise InstallError(f"crontab -l failed (exit {r.code}): {_last_line(r)}")

    def write(self, text: str) -> None:
        if self.file:
            atomic_write(Path(self.file), text.encode("utf-8"), mode=0o600)
            return
        r = run(["crontab", "-"], input=text)
        if r.code != 0:
            raise InstallError(f"crontab refused the new table (exit {r.code}): {_last_line(r)}")

    @staticmethod
    def merge(current: str, block: list[str], cid: str) -> str:
        """``current`` without this config's lines, with ``block`` where they were (or at
        the end).  Every other line is kept as it was, byte for byte."""
        ours = _marker_re(cid)
        keep: list[str] = []
        at: int | None = None
        for line in current.splitlines(keepends=True):
            if ours.search(line.rstrip("\r\n")):
                if at is None:
                    at = len(keep)
                continue
            keep.append(line)
        if at is None:
            at = len(keep)
            if keep and not keep[-1].endswith("\n"):
                keep[-1] += "\n"
        return "".join(keep[:at] + [ln + "\n" for ln in block] + keep[at:])

    @staticmethod
    def ours(text: str, cid: str) -> list[str]:
        pat = _marker_re(cid)
        return [ln.rstrip("\r\n") for ln in text.splitlines() if pat.search(ln.rstrip("\r\n"))]


def cron_block(files: list[File], ctx: RenderContext) -> list[str]:
    lines = [ln for f in files for ln in f.content.splitlines() if ln.strip() and not ln.startswith("#")]
    if lines:
        header = (
            f"# osched: the lines ending in 'osched:{ctx.config_id}:...' are managed by osched for "
            f"{ctx.config_path} (edit the TOML, then osched install) # osched:{ctx.config_id}:header"
        )
        lines.insert(0, header.replace("\n", " "))
    _validate_cron(lines)
    return lines


def _validate_cron(lines: list[str]) -> None:
    from crontab import CronTab

    tab = CronTab(tab="\n".join(ln for ln in lines if not ln.startswith("#")) + "\n")
    for job in tab:
        if not job.is_valid():
            raise InstallError(f"internal error: python-crontab rejects the rendered line {job.render()!r}")


def _line_artifacts(lines: list[str]) -> list[dict[str, Any]]:
    return [{"id": ln.rsplit("# ", 1)[-1].strip(), "sha256": sha(ln)} for ln in lines]


def plan_cron(files: list[File], ctx: RenderContext, uninstall: bool = False) -> Plan:
    if ctx.system:
        return _plan_cron_d(files, ctx, uninstall)
    tab = CronUser(ctx)
    current = tab.read()
    block = [] if uninstall else cron_block(files, ctx)
    new = CronUser.merge(current, block, ctx.config_id)
    plan = Plan("cron", location=tab.location, artifacts=_line_artifacts(block))
    if new != current:
        plan.diff = file_diff(tab.location, current, new)
        plan.commands.append(["crontab", "-"] if not tab.file else ["write", tab.file])
        plan.steps.append(lambda: tab.write(new))
        plan.undo.append(lambda: tab.write(current))
        plan.summary.append(
            f"{tab.location}: {len(block)} osched lines" if block else f"{tab.location}: osched lines removed"
        )
    return plan


def cron_d_dir() -> Path:
    return Path(os.environ.get(CRON_D_ENV) or "/etc/cron.d")


def _plan_cron_d(files: list[File], ctx: RenderContext, uninstall: bool) -> Plan:
    directory = cron_d_dir()
    path = directory / f"osched-{ctx.config_id}"
    current = _read_text(path)
    plan = Plan("cron", location=str(path))
    new = None if uninstall or not files else files[0].content
    if new is not None:
        plan.artifacts.append({"id": path.name, "path": str(path), "sha256": sha(new)})
    if new == current:
        return plan
    plan.diff = file_diff(str(path), current, new)
    if new is None:
        plan.steps.append(lambda: path.unlink(missing_ok=True))
        plan.summary.append(f"{path}: removed")
    else:
        plan.steps.append(lambda: atomic_write(path, new.encode("utf-8"), mode=0o644))
        plan.summary.append(f"{path}: written")
    plan.undo.append(_restore(path, current))
    return plan


def _step(argv: list[str]) -> Callable[[], None]:
    def step() -> None:
        must(argv)

    return step


def _writer(path: Path, data: bytes, mode: int) -> Callable[[], None]:
    def write() -> None:
        atomic_write(path, data, mode=mode)

    return write


def _restore(path: Path, old: str | bytes | None) -> Callable[[], None]:
    def undo() -> None:
        if old is None:
            path.unlink(missing_ok=True)
        else:
            atomic_write(path, old.encode("utf-8") if isinstance(old, str) else old)

    return undo


# -- systemd -------------------------------------------------------------------------------------------
def systemd_dir(system: bool) -> Path:
    raw = os.environ.get(SYSTEMD_DIR_ENV)
    if raw:
        return Path(raw)
    if system:
        return Path("/etc/systemd/system")
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "systemd" / "user"


def systemctl(system: bool) -> list[str]:
    return ["systemctl"] if system else ["systemctl", "--user"]


def plan_systemd(
    files: list[File], ctx: RenderContext, manifest: dict[str, Any], uninstall: bool = False
) -> Plan:
    directory = systemd_dir(ctx.system)
    sc = systemctl(ctx.system)
    plan = Plan("systemd", location=str(directory))
    desired = {} if uninstall else {f.name: f.content for f in files}
    before = {a["id"] for a in manifest.get("artifacts", [])}
    gone = sorted(before - set(desired))
    changed = []
    for name, content in sorted(desired.items()):
        path = directory / name
        old = _read_text(path)
        plan.artifacts.append({"id": name, "path": str(path), "sha256": sha(content)})
        if old != content:
            changed.append(name)
            plan.diff += file_diff(str(path), old, content)
            plan.steps.append(_writer(path, content.encode("utf-8"), 0o644))
            plan.undo.append(_restore(path, old))
    gone_timers = [n for n in gone if n.endswith(".timer")]
    if gone_timers:
        cmd = [*sc, "disable", "--now", *gone_timers]
        plan.commands.append(cmd)
        plan.steps.append(_quiet(cmd))
        plan.undo.append(_noop)
    gone_enabled = [n for n in gone if n.startswith("osched-resume-")]  # enabled, not started
    if gone_enabled:
        cmd = [*sc, "disable", *gone_enabled]
        plan.commands.append(cmd)
        plan.steps.append(_quiet(cmd))
        plan.undo.append(_noop)
    for name in gone:
        path = directory / name
        old = _read_text(path)
        if old is None:
            continue
        plan.diff += file_diff(str(path), old, None)
        plan.steps.append(_restore(path, None))
        plan.undo.append(_restore(path, old))
    if not plan.steps:
        return plan
    reload_cmd = [*sc, "daemon-reload"]
    plan.commands.append(reload_cmd)
    plan.steps.append(_step(reload_cmd))
    plan.undo.append(_quiet(reload_cmd))
    timers = sorted(n for n in desired if n.endswith(".timer"))
    resume = sorted(n for n in desired if n.startswith("osched-resume-"))
    if timers:
        # restart changed timers so a new OnCalendar= takes effect at once
        cmd = [*sc, "enable", "--now", *timers]
        plan.commands.append(cmd)
        plan.steps.append(_step(cmd))
        plan.undo.append(
            _quiet([*sc, "disable", "--now", *[t for t in timers if t not in before]])
        )
        restart = [t for t in timers if t in changed and t in before]
        if restart:
            rcmd = [*sc, "restart", *restart]
            plan.commands.append(rcmd)
            plan.steps.append(_step(rcmd))
            plan.undo.append(_noop)
    if resume:
        cmd = [*sc, "enable", *resume]
        plan.commands.append(cmd)
        plan.steps.append(_step(cmd))
        plan.undo.append(_quiet([*sc, "disable", *resume]))
    n_new = len([n for n in changed if n not in before])
    plan.summary.append(
        f"{directory}: {n_new} units added, {len(changed) - n_new} changed, {len(gone)} removed"
    )
    return plan


def _quiet(argv: list[str]) -> Callable[[], None]:
    """A step that runs ``argv`` and ignores its failure (undo actions, disabling)."""

    def step() -> None:
        run(argv)

    return step


# -- taskscheduler ----------------------------------------------------------------------------------------
def plan_taskscheduler(
    files: list[File], ctx: RenderContext, manifest: dict[str, Any], uninstall: bool = False
) -> Plan:
    directory = ctx.state_dir / "taskscheduler"
    plan = Plan("taskscheduler", location="Task Scheduler folder \\osched\\")
    desired = {} if uninstall else {f.name[: -len(".xml")]: f for f in files}
    before = {a["id"]: a for a in manifest.get("artifacts", [])}
    for name, f in sorted(desired.items()):
        data = f.data()
        path = directory / f.name
        plan.artifacts.append({"id": name, "path": str(path), "sha256": sha(data)})
        old = path.read_bytes() if path.exists() else None
        if name in before and before[name]["sha256"] == sha(data) and old == data:
            continue
        task = f"\\osched\\{name}"
        plan.diff += file_diff(f"{task} ({path})", old.decode("utf-16") if old else None, f.content)
        cmd = ["schtasks", "/Create", "/TN", task, "/XML", str(path), "/F"]
        plan.commands.append(cmd)

        def step(p: Path = path, d: bytes = data, c: list[str] = cmd) -> None:
            atomic_write(p, d, mode=0o600)
            must(c)

        plan.steps.append(step)
        plan.undo.append(_undo_task(task, path, old))
    for name in sorted(set(before) - set(desired)):
        task = f"\\osched\\{name}"
        path = Path(before[name].get("path", directory / f"{name}.xml"))
        cmd = ["schtasks", "/Delete", "/TN", task, "/F"]
        plan.commands.append(cmd)
        old = path.read_bytes() if path.exists() else None
        plan.diff += file_diff(task, old.decode("utf-16") if old else "(task)\n", None)

        def delete(c: list[str] = cmd, p: Path = path) -> None:
            must(c)
            p.unlink(missing_ok=True)

        plan.steps.append(delete)
        plan.undo.append(_undo_task_delete(task, path, old))
    if plan.steps:
        plan.summary.append(f"{len(plan.steps)} tasks created, changed or deleted in \\osched\\")
    return plan


def _undo_task(task: str, path: Path, old: bytes | None) -> Callable[[], None]:
    def undo() -> None:
        if old is None:
            run(["schtasks", "/Delete", "/TN", task, "/F"])
            path.unlink(missing_ok=True)
        else:
            atomic_write(path, old, mode=0o600)
            run(["schtasks", "/Create", "/TN", task, "/XML", str(path), "/F"])

    return undo


def _undo_task_delete(task: str, path: Path, old: bytes | None) -> Callable[[], None]:
    def undo() -> None:
        if old is not None:
            atomic_write(path, old, mode=0o600)
            run(["schtasks", "/Create", "/TN", task, "/XML", str(path), "/F"])

    return undo


# -- launchd -------------------------------------------------------------------------------------------
def launchd_dir(system: bool) -> Path:
    raw = os.environ.get(LAUNCHD_DIR_ENV)
    if raw:
        return Path(raw)
    return Path("/Library/LaunchDaemons") if system else Path(os.path.expanduser("~/Library/LaunchAgents"))


def launchd_domain(system: bool) -> str:
    return "system" if system else f"gui/{os.getuid() if hasattr(os, 'getuid') else 0}"


def plan_launchd(
    files: list[File], ctx: RenderContext, manifest: dict[str, Any], uninstall: bool = False
) -> Plan:
    directory = launchd_dir(ctx.system)
    domain = launchd_domain(ctx.system)
    plan = Plan("launchd", location=f"{directory} ({domain})")
    desired = {} if uninstall else {f.name: f.content for f in files}
    before = {a["id"] for a in manifest.get("artifacts", [])}
    for name, content in sorted(desired.items()):
        path = directory / name
        label = name[: -len(".plist")]
        old = _read_text(path)
        plan.artifacts.append({"id": name, "path": str(path), "sha256": sha(content)})
        if old == content:
            continue
        plan.diff += file_diff(str(path), old, content)
        boot_out = ["launchctl", "bootout", f"{domain}/{label}"]
        boot_in = ["launchctl", "bootstrap", domain, str(path)]
        plan.commands += [boot_out, boot_in] if old is not None else [boot_in]

        def step(
            p: Path = path,
            c: str = content,
            o: str | None = old,
            bo: list[str] = boot_out,
            bi: list[str] = boot_in,
        ) -> None:
            if o is not None:
                run(bo)
            atomic_write(p, c.encode("utf-8"), mode=0o644)
            must(bi)

        def undo(
            p: Path = path, o: str | None = old, bo: list[str] = boot_out, bi: list[str] = boot_in
        ) -> None:
            run(bo)
            _restore(p, o)()
            if o is not None:
                run(bi)

        plan.steps.append(step)
        plan.undo.append(undo)
    for name in sorted(before - set(desired)):
        path = directory / name
        label = name[: -len(".plist")]
        old = _read_text(path)
        cmd = ["launchctl", "bootout", f"{domain}/{label}"]
        plan.commands.append(cmd)
        plan.diff += file_diff(str(path), old or "", None)

        def remove(p: Path = path, c: list[str] = cmd) -> None:
            run(c)  # not loaded is fine
            p.unlink(missing_ok=True)

        def unremove(p: Path = path, o: str | None = old) -> None:
            if o is not None:
                _restore(p, o)()
                run(["launchctl", "bootstrap", domain, str(p)])

        plan.steps.append(remove)
        plan.undo.append(unremove)
    if plan.steps:
        plan.summary.append(f"{directory}: {len(plan.steps)} agents loaded, changed or removed")
    return plan


# -- choosing a target ----------------------------------------------------------------------------------
def auto_target(system: bool) -> str:
    if sys.platform == "darwin":
        return "launchd"
    if sys.platform == "win32":
        return "taskscheduler"
    if systemd_reachable(system):
        return "systemd"
    return "cron"


def systemd_reachable(system: bool) -> bool:
    if shutil.which("systemctl") is None:
        return False
    r = run([*systemctl(system), "is-system-running"])
    return r.out.strip() in ("running", "degraded", "starting", "initializing", "maintenance")


# -- install / uninstall ---------------------------------------------------------------------------------
@dataclass
class Outcome:
    target: str
    plan: Plan
    applied: bool


def _plan(target: str, files: list[File], ctx: RenderContext, entry: dict[str, Any], uninstall: bool) -> Plan:
    if target == "cron":
        return plan_cron(files, ctx, uninstall)
    if target == "systemd":
        return plan_systemd(files, ctx, entry, uninstall)
    if target == "taskscheduler":
        return plan_taskscheduler(files, ctx, entry, uninstall)
    if target == "launchd":
        return plan_launchd(files, ctx, entry, uninstall)
    raise UsageError(f"unknown target {target!r}")


def install(cfg: Any, ctx: RenderContext, target: str, dry_run: bool = False) -> Outcome:
    from . import targets

    files = targets.render(target, cfg, ctx)
    manifest = read_manifest(ctx.state_dir, ctx.config_id)
    entry = manifest["targets"].get(target, {})
    if entry and bool(entry.get("system")) != ctx.system:
        where = "system-wide" if entry.get("system") else "per user"
        raise UsageError(f"{target} is installed {where} for this config: uninstall it first")
    plan = _plan(target, files, ctx, entry, uninstall=False)
    if dry_run:
        return Outcome(target, plan, False)
    config_hash = sha(cfg.path.read_bytes())
    record = {
        "installed_at": now_iso(),
        "config": str(cfg.path),
        "config_sha256": config_hash,
        "system": ctx.system,
        "host_timezone": ctx.host_zone,
        "location": plan.location,
        "artifacts": plan.artifacts,
    }
    if (
        plan.empty
        and entry
        and entry.get("artifacts") == plan.artifacts
        and entry.get("config_sha256") == config_hash
    ):
        return Outcome(target, plan, False)  # nothing changed: nothing written, not even the manifest
    plan.apply()
    if not plan.artifacts:
        manifest["targets"].pop(target, None)
    else:
        manifest["targets"][target] = record
    manifest["version"] = 1
    manifest["config"] = str(cfg.path)
    try:
        write_manifest(ctx.state_dir, ctx.config_id, manifest)
    except OSError:
        for u in reversed(plan.undo):
            with contextlib.suppress(Exception):
                u()
        raise
    return Outcome(target, plan, True)


def uninstall(ctx: RenderContext, target: str, dry_run: bool = False) -> Outcome:
    manifest = read_manifest(ctx.state_dir, ctx.config_id)
    entry = manifest["targets"].get(target, {})
    if entry:
        ctx = _ctx_like(ctx, system=bool(entry.get("system")))
    plan = _plan(target, [], ctx, entry, uninstall=True)
    if dry_run:
        return Outcome(target, plan, False)
    plan.apply()
    if target in manifest["targets"]:
        manifest["targets"].pop(target)
        write_manifest(ctx.state_dir, ctx.config_id, manifest)
    return Outcome(target, plan, not plan.empty)


def _ctx_like(ctx: RenderContext, **kw: Any) -> RenderContext:
    from dataclasses import replace

    return replace(ctx, **kw)


def installed_targets(state_dir: Path, config_id: str) -> dict[str, dict[str, Any]]:
    try:
        return dict(read_manifest(state_dir, config_id)["targets"])
    except OschedError:
        return {}


# -- drift ----------------------------------------------------------------------------------------------
def drift(target: str, entry: dict[str, Any], ctx: RenderContext, config_path: Path) -> list[str]:
    """What differs between the manifest and the OS (and the config since install)."""
    found: list[str] = []
    try:
        if sha(config_path.read_bytes()) != entry.get("config_sha256"):
            found.append("the config changed since install (run osched install)")
    except OSError:
        found.append(f"the config {config_path} is missing")
    arts = entry.get("artifacts", [])
    if target == "cron" and not entry.get("system"):
        try:
            current = CronUser(ctx).read()
        except OschedError as e:
            return [*found, str(e)]
        have = [sha(ln) for ln in CronUser.ours(current, ctx.config_id)]
        want = [a["sha256"] for a in arts]
        missing = [a["id"] for a in arts if a["sha256"] not in have]
        extra = len([h for h in have if h not in want])
        if missing:
            found.append(f"{len(missing)} crontab line(s) missing or edited (e.g. {missing[0]})")
        if extra:
            found.append(f"{extra} crontab line(s) with this config's marker that osched did not write")
        return found
    for a in arts:
        path = Path(a.get("path", ""))
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            found.append(f"{path} is missing")
            continue
        except OSError as e:
            found.append(f"{path}: {e.strerror}")
            continue
        if sha(data) != a["sha256"] and sha(data.decode("utf-8", "replace")) != a["sha256"]:
            found.append(f"{path} was edited")
    return found
