"""The real cron daemon on a DST day: the lines osched renders for a window that opens in the
second pass of the host's repeated hour do fire then.

Australia/Lord_Howe falls back 30 minutes on 2027-04-04 at 15:00Z (02:00 LHDT -> 01:30
LHST).  A window of a UTC schedule at 15:00 opens at 01:30 on the second pass.  A fixed-time
line ``30 1 * * *`` runs on the first pass only (14:30Z); osched adds the dated wildcard-hour
line ``30 * 4 4 *``, which Debian cron runs on both passes.  (cronsim, the sweep's oracle,
misses that second pass when the repeated span is not a whole hour; this test is why the
sweep corrects it.)

The daemon runs under ``faketime`` (30x) with ``TZ=Australia/Lord_Howe`` in a private mount
namespace: its own /run (pid file), its own crontab spool holding only the test user's table,
and empty /etc/cron.d and /etc/crontab, so no other cron job on this machine runs at the fake
time and a cron daemon already running here is left alone.  It is stopped by pid; the test
user (a unique name) is removed.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from integration import require_root

from osched.model import Config, Job, Schedule
from osched.targets.base import RenderContext
from osched.targets.cron import lines

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("daemons")]  # one worker: one cron daemon at a time

CRON = "/usr/sbin/cron"
FAKE_START = datetime(2027, 4, 4, 1, 25)  # LHDT, 14:25Z
FAKE_START_UTC = datetime(2027, 4, 3, 14, 25, tzinfo=UTC)
SPEED = 30
RUN_FAKE_MINUTES = 42  # to 15:07Z


def rendered_start_lines() -> list[str]:
    s = Schedule(id="s", job="j", hour=15, minute=0, duration=20, days=frozenset(range(7)), timezone="UTC")
    cfg = Config(Path("/c.toml"), "UTC", {"j": Job(name="j", command=("x",), schedules=(s,))})
    ctx = RenderContext(config_path=Path("/c.toml"), state_dir=Path("/s"),
                        now=datetime(2027, 3, 20, tzinfo=UTC), host_zone="Australia/Lord_Howe",
                        start_exe="/x/osched-start", stop_exe="/x/osched-stop")
    return [ln.when for ln in lines(cfg, ctx) if ln.marker.endswith(":start")]


def test_wildcard_hour_line_fires_on_the_second_pass_of_a_half_hour_repeat() -> None:
    require_root()
    for tool in (CRON, "/usr/bin/faketime", "/usr/bin/unshare"):
        if not Path(tool).exists():
            raise RuntimeError(f"{tool} is missing: .ci/run installs cron, faketime and util-linux")
    whens = rendered_start_lines()
    assert "30 * 4 4 *" in whens and "30 1 * * *" in whens, whens
    user = f"oschdst{os.getpid()}"
    subprocess.run(["useradd", "-m", "-s", "/bin/sh", user], check=True)
    home = Path(f"/home/{user}")
    proc = None
    try:
        table = "".join(f"{w} echo {i} $(date +\\%s.\\%N) >> {home}/fired\n" for i, w in enumerate(whens))
        tab = home / "tab"
        tab.write_text('MAILTO=""\n' + table)
        script = (
            "set -e; mount --make-rprivate /; mount -t tmpfs tmpfs /run; "
            "mount -t tmpfs -o mode=1730 tmpfs /var/spool/cron/crontabs; "
            "chgrp crontab /var/spool/cron/crontabs; "
            f"install -o {user} -g crontab -m 600 {tab} /var/spool/cron/crontabs/{user}; "
            "mount -t tmpfs tmpfs /etc/cron.d; mount --bind /dev/null /etc/crontab; "
            f"exec env TZ=Australia/Lord_Howe faketime -f '@{FAKE_START:%Y-%m-%d %H:%M:%S} x{SPEED}' "
            f"{CRON} -f -L 15"
        )
        real0 = time.time()
        proc = subprocess.Popen(["unshare", "-m", "sh", "-c", script], start_new_session=True,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        time.sleep(RUN_FAKE_MINUTES * 60 / SPEED)
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        fired = [ln.split() for ln in (home / "fired").read_text().splitlines()] if (home / "fired").exists() else []
        at: dict[str, list[datetime]] = {}
        for index, real in fired:
            fake = FAKE_START_UTC + timedelta(seconds=(float(real) - real0) * SPEED)
            at.setdefault(whens[int(index)], []).append(fake)
        first, second = FAKE_START_UTC + timedelta(minutes=5), FAKE_START_UTC + timedelta(minutes=35)

        def near(ts: list[datetime], t: datetime) -> bool:  # within the fake minute (+ startup)
            return any(t - timedelta(seconds=20) <= x < t + timedelta(seconds=90) for x in ts)

        wild, fixed = at.get("30 * 4 4 *", []), at.get("30 1 * * *", [])
        assert near(wild, first) and near(wild, second), at  # both passes: 14:30Z and 15:00Z
        assert near(fixed, first) and not near(fixed, second), at  # the first pass only
    finally:
        if proc is not None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        subprocess.run(["userdel", "-r", user], check=False, capture_output=True)
        shutil.rmtree(home, ignore_errors=True)
