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

import contextlib
import os
import stat
from pathlib import Path

from .errors import OschedError
from .fire import bad_folder, others_write
from .fsutil import read_fd
from .osdep import WINDOWS, euid, private_group


class InsecureError(OschedError):
    """The config or the state dir could be changed by another user."""


_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)


def _euid() -> int:
    return euid()


def writable_by_others(st: os.stat_result) -> bool:
    """Writable by another user: by others, or by a group that is not the user's own."""
    return others_write(st)


def _check_stat(st: os.stat_result, path: Path, what: str) -> None:
    uid = _euid()
    if st.st_uid != uid:
        raise InsecureError(
            f"refusing to run: {what} {path} is owned by uid {st.st_uid}, not by uid {uid} "
            f"(chown it, or run osched as its owner)"
        )
    if writable_by_others(st):
        raise InsecureError(f"refusing to run: {what} {path} is writable by other users (chmod go-w {path})")


def check_private(path: Path, what: str) -> None:
    """Refuse ``path`` when another user could change it: owned by someone else, or writable
    by group or others (the path itself, not following a final symlink)."""
    if WINDOWS:  # pragma: no cover - Windows ACLs are not mode bits
        return
    _check_stat(path.lstat(), path, what)


def check_folders(path: Path, what: str) -> None:
    """Every folder from ``path``'s parent up to ``/``: owned by the user or root, and not
    writable by group or others unless sticky."""
    if WINDOWS:  # pragma: no cover
        return
    uid = _euid()
    found = bad_folder(str(path), uid)
    if found is None:
        return
    d, st = found
    if st.st_uid not in (0, uid):
        raise InsecureError(
            f"refusing to run: folder {d} of the {what} is owned by uid {st.st_uid} "
            f"(another user could replace the {what})"
        )
    raise InsecureError(
        f"refusing to run: folder {d} of the {what} is writable by other users (chmod go-w {d})"
    )


def resolve_config(path: Path) -> Path:
    """``path``, or the file a trusted symlink at ``path`` points to."""
    if os.name == "nt" or not path.is_symlink():
        return path
    _check_stat_link(path)
    return Path(os.path.realpath(path))


def _check_stat_link(path: Path) -> None:
    st = path.lstat()
    if st.st_uid not in (0, _euid()):
        raise InsecureError(f"refusing to run: the config link {path} is owned by uid {st.st_uid}")


def read_config(path: Path) -> bytes:
    """The config's bytes, read from the one descriptor that was checked.  Raises
    ``InsecureError`` for a refusal, ``OSError`` (``FileNotFoundError`` ...) otherwise."""
    fd, _ = open_config(path)
    try:
        return read_fd(fd)
    finally:
        os.close(fd)


def open_config(path: Path) -> tuple[int, os.stat_result]:
    """The config, opened once and checked on that descriptor: (fd, its stat).  The caller
    reads from it (or not: its identity keys the compiled plans, ``plans.py``) and closes it."""
    if WINDOWS:  # pragma: no cover
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
        return fd, os.fstat(fd)
    real = resolve_config(path)
    check_folders(real, "config file")
    fd = os.open(
        real, os.O_RDONLY | _NOFOLLOW | _CLOEXEC | getattr(os, "O_NONBLOCK", 0)
    )  # a FIFO must not hang
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise InsecureError(f"refusing to run: config file {path} is not a regular file")
        _check_stat(st, path, "config file")
    except BaseException:
        os.close(fd)
        raise
    return fd, st


def check_state_dir(root: Path, create: bool = True) -> None:
    """The state dir: a real directory of the user's, not writable by others, in trusted
    folders.  A missing one is created (0700) when ``create``."""
    if WINDOWS:  # pragma: no cover
        if create:
            root.mkdir(parents=True, exist_ok=True)
        return
    check_folders(root, "state dir")
    try:
        st = root.lstat()
    except FileNotFoundError:
        if not create:
            return
        _make_private_dirs(root)
        st = root.lstat()
    if stat.S_ISLNK(st.st_mode) or not stat.S_ISDIR(st.st_mode):
        raise InsecureError(f"refusing to run: state dir {root} is not a directory (a symlink or a file)")
    _check_stat(st, root, "state dir")


def _make_private_dirs(root: Path) -> None:
    """Create ``root`` and missing parents 0700; each parent made is checked as it comes."""
    missing = []
    d = root
    while not d.exists():
        missing.append(d)
        d = d.parent
    for d in reversed(missing):
        with contextlib.suppress(FileExistsError):
            d.mkdir(mode=0o700)
        st = d.lstat()
        if stat.S_ISLNK(st.st_mode) or not stat.S_ISDIR(st.st_mode):
            raise InsecureError(f"refusing to run: {d} is not a directory")
        _check_stat(st, d, "state dir folder")


__all__ = [
    "InsecureError",
    "check_folders",
    "check_private",
    "check_state_dir",
    "open_config",
    "private_group",
    "read_config",
    "resolve_config",
    "writable_by_others",
]
