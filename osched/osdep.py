"""What differs between POSIX and Windows, outside the process layer (``runtime/proc.py``):
file locks, the user's identity, and the signals a supervisor handles.

Chosen by ``sys.platform`` at import, so type checkers see the guards: CI runs
``mypy --platform win32``, ``darwin`` and ``linux`` over the package.  Standard library only.
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False  # not typing's: the firing fast lane (fire.py) imports this module without typing

if TYPE_CHECKING:
    import signal

WINDOWS = sys.platform == "win32"

if sys.platform == "win32":
    import msvcrt

    def try_lock(fd: int, blocking: bool) -> bool:
        """An exclusive lock on the first byte of ``fd`` (``msvcrt.locking``; it retries for
        about 10 s when ``blocking``, so a blocking caller loops)."""
        while True:
            try:
                msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
            except OSError:
                if not blocking:
                    return False
                import time

                time.sleep(0.05)
                continue
            return True

    def euid() -> int:
        return 0

    def private_group(gid: int) -> bool:
        return False

    def stop_signals() -> list[signal.Signals]:
        import signal

        return [signal.SIGTERM, signal.SIGINT, signal.SIGBREAK]

else:

    def try_lock(fd: int, blocking: bool) -> bool:
        """An exclusive ``flock`` on ``fd``; False when ``blocking`` is off and it is held."""
        import fcntl

        try:
            fcntl.flock(fd, fcntl.LOCK_EX if blocking else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def euid() -> int:
        import os

        return os.geteuid()

    def private_group(gid: int) -> bool:
        """Is ``gid`` the user's own group (a user private group, Debian's and Ubuntu's
        default): the user's primary group, named like the user, with no other members?"""
        import grp
        import pwd

        try:
            user = pwd.getpwuid(euid())
            group = grp.getgrgid(gid)
        except KeyError:
            return False
        return gid == user.pw_gid and group.gr_name == user.pw_name and set(group.gr_mem) <= {user.pw_name}

    def stop_signals() -> list[signal.Signals]:
        import signal

        return [signal.SIGTERM, signal.SIGINT, signal.SIGHUP]
