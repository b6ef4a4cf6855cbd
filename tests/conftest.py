"""Every test runs with HOME, XDG dirs and osched's own dirs pointed into tmp_path."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    for var, sub in (
        ("XDG_CONFIG_HOME", ".config"),
        ("XDG_STATE_HOME", ".local/state"),
        ("XDG_DATA_HOME", ".local/share"),
        ("XDG_CACHE_HOME", ".cache"),
    ):
        monkeypatch.setenv(var, str(home / sub))
    monkeypatch.setenv("OSCHED_CONFIG", str(tmp_path / "osched.toml"))
    monkeypatch.setenv("OSCHED_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("TZ", "UTC")
    monkeypatch.setenv("OSCHED_HOST_TZ", "UTC")  # the schedulers' zone, whatever this machine's is
    monkeypatch.delenv("OSCHED_NOW", raising=False)
    return tmp_path


@pytest.fixture
def cfg_path(isolated: Path) -> Path:
    return Path(os.environ["OSCHED_CONFIG"])


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A runtime test env (runtime_helpers.Env) with the clock pinned to a Tuesday noon; every
    process it started is ended by pid afterwards."""
    from runtime_helpers import Env

    e = Env(tmp_path)
    monkeypatch.setenv("OSCHED_CONFIG", str(e.config))
    monkeypatch.setenv("OSCHED_STATE_DIR", str(e.state))
    monkeypatch.setenv("OSCHED_NOW", "2026-11-24T12:00:00+00:00")
    try:
        yield e
    finally:
        e.cleanup()
