"""Dates beside weekdays (issue 27): skip, holidays and one-off windows, from the config to the
calendar, the decisions, the fast lane, every target's artifacts and simulate."""

from __future__ import annotations

import json
import random
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from test_dst_sweep import wall_instant

from osched import dates
from osched.cli import cli
from osched.config import load
from osched.simulate import simulate
from osched.targets.base import RenderContext
from osched.windows import windows_between

ZONES = ["Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "UTC", "Pacific/Chatham"]
A = datetime(2026, 1, 1, tzinfo=UTC)
B = datetime(2028, 1, 1, tzinfo=UTC)


def run(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args))


def write(path: Path, body: str) -> Path:
    path.write_text('timezone = "Europe/Berlin"\n\n' + body)
    path.chmod(0o600)
    return path


# -- the calendar against an independent reference ------------------------------------------------
def reference(h: int, m: int, dur: int, days: frozenset[int], zone: str, skip: set[date], on: date | None):
    """Windows from the rule as docs/windows.md states it, by its own arithmetic: a start on a
    listed weekday (the one date of a one-off window) whose date is not skipped; the wall time
    resolved by test_dst_sweep's brute force."""
    tz = ZoneInfo(zone)
    out = []
    day = (A - timedelta(days=9)).astimezone(tz).date()
    while day <= B.astimezone(tz).date() + timedelta(days=1):
        listed = day == on if on is not None else day.weekday() in days and day not in skip
        if listed:
            s = wall_instant(day, h, m, tz)
            if s < B and s + timedelta(minutes=dur) > A:
                out.append((s, s + timedelta(minutes=dur)))
        day += timedelta(days=1)
    return out


def test_windows_with_skips_and_one_off_windows_match_the_reference(tmp_path: Path) -> None:
    rng = random.Random(27)
    body = []
    expected: dict[str, list[tuple[datetime, datetime]]] = {}
    for i in range(60):
        zone = ZONES[i % len(ZONES)]
        h, m = rng.choice([0, 1, 2, 3, 12, 22, 23]), rng.choice([0, 15, 30, 45])
        dur = rng.choice([30, 60, 90, 240, 600])
        if i % 3 == 0:  # a one-off window, often on a DST change day
            on = rng.choice(
                [
                    date(2026, 3, 29),
                    date(2026, 10, 25),
                    date(2026, 3, 8),
                    date(2026, 11, 1),
                    date(2027, 4, 4),
                    date(2026, 9, 27),
                    date(2027, 6, 15),
                ]
            )
            body += [
                f"[[jobs.j{i}.windows]]",
                'id = "w"',
                f'start = "{on}T{h:02d}:{m:02d}"',
                f'duration = "{dur}m"',
                f'timezone = "{zone}"',
            ]
            expected[f"j{i}"] = reference(h, m, dur, frozenset(), zone, set(), on)
        else:
            days = frozenset(rng.sample(range(7), rng.randint(1, 5)))
            if (
                dur > 1440 * min(((b - a) % 7 or 7) for a in days for b in days if a != b)
                if len(days) > 1
                else False
            ):
                dur = 60
            first = date(2026, 1, 1) + timedelta(days=rng.randrange(600))
            skip = {first + timedelta(days=k) for k in range(rng.randint(1, 20))}
            single = date(2026, 10, 25)
            skip.add(single)
            names = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
            body += [
                f"[[jobs.j{i}.schedules]]",
                'id = "s"',
                f'start = "{h:02d}:{m:02d}"',
                f'duration = "{dur}m"',
                f"days = {json.dumps([names[d] for d in sorted(days)])}",
                f'timezone = "{zone}"',
                f'skip = ["{min(skip - {single})}..{max(skip - {single})}", "{single}"]',
            ]
            expected[f"j{i}"] = reference(h, m, dur, days, zone, skip, None)
        body.insert(len(body) - (5 if i % 3 == 0 else 7), f'[jobs.j{i}]\ncommand = ["true"]')
    cfg = load(write(tmp_path / "c.toml", "\n".join(body) + "\n"))
    for name, want in expected.items():
        (s,) = cfg.jobs[name].schedules
        got = [(w.start, w.end) for w in windows_between(s, A, B)]
        assert got == want, (name, s)


