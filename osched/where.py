"""Where the config and the state dir are: ``--config``/``--state-dir``, else osched's
variable, else the platform's user dirs (platformdirs).  One implementation, shared by the
commands (``paths`` re-exports it), the entrypoints and shell completion; the lookups work on
strings and import nothing (``pathlib`` only to hand back a ``Path``), so a TAB stays quick
(``complete``)."""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path

APP = "osched"
CONFIG_ENV = "OSCHED_CONFIG"  # the config file
STATE_ENV = "OSCHED_STATE_DIR"  # the state dir


def _absolute(p: str) -> str:
    return os.path.abspath(os.path.expanduser(p))


def absolute(p: str | os.PathLike[str]) -> Path:
    """Expand ``~`` and make absolute without resolving symlinks the user chose."""
    from pathlib import Path

    return Path(_absolute(os.fspath(p)))


def config_file(flag: str | os.PathLike[str] | None = None) -> str:
    """``--config``, else ``$OSCHED_CONFIG``, else ``<user config dir>/osched.toml``."""
    raw = flag or os.environ.get(CONFIG_ENV)
    return _absolute(os.fspath(raw)) if raw else default_config_file()


def default_config_file() -> str:
    import platformdirs

    return _absolute(os.path.join(platformdirs.user_config_dir(APP, appauthor=False), "osched.toml"))


def config_path(flag: str | os.PathLike[str] | None = None) -> Path:
    from pathlib import Path

    return Path(config_file(flag))


def state_file(flag: str | os.PathLike[str] | None = None) -> str:
    """``--state-dir``, else ``$OSCHED_STATE_DIR``, else the platform's user state dir."""
    raw = flag or os.environ.get(STATE_ENV)
    return _absolute(os.fspath(raw)) if raw else default_state_file()


def default_state_file() -> str:
    import platformdirs

    return _absolute(platformdirs.user_state_dir(APP, appauthor=False))


def state_dir(flag: str | os.PathLike[str] | None = None) -> Path:
    from pathlib import Path

    return Path(state_file(flag))
