"""The entrypoints' options (``osched-start``, ``osched-stop``, ``python -m osched.entry``),
parsed by hand for the fast lane and the full path alike: one parser, so an option the
launcher or a unit passes cannot be known to one path and lost to the other."""

from __future__ import annotations

VALUED = frozenset({"--schedule", "--config", "--state-dir", "--systemd", "--until", "--reason", "--wait"})
FLAGS = frozenset({"--resume", "--foreground", "--manual", "--adopt", "--random-delay", "-v", "--verbose"})


def parse_args(argv: list[str]) -> tuple[list[str], dict[str, str | bool]]:
    """(positionals, options); ValueError names a usage error."""
    pos: list[str] = []
    opts: dict[str, str | bool] = {}
    it = iter(argv)
    for a in it:
        name, eq, value = a.partition("=")
        if name in VALUED:
            if not eq:
                value = next(it, "")
                if not value:
                    raise ValueError(f"{name} needs a value")
            opts[name] = value
        elif a in FLAGS:
            opts["--verbose" if a == "-v" else a] = True
        elif a in ("-h", "--help"):
            opts["--help"] = True
        elif a.startswith("-"):
            raise ValueError(f"unknown option {a}")
        else:
            pos.append(a)
    return pos, opts