def test_a_window_open_when_a_skipped_date_begins_runs_to_its_end(tmp_path: Path) -> None:
    cfg = load(
        write(
            tmp_path / "c.toml",
            '[jobs.a]\ncommand = ["true"]\n[[jobs.a.schedules]]\nid = "n"\n'
            'start = "22:00"\nduration = "8h"\ndays = ["fri"]\nskip = ["2026-12-05"]\n',
        )
    )
    (s,) = cfg.jobs["a"].schedules
    got = windows_between(s, datetime(2026, 12, 4, tzinfo=UTC), datetime(2026, 12, 6, tzinfo=UTC))
    assert [(w.start.isoformat(), w.end.isoformat()) for w in got] == [
        ("2026-12-04T21:00:00+00:00", "2026-12-05T05:00:00+00:00")  # Friday's window, into Saturday
    ]


def test_one_off_windows_in_a_gap_and_in_the_repeated_hour(tmp_path: Path) -> None:
    cfg = load(
        write(
            tmp_path / "c.toml",
            '[jobs.a]\ncommand = ["true"]\n'
            '[[jobs.a.windows]]\nid = "gap"\nstart = "2026-03-29T02:30"\nduration = "1h"\n'
            '[[jobs.a.windows]]\nid = "fold"\nstart = "2026-10-25T02:30"\nduration = "1h"\n',
        )
    )
    gap, fold = cfg.jobs["a"].schedules
    (g,) = windows_between(gap, A, B)
    (f,) = windows_between(fold, A, B)
    assert g.start == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)  # 03:00 CEST, the first instant after the gap
    assert f.start == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # 02:30 CEST, the first pass
    assert f.end - f.start == timedelta(hours=1) and g.end - g.start == timedelta(hours=1)


# -- simulate: every target -------------------------------------------------------------------------
CONFIG = """[jobs.agent]
command = ["true"]
skip = ["2026-12-24..2026-12-27", "2027-03-28"]

[[jobs.agent.schedules]]
id = "nights"
start = "22:00"
duration = "2h"
days = ["daily"]

[[jobs.agent.schedules]]
id = "mornings"
start = "02:30"
duration = "1h"
days = ["sun"]

[[jobs.agent.windows]]
id = "gap"
start = "2027-03-28T02:30"
duration = "1h"

[[jobs.agent.windows]]
id = "fold"
start = "2026-10-25T02:10"
duration = "1h"
timezone = "Europe/Berlin"

[[jobs.agent.windows]]
id = "ny"
start = "2026-11-01T01:30"
duration = "45m"
timezone = "America/New_York"

[[jobs.agent.windows]]
id = "over"
start = "2026-09-01T10:00"
duration = "1h"
"""


