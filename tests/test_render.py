"""Rendering: escaping tables, golden files, and the real validators (systemd-analyze verify,
the Task Scheduler schema, plistlib, cronsim for cron's own idea of fire times)."""

from __future__ import annotations

import os
import plistlib
import shlex
import shutil
import subprocess
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from crontab import CronTab
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from osched import targets
from osched.config import load
from osched.errors import UsageError
from osched.model import Config, Job, Schedule
from osched.targets.base import RenderContext
from osched.templating import (
    cron_command,
    systemd_arg,
    systemd_executable,
    systemd_text,
    windows_cmdline,
    xml_text,
)
from osched.windows import windows_between

from conftest import EXAMPLES, ROOT

GOLDEN = Path(__file__).parent / "golden"
SCHEMA = ROOT.parent / "shared" / "oracles" / "TaskSchedulerV2Schema.xsd"
NS = "{http://schemas.microsoft.com/windows/2004/02/mit/task}"
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
HOSTILE = "dir with space/it's \"quoted\" 100% $HOME \\back ünï"


def golden_ctx(host: str = "Europe/Berlin", system: bool = False) -> RenderContext:
    return RenderContext(
        config_path=Path("/home/ada/.config/osched/osched.toml"),
        state_dir=Path("/home/ada/.local/state/osched"),
        now=NOW,
        host_zone=host,
        system=system,
        start_exe="/opt/osched/bin/osched-start",
        stop_exe="/opt/osched/bin/osched-stop",
        user="ada",
    )


def example() -> Config:
    return load(EXAMPLES / "osched.toml")


def example_system(user: str = "nobody") -> Config:
    """The example as a --system install needs it: the user its jobs run as."""
    from dataclasses import replace

    cfg = example()
    return replace(cfg, jobs={n: replace(j, user=user) for n, j in cfg.jobs.items()})


# -- escaping filters, one table each ----------------------------------------------------------
@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["/bin/x", "a b"], "/bin/x 'a b'"),
        (["/bin/x", "100%"], "/bin/x 100\\%"),
        (["/bin/x", "it's"], "/bin/x 'it'\"'\"'s'"),
        (["/bin/x", "$HOME"], "/bin/x '$HOME'"),
        (["/bin/x", "a\\b"], "/bin/x 'a\\b'"),
        (["/bin/x", "ünï"], "/bin/x 'ünï'"),
    ],
)
def test_cron_command(argv: list[str], expected: str) -> None:
    assert cron_command(argv) == expected
    # what /bin/sh sees after cron removed the backslash before %
    assert shlex.split(expected.replace("\\%", "%")) == argv


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("plain", '"plain"'),
        ("a b", '"a b"'),
        ("100%", '"100%%"'),
        ("%h/x", '"%%h/x"'),
        ("$HOME", '"$$HOME"'),
        ('say "hi"', '"say \\"hi\\""'),
        ("a\\b", '"a\\\\b"'),
        ("ünï", '"ünï"'),
    ],
)
def test_systemd_arg(value: str, expected: str) -> None:
    assert systemd_arg(value) == expected


@pytest.mark.parametrize(
    ("path", "expected"),
    [("/opt/a b/x", '"/opt/a b/x"'), ("/opt/100%/x", '"/opt/100%%/x"'), ("/opt/$d/x", '"/opt/$d/x"')],
)
def test_systemd_executable(path: str, expected: str) -> None:
    assert systemd_executable(path) == expected


@pytest.mark.parametrize("path", ["/opt/it's/x", '/opt/"q"/x', "/opt/back\\slash/x"])
def test_systemd_executable_refuses_what_systemd_refuses(path: str) -> None:
    with pytest.raises(UsageError, match="systemd cannot run a program"):
        systemd_executable(path)


def test_systemd_text_doubles_specifiers() -> None:
    assert systemd_text("50% at %H") == "50%% at %%H"
    with pytest.raises(UsageError):
        systemd_text("two\nlines")


