"""cron: crontab lines (the user's crontab) or an ``/etc/cron.d`` file (``--system``).

Cron runs in the host's zone (Debian's cron has no CRON_TZ), so the firings come from
``hostfirings.host_firings``.  Each line ends in a marker comment
``osched:<config id>:<job>.<schedule>:<start|stop>`` (``osched:<config id>:resume`` for the
``@reboot`` catch-up): install and uninstall find osched's lines by it, never by command text.

python-crontab re-renders a whole table (it moves variables to the top, drops quotes,
collapses spaces), so osched edits the table as text by marker (foreign lines, comments,
variables and blank lines are kept byte for byte) and uses python-crontab to validate its
own lines.
"""

from __future__ import annotations

import contextlib
import re
import shutil
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, ClassVar, NamedTuple

from ..fsutil import atomic_write
from ..hostfirings import Firing, host_firings, per_firings
from ..model import Config
from ..plan import Plan, file_diff, files_drift, read_text, restore, sha
from ..runner import ToolError
from ..templating import render as render_template
from .base import (
    BaseTarget,
    File,
    Finding,
    Fired,
    RenderContext,
    Target,
    each_enabled,
    enabled_pairs,
)
from .extras import as_system, condition_notes, limit_notes, wake_notes


class Line(NamedTuple):  # a tuple: the templates unpack it, no attribute lookup a field and line
    when: str
    argv: list[str]
    marker: str
    note: str = ""  # which window and which offset the line serves (a shell comment)


@lru_cache(maxsize=256)
def dow_field(days: frozenset[int]) -> str:
    """Monday=0 weekdays -> cron's day-of-week field (Sunday=0), with ranges."""
    if len(days) == 7:
        return "*"
    cron_days = sorted((d + 1) % 7 for d in days)
    parts: list[str] = []
    run: list[int] = []
    for d in [*cron_days, 99]:
        if run and d == run[-1] + 1:
            run.append(d)
            continue
        if run:
            parts.append(f"{run[0]}-{run[-1]}" if len(run) > 2 else ",".join(map(str, run)))
        run = [d]
    return ",".join(parts)


@per_firings  # once per timing and edge: 10,000 schedules have a few thousand
def whens(firings: tuple[Firing, ...], base: int, zone: str, why: str) -> tuple[tuple[str, str], ...]:
    """Each firing's (schedule, note after the window edge's name).  A weekly firing's
    schedule names its days; a dated one its day and month (and a wildcard hour in the host's
    repeated hour: Debian cron runs only wildcard-hour lines on its second pass).  The note
    says what the line is for, for whoever reads the crontab: the edge's wall time ``base``
    (minutes) in ``zone`` and the host's offset from that zone the line serves, or the DST day
    (``why``) a dated line is for."""
    wall = f" {base // 60 % 24:02d}:{base % 60:02d} {zone}"
    out = []
    for f in firings:
        if f.at is not None:
            when = f"{f.minute} {'*' if f.any_hour else f.hour} {f.day} {f.month} *"
            out.append((when, f" on {f.at:%Y-%m-%d %H:%M} UTC ({why})"))
            continue
        delta = (f.hour * 60 + f.minute - base) % 1440
        if (delta := delta - 1440 if delta > 720 else delta) == 0:
            note = wall
        else:
            way, d = ("ahead of", delta) if delta > 0 else ("behind", -delta)
            note = f"{wall}, while this host's clock is {d // 60}h{d % 60:02d} {way} it"
        out.append((f"{f.minute} {f.hour} * * {dow_field(f.days)}", note))
    return tuple(out)


def marker(ctx: RenderContext, job: str, schedule: str, kind: str) -> str:
    return f"osched:{ctx.config_id}:{job}.{schedule}:{kind}"


def lines(cfg: Config, ctx: RenderContext) -> list[Line]:
    out: list[Line] = []
    for job, s in each_enabled(cfg, "cron lines"):
        starts, stops = host_firings(s, ctx.host_tz, ctx.now)
        why = "a one-off window" if s.on is not None else "a DST day"
        wall = s.hour * 60 + s.minute
        start_argv = ctx.start_argv(job.name, s.id, random_delay=bool(s.random_delay))
        for kind, edge, argv, found, base in (
            ("start", "start", start_argv, starts, wall),
            ("stop", "end", ctx.stop_argv(job.name, s.id), stops, wall + s.duration),
        ):
            m, what = marker(ctx, job.name, s.id, kind), f"{job.name}/{s.id} {edge}"
            out += [Line(w, argv, m, what + note) for w, note in whens(found, base, s.timezone, why)]
    if out:
        out.append(Line("@reboot", ctx.resume_argv(), f"osched:{ctx.config_id}:resume"))
    return out


