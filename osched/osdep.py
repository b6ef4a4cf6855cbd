"""What differs between POSIX and Windows, outside the process layer (``runtime/proc.py``):
the user's identity and the signals a supervisor handles (file locks and the private-group
rule are the core's: ``core.store.try_lock``, ``core.trust.private_group``).

Chosen by ``sys.platform`` at import, so type checkers see the guards: CI runs
``mypy --platform win32``, ``darwin`` and ``linux`` over the package.  Standard library only.
"""

from __future__ import annotations

import sys

from .core.store import try_lock
from .core.trust import private_group

TYPE_CHECKING = False  # not typing's: cheap to import

if TYPE_CHECKING:
    import signal

WINDOWS = sys.platform == "win32"

if sys.platform == "win32":

    def euid() -> int:
        return 0

    def user_name() -> str:
        """The user this process runs as (the logon name)."""
        import getpass

        return getpass.getuser()

    def stop_signals() -> list[signal.Signals]:
        import signal

        return [signal.SIGTERM, signal.SIGINT, signal.SIGBREAK]

else:

    def euid() -> int:
        import os

        return os.geteuid()

    def user_name() -> str:
        """The user this process runs as, by its real uid: never ``$USER``/``$LOGNAME``, which
        ``sudo`` and ``su`` may leave naming someone else."""
        import os
        import pwd

        try:
            return pwd.getpwuid(os.getuid()).pw_name
        except KeyError:  # a uid without a passwd entry (a container): its number
            return str(os.getuid())

    def stop_signals() -> list[signal.Signals]:
        import signal

        return [signal.SIGTERM, signal.SIGINT, signal.SIGHUP]


__all__ = ["WINDOWS", "euid", "private_group", "stop_signals", "try_lock"]
