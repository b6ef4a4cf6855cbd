"""Where the config and the state live: flags, then osched's variables, then platform dirs.

Both are made absolute before anything writes them into an OS artifact.
"""

from __future__ import annotations

import os
from pathlib import Path

APP = "osched"
CONFIG_ENV = "OSCHED_CONFIG"
STATE_ENV = "OSCHED_STATE_DIR"


def config_path(flag: str | os.PathLike[str] | None = None) -> Path:
    """``--config``, else ``$OSCHED_CONFIG``, else ``<user config dir>/osched.toml``."""
    raw = flag or os.environ.get(CONFIG_ENV)
    if raw:
        return absolute(raw)
    import platformdirs

    return absolute(Path(platformdirs.user_config_dir(APP, appauthor=False)) / "osched.toml")


def state_dir(flag: str | os.PathLike[str] | None = None) -> Path:
    """``--state-dir``, else ``$OSCHED_STATE_DIR``, else the platform's user state dir."""
    raw = flag or os.environ.get(STATE_ENV)
    if raw:
        return absolute(raw)
    import platformdirs

    return absolute(platformdirs.user_state_dir(APP, appauthor=False))


def absolute(p: str | os.PathLike[str]) -> Path:
    """Expand ``~`` and make absolute without resolving symlinks the user chose."""
    return Path(os.path.abspath(os.path.expanduser(os.fspath(p))))