# -- the user's crontab, edited as text by marker --------------------------------------------------
def _marker_re(cid: str) -> re.Pattern[str]:
    return re.compile(r"#\s*osched:" + re.escape(cid) + r":\S*\s*$")


class CronTable:
    """The user's crontab (or ``$OSCHED_CRONTAB_FILE``)."""

    def __init__(self, ctx: RenderContext) -> None:
        self.ctx = ctx
        self.file = ctx.settings.crontab_file

    @property
    def location(self) -> str:
        return str(self.file) if self.file else f"crontab of {self.ctx.user}"

    def read(self) -> str:
        if self.file:
            return read_text(self.file) or ""
        r = self.ctx.runner(["crontab", "-l"])
        if r.code == 0:
            return r.out
        if "no crontab" in (r.err + r.out).lower():
            return ""
        raise ToolError(f"crontab -l failed (exit {r.code}): {r.last_line()}")

    def lock(self) -> Any:
        """Serialise osched's installs into this crontab: one lock per crontab, wherever the
        state dir is (12 configs with 12 state dirs installing at once all land).  The user's
        crontab: ``~/.cache/osched/crontab.lock``; a crontab file: a lock file beside it."""
        import os

        from ..fsutil import lock_path

        if self.file:
            return lock_path(self.file.with_name(self.file.name + ".osched-lock"))
        folder = Path(os.path.expanduser("~")) / ".cache" / "osched"
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        return lock_path(folder / "crontab.lock")

    def replace_block(self, rows: list[str], tries: int = 3) -> None:
        """Put ``rows`` in place of this config's lines.  Read, merge, and re-read just before
        writing: a change by someone else meanwhile (the user's ``crontab -e``, another
        config's install) is merged again, never overwritten; after ``tries`` it fails."""
        cid = self.ctx.config_id
        with self.lock():
            for _ in range(tries):
                current = self.read()
                new = self.merge(current, rows, cid)
                if new == current:
                    return
                if self.read() == current:
                    if not new.strip() and not self.file:
                        self.remove()  # nothing left: no empty crontab behind
                    else:
                        self.write(new)
                    return
        raise ToolError(
            f"{self.location} kept changing while osched installed into it; nothing was written: try again"
        )

    def remove(self) -> None:
        r = self.ctx.runner(["crontab", "-r"])
        if r.code != 0 and "no crontab" not in (r.err + r.out).lower():
            raise ToolError(f"crontab -r failed (exit {r.code}): {r.last_line()}")

    def write(self, text: str) -> None:
        if self.file:
            atomic_write(self.file, text.encode("utf-8"), mode=0o600)
            return
        # crontab gets a complete file, never a pipe: killed halfway, a pipe would install the
        # lines read so far (the user's own trailing lines lost); a file is whole or not used
        import os
        import tempfile

        fd, tmp = tempfile.mkstemp(prefix="osched-crontab-", suffix=".txt")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(text.encode("utf-8"))
                fh.flush()
                os.fsync(fh.fileno())
            r = self.ctx.runner(["crontab", tmp])
        finally:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        if r.code != 0:
            raise ToolError(f"crontab refused the new table (exit {r.code}): {r.last_line()}")

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


def block(files: list[File], ctx: RenderContext) -> list[str]:
    """The rendered crontab lines (the header first), validated by python-crontab."""
    rows = [ln for f in files for ln in f.content.split("\n") if ln.strip()]
    _validate(rows)
    return rows


def _validate(rows: list[str]) -> None:
    from crontab import CronTab

    tab = CronTab(tab="\n".join(ln for ln in rows if not ln.startswith("#")) + "\n")
    for job in tab:
        if not job.is_valid():
            raise ToolError(f"internal error: python-crontab rejects the rendered line {job.render()!r}")


def daemon_pids(names: tuple[str, ...] = ("cron", "crond")) -> list[int]:
    pids = []
    for d in Path("/proc").iterdir() if Path("/proc").is_dir() else []:
        if not d.name.isdigit():
            continue
        try:
            if (d / "comm").read_text().strip() in names:
                pids.append(int(d.name))
        except OSError:
            continue
    return sorted(pids)


