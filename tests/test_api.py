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
