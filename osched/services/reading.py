"""Reading: where the config is installed and how that went, job names, logs, messages in the
one time format."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from .base import _ISO_RE, AppBase, _target


class Reading(AppBase):
    def installed_report(self) -> list[dict[str, Any]]:
        """Where this config is installed, any drift since, and why it is due for a renewal."""
        from ..install import drift
        from ..upkeep import reasons

        ctx = self.render_ctx()
        rows = []
        for name, entry in self.installed().items():
            row = {
                "target": name,
                "system": bool(entry.get("system")),
                "location": entry.get("location"),
                "installed_at": entry.get("installed_at"),
                "artifacts": len(entry.get("artifacts", [])),
                "drift": drift(name, entry, ctx, self.config_path),
            }
            target = _target(name)
            # a cluster's CronJobs are in the schedules' own zones and never run out
            here = target is None or target.runs_here
            row["renew"] = reasons(entry, self.now, ctx.host_zone) if here else []
            row["renewed_by_firings"] = target is not None and here and target.renews_from_firing
            if target is not None:  # what a scheduler elsewhere (a cluster) did
                row.update(target.report(entry, ctx))
            rows.append(row)
        return rows

    def humanize(self, message: str) -> str:
        """ISO 8601 instants in a runtime message, in the one format every command prints."""
        from ..views import human

        def one(m: re.Match[str]) -> str:
            return human(datetime.fromisoformat(m.group(0)), self.view_tz)

        return _ISO_RE.sub(one, message)

    def log_tail(self, job_name: str, lines: int, follow: bool) -> tuple[bytes, int]:
        """The last ``lines`` lines of the job's output, and the offset to follow from."""
        path = self.state.output_log(self.known_job(job_name))
        try:
            data = path.read_bytes()
        except FileNotFoundError:  # not run yet: nothing to show, as `events` says of no events
            data = b""
        return (b"\n".join(data.splitlines()[-lines:]) if lines > 0 else b""), len(data)

    def follow_log(self, job_name: str, pos: int, interval: float = 0.5) -> Iterator[bytes]:
        """New output as it is appended (a rotation or truncation starts over); endless."""
        path = self.state.output_log(job_name)
        while True:
            time.sleep(interval)
            try:
                size = path.stat().st_size
            except FileNotFoundError:
                continue
            if size < pos:
                pos = 0
            if size > pos:
                with open(path, "rb") as fh:
                    fh.seek(pos)
                    chunk = fh.read()
                pos += len(chunk)
                yield chunk