@pytest.mark.parametrize(
    ("value", "expected"),
    [("a&b", "a&amp;b"), ("<x>", "&lt;x&gt;"), ('"q"', "&quot;q&quot;"), ("it's", "it&apos;s"),
     ("ünï", "ünï")],
)
def test_xml_text(value: str, expected: str) -> None:
    assert xml_text(value) == expected


def test_xml_rejects_control_characters() -> None:
    with pytest.raises(UsageError):
        xml_text("bell\x07")


@given(st.text(max_size=30))
def test_xml_text_is_the_escaped_text_or_a_refusal(value: str) -> None:
    """Its one-pass shortcut for plain values agrees with the full rule: what safe refuses is
    refused (the regex itself decides here), and the five characters are escaped."""
    from osched.safe import UNSAFE_RE

    xml_text.cache_clear()
    if UNSAFE_RE.search(value) is not None:
        with pytest.raises(UsageError):
            xml_text(value)
        return
    table = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;"}
    assert xml_text(value) == "".join(table.get(c, c) for c in value)


def test_unsafe_char_shortcut_for_ascii_is_the_regex() -> None:
    """``safe.unsafe_char`` answers printable ASCII without its regex: for every ASCII
    character, alone and inside plain text, its answer is the regex's."""
    from osched.safe import UNSAFE_RE, unsafe_char

    for c in map(chr, range(128)):
        for value in (c, f"plain {c} text", f"{c}x" * 3):
            m = UNSAFE_RE.search(value)
            assert unsafe_char(value) == (m.group(0) if m else None), repr(value)


@given(st.text(max_size=40))
def test_unsafe_char_is_the_regex(value: str) -> None:
    from osched.safe import UNSAFE_RE, unsafe_char

    m = UNSAFE_RE.search(value)
    assert unsafe_char(value) == (m.group(0) if m else None)


@pytest.mark.parametrize(
    ("argv", "expected"),
    [(["a", "b c"], 'a "b c"'), (['say "hi"'], '"say \\"hi\\""'), (["C:\\dir\\"], "C:\\dir\\")],
)
def test_windows_cmdline(argv: list[str], expected: str) -> None:
    assert windows_cmdline(argv) == expected


def test_newline_in_path_is_refused_for_cron() -> None:
    with pytest.raises(UsageError, match=r"contains '\\n', which a crontab line cannot hold"):
        cron_command(["/bin/x", "a\nb"])


# -- golden files -------------------------------------------------------------------------------
CASES = [
    ("cron", "Europe/Berlin", False),
    ("cron", "Europe/Berlin", True),
    ("systemd", "Europe/Berlin", False),
    ("taskscheduler", "Europe/Berlin", False),
    ("launchd", "Europe/Berlin", False),
    ("cron", "Asia/Kolkata", False),
]


@pytest.mark.parametrize(("target", "host", "system"), CASES)
def test_golden(target: str, host: str, system: bool) -> None:
    files = targets.render(target, example_system() if system else example(), golden_ctx(host, system))
    folder = GOLDEN / f"{target}-{host.replace('/', '_')}{'-system' if system else ''}"
    if os.environ.get("OSCHED_UPDATE_GOLDEN"):
        shutil.rmtree(folder, ignore_errors=True)
        targets.write_files(files, folder)
    expected = sorted(p.name for p in folder.iterdir())
    assert sorted(f.name for f in files) == expected
    for f in files:
        assert (folder / f.name).read_bytes() == f.data(), f.name


def test_task_xml_is_utf16_with_bom_and_crlf() -> None:
    (first, *_rest) = targets.render("taskscheduler", example(), golden_ctx())
    data = first.data()
    assert data[:2] == b"\xff\xfe"
    text = data[2:].decode("utf-16-le")
    assert text.startswith('<?xml version="1.0" encoding="UTF-16"?>\r\n')
    assert "\n" not in text.replace("\r\n", "")


