"""The window rule, over UTC seconds: the one implementation the decisions (``runtime.policy``),
the firing fast lane, the views and ``simulate`` all call.

A window is ``(start, end)`` in seconds since the epoch, half-open.  A schedule's windows are
given in start order.  The calendar (which windows a schedule has) is ``windows.py``'s; what a
firing makes of them is decided here:

* a start firing at ``now`` belongs to the window open at ``now`` (the latest start, if two
  are), else to one that opens within ``EARLY`` (a timer a little early still counts);
* the job keeps running while a window of an enabled schedule is open at one of the instants
  asked about: a stop firing asks at ``now + EARLY`` (a window ending within a minute is over,
  one opening within a minute has begun), the supervisor's own clock at ``now`` too; among
  open windows the one that ends last wins ("the latest stop wins"), the first in the job's
  order on a tie.
"""

from __future__ import annotations

TYPE_CHECKING = False  # not typing's: the fast lane imports nothing it does not need
if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    Windows = Sequence[tuple[float, float]]

EARLY = 60  # seconds: a firing this much early still counts


def start_index(windows: Windows, now: float) -> int | None:
    """The index of the window a start firing at ``now`` belongs to, or None."""
    for i in range(len(windows) - 1, -1, -1):  # open now: the latest start first
        a, b = windows[i]
        if a <= now < b:
            return i
    t = now + EARLY
    for i in range(len(windows) - 1, -1, -1):  # opening within EARLY
        a, b = windows[i]
        if now < a <= t < b:
            return i
    return None


def next_start(windows: Windows, now: float) -> float | None:
    """The first start after ``now``, or None if the windows given have none."""
    for a, _ in windows:
        if a > now:
            return a
    return None


def latest_open(groups: Sequence[Windows], times: Iterable[float]) -> tuple[int, int] | None:
    """(group, window) of the window open at one of ``times`` that ends last; the first such in
    the order times, groups, latest start first.  None when none is open."""
    best: tuple[float, int, int] | None = None
    for t in times:
        for g, windows in enumerate(groups):
            for i in range(len(windows) - 1, -1, -1):
                a, b = windows[i]
                if a <= t < b and (best is None or b > best[0]):
                    best = (b, g, i)
    return None if best is None else (best[1], best[2])
