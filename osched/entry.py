"""Entry points called by the OS scheduler: ``osched-start`` and ``osched-stop``.

    osched-start JOB --schedule ID [--wait MINUTES] [--config PATH] [--state-dir PATH] [--foreground] [-v]
    osched-start --resume [--systemd user|system] [--config PATH] [--state-dir PATH] [-v]
    osched-stop  JOB [--schedule ID [--wait MINUTES]] [--config PATH] [--state-dir PATH] [-v]

``--wait MINUTES``: when the schedule's window starts (osched-start) or ends (osched-stop)
within MINUTES, sleep until that instant, holding no lock, then decide (launchd's firings
before a repeated hour: docs/runtime.md).

They are quiet when all is well (cron mails any output): every decision goes to the events
log (``osched events``); ``-v`` also prints it.  Errors go to stderr, one line.  Exit codes:
0 acted or skipped on purpose, 1 refused or failed, 2 usage or config error.

This is the path every timer firing takes, so it imports no click, jinja2 or python-crontab,
and parses its few options by hand.
"""

from __future__ import annotations

import sys
from typing import Any, TextIO

from .core import argv as core_argv

USAGE = {
    "osched-start": "usage: osched-start JOB --schedule ID [--wait MINUTES] | --resume"
    " [--systemd user|system] [--config PATH] [--state-dir PATH] [--foreground] [-v]",
    "osched-stop": "usage: osched-stop JOB [--schedule ID [--wait MINUTES]] [--config PATH]"
    " [--state-dir PATH] [-v]",
}


class _Usage(Exception):
    pass


def parse_args(argv: list[str]) -> tuple[list[str], dict[str, str | bool]]:
    try:
        return core_argv.parse_args(argv)
    except ValueError as e:
        raise _Usage(str(e)) from None


def _say(text: str, stream: TextIO | None = None) -> None:
    """One message; a closed or failing stream (``-v >&-``) loses it, never the decision."""
    out = stream or sys.stdout
    if text and out is not None:
        try:
            out.write(text.rstrip("\n") + "\n")
            out.flush()
        except (OSError, ValueError):
            pass


def _check_usage(prog: str, pos: list[str], opts: dict[str, str | bool]) -> None:
    if prog == "supervise":
        if len(pos) != 1:
            raise _Usage("supervise needs JOB")
    elif opts.get("--resume"):
        if pos or prog != "osched-start":
            raise _Usage("--resume takes no JOB")
        if opts.get("--systemd") not in (None, "user", "system"):
            raise _Usage("--systemd must be 'user' or 'system'")
    else:
        if len(pos) != 1:
            raise _Usage("give exactly one JOB")
        if prog == "osched-start" and not opts.get("--manual") and not opts.get("--schedule"):
            raise _Usage("--schedule ID is required")
        if "--wait" in opts:
            wait = str(opts["--wait"])
            if not opts.get("--schedule") or opts.get("--manual"):
                raise _Usage("--wait needs --schedule ID")
            if not wait.isdigit() or not 1 <= int(wait) <= 1440:
                raise _Usage(f"--wait takes whole minutes, 1 to 1440, not {wait!r}")


def _open(opts: dict[str, str | bool], job_name: str | None, plan_only: bool = False) -> Any:
    """(Runtime, 0), or (None, exit code) after a refusal or a config error."""
    from . import paths
    from .errors import OschedError
    from .runtime import Clock, Runtime, load_noting
    from .state import StateDir
    from .trust import InsecureError

    config_path = paths.config_path(str(opts.get("--config") or "") or None)
    state = StateDir(paths.state_dir(str(opts.get("--state-dir") or "") or None))
    try:
        clock = Clock()
    except ValueError as e:
        sys.stderr.write(f"Error: {e}\n")
        return None, 2
    try:
        cfg, renewed = load_noting(
            config_path, state, job_name if plan_only else None, now=clock.now() if plan_only else None
        )
    except InsecureError as e:  # the trust check comes first: a refusal writes nothing
        sys.stderr.write(f"Error: {e}\n")
        return None, 1
    except OschedError as e:
        state.event(clock.now(), job_name, "config_error", reason=str(e))
        sys.stderr.write(f"Error: {e}\n")
        return None, e.exit_code
    except OSError as e:
        sys.stderr.write(f"Error: {e.filename or ''}: {e.strerror}\n")
        return None, 1
    rt = Runtime(cfg, state, clock=clock, foreground=bool(opts.get("--foreground")))
    rt.upkeep_due = renewed
    return rt, 0