# -- real validators --------------------------------------------------------------------------
def hostile_setup(tmp_path: Path) -> tuple[Config, RenderContext]:
    base = tmp_path / HOSTILE
    base.mkdir(parents=True)
    # systemd refuses quotes and backslashes in a program path (test_systemd_executable)
    bindir = tmp_path / "bin dir ünï 100% $x"
    bindir.mkdir()
    for name in ("osched-start", "osched-stop"):
        exe = bindir / name
        exe.write_text("#!/bin/sh\nexit 0\n")
        exe.chmod(0o755)
    cfg_path = base / "osched %n.toml"
    shutil.copy(EXAMPLES / "osched.toml", cfg_path)
    cfg = load(cfg_path)
    ctx = RenderContext(
        config_path=cfg_path, state_dir=base / "state $x", now=NOW, host_zone="America/New_York",
        start_exe=str(bindir / "osched-start"), stop_exe=str(bindir / "osched-stop"), user="ada",
    )
    return cfg, ctx


@pytest.mark.oracle
@pytest.mark.parametrize("hostile", [False, True])
def test_systemd_analyze_verify(tmp_path: Path, hostile: bool) -> None:
    if shutil.which("systemd-analyze") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("systemd-analyze is missing under CI: .ci/run must install systemd")
        pytest.skip("systemd-analyze is not installed (apt-get install systemd)")
    if hostile:
        cfg, ctx = hostile_setup(tmp_path)
    else:
        cfg = example()
        ctx = RenderContext(config_path=cfg.path, state_dir=tmp_path / "state", now=NOW,
                            host_zone="UTC", start_exe="/bin/true", stop_exe="/bin/true")
    files = targets.render("systemd", cfg, ctx)
    out = tmp_path / "units"
    targets.write_files(files, out)
    units = sorted(str(out / f.name) for f in files)
    r = subprocess.run(["systemd-analyze", "verify", "--man=no", *units],
                       capture_output=True, text=True, env={**os.environ, "SYSTEMD_LOG_LEVEL": "notice"})
    assert r.returncode == 0 and r.stderr == "", r.stderr
    service = next(f for f in files if f.name.endswith(".weeknights.service"))
    line = next(x for x in service.content.splitlines() if x.startswith("ExecStart="))
    # undo systemd quoting the way systemd does: the words are exactly the argv
    words = shlex.split(line[len("ExecStart="):])
    words = [words[0].replace("%%", "%")] + [w.replace("%%", "%").replace("$$", "$") for w in words[1:]]
    assert words == ctx.start_argv("demo-agent", "weeknights", foreground=True)


@pytest.mark.oracle
@pytest.mark.parametrize("hostile", [False, True])
def test_task_xml_validates_against_schema(tmp_path: Path, hostile: bool) -> None:
    if not SCHEMA.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{SCHEMA} is missing under CI")
        pytest.skip(f"{SCHEMA} not found beside the checkout")
    import xmlschema

    schema = xmlschema.XMLSchema(str(SCHEMA))
    cfg, ctx = hostile_setup(tmp_path) if hostile else (example(), golden_ctx())
    files = targets.render("taskscheduler", cfg, ctx)
    assert len(files) == 5
    for f in files:
        text = f.data().decode("utf-16")
        schema.validate(text)
        root = ET.fromstring(text.encode("utf-16"))
        for trig in root.iter(f"{NS}CalendarTrigger"):
            assert trig.find(f"{NS}StartBoundary") is not None
        assert root.findtext(f"{NS}Settings/{NS}ExecutionTimeLimit") == "PT0S"
        assert root.findtext(f"{NS}Settings/{NS}StartWhenAvailable") == "true"
        assert root.findtext(f"{NS}RegistrationInfo/{NS}URI").startswith("\\osched\\")
        if f.name.endswith(".start.xml") and "weeknights" in f.name:
            args = root.findtext(f"{NS}Actions/{NS}Exec/{NS}Arguments")
            assert args == windows_cmdline(ctx.start_argv("demo-agent", "weeknights")[1:])
            assert root.findtext(f"{NS}Actions/{NS}Exec/{NS}Command") == ctx.start_exe
    boot = next(f for f in files if f.name == f"{ctx.config_id}.resume.xml")
    assert "<BootTrigger>" in boot.content and "<LogonTrigger>" in boot.content