class Cron(BaseTarget):
    name: ClassVar[str] = "cron"
    rank: ClassVar[int] = 10
    in_all: ClassVar[bool] = True
    auto_priority: ClassVar[int | None] = 90  # the fallback on any POSIX host
    auto_reason: ClassVar[str] = "no systemd manager answers"
    catches_up: ClassVar[bool] = False  # a firing missed in sleep is not run at resume
    cost: ClassVar[int] = 2
    host_local: ClassVar[bool] = True  # fires by the host clock (the system zone)
    simulated: ClassVar[bool] = True

    def folders(self, ctx: RenderContext) -> list[Path]:
        return [ctx.settings.cron_d]

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
        """Each line of ours (found by its marker), under Debian cron's rules."""
        from ..scheduler_models import cron_fires

        names = {marker(ctx, j, s, k): (j, s, k) for j, s in enabled_pairs(cfg) for k in ("start", "stop")}
        tail = re.compile(r"#\s*(osched:\S+)\s*$")
        out: list[Fired] = []
        for f in files:  # a line: five time fields, (cron.d: a user), the command, the marker
            for line in f.content.splitlines():
                m = tail.search(line)
                if m is None or line.startswith(("@", "#")) or m.group(1) not in names:
                    continue
                job, sid, kind = names[m.group(1)]
                when = " ".join(line.split()[:5])
                out += [(t, job, sid, kind) for t in cron_fires(when, ctx.host_tz, a, b)]
        return out, "osched"

    def detect(self, ctx: RenderContext) -> bool:
        import sys

        return sys.platform != "win32"

    def notes(self, cfg: Config, ctx: RenderContext) -> list[str]:
        return limit_notes(cfg, "cron") + wake_notes(cfg, "cron") + condition_notes(cfg, "cron")

    def render(self, cfg: Config, ctx: RenderContext) -> list[File]:
        user = None  # --system: an /etc/cron.d file, whose lines name the user they run as
        if ctx.system:
            user, ctx = as_system(cfg, ctx)
        variables = {"lines": lines(cfg, ctx), "config": str(ctx.config_path), "cid": ctx.config_id}
        if ctx.system:
            return [
                File(f"osched-{ctx.config_id}", render_template("cron/cron.d.j2", user=user, **variables))
            ]
        return [File("crontab", render_template("cron/crontab.j2", **variables))]

    def plan(self, files: list[File], ctx: RenderContext, recorded: dict[str, Any], uninstall: bool) -> Plan:
        if ctx.system:
            return self._plan_cron_d(files, ctx, uninstall)
        tab = CronTable(ctx)
        current = tab.read()
        rows = [] if uninstall else block(files, ctx)
        new = CronTable.merge(current, rows, ctx.config_id)
        artifacts = [{"id": ln.rsplit("# ", 1)[-1].strip(), "sha256": sha(ln)} for ln in rows]
        plan = Plan(self.name, location=tab.location, artifacts=artifacts)
        if new != current:
            plan.diffs.append(file_diff(tab.location, current, new))
            command = ["crontab", "-"] if not tab.file else ["write", str(tab.file)]
            before = CronTable.ours(current, ctx.config_id)
            plan.add(lambda: tab.replace_block(rows), lambda: tab.replace_block(before), command)
            plan.summary.append(
                f"{tab.location}: {len(rows)} osched lines"
                if rows
                else f"{tab.location}: osched lines removed"
            )
        return plan

    def _plan_cron_d(self, files: list[File], ctx: RenderContext, uninstall: bool) -> Plan:
        path = ctx.settings.cron_d / f"osched-{ctx.config_id}"
        current = read_text(path)
        plan = Plan(self.name, location=str(path))
        new = None if uninstall or not files else files[0].content
        if new is not None:
            plan.artifacts.append({"id": path.name, "path": str(path), "sha256": sha(new)})
        if new == current:
            return plan
        plan.diffs.append(file_diff(str(path), current, new))
        if new is None:
            plan.add(lambda: path.unlink(missing_ok=True), restore(path, current))
            plan.summary.append(f"{path}: removed")
        else:
            plan.add(lambda: _write(path, new.encode("utf-8")), restore(path, current))
            plan.summary.append(f"{path}: written")
        return plan

    def drift(self, recorded: dict[str, Any], ctx: RenderContext) -> list[str]:
        arts = recorded.get("artifacts", [])
        if recorded.get("system"):
            return files_drift(arts)
        have = [sha(ln) for ln in CronTable.ours(CronTable(ctx).read(), ctx.config_id)]
        want = [a["sha256"] for a in arts]
        missing = [a["id"] for a in arts if a["sha256"] not in have]
        extra = len([h for h in have if h not in want])
        found = []
        if missing:
            found.append(f"{len(missing)} crontab line(s) missing or edited (e.g. {missing[0]})")
        if extra:
            found.append(f"{extra} crontab line(s) with this config's marker that osched did not write")
        return found

    def doctor(self, ctx: RenderContext) -> list[Finding]:
        out = []
        if shutil.which("crontab") is None and not ctx.settings.crontab_file:
            out.append(Finding("FAIL", "crontab command not found", "install cron (apt-get install cron)"))
        pids = daemon_pids()
        if pids:
            out.append(Finding("ok", f"cron daemon is running (pid {pids[0]})"))
        else:
            out.append(
                Finding(
                    "FAIL",
                    "no cron daemon is running",
                    "start it: systemctl start cron (or: service cron start)",
                )
            )
        return out


TARGET: Target = Cron()


def _write(path: Path, data: bytes) -> None:
    atomic_write(path, data, mode=0o644)
