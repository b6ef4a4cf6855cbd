"""The trust boundary: what the entrypoints, the supervisor and ``install`` check before they
act on a config or a state dir that another local user might control.

Today: the config file and the state dir must belong to the user running osched and must not
be writable by group or others.  (Not checked on Windows, where mode bits do not mean this.)
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from .errors import OschedError


class InsecureError(OschedError):
    """The config or the state dir could be changed by another user."""


def check_private(path: Path, what: str) -> None:
    """Refuse ``path`` when another user could change it: owned by someone else, or writable
    by group or others."""
    if os.name == "nt":  # pragma: no cover - Windows ACLs are not mode bits
        return
    st = path.stat()
    if st.st_uid != os.geteuid():
        raise InsecureError(
            f"refusing to run: {what} {path} is owned by uid {st.st_uid}, not by uid {os.geteuid()} "
            f"(chown it, or run osched as its owner)"
        )
    if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise InsecureError(f"refusing to run: {what} {path} is writable by other users (chmod go-w {path})")