@pytest.mark.parametrize("hostile", [False, True])
def test_launchd_plists(tmp_path: Path, hostile: bool) -> None:
    cfg, ctx = hostile_setup(tmp_path) if hostile else (example(), golden_ctx())
    files = targets.render("launchd", cfg, ctx)
    labels = set()
    for f in files:
        data = plistlib.loads(f.data())
        # the Jinja template writes exactly what plistlib writes for the same values
        assert f.content == plistlib.dumps(data, sort_keys=True).decode("utf-8")
        assert f.name == data["Label"] + ".plist"
        labels.add(data["Label"])
        assert all(isinstance(a, str) for a in data["ProgramArguments"])
        assert Path(data["ProgramArguments"][0]).is_absolute()
        for item in data.get("StartCalendarInterval", []):
            assert set(item) == {"Weekday", "Hour", "Minute"}
            assert all(type(v) is int for v in item.values())
            assert 0 <= item["Weekday"] <= 6 and 0 <= item["Hour"] <= 23 and 0 <= item["Minute"] <= 59
    assert len(labels) == len(files)
    start = plistlib.loads(next(f for f in files if f.name.endswith("weeknights.start.plist")).data())
    assert start["ProgramArguments"] == ctx.start_argv("demo-agent", "weeknights")
    resume = plistlib.loads(next(f for f in files if "resume" in f.name).data())
    assert resume["RunAtLoad"] is True


@pytest.mark.parametrize("system", [False, True])
def test_cron_hostile_path_round_trips_through_python_crontab(tmp_path: Path, system: bool) -> None:
    cfg, ctx = hostile_setup(tmp_path)
    ctx = RenderContext(**{**ctx.__dict__, "system": system})
    if system:  # installed by and run as one user (one that exists here): its state dir named
        from dataclasses import replace

        ctx = replace(ctx, user="nobody")
        cfg = replace(cfg, jobs={n: replace(j, user="nobody") for n, j in cfg.jobs.items()})
    (f,) = targets.render("cron", cfg, ctx)
    tab = CronTab(tab=f.content, user=False) if system else CronTab(tab=f.content)
    jobs = list(tab)
    assert len(jobs) == sum(1 for x in f.content.splitlines() if x and not x.startswith(("#", "SHELL", "PATH")))
    for job in jobs:
        # python-crontab's comment: the line's note (issue 24: which window, which offset), then the marker
        assert job.comment.rsplit(" # ", 1)[-1].startswith(f"osched:{ctx.config_id}:")
        words = shlex.split(job.command)
        if system:
            assert job.user == ctx.user
        assert words[-4:] == ctx.tail()
    if not system:
        # python-crontab writes back exactly what osched rendered: % escaped once
        assert tab.render().lstrip("\n") == f.content


# -- cron fire times cover the windows (cronsim: Debian cron's semantics) ---------------------
ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata",
         "America/Santiago", "Europe/London"]