def _act(prog: str, rt: Any, pos: list[str], opts: dict[str, str | bool]) -> Any:
    """The entrypoint's one action; a Reply, or an int exit code."""
    if prog == "supervise":
        from .state import parse_iso

        return int(
            rt.launcher.supervise_here(
                pos[0],
                str(opts.get("--schedule") or "manual"),
                parse_iso(opts.get("--until")),
                str(opts.get("--reason") or "started"),
                adopt=bool(opts.get("--adopt")),
            )
        )
    if opts.get("--resume"):
        from .runner import subprocess_runner
        from .targets import unit_starter

        mode = str(opts.get("--systemd") or "") or None
        return rt.resume(unit_starter(mode, rt.runner or subprocess_runner))
    if prog == "osched-start" and opts.get("--manual"):
        from .state import parse_iso

        until = parse_iso(opts.get("--until"))
        if until is None:
            sys.stderr.write(f"{prog}: error: --manual needs --until ISO-INSTANT\n")
            return 2
        return rt.manual_start(pos[0], until)
    if "--wait" in opts:
        kind = "start" if prog == "osched-start" else "stop"
        edge = rt.edge_within(pos[0], str(opts["--schedule"]), kind, int(str(opts["--wait"])))
        if edge is not None:
            rt.clock.wait_until(edge)  # no lock is held: the decision takes it at the edge
            rt.reload(pos[0], "")
    if prog == "osched-start":
        job = rt.cfg.job(pos[0])
        if job is not None and opts.get("--random-delay"):
            from .runtime.policy import random_start

            delayed = random_start(job, str(opts["--schedule"]), rt.clock.now())
            if delayed is not None:
                rt.clock.wait_until(delayed)  # no lock is held while it waits
                rt.reload(pos[0], "")
        return rt.start_firing(pos[0], str(opts["--schedule"]))
    return rt.stop_firing(pos[0], str(opts.get("--schedule") or "") or None)


def _upkeep(rt: Any, verbose: bool) -> None:
    """After a firing's decision, when its fire file had to be renewed (at least every few
    weeks, and whenever the config, a zone file or the system zone changed): renew the
    config's installs that are due (``renewal``).  A renewal is quiet (the events log has
    it, ``-v`` prints it); a failed one is a warning on stderr, which cron mails and the
    journal keeps."""
    from .renewal import after_firing

    try:
        lines = after_firing(rt.cfg.path, rt.state, rt.clock.now())
    except Exception as e:  # upkeep never changes the firing's outcome
        lines = [f"osched: checking the install for renewal failed: {e}"]
    for line in lines:
        if line.startswith("osched: renewed"):
            if verbose:
                _say(line)
        else:
            _say(line, sys.stderr)


def run(prog: str, argv: list[str]) -> int:
    try:
        pos, opts = parse_args(argv)
        if opts.get("--help"):
            _say(USAGE.get(prog, prog) + "\n(see docs/runtime.md)")
            return 0
        _check_usage(prog, pos, opts)
    except _Usage as e:
        sys.stderr.write(f"{prog}: error: {e}\n{USAGE.get(prog, '')}\n")
        return 2
    firing = prog in ("osched-start", "osched-stop") and not opts.get("--resume") and not opts.get("--manual")
    rt, code = _open(opts, pos[0] if pos else None, plan_only=firing)
    if rt is None:
        return int(code)
    from .errors import OschedError

    try:
        out = _act(prog, rt, pos, opts)
    except OschedError as e:
        sys.stderr.write(f"Error: {e}\n")
        return e.exit_code
    finally:
        if firing and rt.upkeep_due:
            _upkeep(rt, bool(opts.get("--verbose")))
    if isinstance(out, int):
        return out
    if out.code != 0:
        _say(f"Error: {out.message}", sys.stderr)
    elif opts.get("--verbose"):
        _say(out.message)
    return int(out.code)


def start_main() -> None:
    sys.exit(run("osched-start", sys.argv[1:]))


def stop_main() -> None:
    sys.exit(run("osched-stop", sys.argv[1:]))


def _module_main(argv: list[str]) -> int:
    """``python -m osched.entry start|stop|supervise ARGS`` (used by the CLI and on Windows)."""
    progs = {"start": "osched-start", "stop": "osched-stop", "supervise": "supervise"}
    if not argv or argv[0] not in progs:
        sys.stderr.write("usage: python -m osched.entry start|stop|supervise ARGS\n")
        return 2
    return run(progs[argv[0]], argv[1:])


if __name__ == "__main__":
    sys.exit(_module_main(sys.argv[1:]))


__all__ = ["run", "start_main", "stop_main"]
