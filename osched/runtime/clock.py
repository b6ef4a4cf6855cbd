"""The one clock: UTC now, or ``$OSCHED_NOW`` (the only reader of that variable).

``$OSCHED_NOW`` (ISO 8601 with a UTC offset) starts the clock at that instant; it then
advances in real time (like faketime), so supervisors and backoff still work under a pinned
date.  The CLI freezes one reading per command (``Clock.frozen``); the entrypoints let it run.
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime

from ..core.timefmt import NOW_ENV, parse_now


class Clock:
    def __init__(self, now: datetime | None = None) -> None:
        """``now``: a fixed instant (tests); otherwise ``$OSCHED_NOW`` or the system clock.
        Raises ValueError for an ``$OSCHED_NOW`` that is not an ISO 8601 instant with offset."""
        self.offset = 0.0
        self.fixed: datetime | None = now.astimezone(UTC) if now is not None else None
        raw = os.environ.get(NOW_ENV)
        if now is None and raw:
            self.offset = parse_now(raw) - time.time()

    def now(self) -> datetime:
        if self.fixed is not None:
            return self.fixed
        return datetime.fromtimestamp(time.time() + self.offset, UTC)

    def wait_until(self, t: datetime) -> None:
        """Sleep until ``t``.  A pinned clock (a fixed instant, ``$OSCHED_NOW``) jumps to it
        instead: tests and ``simulate`` see the decision at ``t`` without waiting for it."""
        if self.fixed is not None:
            self.fixed = max(self.fixed, t.astimezone(UTC))
            return
        if os.environ.get(NOW_ENV):
            self.offset += max(0.0, (t - self.now()).total_seconds())
            return
        while (left := (t - self.now()).total_seconds()) > 0:
            time.sleep(min(left, 60.0))

    def frozen(self) -> Clock:
        """A clock stopped at this instant: one command, one 'now'."""
        return Clock(self.now())
