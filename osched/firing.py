"""What ``osched-start`` and ``osched-stop`` run: the fast lane (``fastlane.answer``), and
the full path (``entry.run``) for every firing it cannot answer."""

from __future__ import annotations

import sys


def main(prog: str) -> int:
    argv = sys.argv[1:]
    from .fastlane import Fallback, answer

    try:
        said = answer(prog, argv)
    except Fallback:
        from .entry import run

        return run(prog, argv)
    except Exception:  # nothing is written before the decision: the full path decides afresh
        from .entry import run

        return run(prog, argv)
    if said and sys.stdout is not None:  # -v, after the decision was logged: a failing
        try:  # stdout must not make a second decision
            sys.stdout.write(said)
            sys.stdout.flush()
        except (OSError, ValueError):
            return 0
    return 0
