"""osched.api (issue 28): the session docs/api.md shows, run as written; threads and processes
editing one config at once; errors are the CLI's one-line messages."""

from __future__ import annotations

import re
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from osched import api

DOC = Path(__file__).resolve().parent.parent / "docs" / "api.md"


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    monkeypatch.setenv("OSCHED_NOW", "2026-11-24T12:00:00+00:00")  # a Tuesday noon
    monkeypatch.setenv("OSCHED_CRONTAB_FILE", str(tmp_path / "crontab"))
    config = tmp_path / "osched.toml"
    config.write_text('timezone = "UTC"\n')
    config.chmod(0o600)
    return {"config": config, "state": tmp_path / "state", "crontab": tmp_path / "crontab"}


def test_the_session_in_docs_api_md_runs(site: dict[str, Path], capsys: Any) -> None:
    block = re.search(r"## A session\n.*?```python\n(.*?)```", DOC.read_text(), re.S)
    assert block is not None
    try:
        exec(block.group(1), {"config_path": site["config"], "state_dir": site["state"]})
    finally:
        o = api.Osched(site["config"], site["state"])
        for job in o.jobs():
            o.stop(job.name)
    out = capsys.readouterr().out
    assert "4 osched lines" in out and "start: invalid time '25:00'" in out
    assert "osched" not in site["crontab"].read_text().replace("# osched: the lines", "")  # uninstalled


def test_only_the_api_is_public_and_it_has_a_version() -> None:
    assert api.API_VERSION == "1.1"
    assert set(api.__all__) >= {"Osched", "Error", "UsageError", "ConfigError", "ToolError", "NextRun"}
    assert issubclass(api.ConfigError, api.UsageError) and issubclass(api.UsageError, api.Error)
    assert f'`osched.api.API_VERSION` is `"{api.API_VERSION}"`' in DOC.read_text()


def test_errors_are_the_clis_messages(site: dict[str, Path]) -> None:
    o = api.Osched(site["config"], site["state"])
    with pytest.raises(api.UsageError, match=r"^no job named 'nope' in "):
        o.next_run("nope")
    site["config"].write_text('timezone = "UTC"\n[jobs.a]\ncommand = "x"\n')
    with pytest.raises(api.ConfigError, match=r"jobs\.a\.command: must be a list of strings$"):
        o.jobs()


def _edits(config: Path, state: Path, prefix: str, n: int) -> None:
    o = api.Osched(config, state)
    for i in range(n):
        o.add_schedule("a", start=f"{i:02d}:{10 if prefix == 't' else 40}", duration="5m", days="mon",
                       id=f"{prefix}{i}", start_now=False)  # fmt: skip


def test_two_threads_and_two_processes_keep_every_edit(site: dict[str, Path]) -> None:
    o = api.Osched(site["config"], site["state"])
    o.add_job("a", ["true"])
    threads = [threading.Thread(target=_edits, args=(site["config"], site["state"], p, 6)) for p in "tu"]
    code = (
        "import sys; from pathlib import Path; sys.path.insert(0, sys.argv[1]); from test_api import _edits; "
        "_edits(Path(sys.argv[2]), Path(sys.argv[3]), sys.argv[4], 6)"
    )
    here = str(Path(__file__).resolve().parent)
    procs = [
        subprocess.Popen([sys.executable, "-c", code, here, str(site["config"]), str(site["state"]), p])
        for p in "vw"
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    ids = {s.id for s in o.job("a").schedules}
    assert ids == {f"{p}{i}" for p in "tuvw" for i in range(6)}


def test_every_change_the_cli_makes_the_api_makes_and_says_the_same(
    site: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The 1.1 calls: dates, toggles, overrides, init, and what a change tells; the records
    are the CLI's --json objects."""
    import json

    monkeypatch.setenv("TZ", "UTC")  # times are told in the host's zone

    from click.testing import CliRunner

    from osched.cli import cli

    site["config"].unlink()
    heard: list[str] = []
    warned: list[str] = []
    o = api.Osched(site["config"], site["state"], on_message=heard.append, on_warning=warned.append)
    assert o.init("Europe/Berlin") == site["config"]
    assert heard == [f"Wrote {site['config']} (time zone Europe/Berlin)."]
    with pytest.raises(api.UsageError, match="already exists"):
        o.init()
    job = o.add_job("agent", ["sleep", "3600"], on_failure=["true"], retries=2)
    assert (
        job.command[0].endswith("/sleep")
        and job.on_failure is not None
        and job.on_failure[0].endswith("/true")
    )
    assert job.restart.retries == 2
    assert any(line.startswith("Note: sleep resolved to ") for line in heard)
    heard.clear()
    s, started = o.add_schedule("agent", start="10:00", duration="4h", days="mon-fri", args=["--fast"],
                                start_now=False)  # fmt: skip
    assert (s.id, s.args, started) == ("s1", ("--fast",), None)
    assert heard[:2] == ["Added schedule agent/s1: 10:00 for 4h on mon-fri (Europe/Berlin)  args: --fast",
                         "Its window is open now, until Tue 2026-11-24 13:00 UTC."]  # fmt: skip

    cli_job = json.loads(
        CliRunner()
        .invoke(
            cli,
            ["--config", str(site["config"]), "--state-dir", str(site["state"]), "show", "agent", "--json"],
        )
        .stdout
    )
    assert {k: v for k, v in cli_job.items() if k != "status"} == api.as_json(o.job("agent"))

    assert o.disable_schedule("agent", "s1").enabled is False
    s, started = o.enable_schedule("agent", "s1", start_now=False)
    assert s.enabled and started is None
    skips = o.skip("agent", "2026-12-24", "2026-12-31..2027-01-01")
    assert skips.changed == ("2026-12-24", "2026-12-31..2027-01-01") and skips.skip == skips.changed
    assert o.skip("agent", "2026-12-24").changed == ()
    assert o.unskip("agent", "2026-12-24").skip == ("2026-12-31..2027-01-01",)
    w, _ = o.add_window("agent", start="2026-12-05T02:00", duration="1h", start_now=False)
    assert (w.id, w.one_off, w.date) == ("once-20261205-0200", True, "2026-12-05")
    o.remove_window("agent", w.id)
    with pytest.raises(api.UsageError, match=r"^items: "):
        o.skip("agent", "24.12.2026")
    assert o.clear_overrides("agent") == []
    assert heard[-1] == "agent has no override."
    out = o.install("cron", start_now=False)
    assert out.target == "cron" and out.changed and out.started is None and out[0].startswith("cron: ")
    assert o.install("cron", start_now=False).changed is False
    gone = o.uninstall()
    assert gone.targets == ["cron"] and gone[0].startswith("cron: ")


def test_overrides_are_listed_and_cleared(site: dict[str, Path]) -> None:
    o = api.Osched(site["config"], site["state"])
    o.add_job("agent", ["sleep", "3600"])
    o.add_schedule("agent", start="10:00", duration="4h", days="mon-fri", start_now=False)
    assert o.overrides() == []
    said = o.stop("agent")  # nothing runs: the stop override still holds the window
    assert said.startswith("agent: not running; no scheduled start before ")
    (ov,) = o.overrides("agent")
    assert (ov.job, ov.kind) == ("agent", "stop")
    assert ov.expires.isoformat() == "2026-11-24T14:00:00+00:00"
    assert o.clear_overrides("agent") == ["stop"]
    assert o.overrides() == []
    with pytest.raises(api.UsageError, match="kind: expected"):
        o.clear_overrides("agent", "pause")