@pytest.mark.parametrize("target", ["cron", "systemd", "taskscheduler", "launchd"])
@pytest.mark.parametrize("host", ["Europe/Berlin", "UTC", "America/New_York"])
def test_simulate_opens_every_one_off_window_and_no_skipped_one(
    tmp_path: Path, target: str, host: str
) -> None:
    cfg = load(write(tmp_path / "c.toml", CONFIG))
    now = datetime(2026, 10, 1, tzinfo=UTC)
    ctx = RenderContext(
        config_path=tmp_path / "c.toml",
        state_dir=tmp_path / "s",
        now=now,
        host_zone=host,
        start_exe="/x/osched-start",
        stop_exe="/x/osched-stop",
    )
    r = simulate(target, cfg, ctx, now, now + timedelta(days=200), engine="osched")
    assert r.problems == [], [(v.window.schedule.id, v.window.start, v.opened, v.closed) for v in r.problems]
    opened = {(v.window.schedule.id, v.window.start.date()) for v in r.verdicts if v.opened}
    assert {"gap", "fold", "ny"} <= {sid for sid, _ in opened}
    berlin = ZoneInfo("Europe/Berlin")
    for sid, day in opened:
        if sid == "nights":
            local = datetime.combine(day, datetime.min.time(), tzinfo=UTC).astimezone(berlin).date()
            assert not date(2026, 12, 23) < local < date(2026, 12, 28) or local == date(2026, 12, 23)
    nights = {
        v.window.start.astimezone(berlin).date() for v in r.verdicts if v.window.schedule.id == "nights"
    }
    assert date(2026, 12, 24) not in nights and date(2026, 12, 27) not in nights
    assert date(2026, 12, 23) in nights and date(2026, 12, 28) in nights
    assert date(2027, 3, 28) not in {
        v.window.start.astimezone(berlin).date() for v in r.verdicts if v.window.schedule.id == "mornings"
    }
    # the skip is the entrypoint's: a skipped night's firing comes, and is skipped with its date
    skipped = [
        d for d in r.decided if d.firing.schedule == "nights" and "2026-12-25 is a skipped date" in d.reason
    ]
    assert skipped and all(d.action == "skip" for d in skipped)
    rendered = "\n".join(
        f.content for f in __import__("osched.targets", fromlist=["render"]).render(target, cfg, ctx)
    )
    assert "over" not in {
        ln.split("--schedule ")[1].split()[0] for ln in rendered.splitlines() if "--schedule " in ln
    }


# -- holidays ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("region", ["DE-BY", "US-CA"])
@pytest.mark.parametrize("year", [2026, 2027])
def test_holidays_are_the_packages_own(region: str, year: int) -> None:
    import holidays

    country, sub = region.split("-")
    assert dates.holiday_dates(region, year) == frozenset(
        holidays.country_holidays(country, subdiv=sub, years=year)
    )
    assert len(dates.holiday_dates(region, year)) >= 8


def test_a_holiday_skips_the_window_and_says_which(env: Any) -> None:
    env.write([{"id": "day", "start": "10:00", "duration": "4h", "days": ["daily"]}], holidays="DE-BY")
    r = env.entry("start", "agent", "--schedule", "day", now="2026-12-25T11:00:00+00:00", check=True)
    assert "2026-12-25 is a public holiday in DE-BY (Christmas Day)" in r.stdout + r.stderr
    assert env.kinds() == ["start_skipped"]
    env.entry("start", "agent", "--schedule", "day", now="2026-12-28T11:00:00+00:00", check=True)
    env.wait_event("started")


def test_without_the_package_the_key_names_the_extra(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setitem(sys.modules, "holidays", None)
    dates.holiday_dates.cache_clear()
    path = write(tmp_path / "c.toml", '[jobs.a]\ncommand = ["true"]\nholidays = "DE-BY"\n')
    r = run("--config", str(path), "list")
    assert r.exit_code == 2
    assert r.output.strip() == (
        f"Error: {path}: jobs.a.holidays: holidays = 'DE-BY' needs the holidays package: "
        "pip install 'osched[holidays]'"
    )
    dates.holiday_dates.cache_clear()


# -- bad input --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("body", "error"),
    [
        ('skip = ["2026-02-30"]', "jobs.a.skip: '2026-02-30' is not a date"),
        (
            'skip = ["2026-12-31..2026-12-01"]',
            "jobs.a.skip: '2026-12-31..2026-12-01': the range ends before it begins",
        ),
        ('skip = "2026-12-24"', "jobs.a.skip: must be a list of dates"),
        ('holidays = "Bavaria"', "jobs.a.holidays: expected a country code"),
        ('holidays = "XX"', "jobs.a.holidays: the holidays package does not know 'XX'"),
        (
            '[[jobs.a.windows]]\nstart = "2026-12-05"\nduration = "1h"',
            "jobs.a.windows[0].start: expected a date and wall time",
        ),
        ('[[jobs.a.windows]]\nstart = "2026-12-05T02:00"', "jobs.a.windows[0].duration: missing"),
        (
            '[[jobs.a.windows]]\nid = "s"\nstart = "2026-12-05T02:00"\nduration = "1h"\n'
            '[[jobs.a.schedules]]\nid = "s"\nstart = "22:00"\nduration = "1h"\ndays = ["mon"]',
            "jobs.a.windows[0].id: duplicate id 's'",
        ),
    ],
)
def test_bad_dates_are_one_line_errors_at_their_key(tmp_path: Path, body: str, error: str) -> None:
    path = write(tmp_path / "c.toml", f'[jobs.a]\ncommand = ["true"]\n{body}\n')
    before = path.read_text()
    r = run("--config", str(path), "list")
    assert r.exit_code == 2 and len(r.output.strip().splitlines()) == 1, r.output
    assert error in r.output
    assert path.read_text() == before


