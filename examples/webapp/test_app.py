"""The example web app (examples/webapp/app.py) over osched.api, with FastAPI's TestClient: the
original router's endpoints and fields; a schedule created inside its window starts the job
unless a stop override holds; the app restarting loses nothing; two requests editing at once
both land."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi", reason="the example app needs fastapi and httpx (pip install -e '.[test]')")
from fastapi.testclient import TestClient

sys.path.insert(0, str(Path(__file__).resolve().parent))
from app import create_app

from osched.api import Osched

NOON = "2026-11-24T12:00:00+00:00"  # a Tuesday
BASE = "/api/projects/agent/schedules"


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    monkeypatch.setenv("OSCHED_NOW", NOON)
    monkeypatch.setenv("OSCHED_CRONTAB_FILE", str(tmp_path / "crontab"))
    config = tmp_path / "osched.toml"
    config.write_text('timezone = "UTC"\n')
    config.chmod(0o600)
    state = tmp_path / "state"
    command = [sys.executable, "-c", "import time; time.sleep(600)"]

    def app() -> TestClient:
        return TestClient(create_app(config, state, lambda name: command, target="cron"))

    yield {"app": app, "api": Osched(config, state), "crontab": tmp_path / "crontab"}
    api = Osched(config, state)
    for job in api.jobs():
        api.stop(job.name)
    api.uninstall(purge=True)


def test_the_original_endpoints_and_fields(site: dict[str, Any]) -> None:
    c = site["app"]()
    assert c.get(BASE).json() == {"schedules": []}
    assert c.get(f"{BASE}/next").json() == {
        "has_schedules": False, "next_start": None, "next_end": None,
        "is_currently_running": False, "active_schedule_count": 0,
    }  # fmt: skip
    r = c.post(BASE, json={"start_time": "22:00", "duration_minutes": 480, "days_of_week": 31})
    assert r.status_code == 201, r.text
    created = r.json()
    assert created == {
        "id": "s1",
        "project_name": "agent",
        "start_time": "22:00",
        "duration_minutes": 480,
        "days_of_week": 31,
        "enabled": True,
    }
    assert "osched-start agent --schedule s1" in site["crontab"].read_text()  # the OS fires it
    assert c.get(f"{BASE}/s1").json() == created
    assert c.get(f"{BASE}/next").json() == {
        "has_schedules": True, "next_start": "2026-11-24T22:00:00Z", "next_end": None,
        "is_currently_running": False, "active_schedule_count": 0,
    }  # fmt: skip
    r = c.patch(f"{BASE}/s1", json={"start_time": "21:30", "days_of_week": 96})
    assert r.status_code == 200 and r.json()["start_time"] == "21:30" and r.json()["days_of_week"] == 96
    assert "30 21 * * 0,6" in site["crontab"].read_text()  # re-installed by the edit
    assert c.get(f"{BASE}/nope").status_code == 404
    assert c.post(BASE, json={"start_time": "25:00", "duration_minutes": 60}).status_code == 422
    assert c.get("/api/projects/bad..name/schedules").status_code == 400
    assert c.delete(f"{BASE}/s1").status_code == 204
    assert c.get(BASE).json() == {"schedules": []}
    assert c.delete(f"{BASE}/s1").status_code == 404


def test_a_schedule_created_inside_its_window_starts_the_job(site: dict[str, Any]) -> None:
    c = site["app"]()
    r = c.post(BASE, json={"start_time": "10:00", "duration_minutes": 240})
    assert r.status_code == 201, r.text
    run = site["api"].next_run("agent")
    assert run.process_running and run.is_currently_running
    assert c.get(f"{BASE}/next").json()["next_end"] == "2026-11-24T14:00:00Z"


def test_a_stop_override_keeps_a_new_window_from_starting(site: dict[str, Any]) -> None:
    c = site["app"]()
    assert c.post(BASE, json={"start_time": "10:00", "duration_minutes": 240}).status_code == 201
    assert site["api"].next_run("agent").process_running
    assert "stopped" in c.post("/api/projects/agent/agent/stop").json()["message"]  # until 14:00
    assert c.post(BASE, json={"start_time": "11:00", "duration_minutes": 120}).status_code == 201
    assert not site["api"].next_run("agent").process_running  # the override holds
    nxt = c.get(f"{BASE}/next").json()
    assert nxt["is_currently_running"] is False and nxt["active_schedule_count"] == 0  # the seed's rule
    assert "started" in c.post("/api/projects/agent/agent/start").json()["message"]
    assert site["api"].next_run("agent").process_running


def test_restarting_the_app_loses_nothing(site: dict[str, Any]) -> None:
    first = site["app"]()
    assert first.post(BASE, json={"start_time": "22:00", "duration_minutes": 60}).status_code == 201
    del first
    again = site["app"]()  # a new process would see the same: the schedules live in the config
    assert [s["id"] for s in again.get(BASE).json()["schedules"]] == ["s1"]
    assert again.get(f"{BASE}/next").json()["next_start"] == "2026-11-24T22:00:00Z"


def test_two_requests_editing_at_once_both_land(site: dict[str, Any]) -> None:
    c = site["app"]()
    assert c.post(BASE, json={"start_time": "22:00", "duration_minutes": 60}).status_code == 201
    bodies = [{"start_time": f"0{h}:00", "duration_minutes": 30, "days_of_week": 1} for h in range(1, 9)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        codes = list(pool.map(lambda b: c.post(BASE, json=b).status_code, bodies))
    assert codes == [201] * 8
    starts = sorted(s["start_time"] for s in c.get(BASE).json()["schedules"])
    assert starts == [f"0{h}:00" for h in range(1, 9)] + ["22:00"]
