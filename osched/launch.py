"""The ``osched`` command's entry point: a TAB (``$_OSCHED_COMPLETE``) is answered by
``complete`` without importing the CLI; everything else runs the click commands."""

from __future__ import annotations

import os
import sys


def main() -> None:
    instruction = os.environ.get("_OSCHED_COMPLETE")
    if instruction:
        from .complete import answer

        text = answer(instruction)
        if text is not None:
            sys.stdout.write(text + "\n")
            sys.exit(0)
    from .cli import main as cli_main

    cli_main()
