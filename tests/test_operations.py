"""What operators ask every scheduler for (issue 25): start jitter (``random_delay``), start
and success hooks and pings, the right user, secrets outside the config, resource limits,
timestamped logs.  Each key end to end: config, CLI, show, render for every target, and the
entrypoints on this machine."""

from __future__ import annotations

import json
import os
import re
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from runtime_helpers import wait_for

from osched.cli import cli

WINDOW = {"id": "n", "start": "12:00", "duration": "30m", "days": ["tue"]}


def osched(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


# -- random_delay --------------------------------------------------------------------------------
def test_random_delay_is_a_schedule_key_shown_and_edited(env: Any) -> None:
    env.write([{**WINDOW, "random_delay": "10m"}])
    r = osched("show", "agent")
    assert "random delay up to 10m" in r.output
    data = json.loads(osched("show", "agent", "--json").output)
    assert data["schedules"][0]["random_delay_seconds"] == 600
    r = osched("schedule", "set", "agent", "n", "--random-delay", "90s", "--no-start")
    assert r.exit_code == 0, r.output
    assert 'random_delay = "90s"' in env.config.read_text()
    r = osched(
        "schedule",
        "add",
        "agent",
        "--start",
        "20:00",
        "--duration",
        "1h",
        "--days",
        "mon",
        "--random-delay",
        "5m",
        "--id",
        "late",
    )
    assert r.exit_code == 0, r.output
    assert 'random_delay = "5m"' in env.config.read_text()


def test_a_random_delay_as_long_as_the_window_is_refused(env: Any) -> None:
    env.write([{**WINDOW, "random_delay": "30m"}])
    r = osched("list")
    assert r.exit_code == 2
    assert "jobs.agent.schedules[n].random_delay: must be shorter than the window (30m)" in r.output
    r = osched("schedule", "set", "agent", "n", "--random-delay", "soon")
    assert r.exit_code == 2 and "--random-delay" in r.output


def test_every_target_carries_random_delay(env: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OSCHED_HOST_TZ", "UTC")
    env.write([{**WINDOW, "random_delay": "10m"}], kubernetes={"image": "x:1"})
    out = osched("render", "--target", "all").output
    timer = out.split("==> systemd/osched-agent.n.timer <==")[1].split("==>")[0]
    assert "RandomizedDelaySec=600" in timer
    stop_timer = out.split("==> systemd/osched-agent.n.stop.timer <==")[1].split("==>")[0]
    assert "RandomizedDelaySec" not in stop_timer  # the stop keeps the window's end
    service = out.split("==> systemd/osched-agent.n.service <==")[1].split("==>")[0]
    assert "--random-delay" not in service  # systemd delays it: the entrypoint must not again
    cron = [ln for ln in out.splitlines() if "osched-start agent" in ln and not ln.startswith("#")]
    assert cron and all(ln.split(" # ")[0].endswith("--random-delay") for ln in cron)
    assert "<RandomDelay>PT600S</RandomDelay>" in out.split("start.xml <==")[1].split("==>")[0]
    assert "<string>--random-delay</string>" in out.split("agent.n.start.plist <==")[1].split("==>")[0]
    kube = osched("render", "--target", "kubernetes")
    assert "note: random_delay is not carried by kubernetes (agent/n)" in kube.output


def _started_at(env: Any) -> datetime:
    (started,) = [e for e in env.events() if e["event"] == "started"]
    return datetime.fromisoformat(started["time"])


def test_the_entrypoint_delays_a_start_within_the_delay(env: Any) -> None:
    env.write([{**WINDOW, "random_delay": "10m"}])
    r = env.entry("start", "agent", "--schedule", "n", "--random-delay", now="2026-11-24T12:00:00+00:00")
    assert r.returncode == 0, r.stderr
    t = _started_at(env)
    window = datetime.fromisoformat("2026-11-24T12:00:00+00:00")
    assert window <= t <= window + timedelta(minutes=10, seconds=5)


def test_a_delay_never_reaches_past_the_window(env: Any) -> None:
    env.write([{**WINDOW, "duration": "3m", "random_delay": "2m30s"}])
    r = env.entry("start", "agent", "--schedule", "n", "--random-delay", now="2026-11-24T12:01:30+00:00")
    assert r.returncode == 0, r.stderr
    t = _started_at(env)
    assert t <= datetime.fromisoformat("2026-11-24T12:02:05+00:00")  # a minute before the end


def test_no_delay_for_a_firing_that_skips(env: Any) -> None:
    env.write([{**WINDOW, "random_delay": "10m"}])
    r = env.entry("start", "agent", "--schedule", "n", "--random-delay", now="2026-11-24T15:00:00+00:00")
    assert r.returncode == 0 and "outside the window" in r.stdout
    (skip,) = [e for e in env.events() if e["event"] == "start_skipped"]
    assert datetime.fromisoformat(skip["time"]) < datetime.fromisoformat("2026-11-24T15:00:05+00:00")


def test_next_and_status_show_the_window_not_the_delayed_start(env: Any) -> None:
    env.write([{**WINDOW, "random_delay": "10m"}])
    data = json.loads(osched("next", "--json", "-n", "1").output)
    assert data["windows"][0]["start"].startswith("2026-12-01T12:00")


# -- on_start, on_success, ping_url ---------------------------------------------------------------
TUE_NOON = "2026-11-24T12:00:00+00:00"
DAY = {"id": "day", "start": "10:00", "duration": "4h", "days": ["tue"]}


def _hook(out: Path) -> list[str]:
    """A hook that appends ``EVENT EXIT_CODE`` to ``out``."""
    return [
        sys.executable,
        "-c",
        f"import os; open({str(out)!r}, 'a').write(os.environ['OSCHED_EVENT'] + ' ' "
        "+ os.environ['OSCHED_EXIT_CODE'] + '\\n')",
    ]


class Pings:
    """A health-check server on 127.0.0.1: the paths it was asked for."""

    def __init__(self, status: int = 200) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.paths: list[str] = []
        pings = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                pings.paths.append(self.path)
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/ping/uuid-1234"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()


@pytest.fixture
def pings() -> Any:
    p = Pings()
    yield p
    p.close()


def test_on_start_and_on_success_run_with_the_event(env: Any, tmp_path: Path) -> None:
    out = tmp_path / "hooks.out"
    env.write(
        [DAY], agent_args=["--work", "0.05", "--exit-after", "2"], on_start=_hook(out), on_success=_hook(out)
    )
    env.entry("start", "agent", "--schedule", "day", now=TUE_NOON, check=True)
    env.wait_event("on_success", timeout=20)
    assert out.read_text().splitlines() == ["started ", "finished 0"]
    kinds = env.kinds()
    assert kinds.index("started") < kinds.index("on_start") or "on_start" in kinds
    assert kinds[kinds.index("finished") :] == ["finished", "on_success"]


def test_on_success_runs_when_a_stop_firing_ends_the_job(env: Any, tmp_path: Path) -> None:
    out = tmp_path / "hooks.out"
    env.write([DAY], agent_args=["--work", "0.2"], on_success=_hook(out))
    env.entry("start", "agent", "--schedule", "day", now=TUE_NOON, check=True)
    env.agents()
    env.entry("stop", "agent", "--schedule", "day", now="2026-11-24T14:00:00+00:00", check=True)
    env.wait_event("on_success", timeout=20)
    assert out.read_text().splitlines()[0].startswith("stopped")


def test_ping_url_gets_start_success_and_fail(env: Any, pings: Any) -> None:
    env.write([DAY], agent_args=["--work", "0.05", "--exit-after", "2"], ping_url=pings.url)
    env.entry("start", "agent", "--schedule", "day", now=TUE_NOON, check=True)
    wait_for(lambda: len(pings.paths) >= 2, 20, "two pings")
    assert pings.paths == ["/ping/uuid-1234/start", "/ping/uuid-1234"]
    ev = [e for e in env.events() if e["event"] == "ping"]
    assert ev and all("127.0.0.1 answered" in e["reason"] for e in ev)
    assert "uuid-1234" not in json.dumps(env.events())  # the URL's path (a secret) is not logged


def test_a_failure_pings_fail(env: Any, pings: Any) -> None:
    env.write(
        [DAY],
        agent_args=["--work", "0.05", "--crash-after", "1"],
        restart={"retries": 0, "backoff": [0.1]},
        ping_url=pings.url,
    )
    env.entry("start", "agent", "--schedule", "day", now=TUE_NOON, check=True)
    wait_for(lambda: "/ping/uuid-1234/fail" in pings.paths, 20, "the fail ping")
    assert pings.paths[0] == "/ping/uuid-1234/start"


def test_an_unreachable_ping_server_delays_nothing_and_is_an_event(env: Any) -> None:
    import time

    env.write([DAY], agent_args=["--work", "5"], ping_url="http://127.0.0.1:9/x")
    t0 = time.monotonic()
    env.entry("start", "agent", "--schedule", "day", now=TUE_NOON, check=True)
    assert time.monotonic() - t0 < 5
    env.agents()
    failed = env.wait_event("ping_failed", timeout=20)
    assert "127.0.0.1 did not answer" in failed[-1]["reason"]


def test_hooks_and_ping_url_through_the_cli(env: Any) -> None:
    env.write([DAY])
    r = osched(
        "job",
        "set",
        "agent",
        "--on-start",
        "/bin/true start",
        "--on-success",
        "/bin/true ok",
        "--ping-url",
        "https://hc-ping.com/abc",
    )
    assert r.exit_code == 0, r.output
    data = json.loads(osched("show", "agent", "--json").output)
    assert data["on_start"] == ["/bin/true", "start"] and data["on_success"] == ["/bin/true", "ok"]
    assert data["ping_url"] == "https://hc-ping.com/abc"
    assert "ping_url" in osched("show", "agent").output
    assert osched("job", "set", "agent", "--ping-url", "").exit_code == 0
    assert json.loads(osched("show", "agent", "--json").output)["ping_url"] is None
    r = osched("job", "set", "agent", "--ping-url", "ftp://x")
    assert r.exit_code == 2 and "--ping-url" in r.output
    env.write([DAY], ping_url="hc-ping.com/abc")
    r = osched("list")
    assert r.exit_code == 2 and "jobs.agent.ping_url" in r.output


# -- the right user ------------------------------------------------------------------------------
def test_user_through_the_cli_and_a_per_user_install_says_it_runs_as_you(env: Any) -> None:
    import pwd

    env.write([DAY])
    assert osched("job", "set", "agent", "--user", "nobody").exit_code == 0
    assert json.loads(osched("show", "agent", "--json").output)["user"] == "nobody"
    r = CliRunner().invoke(cli, ["render", "--target", "cron"])
    me = pwd.getpwuid(os.getuid()).pw_name
    assert r.exit_code == 0
    assert (
        f"note: user is for --system installs; this one runs every job as you ({me}): agent (nobody)"
        in r.output
    )
    r = osched("job", "set", "agent", "--user", "bad name")
    assert r.exit_code == 2 and "--user" in r.output
    assert osched("job", "set", "agent", "--user", "").exit_code == 0
    assert json.loads(osched("show", "agent", "--json").output)["user"] is None


def test_the_user_is_found_by_the_real_uid_not_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    import pwd

    from osched.osdep import user_name

    monkeypatch.setenv("USER", "root")
    monkeypatch.setenv("LOGNAME", "someone")
    monkeypatch.setenv("SUDO_USER", "alice")
    assert user_name() == pwd.getpwuid(os.getuid()).pw_name


# -- env_files: secrets outside the config --------------------------------------------------------
SECRET = "s3cr3t-value-9f1c"


def _env_dump(out: Path) -> list[str]:
    """A job that writes the variables it was given to ``out``, then exits 0."""
    return [
        sys.executable,
        "-c",
        "import json, os, sys; json.dump({k: os.environ.get(k) for k in ('TOKEN', 'MODE', 'FROM_FILE')}, "
        f"open({str(out)!r}, 'w'))",
    ]


def test_env_files_reach_the_job_and_nothing_prints_them(env: Any, tmp_path: Path) -> None:
    secrets = tmp_path / "agent.env"
    secrets.write_text(
        f'# the agent\'s token\nTOKEN="{SECRET}"\nMODE=from-file\n; a comment\nFROM_FILE = yes \n'
    )
    secrets.chmod(0o600)
    out = tmp_path / "env.json"
    env.write(
        [{**DAY, "env": {"MODE": "from-schedule"}}],
        command=_env_dump(out),
        env={"TOKEN": "from-config"},
        env_files=[str(secrets)],
    )
    env.entry("start", "agent", "--schedule", "day", now=TUE_NOON, check=True)
    wait_for(out.exists, 20, "the job to run")
    got = json.loads(wait_for(lambda: out.read_text() or None, 10, "the job's output"))
    # the file overrides the job's env (systemd's EnvironmentFile=), the schedule's env wins
    assert got == {"TOKEN": SECRET, "MODE": "from-schedule", "FROM_FILE": "yes"}
    env.wait_event("finished", timeout=20)
    shown = [
        osched("show", "agent").output,
        osched("show", "agent", "--json").output,
        osched("render", "--target", "all").output,
        osched("status", "--json").output,
        osched("events").output,
        json.dumps(env.events()),
    ]
    assert str(secrets) in shown[1]  # the path is shown, never the value
    assert not any(SECRET in text for text in shown)


def test_an_env_file_another_user_could_write_keeps_the_job_from_starting(env: Any, tmp_path: Path) -> None:
    secrets = tmp_path / "agent.env"
    secrets.write_text(f"TOKEN={SECRET}\n")
    secrets.chmod(0o666)
    out = tmp_path / "hook.out"
    env.write([DAY], env_files=[str(secrets)], on_failure=_hook(out))
    r = env.entry("start", "agent", "--schedule", "day", now=TUE_NOON)
    assert r.returncode == 1 and f"env file {secrets} is writable by other users" in r.stdout + r.stderr
    (failed,) = [e for e in env.events() if e["event"] == "start_failed"]
    assert str(secrets) in failed["reason"] and SECRET not in json.dumps(env.events())
    env.wait_event("on_failure", timeout=20)
    assert out.read_text().startswith("start_failed")


def test_a_bad_line_is_named_by_file_and_line_never_by_value(env: Any, tmp_path: Path) -> None:
    secrets = tmp_path / "agent.env"
    secrets.write_text(f"OK=1\nexport TOKEN {SECRET}\n")
    secrets.chmod(0o600)
    env.write([DAY], env_files=[str(secrets)])
    r = env.entry("start", "agent", "--schedule", "day", now=TUE_NOON)
    assert r.returncode == 1
    assert f"{secrets}:2: expected KEY=VALUE" in r.stdout + r.stderr and SECRET not in r.stdout + r.stderr
    missing = tmp_path / "nope.env"
    env.write([DAY], env_files=[str(missing)])
    r = env.entry("start", "agent", "--schedule", "day", now="2026-11-24T12:10:00+00:00")
    assert r.returncode == 1 and f"env file {missing}: No such file or directory" in r.stdout + r.stderr


def test_env_file_through_the_cli(env: Any) -> None:
    env.write([DAY])
    assert (
        osched("job", "set", "agent", "--env-file", "~/.config/agent.env", "--env-file", "b.env").exit_code
        == 0
    )
    assert json.loads(osched("show", "agent", "--json").output)["env_files"] == [
        "~/.config/agent.env",
        "b.env",
    ]
    assert osched("job", "set", "agent", "--env-file", "").exit_code == 0
    assert json.loads(osched("show", "agent", "--json").output)["env_files"] == []


def test_kubernetes_secret_env_and_the_env_files_note(env: Any) -> None:
    import yaml

    env.write(
        [DAY],
        env={"MODE": "x"},
        env_files=["a.env"],
        kubernetes={"image": "x:1", "secret_env": {"TOKEN": "agent-secrets/token"}},
    )
    r = osched("render", "--target", "kubernetes")
    assert r.exit_code == 0, r.output
    text = "\n".join(ln for ln in r.output.split("<==", 1)[1].splitlines() if not ln.startswith("note:"))
    docs = [d for d in yaml.safe_load_all(text) if d]
    container = docs[0]["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
    assert {
        "name": "TOKEN",
        "valueFrom": {"secretKeyRef": {"name": "agent-secrets", "key": "token"}},
    } in container["env"]
    assert {"name": "MODE", "value": "x"} in container["env"]
    assert "note: env_files are not carried by kubernetes (agent)" in r.output
    env.write([DAY], kubernetes={"image": "x:1", "secret_env": {"TOKEN": "no slash"}})
    r = osched("list")
    assert r.exit_code == 2 and "jobs.agent.kubernetes.secret_env.TOKEN" in r.output


# -- limits ---------------------------------------------------------------------------------------
def test_limits_parse_show_and_refuse_what_they_cannot_mean(env: Any) -> None:
    env.write([DAY], limits={"nice": 10, "io": "best-effort:7", "cpu": "50%", "memory": "4G", "tasks": 256})
    assert (
        "limits:          nice 10, io best-effort:7, cpu 50%, memory 4G, tasks 256"
        in osched("show", "agent").output
    )
    data = json.loads(osched("show", "agent", "--json").output)["limits"]
    assert data == {"nice": 10, "io": "best-effort:7", "cpu": 50, "memory": 4 << 30, "tasks": 256}
    for bad, where in (
        ({"nice": 30}, "nice: must be from -20 to 19"),
        ({"memory": "lots"}, "memory: bytes"),
        ({"cpu": "0.5"}, "cpu: a percentage"),
        ({"io": "fast"}, 'io: "idle"'),
        ({"swap": 1}, "unknown limit 'swap'"),
    ):
        env.write([DAY], limits=bad)
        r = osched("list")
        assert r.exit_code == 2 and "jobs.agent.limits" in r.output and where in r.output, r.output
    env.write([DAY])
    assert osched("job", "set", "agent", "--limit", "nice=5", "--limit", "memory=512M").exit_code == 0
    assert json.loads(osched("show", "agent", "--json").output)["limits"] == {"nice": 5, "memory": 512 << 20}
    assert osched("job", "set", "agent", "--limit", "memory=").exit_code == 0
    assert json.loads(osched("show", "agent", "--json").output)["limits"] == {"nice": 5}
    r = osched("job", "set", "agent", "--limit", "nice=99")
    assert r.exit_code == 2 and "--limit nice" in r.output


def test_every_target_carries_the_limits_it_can(env: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OSCHED_HOST_TZ", "UTC")
    env.write(
        [DAY],
        limits={"nice": 10, "io": "idle", "cpu": "50%", "memory": "4G", "tasks": 256},
        kubernetes={"image": "x:1"},
    )
    r = CliRunner().invoke(cli, ["render", "--target", "all"])
    service = r.output.split("==> systemd/osched-agent.day.service <==")[1].split("==>")[0]
    for line in ("Nice=10", "IOSchedulingClass=idle", "CPUQuota=50%", "MemoryMax=4294967296", "TasksMax=256"):
        assert f"\n{line}\n" in service
    stop = r.output.split("==> systemd/osched-agent.day.stop.service <==")[1].split("==>")[0]
    assert "MemoryMax" not in stop
    plist = r.output.split("agent.day.start.plist <==")[1].split("==>")[0]
    assert "<key>Nice</key>\n\t<integer>10</integer>" in plist and "<key>LowPriorityIO</key>" in plist
    assert "<Priority>9</Priority>" in r.output.split("agent.day.start.xml <==")[1].split("==>")[0]
    assert (
        "note: agent: on cron the supervisor enforces memory, tasks and cpu in a transient scope of "
        "your systemd user manager when one answers; else memory 4G as RLIMIT_AS" in r.output
    )
    kube = CliRunner().invoke(cli, ["render", "--target", "kubernetes"]).output
    assert 'cpu: "500m"' in kube and 'memory: "4294967296"' in kube
    assert "note: agent: limits nice, io, tasks are not carried by kubernetes" in kube


def _pid(env: Any) -> int:
    return int(wait_for(lambda: env.job_state().get("pid"), 20, "the job's pid"))


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc and ionice: Linux")
def test_the_supervisor_path_applies_nice_and_io(env: Any) -> None:
    import shutil
    import subprocess

    env.write([DAY], command=["/bin/sleep", "30"], limits={"nice": 10, "io": "idle"})
    env.entry("start", "agent", "--schedule", "day", now=TUE_NOON, check=True)
    pid = _pid(env)
    wait_for(lambda: os.getpriority(os.PRIO_PROCESS, pid) == 10, 10, "niceness 10")
    # the job itself, not a wrapper: the same pid became the job
    wait_for(lambda: Path(f"/proc/{pid}/comm").read_text().strip() == "sleep", 10, "the job to run")
    if shutil.which("ionice"):
        out = subprocess.run(["ionice", "-p", str(pid)], capture_output=True, text=True).stdout
        assert out.strip() == "idle", out
    env.cleanup()


@pytest.mark.skipif(sys.platform == "win32", reason="RLIMIT_AS is POSIX")
def test_a_job_past_its_memory_is_ended_and_said_so(env: Any) -> None:
    hog = [sys.executable, "-c", "b = bytearray(600 * 1024 * 1024); print('allocated')"]
    env.write([DAY], command=hog, limits={"memory": "200M"}, restart={"retries": 0, "backoff": [0.1]})
    env.entry("start", "agent", "--schedule", "day", now=TUE_NOON, check=True)
    (gave_up,) = env.wait_event("gave_up", timeout=30)
    assert "exit 1 (under its memory limit 200M: an allocation past it fails)" in gave_up["reason"]
    assert "MemoryError" in (env.state / "jobs/agent/output.log").read_text()
    # without the limit the same job runs to its end
    env.write([{**DAY, "id": "other", "start": "12:00", "duration": "1h"}], command=hog)
    env.entry("start", "agent", "--schedule", "other", now="2026-11-24T12:05:00+00:00", check=True)
    env.wait_event("finished", timeout=30)


# -- logs: stamped lines through a relay that outlives the supervisor -----------------------------
STAMP = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00 "


def test_each_line_of_output_is_stamped(env: Any) -> None:

    env.write([DAY], agent_args=["--work", "0.05", "--exit-after", "3"])
    env.entry("start", "agent", "--schedule", "day", now=TUE_NOON, check=True)
    env.wait_event("finished", timeout=20)
    log = env.state / "jobs/agent/output.log"
    lines = wait_for(
        lambda: [ln for ln in log.read_text().splitlines() if "done" in ln] and log.read_text().splitlines(),
        10,
        "the last line",
    )
    job_lines = [ln for ln in lines if not ln.startswith("--- osched")]
    assert len(job_lines) >= 2 and all(re.match(STAMP, ln) for ln in job_lines), lines
    r = osched("logs", "agent")
    assert any(re.match(STAMP + "fake_agent", ln) for ln in r.output.splitlines())


def test_a_killed_supervisor_neither_stops_nor_blocks_the_job(env: Any) -> None:
    import signal

    env.write([DAY], agent_args=["--work", "0.05", "--verbose"])
    env.entry("start", "agent", "--schedule", "day", now=TUE_NOON, check=True)
    st = wait_for(
        lambda: (s := env.job_state()).get("supervisor_pid") and s.get("pid") and s, 20, "supervised"
    )
    os.kill(st["supervisor_pid"], signal.SIGKILL)
    log = env.state / "jobs/agent/output.log"
    before = len(log.read_text())
    # the job goes on, and its output still reaches the log (the relay is no child of the supervisor)
    wait_for(lambda: len(log.read_text()) > before + 2000, 20, "more output after the supervisor died")
    assert Path(f"/proc/{st['pid']}").exists()
    env.cleanup()


def test_logs_points_at_the_journal_when_installed_with_systemd(env: Any, tmp_path: Path) -> None:
    from osched.app import App
    from osched.runner import Result

    env.write([DAY])

    def fake(argv: list[str], input: str | None = None) -> Any:
        return Result(0, "running\n" if "is-system-running" in argv else "", "")

    r = CliRunner().invoke(
        cli,
        ["install", "--target", "systemd", "--no-start"],
        obj=App(runner=fake),
        env={"OSCHED_SYSTEMD_DIR": str(tmp_path / "units")},
    )
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(cli, ["logs", "agent"], env={"OSCHED_SYSTEMD_DIR": str(tmp_path / "units")})
    assert "(also in the journal: journalctl --user -u 'osched-agent.*')" in r.output


# -- every target's own validators, on a config that uses every key of this issue -------------------
def _ops_config(tmp_path: Path) -> Any:
    from osched.config import load

    cfg_path = tmp_path / "ops.toml"
    cfg_path.write_text(
        'timezone = "Europe/Berlin"\n\n[jobs.agent]\ncommand = ["/bin/true"]\nuser = "daemon"\n'
        'limits = { nice = 10, io = "best-effort:6", cpu = "50%", memory = "4G", tasks = 64 }\n'
        'on_start = ["/bin/true"]\non_success = ["/bin/true"]\nping_url = "https://hc.example/u"\n'
        'env_files = ["agent.env"]\nlog_keep = 5\nkeep_awake = true\non_ac_power = true\nnetwork = true\n'
        'stop_on_battery = true\n\n[jobs.agent.kubernetes]\nimage = "x:1"\n'
        'secret_env = { TOKEN = "agent-secrets/token" }\n\n'
        '[[jobs.agent.schedules]]\nid = "n"\nstart = "22:00"\nduration = "8h"\ndays = ["mon-fri"]\n'
        'random_delay = "10m"\nwake = true\n'
    )
    cfg_path.chmod(0o600)
    return load(cfg_path)


def _ctx(tmp_path: Path, system: bool) -> Any:
    from datetime import UTC, datetime

    from osched.targets import RenderContext

    return RenderContext(
        config_path=tmp_path / "ops.toml",
        state_dir=tmp_path / "state",
        now=datetime(2026, 11, 26, 12, tzinfo=UTC),
        host_zone="Europe/Berlin",
        start_exe="/bin/true",
        stop_exe="/bin/true",
        system=system,
        user="ada",
    )


@pytest.mark.oracle
@pytest.mark.parametrize("system", [False, True])
def test_systemd_verifies_units_with_every_key(tmp_path: Path, system: bool) -> None:
    import shutil
    import subprocess

    from osched import targets

    if shutil.which("systemd-analyze") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("systemd-analyze is missing under CI")
        pytest.skip("systemd-analyze is not installed (apt-get install systemd)")
    files = targets.render("systemd", _ops_config(tmp_path), _ctx(tmp_path, system))
    out = tmp_path / "units"
    targets.write_files(files, out)
    r = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", *sorted(str(out / f.name) for f in files)],
        capture_output=True,
        text=True,
        env={**os.environ, "SYSTEMD_LOG_LEVEL": "notice"},
    )
    assert r.returncode == 0 and r.stderr == "", r.stderr
    service = next(f.content for f in files if f.name == "osched-agent.n.service")
    assert "IOSchedulingPriority=6" in service and ("\nUser=daemon\n" in service) == system
    assert "\nConditionACPower=true\n" in service  # the laptop keys (docs/laptops.md)
    assert ("\nAfter=network-online.target\n" in service) == system


@pytest.mark.oracle
def test_task_scheduler_schema_accepts_every_key(tmp_path: Path) -> None:
    from osched import targets

    schema_path = (
        Path(__file__).resolve().parent.parent.parent / "shared" / "oracles" / "TaskSchedulerV2Schema.xsd"
    )
    if not schema_path.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{schema_path} is missing under CI")
        pytest.skip(f"{schema_path} not found beside the checkout")
    import xmlschema

    schema = xmlschema.XMLSchema(str(schema_path))
    for system in (False, True):
        for f in targets.render("taskscheduler", _ops_config(tmp_path), _ctx(tmp_path, system)):
            schema.validate(f.data().decode("utf-16"))
            if f.name.endswith(".n.start.xml"):  # the laptop keys are on (docs/laptops.md)
                assert "<DisallowStartIfOnBatteries>true</" in f.content
                assert "<RunOnlyIfNetworkAvailable>true</" in f.content


def test_launchd_plists_with_every_key_are_what_plistlib_writes(tmp_path: Path) -> None:
    import plistlib

    from osched import targets

    for system in (False, True):
        for f in targets.render("launchd", _ops_config(tmp_path), _ctx(tmp_path, system)):
            data = plistlib.loads(f.data())
            assert f.content == plistlib.dumps(data, sort_keys=True).decode("utf-8")
            assert ("UserName" in data) == system
            if f.name.endswith(".n.start.plist"):
                assert data["Nice"] == 10 and data["ProgramArguments"][-1] == "--random-delay"


@pytest.mark.oracle
def test_kubernetes_schemas_accept_every_key(tmp_path: Path) -> None:
    import kubernetes_validate

    from osched import targets

    for f in targets.render("kubernetes", _ops_config(tmp_path), _ctx(tmp_path, False)):
        import yaml

        for doc in yaml.safe_load_all(f.content):
            if doc:
                kubernetes_validate.validate(doc, "1.27.0", strict=True)


def test_doctor_says_what_is_enforced_where(
    env: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OSCHED_CRONTAB_FILE", str(tmp_path / "crontab"))
    env.write([DAY], limits={"nice": 5, "memory": "1G", "cpu": "50%"})
    assert osched("install", "--target", "cron", "--no-start").exit_code == 0
    out = CliRunner().invoke(cli, ["doctor"]).output
    assert "ok    cron: agent: on cron the supervisor enforces memory, tasks and cpu in a transient" in out
    assert "else memory 1G as RLIMIT_AS" in out and "else cpu 50% is not enforced" in out


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc: Linux")
def test_limits_fall_back_to_rlimits_without_a_user_manager(tmp_path: Path) -> None:
    """No manager (no bus), or one that refuses or cannot move the job: RLIMIT_AS and
    RLIMIT_NPROC, and one line in the job's log saying so (the scope itself is checked against
    a real user manager in test_integration_systemd.py)."""
    import subprocess

    runtime = tmp_path / "run"
    runtime.mkdir()
    show = [sys.executable, "-c", "print(open('/proc/self/limits').read())"]
    argv = [sys.executable, "-m", "osched.limitexec", "--as", str(1 << 30), "--nproc", "77"]
    argv += ["--cpu", "50", "--scope", "agent", "--", *show]

    def limited(env: dict[str, str]) -> tuple[str, str]:
        r = subprocess.run(argv, capture_output=True, text=True, env={**os.environ, **env}, timeout=30)
        assert r.returncode == 0, r.stderr
        assert re.search(r"Max address space\s+1073741824", r.stdout), r.stdout
        assert re.search(r"Max processes\s+77", r.stdout), r.stdout
        return r.stdout, r.stderr

    _, err = limited({"XDG_RUNTIME_DIR": str(runtime)})
    assert err == (
        "osched: no cgroup for the job's limits (no systemd user manager answers): memory as "
        "RLIMIT_AS, tasks as RLIMIT_NPROC, cpu not enforced\n"
    )
    (runtime / "bus").write_text("")  # a bus, answered by a fake busctl
    bindir = tmp_path / "bin"
    bindir.mkdir()
    calls = tmp_path / "busctl.args"
    busctl = bindir / "busctl"
    busctl.write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" > {calls}\necho "Access denied" >&2\nexit 1\n')
    busctl.chmod(0o755)
    path = f"{bindir}:{os.environ['PATH']}"
    _, err = limited({"XDG_RUNTIME_DIR": str(runtime), "PATH": path})
    assert "(busctl: Access denied)" in err
    words = calls.read_text().splitlines()
    assert words[:8] == [
        "--user", "--quiet", "call", "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
        "org.freedesktop.systemd1.Manager", "StartTransientUnit", "ssa(sv)a(sa(sv))",
    ]  # fmt: skip
    assert re.fullmatch(r"osched-agent-\d+\.scope", words[8]) and words[9:11] == ["fail", "6"]
    assert words[11:15] == ["PIDs", "au", "1", words[8].split("-")[-1].removesuffix(".scope")]
    props = " ".join(words[15:])
    assert "MemoryMax t 1073741824" in props and "TasksMax t 77" in props
    assert "CPUQuotaPerSecUSec t 500000" in props and props.endswith(" 0")
    busctl.write_text("#!/bin/sh\nexit 0\n")  # it answers, but the job stays where it was
    _, err = limited({"XDG_RUNTIME_DIR": str(runtime), "PATH": path})
    assert "(the manager could not move the job into it)" in err
