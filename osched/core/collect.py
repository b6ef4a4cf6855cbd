"""Pausing the cyclic garbage collector around bulk work that builds no reference cycles.

Parsing and validating a 10,000-schedule config, or rendering it, makes hundreds of thousands
of objects; each allocation burst triggers a collection that walks every live object again
(a third of the time a big config takes to load).  Reference counting still frees everything
at once: what these steps build holds no cycles.  The collector's state is restored after,
so a long-lived process (the supervisor, an embedding program) is not left without it.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def paused_collection(freeze: bool = False) -> Iterator[None]:
    """No collection inside the block.  ``freeze``: also move what exists now out of the
    collector's sight for the block (a forked child then does not dirty the pages it shares
    by walking them)."""
    was = gc.isenabled()
    gc.disable()
    if freeze:
        gc.freeze()
    try:
        yield
    finally:
        if freeze:
            gc.unfreeze()
        if was:
            gc.enable()