# -- the CLI ----------------------------------------------------------------------------------------
def test_skip_and_window_commands_edit_the_file(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setenv("OSCHED_NOW", "2026-11-30T12:00:00+00:00")
    monkeypatch.setenv("OSCHED_STATE_DIR", str(tmp_path / "state"))
    path = write(
        tmp_path / "c.toml",
        '# mine\n[jobs.a]\ncommand = ["true"]  # kept\n'
        '[[jobs.a.schedules]]\nid = "n"\nstart = "22:00"\nduration = "1h"\ndays = ["daily"]\n',
    )
    c = ["--config", str(path)]
    assert run(*c, "skip", "a", "2026-12-24..2026-12-26", "2027-01-01").exit_code == 0
    assert run(*c, "skip", "a", "--schedule", "n", "2026-12-08").exit_code == 0
    text = path.read_text()
    assert 'skip = ["2026-12-24..2026-12-26", "2027-01-01"]' in text and 'skip = ["2026-12-08"]' in text
    assert "# mine" in text and "# kept" in text
    assert run(*c, "skip", "list").output == "a: 2026-12-24..2026-12-26, 2027-01-01\na/n: 2026-12-08\n"
    r = run(*c, "skip", "a", "--remove", "2026-12-25")
    assert r.exit_code == 2 and "2026-12-25 is part of 2026-12-24..2026-12-26" in r.output
    assert run(*c, "skip", "a", "--remove", "2027-01-01").exit_code == 0
    assert 'skip = ["2026-12-24..2026-12-26"]' in path.read_text()
    r = run(*c, "skip", "a", "2026-13-01")
    assert r.exit_code == 2 and "DATE|RANGE" in r.output
    nights = json.loads(run(*c, "next", "-n", "40", "--json").output)["windows"]
    assert not any(
        w["start"].startswith(("2026-12-24", "2026-12-25", "2026-12-26", "2026-12-08")) for w in nights
    )

    r = run(*c, "window", "add", "a", "--at", "2026-12-05T02:00", "--duration", "4h")
    assert r.exit_code == 0, r.output
    assert "Added window a/once-20261205-0200: 02:00 for 4h on 2026-12-05 (Europe/Berlin)" in r.output
    assert '[[jobs.a.windows]]\nstart = "2026-12-05T02:00"\nduration = "4h"' in path.read_text()
    r = run(*c, "window", "add", "a", "--at", "2026-12-05T02:00", "--duration", "4h")
    assert r.exit_code == 2 and "already has a window or schedule with id 'once-20261205-0200'" in r.output
    listed = run(*c, "window", "list").output
    assert "a/once-20261205-0200: 02:00 for 4h on 2026-12-05 (Europe/Berlin)" in listed
    shown = json.loads(run(*c, "show", "a", "--json").output)
    once = [s for s in shown["schedules"] if s["one_off"]]
    assert once[0]["date"] == "2026-12-05" and shown["skip"] == ["2026-12-24..2026-12-26"]
    status = run(*c, "next", "-n", "8").output
    assert "a/once-20261205-0200" in status
    assert run(*c, "window", "remove", "a", "once-20261205-0200").exit_code == 0
    assert "windows" not in path.read_text()
    r = run(*c, "window", "remove", "a", "nope")
    assert r.exit_code == 2 and "no one-off window with id 'nope'" in r.output


def test_doctor_reports_what_is_over(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setenv("OSCHED_NOW", "2027-02-01T12:00:00+00:00")
    monkeypatch.setenv("OSCHED_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("OSCHED_CRONTAB_FILE", str(tmp_path / "crontab"))
    path = write(
        tmp_path / "c.toml",
        '[jobs.a]\ncommand = ["true"]\nskip = ["2026-12-24", "2027-12-24"]\n'
        '[[jobs.a.windows]]\nid = "m"\nstart = "2026-12-05T02:00"\nduration = "4h"\n',
    )
    out = run("--config", str(path), "doctor").output
    assert (
        "ok    a/m: the one-off window of 2026-12-05 is over (finished)  -> osched window remove a m" in out
    )
    assert "ok    a: skip dates in the past: 2026-12-24  -> osched skip a --remove 2026-12-24" in out
    r = run("--config", str(path), "render", "--target", "cron")
    assert "--schedule m" not in r.output  # dropped from the artifacts


# -- the fast lane agrees -----------------------------------------------------------------------------
def test_the_fast_lane_hands_a_skipped_date_to_the_full_path(env: Any, monkeypatch: Any) -> None:
    """The fire file lists the windows a date skips: a firing there is decided by the full
    path, which names the date; elsewhere the fast lane answers as before."""
    from osched import fastlane
    from osched.cache import for_firing_noting
    from osched.core import cache as core_cache
    from osched.core.store import Store

    monkeypatch.setattr(core_cache, "RACY_NS", 0)  # the margin, injected: no sleep
    env.write([{"id": "day", "start": "10:00", "duration": "4h", "days": ["daily"], "skip": ["2026-11-25"]}])
    env.entry("start", "agent", "--schedule", "day", now="2026-11-24T15:00:00+00:00", check=True)
    for_firing_noting(Store(str(env.state)), env.config, "agent", datetime(2026, 11, 24, 15, tzinfo=UTC))
    fires = list(env.state.rglob("agent.fire"))
    assert fires and [ln for ln in fires[0].read_text().splitlines() if ln.startswith("x ")]
    argv = ["agent", "--schedule", "day", "--config", str(env.config), "--state-dir", str(env.state), "-v"]
    monkeypatch.setenv("OSCHED_NOW", "2026-11-25T10:00:00+00:00")  # the skipped window's start
    with pytest.raises(fastlane.Fallback):
        fastlane.answer("osched-start", argv)
    monkeypatch.setenv("OSCHED_NOW", "2026-11-25T16:00:00+00:00")  # an ordinary skip: answered
    assert fastlane.answer("osched-start", argv).startswith(
        "agent: outside the window of day (next start 2026-11-26T10:00"
    )
    out = env.entry("start", "agent", "--schedule", "day", now="2026-11-25T10:00:00+00:00", check=True)
    assert "day: 2026-11-25 is a skipped date (skip)" in out.stdout + out.stderr
    assert env.events()[-1]["reason"] == "day: 2026-11-25 is a skipped date (skip)"


# -- kubernetes: a CronJob per month for a schedule with skipped dates -----------------------------
def test_kubernetes_splits_a_schedule_with_skipped_dates_by_month(tmp_path: Path) -> None:
    import kubernetes_validate
    import yaml

    from osched import targets

    cfg = load(
        write(
            tmp_path / "c.toml",
            '[jobs.a]\ncommand = ["true"]\nskip = ["2026-12-24..2026-12-26"]\n'
            'holidays = "DE-BY"\n[jobs.a.kubernetes]\nimage = "x:1"\n'
            '[[jobs.a.schedules]]\nid = "n"\nstart = "22:00"\nduration = "2h"\ndays = ["mon-fri"]\n'
            '[[jobs.a.windows]]\nid = "m"\nstart = "2027-01-09T02:00"\nduration = "4h"\n',
        )
    )
    now = datetime(2026, 11, 30, 12, tzinfo=UTC)
    ctx = RenderContext(
        config_path=tmp_path / "c.toml",
        state_dir=tmp_path / "s",
        now=now,
        host_zone="UTC",
        start_exe="/x/osched-start",
        stop_exe="/x/osched-stop",
    )
    docs = [yaml.safe_load(f.content) for f in targets.render("kubernetes", cfg, ctx)]
    for d in docs:
        kubernetes_validate.validate(d, "1.27.0", strict=True)
    names = [d["metadata"]["name"] for d in docs]
    assert len(set(names)) == len(names) == 13  # 12 months of "n" and the one-off window
    by_month = {
        d["spec"]["schedule"].split()[3]: d["spec"]["schedule"]
        for d in docs
        if "-m-" not in d["metadata"]["name"]
    }
    assert len(by_month) == 12
    december = by_month["12"].split()[2].split(",")
    assert "23" in december and not {"24", "25", "26"} & set(december)  # skipped, and Christmas Day
    assert "8" in by_month["12"].split()[2].split(",")  # Immaculate Conception is not a Bavarian holiday
    january = by_month["1"].split()[2].split(",")
    assert "1" not in january and "6" not in january and "7" in january  # New Year, Epiphany (DE-BY)
    assert [d["spec"]["schedule"] for d in docs if "-m-" in d["metadata"]["name"]] == ["0 2 9 1 *"]
    t = targets.get("kubernetes")
    entry = {"installed_at": now.isoformat()}
    assert t.runs_out(cfg, entry, now + timedelta(days=300)) == []
    assert t.runs_out(cfg, entry, now + timedelta(days=340)) == [
        "a/n: its CronJobs (one per month, for its skipped dates) run out on 2027-11-01"
    ]


def test_the_read_commands_speak_json(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setenv("OSCHED_NOW", "2026-11-30T12:00:00+00:00")
    monkeypatch.setenv("TZ", "Europe/Berlin")
    monkeypatch.setenv("OSCHED_HOST_TZ", "Europe/Berlin")
    monkeypatch.setenv("OSCHED_STATE_DIR", str(tmp_path / "state"))
    example = Path(__file__).resolve().parent.parent / "examples" / "dates.toml"
    path = write(tmp_path / "c.toml", example.read_text().split("\n", 2)[2])
    c = ["--config", str(path)]
    assert json.loads(run(*c, "window", "list", "--json").output) == {
        "timezone": "Europe/Berlin",
        "windows": [
            {
                "job": "agent",
                "id": "migration",
                "date": "2026-12-06",
                "start": "2026-12-06T02:00:00+01:00",
                "end": "2026-12-06T06:00:00+01:00",
                "schedule_timezone": "Europe/Berlin",
                "enabled": True,
                "over": False,
            }
        ],
    }
    assert json.loads(run(*c, "skip", "list", "--json").output) == {
        "skips": [
            {"job": "agent", "schedule": None, "skip": ["2026-12-24..2027-01-01"], "holidays": None},
            {"job": "agent", "schedule": "weeknights", "skip": ["2026-12-01"], "holidays": None},
        ]
    }
    r = run(*c, "skip", "agent", "2027-01-05", "--json")  # an edit answers with its own object
    assert r.exit_code == 0 and json.loads(r.output)["skip"] == ["2026-12-24..2027-01-01", "2027-01-05"]
