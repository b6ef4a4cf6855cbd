"""The ``osched`` group, its global options, and what every command module shares.

Every library error is an ``OschedError``; ``OschedGroup.main`` prints it as one line on
stderr (``Error: ...``) and exits with its code (0 ok, 1 runtime failure, 2 usage/config
error).  ``--debug`` shows the traceback.  Commands get an ``app.App`` (``pass_app``) to read
through, and make every change through ``osched.api`` (``api_for``).
"""

from __future__ import annotations

import json
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, NoReturn

import click

from .. import __version__, complete
from ..app import App
from ..errors import EXIT_FAILURE, OschedError, UsageError

pass_app = click.make_pass_decorator(App)

# how the API's arguments are spelled on the command line, for its errors and notes
OPTION_NAMES = {
    "name": "NAME",
    "command": "COMMAND",
    "items": "DATE|RANGE",
    "new_id": "--new-id",
    **{k: f"--{k.replace('_', '-')}" for k in ("start", "duration", "days", "timezone", "id", "at")},
    **{k: f"--{k.replace('_', '-')}" for k in ("random_delay", "on_failure", "on_start", "on_success")},
}


def api_for(c: App, tell: Any = None) -> Any:
    """``osched.api.Osched`` over this command's service context: every change the CLI makes
    goes through it.  What it tells goes to stdout (or ``tell``), its notes and warnings to
    stderr."""
    from ..api import Osched

    return Osched._for_command(c, OPTION_NAMES, tell or click.echo, lambda line: click.echo(line, err=True))


class OschedGroup(click.Group):
    """A group whose errors are one line on stderr."""

    def main(self, *args: Any, **kwargs: Any) -> NoReturn:  # type: ignore[override]
        argv = kwargs.get("args")
        debug = "--debug" in (sys.argv[1:] if argv is None else argv)
        try:
            rv = super().main(*args, standalone_mode=False, **kwargs)
        except click.exceptions.NoArgsIsHelpError as e:  # `osched`, `osched job`: the help, exit 0
            click.echo(e.ctx.get_help())
            sys.exit(0)
        except click.NoSuchOption as e:
            path = e.ctx.command_path.split() if e.ctx else []
            hint = ""
            if path[-2:] in (["job", "add"], ["job", "set"]):
                hint = " (a command's own options go after --: osched job add NAME -- COMMAND [ARGS...])"
            fail(e.format_message() + hint, e.exit_code, debug)
        except click.exceptions.Abort:
            click.echo("Error: aborted", err=True)
            sys.exit(EXIT_FAILURE)
        except click.ClickException as e:
            fail(e.format_message(), e.exit_code, debug)
        except OschedError as e:
            fail(str(e), e.exit_code, debug)
        except OSError as e:
            fail(f"{e.filename or ''}{': ' if e.filename else ''}{e.strerror or e}", 1, debug)
        except KeyboardInterrupt:
            click.echo("Error: interrupted", err=True)
            sys.exit(130)
        sys.exit(rv if isinstance(rv, int) else 0)


def fail(message: str, code: int, debug: bool) -> NoReturn:
    if debug:
        traceback.print_exc()
    message = " ".join(message.split("\n")).strip()
    click.echo(f"Error: {message}", err=True)
    sys.exit(code)


def record_json(record: Any) -> Any:
    """``records.as_json``, imported when a command prints a record (not by every command)."""
    from ..records import as_json

    return as_json(record)


