"""Entry points called by the OS scheduler: ``osched-start`` and ``osched-stop``.

Not built yet: the runtime (window check, overrides, supervision) is issue 5.  Until then
these commands refuse clearly instead of pretending to act.  They import nothing heavy.
"""

from __future__ import annotations

import sys

NOT_BUILT = (
    "Error: {name}: the runtime (window check, overrides, supervision) is not built in this "
    "version of osched; render and inspect schedules with 'osched render'\n"
)


def _refuse(name: str) -> int:
    sys.stderr.write(NOT_BUILT.format(name=name))
    return 1


def start_main() -> None:
    sys.exit(_refuse("osched-start"))


def stop_main() -> None:
    sys.exit(_refuse("osched-stop"))
