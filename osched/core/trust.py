"""The trust predicates (POSIX): who else could change a file or a folder.  ``osched.trust``
words the refusals; the state store and the fast lane apply the same predicates.

* a file or folder is the user's when the user owns it and no other user can write it;
* another user can write it when others may, or a group may that is not the user's own
  private group (the user's primary group, named like the user, with no other members);
* a folder above a path is bad when it belongs to someone other than the user or root, or
  others can write it and it is not sticky (``/tmp`` is fine).
"""

from __future__ import annotations

import os
import stat
import sys


def private_group(gid: int) -> bool:
    """Is ``gid`` the user's own group (a user private group, Debian's and Ubuntu's default)?"""
    if sys.platform == "win32":  # pragma: no cover - mode bits mean nothing there
        return False
    import grp
    import pwd

    try:
        user = pwd.getpwuid(os.geteuid())
        group = grp.getgrgid(gid)
    except KeyError:
        return False
    if gid != user.pw_gid or group.gr_name != user.pw_name or not set(group.gr_mem) <= {user.pw_name}:
        return False
    # a user whose *primary* group it is is a member too, though /etc/group does not list them
    return all(p.pw_gid != gid or p.pw_uid == user.pw_uid for p in pwd.getpwall())


def others_write(st: os.stat_result) -> bool:
    """Writable by another user: by others, or by a group that is not the user's private group."""
    if st.st_mode & stat.S_IWOTH:
        return True
    if not st.st_mode & stat.S_IWGRP:
        return False
    return not private_group(st.st_gid)


def owned(st: os.stat_result, uid: int) -> bool:
    """The user's: owned by ``uid`` and writable by nobody else."""
    return st.st_uid == uid and not others_write(st)


def bad_folder(path: str, uid: int) -> tuple[str, os.stat_result] | None:
    """The first folder above ``path`` (resolved) that another user could change: owned by
    someone other than the user or root, or writable by others and not sticky.  None if there
    is none (missing folders are skipped)."""
    d = os.path.realpath(path)
    while True:
        parent = os.path.dirname(d)
        if parent == d:
            return None
        d = parent
        try:
            st = os.stat(d)
        except FileNotFoundError:
            continue
        if (
            not stat.S_ISDIR(st.st_mode)
            or st.st_uid not in (0, uid)
            or (others_write(st) and not st.st_mode & stat.S_ISVTX)
        ):
            return d, st


class Untrusted(Exception):
    """A file or folder another user could have changed, or one that is not what it should be
    (a symlink, a FIFO, a folder, a file over its cap).  The message says which and how to fix
    it; ``osched.trust.InsecureError`` words it as a refusal."""


def stat_refusal(
    st: os.stat_result, path: str, uid: int, what: str, root_ok: bool = False
) -> Untrusted | None:
    """Why ``st`` (of ``path``, a ``what``) is not the user's alone, or None.  ``root_ok``:
    root's will do too (the config of a --system install, which root writes and another
    user's jobs run from: root can change anything anyway)."""
    if st.st_uid != uid and not (root_ok and st.st_uid == 0):
        return Untrusted(
            f"{what} {path} is owned by uid {st.st_uid}, not by uid {uid} "
            "(chown it, or run osched as its owner)"
        )
    if others_write(st):
        return Untrusted(f"{what} {path} is writable by other users (chmod go-w {path})")
    return None


def folder_refusal(path: str, uid: int, what: str) -> Untrusted | None:
    """Why a folder above ``path`` could be changed by another user, or None."""
    found = bad_folder(path, uid)
    if found is None:
        return None
    d, st = found
    if not stat.S_ISDIR(st.st_mode):
        return Untrusted(f"{d} is not a folder: the {what} cannot be under it")
    if st.st_uid not in (0, uid):
        return Untrusted(
            f"folder {d} of the {what} is owned by uid {st.st_uid} (another user could replace the {what})"
        )
    return Untrusted(f"folder {d} of the {what} is writable by other users (chmod go-w {d})")


def open_config(path: str, uid: int, what: str = "config file") -> tuple[int, os.stat_result]:
    """The config (or another file the user's config names, such as an env file: ``what``),
    opened once and checked on that descriptor: (fd, its stat); the caller reads from it and
    closes it.  A symlink at ``path`` is followed only when the link is the user's or root's
    and its target passes the same checks.  Raises Untrusted, or OSError."""
    real = path
    link = os.lstat(path)
    if stat.S_ISLNK(link.st_mode):
        if link.st_uid not in (0, uid):
            raise Untrusted(f"the {what} link {path} is owned by uid {link.st_uid}")
        real = os.path.realpath(path)
    bad = folder_refusal(real, uid, what)
    if bad is not None:
        raise bad
    fd = os.open(
        real,
        os.O_RDONLY
        | getattr(os, "O_NOFOLLOW", 0)
        | getattr(os, "O_CLOEXEC", 0)
        | getattr(os, "O_NONBLOCK", 0),
    )
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise Untrusted(f"{what} {path} is not a regular file")
        bad = stat_refusal(st, path, uid, what, root_ok=True)
        if bad is not None:
            raise bad
    except BaseException:
        os.close(fd)
        raise
    return fd, st