def emit(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


def check(func: Any, value: Any, option: str) -> Any:
    """``func(value)``, its ValueError turned into a usage error naming ``option``."""
    try:
        return func(value)
    except ValueError as e:
        raise UsageError(f"{option}: {e}") from None


json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON (see docs/json.md).")


class TargetChoice(click.Choice):  # type: ignore[type-arg,unused-ignore]
    """``--target``: the registered targets (read when the option is parsed or shown), plus
    ``extra`` (``all``, ``auto``)."""

    def __init__(self, *extra: str, first: bool = False, simulated: bool = False) -> None:
        self.extra, self.first, self.simulated = extra, first, simulated
        super().__init__(list(extra))

    @property  # type: ignore[override]
    def choices(self) -> tuple[str, ...]:
        from .. import targets

        names = tuple(t.name for t in targets.all_targets() if t.simulated or not self.simulated)
        return (*self.extra, *names) if self.first else (*names, *self.extra)

    @choices.setter
    def choices(self, value: Any) -> None:
        pass


@click.group(cls=OschedGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_flag",
    metavar="PATH",
    help="Config file (default: $OSCHED_CONFIG, else the user config dir's osched/osched.toml).",
)
@click.option(
    "--state-dir",
    "state_flag",
    metavar="PATH",
    help="State dir (default: $OSCHED_STATE_DIR, else the user state dir's osched/).",
)
@click.option("--debug", is_flag=True, help="Show tracebacks on errors.")
@click.version_option(__version__, prog_name="osched")
@click.pass_context
def cli(ctx: click.Context, config_flag: str | None, state_flag: str | None, debug: bool) -> None:
    """Run long jobs only inside time windows, timed by the OS scheduler.

    Schedules live in a TOML file; osched renders them for cron, systemd, Windows Task
    Scheduler or launchd.  Exit codes: 0 ok, 1 runtime failure, 2 usage or config error.
    """
    given = ctx.obj if isinstance(ctx.obj, App) else App()  # tests hand in an App with fakes
    given.config_flag, given.state_flag = config_flag, state_flag
    ctx.obj = given


def _flags(ctx: click.Context) -> tuple[str | None, str | None]:
    """``--config`` and ``--state-dir`` as given on the line being completed (no callback has
    run yet)."""
    root = ctx.find_root()
    config, state = root.params.get("config_flag"), root.params.get("state_flag")
    return (str(config) if config else None), (str(state) if state else None)


def complete_jobs(ctx: click.Context, param: Any, incomplete: str) -> list[str]:
    """Shell completion: the config's job names (``complete``, shared with the fast path)."""
    config, state = _flags(ctx)
    return complete.job_names(config, incomplete, state)


def complete_schedules(ctx: click.Context, param: Any, incomplete: str) -> list[str]:
    """Shell completion: the schedule ids of the job named before it."""
    config, state = _flags(ctx)
    return complete.schedule_ids(config, str(ctx.params.get("job_name") or ""), incomplete, state)


def complete_days_param(ctx: click.Context, param: Any, incomplete: str) -> list[str]:
    return complete.days(incomplete)


def complete_zones_param(ctx: click.Context, param: Any, incomplete: str) -> list[str]:
    return complete.zones(incomplete)


def _set_display_zone(ctx: click.Context, param: Any, value: str | None) -> str | None:
    if value is not None:
        from ..parse import zone

        check(zone, value, "--timezone")
        ctx.ensure_object(App).display_zone = value
    return value


timezone_option = click.option(
    "--timezone",
    "display_zone",
    metavar="TZ",
    expose_value=False,
    callback=_set_display_zone,
    help="Show times in this IANA zone (default: the host's).",
    shell_complete=complete_zones_param,
)


def echo_lines(lines: list[str] | None) -> None:
    for line in lines or []:
        click.echo(line)


def for_terminal(text: str, keep_lines: bool = False) -> str:
    """Text that came from a job or a command line (its output, its argv), made harmless for a
    terminal: control characters (escape sequences that move the cursor, retitle the window
    or fake a prompt) are shown as ``\\x1b``-style escapes.  Piped output is left as it is.
    ``keep_lines``: line breaks and tabs pass."""
    import sys

    if not sys.stdout.isatty():
        return text
    keep = "\n\t" if keep_lines else ""
    return "".join(
        c if (c.isprintable() or c in keep) else c.encode("unicode_escape").decode("ascii") for c in text
    )


PROGRESS_AFTER = 0.5  # seconds a loop runs before its bar shows


@contextmanager
def progress_shown(enabled: bool = True, after: float | None = None) -> Iterator[None]:
    """Within the block, long loops (``progress.each``) show a bar on stderr when stderr is a
    terminal and ``enabled`` (not for ``--json``): only once a loop has run ``after`` seconds,
    erased when it ends.  stdout is never touched, so pipes and ``--json`` stay clean."""
    import time

    from .. import progress

    if not enabled or not sys.stderr.isatty():
        yield
        return
    wait = PROGRESS_AFTER if after is None else after

    def bar(items: list[object], label: str) -> Iterator[object]:
        t0, shown, total = time.monotonic(), 0.0, len(items)
        try:
            for i, item in enumerate(items):
                now = time.monotonic()
                if now - t0 >= wait and now - shown >= 0.1:
                    done = 30 * i // max(total, 1)
                    sys.stderr.write(f"\r{label} [{'#' * done}{' ' * (30 - done)}] {i}/{total}")
                    sys.stderr.flush()
                    shown = now
                yield item
        finally:
            if shown:
                sys.stderr.write("\r\x1b[K")
                sys.stderr.flush()

    with progress.shown(bar):
        yield


def with_progress(f: Any) -> Any:
    """A command whose long loops show a bar on a terminal (not with ``--json``)."""
    import functools

    @functools.wraps(f)
    def run(*args: Any, **kwargs: Any) -> Any:
        with progress_shown(enabled=not kwargs.get("as_json")):
            return f(*args, **kwargs)

    return run


_RESULT: dict[str, Any] | None = None  # the fields of the running command's --json object


def json_result(f: Any) -> Any:
    """``--json`` for a command that changes something: what it would print becomes the
    object's ``messages``, beside the fields it reports with ``result`` (docs/json.md)."""
    import contextlib
    import functools
    import io

    @functools.wraps(f)
    def run(*args: Any, as_json: bool = False, **kwargs: Any) -> Any:
        global _RESULT
        if not as_json:
            return f(*args, **kwargs)
        buf, _RESULT = io.StringIO(), {}
        try:
            with contextlib.redirect_stdout(buf):
                out = f(*args, **kwargs)
            fields = _RESULT
        finally:
            _RESULT = None
        emit({**fields, "messages": [line for line in buf.getvalue().splitlines() if line]})
        return out

    return json_option(run)


def result(**fields: Any) -> None:
    """Report fields of the running command's ``--json`` object (nothing without ``--json``)."""
    if _RESULT is not None:
        _RESULT.update(fields)


# -- ending the process ------------------------------------------------------------------------------
_teardown_skipped = False


def skip_teardown() -> None:
    """Ask ``osched.cli.main`` to end this process without freeing what it built: ``render``
    of 10,000 schedules leaves millions of objects (the config, the caches of host firings)
    whose one-by-one release at interpreter exit costs a fifth of a second, for memory the
    kernel takes back at once.  Only the console script acts on it (an in-process caller,
    such as a test's ``CliRunner``, keeps its interpreter)."""
    global _teardown_skipped
    _teardown_skipped = True


def exit_now(code: object) -> None:
    """``os._exit`` with the exit status ``sys.exit(code)`` would give, once the output is
    flushed and logging shut down; returns (doing nothing) when the status is not a plain
    number or the output cannot be flushed, so the caller's normal exit reports it."""
    import logging
    import os

    global _teardown_skipped
    if not _teardown_skipped or not (code is None or isinstance(code, int)):
        return
    _teardown_skipped = False
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):
        return
    logging.shutdown()
    os._exit(code or 0)
