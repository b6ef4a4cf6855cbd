"""The changes a user makes, each once: jobs, schedules, skip dates, one-off windows, overrides,
manual start and stop.  An edit validates the whole new config and saves it
(``Installing.edit``), re-syncs an installed config and starts a job whose window it made
live; every change tells the user what happened (``tell``: one line at a time, times in the
command's display zone).  ``osched.api`` calls these; the CLI calls
``osched.api``.

``label`` names an argument in an error or a note the way the caller's user typed it (the
API: ``command``, ``on_failure``; the CLI: ``COMMAND``, ``--on-failure``)."""

from __future__ import annotations

import shlex
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from ..model import Config, Job, Schedule
from .control import Control
from .installing import Installing
from .reading import Reading

Tell = Callable[[str], None]
Label = Callable[[str], str]
HOOKS = ("on_failure", "on_start", "on_success")


def _plain(key: str) -> str:
    return key


class Editing(Control, Installing, Reading):
    def _resolved(self, fields: dict[str, Any], label: Label, notes: list[str]) -> dict[str, Any]:
        """``fields`` with each hook's program made absolute on this PATH (a timer's is bare)."""
        from ..resolve import resolve

        out = dict(fields)
        for hook in HOOKS:
            if isinstance(out.get(hook), (list, tuple)):
                out[hook], note = resolve(list(out[hook]), label(hook))
                notes.append(note)
        return out

    def job_add(
        self, name: str, command: list[str], fields: dict[str, Any], tell: Tell, label: Label = _plain
    ) -> Job:
        from ..resolve import resolve

        notes: list[str] = []

        def add(e: Any) -> list[str]:
            e.check_new_job(name)  # a broken config or a taken name is said first
            argv, note = resolve(list(command), label("command"))
            notes.append(note)
            e.add_job(name, argv, **self._resolved(fields, label, notes))
            return argv

        cfg, argv = self.edit(add, job=name)
        tell(f"Added job {name!r}: {shlex.join(argv)}")
        self._after_edit(tell, notes)
        return self.job(cfg, name)

    def job_set(self, name: str, fields: dict[str, Any], tell: Tell, label: Label = _plain) -> Job:
        from ..resolve import resolve

        notes: list[str] = []
        fields = self._resolved(fields, label, notes)
        if "command" in fields:
            fields["command"], note = resolve(list(fields["command"]), label("command"))
            notes.append(note)
        cfg, _ = self.edit(lambda e: e.set_job(name, **fields), job=name)
        tell(f"Updated job {name!r}.")
        self._after_edit(tell, notes)
        return self.job(cfg, name)

    def job_remove(self, name: str, tell: Tell) -> None:
        self.remove_job(name)
        tell(f"Removed job {name!r}.")
        self._after_edit(tell, [])

    def schedule_add(
        self, job: str, fields: dict[str, Any], tell: Tell, start_now: bool
    ) -> tuple[Schedule, str | None]:
        cfg, sid = self.edit(lambda e: e.add_schedule(job, fields), job=job)
        return self._schedule_changed(cfg, job, sid, "Added", tell, start_now)

    def schedule_set(
        self, job: str, sid: str, fields: dict[str, Any], tell: Tell, start_now: bool, verb: str = "Updated"
    ) -> tuple[Schedule, str | None]:
        cfg, _ = self.edit(lambda e: e.set_schedule(job, sid, fields), job=job)
        return self._schedule_changed(cfg, job, fields.get("id", sid), verb, tell, start_now)

    def schedule_remove(self, job: str, sid: str, tell: Tell) -> None:
        self.edit(lambda e: e.remove_schedule(job, sid), job=job)
        tell(f"Removed schedule {job}/{sid}.")
        self._after_edit(tell, [])

    # -- what an edit says ------------------------------------------------------------------------
    def _after_edit(self, tell: Tell, notes: list[str]) -> None:
        for line in self.resync():
            tell(line)
        for note in dict.fromkeys(notes):
            if note:
                tell(f"Note: {note}")

    def _schedule_changed(
        self, cfg: Config, job: str, sid: str, verb: str, tell: Tell, start_now: bool
    ) -> tuple[Schedule, str | None]:
        """Say where the schedule stands, re-sync, and start the job if its window is open."""
        from .. import views
        from ..parse import zone_note
        from ..windows import current_window, next_window

        s = self.job(cfg, job).schedule(sid)
        if s is None:
            from ..errors import UsageError

            raise UsageError(f"job {job!r} has no schedule with id {sid!r}")
        tell(f"{verb} schedule {job}/{views.describe_schedule(s)}")
        if s.enabled:
            w = current_window(s, self.now)
            if w is not None:
                tell(f"Its window is open now, until {views.human(w.end, self.view_tz)}.")
            elif (nxt := next_window(s, self.now)) is not None:
                tell(f"Next window: {views.human(nxt.start, self.view_tz)}.")
            else:
                tell("No window ahead (a one-off window that is over).")
            for note in self._overlaps(cfg, job, s):
                tell(f"Note: {note}")
        note = zone_note(s.timezone)
        if note:
            tell(f"Note: {note}")
        return s, self._synced_and_started(cfg, job, sid, tell, start_now)

    def _synced_and_started(self, cfg: Config, job: str, sid: str, tell: Tell, start_now: bool) -> str | None:
        """After an edit of a schedule or window: re-sync, then start the job if that window
        is open now (what was started)."""
        self._after_edit(tell, [])
        started = self.live_start(cfg, job, sid) if start_now else None
        if started:
            tell(self.humanize(started))
        return started

    def _overlaps(self, cfg: Config, job: str, s: Schedule) -> list[str]:
        """Other enabled schedules of the job whose windows overlap this one's in 2 weeks."""
        from .. import views
        from ..windows import windows_between

        end = self.now + timedelta(days=14)
        mine = windows_between(s, self.now, end)
        notes = []
        for other in self.job(cfg, job).enabled_schedules:
            if other.id == s.id:
                continue
            hit = next(
                (
                    w
                    for w in windows_between(other, self.now, end)
                    for m in mine
                    if w.start < m.end and m.start < w.end
                ),
                None,
            )
            if hit is not None:
                when = views.human(hit.start, self.view_tz)
                notes.append(
                    f"its windows overlap those of {job}/{other.id} (e.g. {when}); "
                    "the job runs once, until the later end"
                )
        return notes

    # -- dates: skip lists and one-off windows ------------------------------------------------------
    def skip_dates(
        self, job: str, sid: str | None, items: tuple[str, ...], remove: bool, tell: Tell
    ) -> tuple[list[str], tuple[str, ...]]:
        """Add ``items`` to (or remove them from) the skip list of the job, or of its schedule
        ``sid``: (the items added or removed, the list after)."""
        from .. import dateedit

        where = f"{job}{'/' + sid if sid else ''}"
        if remove:
            cfg, _ = self.edit(lambda e: dateedit.remove_skip(e, job, sid, items), job=job)
            changed = list(items)
            tell(f"Removed from the skip list of {where}: {', '.join(items)}.")
        else:
            cfg, changed = self.edit(lambda e: dateedit.add_skip(e, job, sid, items), job=job)
            tell(f"Skipped for {where}: {', '.join(changed) if changed else 'nothing new'}.")
        self._after_edit(tell, [])
        found = self.job(cfg, job)
        table = found.schedule(sid) if sid else None
        return changed, tuple((table or found).skip_items)

    def window_add(
        self, job: str, fields: dict[str, Any], tell: Tell, start_now: bool
    ) -> tuple[Schedule, str | None]:
        from .. import dateedit, views

        cfg, wid = self.edit(lambda e: dateedit.add_window(e, job, fields), job=job)
        s = self.job(cfg, job).schedule(wid)
        assert s is not None
        tell(f"Added window {job}/{views.describe_schedule(s)}")
        return s, self._synced_and_started(cfg, job, wid, tell, start_now)

    def window_remove(self, job: str, wid: str, tell: Tell) -> None:
        from .. import dateedit

        self.edit(lambda e: dateedit.remove_window(e, job, wid), job=job)
        tell(f"Removed window {job}/{wid}.")
        self._after_edit(tell, [])

    # -- by hand -------------------------------------------------------------------------------------
    def overrides_clear(self, job: str, kind: str | None, tell: Tell) -> list[str]:
        """Remove ``job``'s overrides (of ``kind``, or both): the kinds removed."""
        from .. import views

        cleared = self.clear_overrides(job, kind)
        if cleared:
            tell(f"Cleared {' and '.join(cleared)} override of {job}.")
            return cleared
        others = [ov for _, ov in self.overrides_in_force(job) if ov.kind != kind]
        what = f"no {kind} override" if kind else "no override"
        kept = "".join(
            f"; its {ov.kind} override until {views.human(ov.expires, self.view_tz)} stays" for ov in others
        )
        tell(f"{job} has {what}{kept}.")
        return cleared

    def start_by_hand(self, job: str, until: str | None, tell: Tell) -> str:
        message = self.start(job, until)
        tell(self.humanize(message))
        return message

    def stop_by_hand(self, job: str, until: str | None, tell: Tell) -> str:
        message = self.stop(job, until, progress=tell)
        tell(self.humanize(message))
        return message
