"""A web app's schedules API on osched (docs/api.md): the router of the in-process scheduler
osched grew out of (``/api/projects/{project_name}/schedules``: list, create, get, patch,
delete, next run), with the same fields, over ``osched.api``.  The app keeps no scheduler: the
operating system fires the windows, so restarting the app loses nothing.

    OSCHED_CONFIG=~/.config/osched/osched.toml uvicorn --factory examples.webapp.app:from_env

A project is an osched job; its command comes from ``command_for`` (here: a stand-in agent).
Times are UTC ``HH:MM``, days a bitmask (Monday = 1, Tuesday = 2 ... Sunday = 64), as in the
original.  Endpoints are plain ``def``: FastAPI runs them in threads, and osched's config lock
keeps every concurrent edit."""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from fastapi import APIRouter, FastAPI, HTTPException
from pydantic import BaseModel, Field

from osched.api import Osched, UsageError

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
PROJECT_RE = re.compile(r"[A-Za-z0-9_-]{1,50}")


class ScheduleCreate(BaseModel):
    start_time: str = Field(pattern=r"^\d\d:\d\d$")  # UTC
    duration_minutes: int = Field(ge=1, le=7 * 1440)
    days_of_week: int = Field(default=127, ge=1, le=127)
    enabled: bool = True


class ScheduleUpdate(BaseModel):
    start_time: str | None = Field(default=None, pattern=r"^\d\d:\d\d$")
    duration_minutes: int | None = Field(default=None, ge=1, le=7 * 1440)
    days_of_week: int | None = Field(default=None, ge=1, le=127)
    enabled: bool | None = None


class ScheduleResponse(BaseModel):
    id: str
    project_name: str
    start_time: str
    duration_minutes: int
    days_of_week: int
    enabled: bool


class ScheduleListResponse(BaseModel):
    schedules: list[ScheduleResponse]


class NextRunResponse(BaseModel):
    has_schedules: bool
    next_start: datetime | None
    next_end: datetime | None
    is_currently_running: bool
    active_schedule_count: int


def _days(mask: int) -> list[str]:
    return [d for i, d in enumerate(DAYS) if mask & (1 << i)]


def _mask(days: tuple[str, ...]) -> int:
    return sum(1 << DAYS.index(d) for d in days)


def create_app(
    config: Path, state_dir: Path | None, command_for: Callable[[str], list[str]], target: str = "auto"
) -> FastAPI:
    o = Osched(config, state_dir)
    router = APIRouter(prefix="/api/projects/{project_name}/schedules", tags=["schedules"])

    def project(name: str) -> str:
        if not PROJECT_RE.fullmatch(name):
            raise HTTPException(status_code=400, detail="Invalid project name")
        return name

    def response(name: str, s: object) -> ScheduleResponse:
        return ScheduleResponse(
            id=s.id,  # type: ignore[attr-defined]
            project_name=name,
            start_time=s.start,  # type: ignore[attr-defined]
            duration_minutes=s.duration_minutes,  # type: ignore[attr-defined]
            days_of_week=_mask(s.days),  # type: ignore[attr-defined]
            enabled=s.enabled,  # type: ignore[attr-defined]
        )

    def weekly(name: str) -> list[object]:
        try:
            return [s for s in o.job(name).schedules if s.date is None]
        except UsageError:  # no job yet: no schedules
            return []

    def one(name: str, schedule_id: str) -> object:
        for s in weekly(name):
            if s.id == schedule_id:  # type: ignore[attr-defined]
                return s
        raise HTTPException(status_code=404, detail="Schedule not found")

    @router.get("", response_model=ScheduleListResponse)
    def list_schedules(project_name: str) -> ScheduleListResponse:
        name = project(project_name)
        found = sorted(weekly(name), key=lambda s: s.start)  # type: ignore[attr-defined]
        return ScheduleListResponse(schedules=[response(name, s) for s in found])

    @router.post("", response_model=ScheduleResponse, status_code=201)
    def create_schedule(project_name: str, data: ScheduleCreate) -> ScheduleResponse:
        name = project(project_name)
        try:
            new = not any(j.name == name for j in o.jobs())
            if new:
                o.add_job(name, command_for(name))
            # inside its window, the job starts at once unless a stop override holds
            s, _ = o.add_schedule(
                name,
                start=data.start_time,
                duration=f"{data.duration_minutes}m",
                days=_days(data.days_of_week),
                timezone="UTC",
                enabled=data.enabled,
            )
            if new:  # the OS fires it from now on; later edits re-install by themselves
                o.install(target, start_now=False)
        except UsageError as e:
            raise HTTPException(status_code=422, detail=str(e)) from None
        return response(name, s)

    @router.get("/next", response_model=NextRunResponse)
    def next_run(project_name: str) -> NextRunResponse:
        name = project(project_name)
        if not weekly(name):
            return NextRunResponse(
                has_schedules=False, next_start=None, next_end=None, is_currently_running=False,
                active_schedule_count=0,
            )  # fmt: skip
        r = o.next_run(name)
        return NextRunResponse(
            has_schedules=r.has_schedules, next_start=r.next_start, next_end=r.next_end,
            is_currently_running=r.is_currently_running, active_schedule_count=r.active_schedule_count,
        )  # fmt: skip

    @router.get("/{schedule_id}", response_model=ScheduleResponse)
    def get_schedule(project_name: str, schedule_id: str) -> ScheduleResponse:
        name = project(project_name)
        return response(name, one(name, schedule_id))

    @router.patch("/{schedule_id}", response_model=ScheduleResponse)
    def update_schedule(project_name: str, schedule_id: str, data: ScheduleUpdate) -> ScheduleResponse:
        name = project(project_name)
        one(name, schedule_id)
        keys: dict[str, object] = {}
        if data.start_time is not None:
            keys["start"] = data.start_time
        if data.duration_minutes is not None:
            keys["duration"] = f"{data.duration_minutes}m"
        if data.days_of_week is not None:
            keys["days"] = _days(data.days_of_week)
        if data.enabled is not None:
            keys["enabled"] = data.enabled
        try:
            s, _ = o.set_schedule(name, schedule_id, **keys)
        except UsageError as e:
            raise HTTPException(status_code=422, detail=str(e)) from None
        return response(name, s)

    @router.delete("/{schedule_id}", status_code=204)
    def delete_schedule(project_name: str, schedule_id: str) -> None:
        name = project(project_name)
        one(name, schedule_id)
        o.remove_schedule(name, schedule_id)

    agent = APIRouter(prefix="/api/projects/{project_name}/agent", tags=["agent"])

    @agent.post("/start")
    def start(project_name: str) -> dict[str, str]:
        """A manual start: a start override until the window's end (or the next start)."""
        return {"message": o.start(project(project_name))}

    @agent.post("/stop")
    def stop(project_name: str) -> dict[str, str]:
        """A manual stop: a stop override until the window's end."""
        return {"message": o.stop(project(project_name))}

    app = FastAPI(title="schedules on osched")
    app.include_router(router)
    app.include_router(agent)
    return app


def from_env() -> FastAPI:
    """``uvicorn --factory``: the config from ``$OSCHED_CONFIG``, a stand-in agent per project."""
    agent = Path(__file__).resolve().parent.parent / "fake_agent.py"
    config = Path(os.environ.get("OSCHED_CONFIG", "osched.toml"))
    return create_app(config, None, lambda name: [sys.executable, str(agent), "--work", "5"])