def cron_fires(when: str, tz: str, a: datetime, b: datetime) -> list[datetime]:
    from cronsim import CronSim

    out = []
    for t in CronSim(when, a.astimezone(__import__("zoneinfo").ZoneInfo(tz))):
        if t >= b:
            break
        out.append(t.astimezone(UTC))
    return out


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.integers(0, 23), st.sampled_from([0, 15, 30, 45]),
    st.sets(st.integers(0, 6), min_size=1, max_size=7),
    st.sampled_from([30, 90, 480, 1440, 2000]),
    st.sampled_from(ZONES), st.sampled_from(ZONES),
)
def test_cron_fire_times_cover_windows(
    hour: int, minute: int, days: set[int], duration: int, zone: str, host: str
) -> None:
    from osched.config import self_overlap

    if self_overlap(frozenset(days), duration):
        return
    s = Schedule(id="s", job="j", hour=hour, minute=minute, duration=duration,
                 days=frozenset(days), timezone=zone)
    cfg = Config(path=Path("/c.toml"), timezone=zone,
                 jobs={"j": Job(name="j", command=("x",), schedules=(s,))})
    ctx = RenderContext(config_path=Path("/c.toml"), state_dir=Path("/s"), now=NOW, host_zone=host,
                        start_exe="/x/osched-start", stop_exe="/x/osched-stop")
    from osched.targets.cron import lines

    a, b = NOW, NOW + timedelta(days=365)
    starts: set[datetime] = set()
    stops: set[datetime] = set()
    for line in lines(cfg, ctx):
        if line.when == "@reboot":
            continue
        fires = cron_fires(line.when, host, a - timedelta(days=8), b + timedelta(days=8))
        (starts if line.marker.endswith(":start") else stops).update(fires)
    windows = windows_between(s, a, b)
    for w in windows:
        if w.start >= a:
            # exact, or right after the host's repeated hour (cron fires its first occurrence)
            assert any(w.start <= f <= w.start + timedelta(hours=1) for f in starts), (w, sorted(starts)[:5])
            assert w.start in starts or _in_host_fold(w.start, host)
        if w.end < b:
            assert w.end in stops or _in_host_fold(w.end, host), w
    # extra start firings: outside every window, except where the two zones' offset difference
    # changes over the year (then a weekly cron line cannot avoid some repeated firings, which
    # the start entrypoint's window check treats as repeats of an already-started window)
    real = {w.start for w in windows}
    inside = [f for f in starts if a <= f < b - timedelta(days=8) and f not in real
              and any(w.contains(f) for w in windows)]
    if zone == host or _constant_difference(zone, host):
        assert inside == [], inside[:3]


def _in_host_fold(t: datetime, host: str) -> bool:
    from zoneinfo import ZoneInfo

    tz = ZoneInfo(host)
    local = t.astimezone(tz)
    other = local.replace(fold=1 - local.fold)
    return other.utcoffset() != local.utcoffset()


