"""The runtime: what the OS timers' entrypoints decide and do.

* ``clock``      the one clock (the only reader of ``$OSCHED_NOW``)
* ``policy``     pure decisions: start, keep running, stop, restart (table-tested)
* ``decide``     lock, read, apply a decision, log the event (``Runtime``)
* ``launch``     spawn the job, detach or adopt a supervisor
* ``supervisor`` the loop: crash restarts with backoff, the end-of-window stop
* ``proc``       the process layer per platform (start times, process groups, signals)
"""

from __future__ import annotations

from .clock import Clock
from .context import Reply
from .decide import Runtime, load_checked, load_noting

__all__ = ["Clock", "Reply", "Runtime", "load_checked", "load_noting"]
