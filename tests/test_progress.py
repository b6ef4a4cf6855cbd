"""Long work shows a bar on a terminal's stderr, never on stdout, and not with --json."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest

from osched.cli import base, cli

CONFIG = 'timezone = "Europe/Berlin"\n[jobs.agent]\ncommand = ["/bin/true"]\n' + "".join(
    f'[[jobs.agent.schedules]]\nid = "s{i}"\nstart = "{i % 24:02d}:{i % 60:02d}"\nduration = "30m"\ndays = ["mon"]\n'
    for i in range(30)
)


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def run(monkeypatch: pytest.MonkeyPatch, args: list[str], tty: bool) -> tuple[str, str]:
    raw = io.BytesIO()
    out, err = io.TextIOWrapper(raw, encoding="utf-8"), (Terminal() if tty else io.StringIO())
    monkeypatch.setattr(sys, "stdout", out)
    monkeypatch.setattr(sys, "stderr", err)
    with pytest.raises(SystemExit):
        cli.main(args, prog_name="osched")
    out.flush()
    return raw.getvalue().decode(), err.getvalue()


@pytest.mark.parametrize(
    "args",
    [
        ["simulate", "--target", "systemd", "--engine", "osched", "--fresh", "--from", "2026-03-20", "--to", "14d"],
        ["render", "--target", "all"],
    ],
)
def test_a_bar_on_a_terminal_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str]) -> None:
    cfg = tmp_path / "osched.toml"
    cfg.write_text(CONFIG)
    monkeypatch.setenv("OSCHED_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("OSCHED_HOST_TZ", "UTC")
    monkeypatch.setenv("OSCHED_NOW", "2026-03-20T12:00:00+00:00")
    argv = ["--config", str(cfg), *args]
    monkeypatch.setattr(base, "PROGRESS_AFTER", 0.0)  # the half second's wait, injected
    piped_out, piped_err = run(monkeypatch, argv, tty=False)
    tty_out, tty_err = run(monkeypatch, argv, tty=True)
    assert tty_out == piped_out and piped_out  # stdout is the same whoever reads stderr
    assert "/30" in tty_err and "[" in tty_err  # the bar, counting the 30 schedules
    assert tty_err.endswith("\r\x1b[K") or "\r\x1b[K" in tty_err  # erased when the loop ends
    assert "/30" not in piped_err
    if args[0] == "simulate":
        json_out, json_err = run(monkeypatch, [*argv, "--json"], tty=True)
        assert "/30" not in json_err and json_out.lstrip().startswith("{")


def test_no_bar_for_a_short_loop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Work that ends within half a second shows nothing."""
    cfg = tmp_path / "osched.toml"
    cfg.write_text(CONFIG)
    monkeypatch.setenv("OSCHED_STATE_DIR", str(tmp_path / "state"))
    _, err = run(monkeypatch, ["--config", str(cfg), "render", "--target", "cron"], tty=True)
    assert "/30" not in err
