"""The trust boundary: what osched checks before it acts on a config or a state dir that
another local user might control.  The entrypoints call it first, before they read the config
or write anything; the supervisor at every reload; ``install`` before it changes anything.

Rules (POSIX; docs/runtime.md states them for users):

* the config file is opened once (``O_NOFOLLOW`` on the resolved path) and checked on the
  open descriptor (``fstat``): a regular file, owned by the user running osched, not writable
  by others or by a group other than the user's private group; what is parsed is what was
  read from that descriptor;
* every folder from the file up to ``/`` is owned by that user or by root, and is not
  writable by group or others unless it is sticky (``/tmp``): nobody else can swap a path
  component between the check and the read;
* a config path that is a symlink is followed only when the link itself is the user's and
  its target passes the same checks;
* the state dir is a real directory (not a symlink), owned by the user, mode 0700 or
  stricter for group/others writes, and its folders pass the folder rule; a missing one is
  created 0700 after its parent passed.

On Windows, where mode bits do not carry this meaning, the checks are not made (docs say so).
"""

from __future__ import annotations

import os
from pathlib import Path

from .core import trust as core
from .core.store import Store
from .errors import OschedError
from .osdep import WINDOWS, euid


class InsecureError(OschedError):
    """The config or the state dir could be changed by another user."""


def refused(e: core.Untrusted) -> InsecureError:
    return InsecureError(f"refusing to run: {e}")


def writable_by_others(st: os.stat_result) -> bool:
    """Writable by another user: by others, or by a group that is not the user's own."""
    return core.others_write(st)


def check_private(path: Path, what: str) -> None:
    """Refuse ``path`` when another user could change it: owned by someone else, or writable
    by group or others (the path itself, not following a final symlink)."""
    if WINDOWS:  # pragma: no cover - Windows ACLs are not mode bits
        return
    bad = core.stat_refusal(path.lstat(), str(path), euid(), what)
    if bad is not None:
        raise refused(bad)


def check_folders(path: Path, what: str) -> None:
    """Every folder from ``path``'s parent up to ``/``: owned by the user or root, and not
    writable by group or others unless sticky."""
    if WINDOWS:  # pragma: no cover
        return
    bad = core.folder_refusal(str(path), euid(), what)
    if bad is not None:
        raise refused(bad)


def read_config(path: Path) -> bytes:
    """The config's bytes, read from the one descriptor that was checked.  Raises
    ``InsecureError`` for a refusal, ``OSError`` (``FileNotFoundError`` ...) otherwise."""
    from .fsutil import read_fd

    fd, _ = open_config(path)
    try:
        return read_fd(fd)
    finally:
        os.close(fd)


def open_config(path: Path) -> tuple[int, os.stat_result]:
    """The config, opened once and checked on that descriptor (``core.trust.open_config``):
    (fd, its stat).  The caller reads from it and closes it."""
    if WINDOWS:  # pragma: no cover
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
        return fd, os.fstat(fd)
    try:
        return core.open_config(str(path), euid())
    except core.Untrusted as e:
        raise refused(e) from None


def check_state_dir(root: Path, create: bool = True) -> None:
    """The state dir: a real directory of the user's, not writable by others, in trusted
    folders.  A missing one is created (0700, its missing parents too) when ``create``."""
    store = Store(root)
    try:
        if create:
            store.ensure()
        else:
            bad = store.refusal()
            if bad is not None:
                raise bad
    except core.Untrusted as e:
        raise refused(e) from None


__all__ = [
    "InsecureError",
    "check_folders",
    "check_private",
    "check_state_dir",
    "open_config",
    "read_config",
    "refused",
    "writable_by_others",
]