def _constant_difference(zone: str, host: str) -> bool:
    from osched.zonechanges import steady_diffs

    return len(steady_diffs(zone, host, int(NOW.timestamp()) // 86400)) == 1


def test_cron_gap_day_end_in_same_zone() -> None:
    # Santiago springs forward at midnight: 00:15 opens at 01:00 and ends at 01:30 that day
    from zoneinfo import ZoneInfo

    from osched.hostfirings import host_firings

    s = Schedule(id="s", job="j", hour=0, minute=15, duration=30, days=frozenset(range(7)),
                 timezone="America/Santiago")
    starts, ends = host_firings(s, ZoneInfo("America/Santiago"), NOW)
    assert [(f.hour, f.minute) for f in starts if f.at is None] == [(0, 15)]
    # the gap day's start is dated at 01:00: a cron that ignores DST never runs 00:15 then
    # (Debian's would, right after the jump: host_firings(..., after_jump=True) relies on that)
    assert [(f.hour, f.minute) for f in starts if f.at is not None] == [(1, 0)]
    debian = host_firings(s, ZoneInfo("America/Santiago"), NOW, after_jump=True)[0]
    assert [(f.hour, f.minute) for f in debian] == [(0, 15)]
    assert (1, 30) in {(f.hour, f.minute) for f in ends}


def test_system_units_run_as_the_jobs_user_with_their_own_state() -> None:
    """Issue 25: a --system install runs the jobs as their `user`, never as the installer
    (root) by default; its entrypoints keep their state in that user's own state dir."""
    from osched.errors import ConfigError

    files = targets.render("systemd", example_system(), golden_ctx(system=True))
    services = [f for f in files if f.name.endswith(".service")]
    assert services and all("\nUser=nobody\n" in f.content for f in services)
    assert not any("--state-dir" in f.content for f in services)
    resume = next(f for f in files if f.name.startswith("osched-resume-"))
    assert "WantedBy=multi-user.target" in resume.content
    user_files = targets.render("systemd", example(), golden_ctx())
    assert not any("User=" in f.content for f in user_files)
    assert all("--state-dir" in f.content for f in user_files if "ExecStart" in f.content)
    # the installer's own user: its state dir is named, as in a per-user install
    own = targets.render("systemd", example_system("root"), golden_ctx(system=True).__class__(
        **{**golden_ctx(system=True).__dict__, "user": "root"}))
    assert all("--state-dir" in f.content for f in own if "ExecStart" in f.content)
    for name in ("cron", "systemd", "launchd", "taskscheduler"):
        with pytest.raises(ConfigError, match=r'jobs\.demo-agent\.user: a --system install needs the user'):
            targets.render(name, example(), golden_ctx(system=True))
    with pytest.raises(ConfigError, match="no user 'no-such-user-x' on this machine"):
        targets.render("cron", example_system("no-such-user-x"), golden_ctx(system=True))
    (cron_d,) = targets.render("cron", example_system(), golden_ctx(system=True))
    lines = [ln for ln in cron_d.content.splitlines() if "osched-start" in ln]
    assert lines and all(" nobody /opt/osched/bin/osched-start " in ln for ln in lines)
    plists = targets.render("launchd", example_system(), golden_ctx(system=True))
    assert all("<key>UserName</key>\n\t<string>nobody</string>" in f.content for f in plists)
    tasks = targets.render("taskscheduler", example_system("alice"), golden_ctx(system=True))
    assert all("<UserId>alice</UserId>" in f.content and "<LogonType>S4U</LogonType>" in f.content for f in tasks)
    tasks = targets.render("taskscheduler", example_system("root"), golden_ctx(system=True))
    assert all("<UserId>S-1-5-18</UserId>" in f.content for f in tasks)


def _big_config(tmp_path: Path) -> list[str]:
    """A config of 9 schedules in three zones, and the ``render --target all`` arguments."""
    cfg = tmp_path / "big.toml"
    lines = ['timezone = "Europe/Berlin"']
    for j in range(3):
        lines += [f"[jobs.j{j}]", 'command = ["true"]']
        for k, zone in enumerate(["America/New_York", "Asia/Kolkata", "Europe/Berlin"]):
            lines += [f"[[jobs.j{j}.schedules]]", f'id = "s{k}"', f'start = "{(j * 5 + k) % 24:02d}:30"',
                      'duration = "90m"', 'days = ["mon-fri"]', f'timezone = "{zone}"']
    cfg.write_text("\n".join(lines) + "\n")
    return ["--config", str(cfg), "--state-dir", str(tmp_path / "st"), "render", "--target", "all"]


RENDER_ENV = {"OSCHED_NOW": "2026-11-24T12:00:00+00:00", "TZ": "Europe/Berlin"}


def test_render_all_in_two_processes_equals_serial(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Big configs render half of the targets in a forked child: same bytes as one by one
    (here into an in-memory stream, which has no descriptor: the child's text comes back
    through files)."""
    from click.testing import CliRunner

    from osched.cli import cli
    from osched.targets import parallel

    args = _big_config(tmp_path)
    monkeypatch.setattr(parallel, "PARALLEL_MIN", 10**9)
    serial = CliRunner().invoke(cli, args, env=RENDER_ENV)
    monkeypatch.setattr(parallel, "PARALLEL_MIN", 1)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    parallel_run = CliRunner().invoke(cli, args, env=RENDER_ENV)
    assert serial.exit_code == parallel_run.exit_code == 0
    assert parallel_run.stdout_bytes == serial.stdout_bytes and b"==> launchd/" in serial.stdout_bytes
    out = CliRunner().invoke(cli, [*args, "--output", str(tmp_path / "out")], env=RENDER_ENV)
    assert out.exit_code == 0
    written = sorted(p.relative_to(tmp_path / "out").as_posix() for p in (tmp_path / "out").rglob("*") if p.is_file())
    assert len(written) == len(out.stdout.splitlines()) and {w.split("/")[0] for w in written} == set(targets.in_all())


@pytest.mark.parametrize("folder", ["plain", "jürgen"])  # ASCII text is encoded as it is written
@pytest.mark.parametrize("into", ["pipe", "file"])
def test_render_all_in_two_processes_writes_in_turn_to_the_shared_descriptor(
    tmp_path: Path, into: str, folder: str
) -> None:
    """With a real output descriptor (a pipe, a file) each process writes its own targets'
    text in turn, in target order: the bytes equal a serial render's, whether the text is
    ASCII or not (a config path with an umlaut is in every file)."""
    import sys

    from click.testing import CliRunner

    from osched.cli import cli
    from osched.targets import parallel

    (tmp_path / folder).mkdir()
    args = _big_config(tmp_path / folder)
    serial = CliRunner().invoke(cli, args, env=RENDER_ENV)
    assert serial.exit_code == 0
    forced = (
        "import os, sys; import osched.targets.parallel as p; p.PARALLEL_MIN = 1; "
        "os.sched_getaffinity = lambda pid: {0, 1}; "
        "p._render_forked = (lambda f: lambda *a: (f(*a), print('forked', file=sys.stderr)))(p._render_forked); "
        "sys.argv[0] = 'osched'; from osched.launch import main; main()"
    )
    env = {**os.environ, **RENDER_ENV}
    argv = [sys.executable, "-c", forced, *args]
    if into == "pipe":
        r = subprocess.run(argv, env=env, capture_output=True, check=False)
        got = r.stdout
    else:
        with (tmp_path / "out.txt").open("wb") as fh:
            r = subprocess.run(argv, env=env, stdout=fh, stderr=subprocess.PIPE, check=False)
        got = (tmp_path / "out.txt").read_bytes()
    assert r.returncode == 0 and b"forked" in r.stderr, r.stderr
    assert got == serial.stdout_bytes and folder.encode() in got
    assert parallel.PARALLEL_MIN == 2000


def test_render_all_a_failure_in_the_child_prints_nothing_and_is_the_same_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A usage error while the child renders its half reaches the user as that error (exit 2,
    its one line), and no target's text is printed; so does one in this process's half."""
    from click.testing import CliRunner

    from osched.cli import cli
    from osched.errors import UsageError
    from osched.targets import parallel

    args = _big_config(tmp_path)
    monkeypatch.setattr(parallel, "PARALLEL_MIN", 1)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    mine, theirs = parallel.halves(targets.in_all(), {t.name: t.cost for t in targets.all_targets()})
    for name in (theirs[0], mine[0]):
        def boom(self: object, cfg: object, ctx: object, name: str = name) -> list[targets.File]:
            raise UsageError(f"{name} cannot hold this value")

        with monkeypatch.context() as m:
            m.setattr(type(targets.get(name)), "render", boom)
            r = CliRunner().invoke(cli, args, env=RENDER_ENV)
        assert r.exit_code == 2, r.output
        assert r.stdout == "" and f"{name} cannot hold this value" in r.stderr


def test_render_console_script_ends_without_teardown_and_loses_no_output(tmp_path: Path) -> None:
    """``render`` ends the process with ``os._exit`` once its output is flushed (``cli.base.
    skip_teardown``): every byte and the notes still arrive, with the status a normal exit
    gives; an error still exits 2 the normal way; an in-process caller keeps its interpreter."""
    import sys

    from click.testing import CliRunner

    from osched.cli import base, cli

    cfg = tmp_path / "c.toml"
    cfg.write_text(
        '[jobs.a]\ncommand = ["true"]\nlimits = { memory = "1G" }\n[[jobs.a.schedules]]\nid = "s"\n'
        'start = "22:00"\nduration = "1h"\ndays = ["daily"]\ntimezone = "America/New_York"\n'
    )
    env = {**os.environ, "OSCHED_NOW": "2026-11-24T12:00:00+00:00", "TZ": "Europe/Berlin"}
    args = ["--config", str(cfg), "--state-dir", str(tmp_path / "st"), "render", "--target", "all"]
    inproc = CliRunner().invoke(cli, args, env=env)
    assert inproc.exit_code == 0 and base._teardown_skipped  # asked for, not acted on in-process
    base._teardown_skipped = False
    r = subprocess.run([sys.executable, "-m", "osched", *args], env=env, capture_output=True, check=False)
    assert r.returncode == 0
    assert r.stdout == inproc.stdout_bytes and b"==> launchd/" in r.stdout
    assert r.stderr.decode() == inproc.stderr and "note" in r.stderr.decode().lower()
    bad = subprocess.run([sys.executable, "-m", "osched", *args[:-2], "--target", "nope"], env=env,
                         capture_output=True, text=True, check=False)
    assert bad.returncode == 2 and "nope" in bad.stderr


def test_a_kept_jinja_context_carries_nothing_from_one_render_to_the_next(monkeypatch: pytest.MonkeyPatch) -> None:
    """``render_with`` keeps a finished render's Context for the next render of its template:
    the next render sees only its own variables (a missing one is still an error), one that a
    ``{% set %}`` changed is not kept, and renders in several threads each get their own."""
    import threading

    import jinja2

    from osched import templating

    env = templating.environment()
    sources = {
        "plain": env.from_string("{{ a }}-{{ b }}"),
        "sets": env.from_string("{% if a == 1 %}{% set x = 'one' %}{% endif %}{{ x is defined }}"),
    }
    monkeypatch.setattr(templating, "template", sources.__getitem__)
    monkeypatch.setattr(templating, "_idle", {})
    assert templating.render_with("plain", {"a": 1, "b": 2}) == "1-2"
    assert "plain" in templating._idle  # kept
    assert templating.render_with("plain", {"a": 3, "b": 4}) == "3-4"
    with pytest.raises(jinja2.UndefinedError):
        templating.render_with("plain", {"a": 5})  # b of the render before is gone
    assert templating.render_with("sets", {"a": 1}) == "True"
    assert templating.render_with("sets", {"a": 2}) == "False"  # the x set by the render before is gone

    results: list[bool] = []

    def work(n: int) -> None:
        results.append(all(templating.render_with("plain", {"a": n, "b": i}) == f"{n}-{i}" for i in range(2000)))

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [True] * 4


def test_per_firings_caches_by_the_tuple_it_was_given_and_answers_for_no_other() -> None:
    from osched.hostfirings import Firing, per_firings

    calls: list[tuple[Firing, ...]] = []

    @per_firings
    def count(firings: tuple[Firing, ...], tag: int) -> tuple[int, int]:
        calls.append(firings)
        return len(firings), tag

    one = (Firing(1, 2, frozenset({0})),)
    assert count(one, 1) == count(one, 1) == (1, 1) and len(calls) == 1
    assert count(one, 2) == (1, 2) and len(calls) == 2  # the other arguments are part of the key
    assert count((*one, Firing(3, 4, frozenset({1}))), 1) == (2, 1)
    for i in range(3000):  # many short-lived tuples, equal and not: each answered for itself
        assert count(tuple(Firing(h, 0, frozenset()) for h in range(i % 7)), 0) == (i % 7, 0)


def test_the_child_encodes_ahead_only_until_its_turn_comes() -> None:
    """While the parent still renders or writes, the child encodes its text ahead; once the
    turn byte is there it stops, and the rest is encoded as it is written: either way every
    chunk is written once, in order."""
    from osched.targets import parallel

    pieces = {"a": ["x" * 700_000, "y" * 700_000], "b": ["z" * 10]}
    whole = {n: "".join(p).encode() for n, p in pieces.items()}
    turns, give = os.pipe()
    try:
        ready = [(n, parallel._writable(p)) for n, p in pieces.items()]
        ahead = parallel._encode_until_turn(ready, turns)  # no turn yet: everything ahead
        assert {n: b"".join(c) for n, c in ahead.items()} == whole
        assert all(next(chunks, None) is None for _, chunks in ready)

        os.write(give, b"g")  # the turn has come: nothing is encoded ahead
        ready = [(n, parallel._writable(p)) for n, p in pieces.items()]
        ahead = parallel._encode_until_turn(ready, turns)
        assert not any(ahead.values())
        assert {n: b"".join(chunks) for n, chunks in ready} == whole
    finally:
        os.close(turns)
        os.close(give)
