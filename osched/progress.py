"""Progress of long work (simulate, render and install of many schedules), told to whoever
listens: nobody by default; the CLI shows a bar on a terminal (``cli.base.progress_shown``).
Imports nothing: the targets and the services call ``each`` in their loops."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import TypeVar

T = TypeVar("T")
Sink = Callable[[list[object], str], Iterator[object]]

_sink: Sink | None = None


def each(items: Iterable[T], label: str) -> Iterator[T]:
    """``items``, one by one; a listener sees how far the loop has come."""
    if _sink is None:
        yield from items
        return
    yield from _sink(list(items), label)  # type: ignore[misc]


@contextmanager
def shown(sink: Sink) -> Iterator[None]:
    """Within the block, ``each`` loops report to ``sink`` (an iterator over the items that
    shows them passing)."""
    global _sink
    before, _sink = _sink, sink
    try:
        yield
    finally:
        _sink = before
