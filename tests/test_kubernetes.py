"""The kubernetes target: rendered CronJobs (golden, official schemas of 1.27 and the latest,
exact YAML), their schedules against the window rule over a year (cronsim; DST days), and
install, prune, dry-run, uninstall, overrides, status and doctor against a fake ``kubectl`` on
PATH that records argv and stdin and answers ``get -o json`` from fixtures."""

from __future__ import annotations

import itertools
import json
import os
import random
import re
import shutil
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml
from click.testing import CliRunner
from test_dst_sweep import reference

from osched import targets
from osched.cli import cli
from osched.model import Schedule
from osched.targets.base import RenderContext
from osched.targets.kubeobjects import cronjob_name, label_value

GOLDEN = Path(__file__).parent / "golden" / "kubernetes"
NOW = "2026-11-24T12:00:00+00:00"
CONFIG = """timezone = "Europe/Berlin"

[kubernetes]
namespace = "agents"
context = "prod"

[jobs.agent]
command = ["python3", "-m", "agent", "--say", "yes", "1e3", "a: b # c", "quote \\" here"]
env = { MODEL = "no", EMPTY = "" }
workdir = "/srv/agent"
stop_timeout = "45s"
restart = { retries = 2 }

[jobs.agent.kubernetes]
image = "ghcr.io/example/agent:1.4"
service_account = "agent"
resources = { cpu = "500m", memory = "4Gi" }

[[jobs.agent.schedules]]
id = "weeknights"
start = "22:00"
duration = "8h"
days = ["mon-fri"]
args = ["--night"]
env = { MODEL = "null" }

[[jobs.agent.schedules]]
id = "Early_Sunday-"
start = "03:30"
duration = "1h"
days = ["sun"]
"""


@pytest.fixture
def kube(tmp_path: Path, cfg_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """The config above, and a fake kubectl first on PATH."""
    cfg_path.write_text(CONFIG)
    cfg_path.chmod(0o600)
    bin_dir, fixtures, log = tmp_path / "bin", tmp_path / "fixtures", tmp_path / "kubectl.log"
    bin_dir.mkdir()
    fixtures.mkdir()
    fake = bin_dir / "kubectl"
    fake.write_text(f"#!{sys.executable}\n" + FAKE_KUBECTL)
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_KUBECTL_LOG", str(log))
    monkeypatch.setenv("FAKE_KUBECTL_FIXTURES", str(fixtures))
    return {"cfg": cfg_path, "log": log, "fixtures": fixtures}


FAKE_KUBECTL = r'''
import json, os, sys
argv = sys.argv[1:]
stdin = sys.stdin.read() if "-f" in argv and "-" in argv else None
with open(os.environ["FAKE_KUBECTL_LOG"], "a") as f:
    f.write(json.dumps({"argv": argv, "stdin": stdin}) + "\n")
words = list(argv)
while words and words[0] in ("--context", "--namespace"):
    words = words[2:]
fixtures = os.environ["FAKE_KUBECTL_FIXTURES"]
def fixture(name):
    path = os.path.join(fixtures, name)
    return open(path).read() if os.path.exists(path) else '{"items": []}'
if words and os.environ.get("FAKE_KUBECTL_FAIL") == words[0]:
    sys.stderr.write("error: the server has asked for the client to provide credentials\n")
    sys.exit(1)
if "version" in words:
    print(json.dumps({"serverVersion": {"gitVersion": "v1.30.2"}}))
elif words[:2] == ["auth", "can-i"]:
    print("yes")
elif words[:1] == ["diff"]:
    print("+  schedule: changed")
    sys.exit(1)
elif words[:2] == ["get", "cronjob"]:
    print(fixture("cronjobs.json"))
elif words[:2] == ["get", "job"]:
    print(fixture("jobs.json"))
elif words[:2] == ["delete", "job"]:
    print('job.batch "osched-x-1" deleted')
'''


def calls(log: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def run(*args: str, env: dict[str, str] | None = None) -> Any:
    return CliRunner().invoke(cli, list(args), env={"OSCHED_NOW": NOW, **(env or {})})


def rendered(kube: dict[str, Path]) -> dict[str, str]:
    r = run("render", "--target", "kubernetes")
    assert r.exit_code == 0, r.output
    out: dict[str, str] = {}
    for chunk in r.stdout.split("==> kubernetes/")[1:]:
        name, _, body = chunk.partition(" <==\n")
        out[name] = body
    return out


# -- the objects ------------------------------------------------------------------------------------
def test_golden_manifests() -> None:
    import tomllib

    from osched.config import validate

    path = Path("/home/ada/.config/osched/osched.toml")
    cfg = validate(tomllib.loads(CONFIG), path)
    ctx = RenderContext(config_path=path, state_dir=Path("/home/ada/.local/state/osched"),
                        now=datetime.fromisoformat(NOW), host_zone="UTC", start_exe="/x/osched-start",
                        stop_exe="/x/osched-stop")
    files = targets.render("kubernetes", cfg, ctx)
    if os.environ.get("OSCHED_UPDATE_GOLDEN"):
        shutil.rmtree(GOLDEN, ignore_errors=True)
        targets.write_files(files, GOLDEN)
    assert sorted(f.name for f in files) == sorted(p.name for p in GOLDEN.iterdir())
    for f in files:
        assert (GOLDEN / f.name).read_text() == f.content, f.name


@pytest.mark.oracle
@pytest.mark.parametrize("version", ["1.27.0", "latest"])
def test_every_object_validates_against_the_official_schemas(kube: dict[str, Path], version: str) -> None:
    import kubernetes_validate

    v = kubernetes_validate.latest_version() if version == "latest" else version
    for name, body in rendered(kube).items():
        obj = yaml.safe_load(body)
        kubernetes_validate.validate(obj, v, strict=True)  # raises on an unknown or mistyped field
        assert obj["kind"] == "CronJob" and len(obj["metadata"]["name"]) <= 52, name


def test_yaml_keeps_every_string_a_string(kube: dict[str, Path]) -> None:
    docs = rendered(kube)
    (obj,) = [yaml.safe_load(b) for n, b in docs.items() if "-agent-weeknights-" in n]
    spec = obj["spec"]["jobTemplate"]["spec"]
    assert spec["activeDeadlineSeconds"] == 8 * 3600 and spec["backoffLimit"] == 2
    pod = spec["template"]["spec"]
    assert pod["restartPolicy"] == "Never" and pod["terminationGracePeriodSeconds"] == 45
    assert pod["serviceAccountName"] == "agent"
    (c,) = pod["containers"]
    assert c["command"] == ["python3", "-m", "agent", "--say", "yes", "1e3", "a: b # c", 'quote " here', "--night"]
    assert c["env"] == [{"name": "MODEL", "value": "null"}, {"name": "EMPTY", "value": ""}]
    assert c["workingDir"] == "/srv/agent" and c["image"] == "ghcr.io/example/agent:1.4"
    assert c["resources"] == {"requests": {"cpu": "500m", "memory": "4Gi"}, "limits": {"cpu": "500m", "memory": "4Gi"}}
    assert obj["spec"] | {"jobTemplate": None} == {
        "schedule": "0 22 * * 1,2,3,4,5", "timeZone": "Europe/Berlin", "concurrencyPolicy": "Forbid",
        "startingDeadlineSeconds": 300, "jobTemplate": None,
    }
    assert obj["metadata"]["namespace"] == "agents"
    assert obj["metadata"]["labels"] == {
        "app.kubernetes.io/managed-by": "osched", "osched/config-id": _cid(kube), "osched/job": "agent",
        "osched/schedule": "weeknights",
    }


def _cid(kube: dict[str, Path]) -> str:
    from osched.targets.base import config_id

    return config_id(kube["cfg"])


_DNS = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")


def test_names_fit_kubernetes_rules() -> None:
    name = cronjob_name("d6ed707c", "agent", "nights")
    assert re.fullmatch(r"osched-d6ed707c-agent-nights-[0-9a-f]{6}", name)
    long = cronjob_name("d6ed707c", "a" * 50, "b" * 50)
    assert len(long) <= 52 and long.startswith("osched-d6ed707c-aaa") and _DNS.fullmatch(long)
    # ids that lower-casing, '_' -> '-' or the '-' between them would make equal get different names
    assert cronjob_name("c", "a-b", "c") != cronjob_name("c", "a", "b-c")
    assert cronjob_name("c", "j", "s", part=1) != cronjob_name("c", "j", "s-1")
    # ids that lower-casing or '_' -> '-' would make equal get different names
    assert cronjob_name("c", "Agent", "s") != cronjob_name("c", "agent", "s")
    assert cronjob_name("c", "a_b", "s") != cronjob_name("c", "a-b", "s")
    assert label_value("nightly") == "nightly"
    assert label_value("ends-") != "ends" and label_value("ends-")[-1].isalnum()


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('"quote \\" here"]', '"two\\nlines"]', "contains '\\n', which a Kubernetes manifest cannot hold"),
        ('MODEL = "no"', 'MODEL = "a\\u0085b"', "which a Kubernetes manifest cannot hold"),
    ],
)
def test_line_breaks_are_refused(kube: dict[str, Path], old: str, new: str, message: str) -> None:
    assert old in CONFIG
    kube["cfg"].write_text(CONFIG.replace(old, new))
    r = run("render", "--target", "kubernetes")
    assert r.exit_code == 2 and message in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.output


def test_a_missing_image_is_an_error_for_this_target_only(kube: dict[str, Path]) -> None:
    kube["cfg"].write_text(CONFIG.replace('image = "ghcr.io/example/agent:1.4"\n', ""))
    r = run("render", "--target", "kubernetes")
    assert r.exit_code == 2
    assert r.stderr.strip() == (
        f"Error: {kube['cfg']}: jobs.agent.kubernetes.image: required by --target kubernetes "
        "(the container image to run)"
    )
    assert run("render", "--target", "cron").exit_code == 0  # the other targets ignore the tables


@pytest.mark.parametrize(
    ("table", "key"),
    [
        ('[kubernetes]\nnamespace = "Agents"', "kubernetes.namespace"),
        ('[kubernetes]\nnamespaces = "a"', "kubernetes.namespaces"),
        ('[jobs.x.kubernetes]\nimage = "a b"', "jobs.x.kubernetes.image"),
        ('[jobs.x.kubernetes]\nresources = { cpu = "lots" }', "jobs.x.kubernetes.resources.cpu"),
    ],
)
def test_kubernetes_tables_are_validated(cfg_path: Path, table: str, key: str) -> None:
    cfg_path.write_text(f'[jobs.x]\ncommand = ["true"]\n{table}\n')
    r = run("list")
    assert r.exit_code == 2 and f": {key}: " in r.stderr, r.output


# -- when: every window starts once, DST days included ------------------------------------------------
ZONES = ["Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "America/Santiago", "Asia/Kolkata",
         "Pacific/Chatham", "America/Nuuk", "UTC"]


def controller_fires(schedule: str, zone: str, a: datetime, b: datetime) -> list[datetime]:
    """The CronJob controller's model (robfig/cron in ``timeZone``): a listed wall time fires at
    every instant that has it: twice in a repeated span, never in a gap."""
    minute, hour, dom, month, dow = schedule.split()
    assert (dom, month) == ("*", "*"), schedule  # no dated line: it would recur every year
    days = set(range(7)) if dow == "*" else {(int(d) - 1) % 7 for d in dow.split(",")}
    tz = ZoneInfo(zone)
    out = []
    d = (a - timedelta(days=2)).astimezone(tz).date()
    while d <= b.astimezone(tz).date() + timedelta(days=1):
        if d.weekday() in days:
            naive = datetime(d.year, d.month, d.day, int(hour), int(minute))
            for fold in (0, 1):
                t = naive.replace(tzinfo=tz, fold=fold).astimezone(UTC)
                if t.astimezone(tz).replace(tzinfo=None) == naive and a <= t < b and t not in out:
                    out.append(t)
        d += timedelta(days=1)
    return sorted(out)


def run_cluster(fires: list[datetime], duration: int) -> list[tuple[datetime, datetime]]:
    """``concurrencyPolicy: Forbid`` and ``activeDeadlineSeconds`` = the window: each Job runs
    to its deadline; a firing while one runs starts nothing."""
    jobs: list[tuple[datetime, datetime]] = []
    for t in fires:
        if jobs and jobs[-1][1] > t:
            continue
        jobs.append((t, t + timedelta(minutes=duration)))
    return jobs


def _wall_clash(h: int, m: int, days: frozenset[int], dur: int, zone: str, a: datetime, b: datetime) -> bool:
    """Independently: a listed day whose start wall time is missing, or comes twice within a
    span no longer than the window; or two windows that overlap."""
    tz = ZoneInfo(zone)
    d = a.astimezone(tz).date()
    while d <= b.astimezone(tz).date():
        if d.weekday() in days:
            naive = datetime(d.year, d.month, d.day, h, m)
            real = {naive.replace(tzinfo=tz, fold=f).astimezone(UTC) for f in (0, 1)}
            exact = [t for t in real if t.astimezone(tz).replace(tzinfo=None) == naive]
            if not exact:
                return True
            if len(exact) == 2 and abs(exact[0] - exact[1]) >= timedelta(minutes=dur):
                return True
        d += timedelta(days=1)
    windows = reference(h, m, dur, days, zone, a, b)  # or two windows overlap
    return any(w2[0] < w1[1] for w1, w2 in itertools.pairwise(windows))


def test_three_years_of_cronjobs_under_the_controllers_dst_model() -> None:
    """Random schedules, three years from render: a rendered CronJob starts every window once,
    at its instant, and no Job runs outside a window; a refused one has a start the controller
    would skip or run after the window."""
    from test_dst_sweep import _self_overlap

    from osched.errors import ConfigError
    from osched.model import Config, Job
    from osched.targets.kubeobjects import cronjobs

    rnd = random.Random(7)
    now = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
    end = now + timedelta(days=3 * 365)
    ctx = RenderContext(config_path=Path("/c.toml"), state_dir=Path("/s"), now=now, host_zone="UTC")
    checked = refused = 0
    while checked < 300:
        days = frozenset(rnd.sample(range(7), rnd.choice([1, 2, 5, 7])))
        dur = rnd.choice([30, 60, 180, 480, 600, 1440])
        if _self_overlap(days, dur):
            continue
        h = rnd.choice([0, 1, 2, 2, 3, 23, rnd.randrange(24)])
        m = rnd.choice([0, 30, 45, rnd.randrange(60)])
        zone = rnd.choice(ZONES)
        s = Schedule(id="s", job="j", hour=h, minute=m, duration=dur, days=days, timezone=zone)
        job = Job(name="j", command=("x",), schedules=(s,), kubernetes={"image": "i"})
        cfg = Config(Path("/c.toml"), zone, {"j": job})
        checked += 1
        try:
            (obj,) = cronjobs(cfg, job, s, ctx)
        except ConfigError:
            refused += 1
            assert _wall_clash(h, m, days, dur, zone, now, end), s
            continue
        spec = obj["spec"]
        assert spec["concurrencyPolicy"] == "Forbid" and spec["timeZone"] == zone
        assert spec["jobTemplate"]["spec"]["activeDeadlineSeconds"] == dur * 60
        ran = run_cluster(controller_fires(spec["schedule"], zone, now, end), dur)
        windows = [(a, b) for a, b in reference(h, m, dur, days, zone, now, end) if now <= a < end]
        assert [a for a, _ in ran] == [a for a, _ in windows], (s, sorted({a for a, _ in ran} ^ {a for a, _ in windows})[:3])
        assert all(b == wb for (_, b), (_, wb) in zip(ran, windows, strict=True)), s
    assert 0 < refused < checked


def test_the_issues_kubernetes_cases_neither_run_out_nor_run_outside_a_window(cfg_path: Path) -> None:
    # Europe/Berlin 02:30 on Sundays: 2027-03-28 has no 02:30; the controller skips it: refused
    cfg_path.write_text(
        'timezone = "Europe/Berlin"\n[jobs.night]\ncommand = ["x"]\nkubernetes = { image = "i" }\n'
        '[[jobs.night.schedules]]\nid = "sun"\nstart = "02:30"\nduration = "8h"\ndays = ["sun"]\n'
    )
    r = run("render", "--target", "kubernetes", env={"OSCHED_NOW": "2026-11-29T12:00:00+00:00"})
    assert r.exit_code == 2
    assert f"{cfg_path}: jobs.night.schedules[sun].start: 02:30 Europe/Berlin does not exist on 2027-03-28" in r.stderr
    assert "start at 03:00 or later or before 02:00" in r.stderr and r.stdout == ""
    # America/Santiago 23:00 on tue-sun: one CronJob in its zone, for every year
    cfg_path.write_text(
        'timezone = "America/Santiago"\n[jobs.eve]\ncommand = ["x"]\nkubernetes = { image = "i" }\n'
        '[[jobs.eve.schedules]]\nid = "e"\nstart = "23:00"\nduration = "8h"\ndays = ["tue-sun"]\n'
    )
    r = run("render", "--target", "kubernetes", env={"OSCHED_NOW": "2026-11-29T12:00:00+00:00"})
    assert r.exit_code == 0, r.output
    (doc,) = list(yaml.safe_load_all(r.stdout.split("<==\n", 1)[1]))
    assert doc["spec"]["schedule"] == "0 23 * * 0,2,3,4,5,6" and doc["spec"]["timeZone"] == "America/Santiago"
    assert "comes twice on 2027-04-03" in r.stderr and "skipped while the first Job runs" in r.stderr
    nov = controller_fires(doc["spec"]["schedule"], "America/Santiago", datetime(2027, 11, 1, 3, tzinfo=UTC),
                           datetime(2027, 12, 1, 3, tzinfo=UTC))
    assert len(nov) == 25  # every listed day of November 2027 (the issue's render missed them all)
    assert datetime(2027, 11, 30, 2, tzinfo=UTC) not in nov  # the old `0 2 30 11 *`: a Monday in Santiago


# -- against a fake kubectl -------------------------------------------------------------------------------
def test_install_applies_prunes_and_records(kube: dict[str, Path]) -> None:
    (kube["fixtures"] / "cronjobs.json").write_text(json.dumps({"items": [
        {"metadata": {"name": cronjob_name(_cid(kube), "agent", "weeknights")}},
        {"metadata": {"name": f"osched-{_cid(kube)}-agent-removed"}},
    ]}))
    r = run("install", "--target", "kubernetes", "--no-start")
    assert r.exit_code == 0, r.output
    log = calls(kube["log"])
    base = ["--context", "prod", "--namespace", "agents"]
    log = [c for c in log if c["argv"][4] in ("diff", "apply", "get", "delete") and "namespace" not in c["argv"][5:6]]
    assert [c["argv"][:len(base) + 1] for c in log] == [[*base, "diff"], [*base, "apply"], [*base, "get"], [*base, "delete"]]
    applied = log[1]["stdin"]
    docs = [yaml.safe_load(d) for d in applied.split("---\n")]
    assert {d["metadata"]["name"] for d in docs} == {n[:-5] for n in rendered(kube)}
    assert log[3]["argv"] == [*base, "delete", "cronjob", f"osched-{_cid(kube)}-agent-removed", "--cascade=orphan",
                              "--ignore-not-found"]
    assert f"-l osched/config-id={_cid(kube)}" in " ".join(log[2]["argv"])
    # again, nothing changed: no cluster call at all
    kube["log"].unlink()
    r = run("install", "--target", "kubernetes", "--no-start")
    assert "nothing to change" in r.output
    assert [c for c in calls(kube["log"]) if c["argv"][4] in ("diff", "apply", "delete")] == []


def test_a_failed_apply_is_rolled_back_and_quoted(kube: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_KUBECTL_FAIL", "apply")
    r = run("install", "--target", "kubernetes", "--no-start")
    assert r.exit_code != 0
    assert "kubectl --context prod --namespace agents apply -f - failed (exit 1): error: the server has asked" in r.output
    (undo,) = [c["argv"][5:] for c in calls(kube["log"]) if c["argv"][4] == "delete"]
    assert undo[0] == "cronjob" and cronjob_name(_cid(kube), "agent", "weeknights") in undo  # the new ones
    assert not list((Path(os.environ["OSCHED_STATE_DIR"]) / "kubernetes").glob("*.yaml"))
    assert run("status", "--json").exit_code == 0 and json.loads(run("status", "--json").stdout)["installed"] == []


def test_dry_run_shows_kubectl_diff_and_applies_nothing(kube: dict[str, Path]) -> None:
    r = run("install", "--target", "kubernetes", "--dry-run")
    assert r.exit_code == 0, r.output
    assert "+  schedule: changed" in r.output and "would run: kubectl --context prod --namespace agents apply -f -" in r.output
    assert [c["argv"][4] for c in calls(kube["log"]) if c["argv"][4] in ("diff", "apply", "delete")] == ["diff"]


def test_uninstall_deletes_by_label(kube: dict[str, Path]) -> None:
    assert run("install", "--target", "kubernetes", "--no-start").exit_code == 0
    kube["log"].unlink()
    kube["cfg"].write_text(CONFIG.replace('namespace = "agents"', 'namespace = "elsewhere"'))  # recorded wins
    r = run("uninstall", "--target", "kubernetes")
    assert r.exit_code == 0, r.output
    (c,) = calls(kube["log"])
    assert c["argv"] == ["--context", "prod", "--namespace", "agents", "delete", "cronjob", "-l",
                         f"osched/config-id={_cid(kube)}", "--cascade=orphan", "--ignore-not-found"]


def test_stop_and_start_act_on_the_cluster(kube: dict[str, Path]) -> None:
    assert run("install", "--target", "kubernetes", "--no-start").exit_code == 0
    kube["log"].unlink()
    r = run("stop", "agent")
    assert r.exit_code == 0, r.output
    assert "kubernetes: 1 running Job of agent deleted" in r.output
    (c,) = calls(kube["log"])
    assert c["argv"][4:] == ["delete", "job", "-l", f"osched/config-id={_cid(kube)},osched/job=agent", "--ignore-not-found"]
    kube["log"].unlink()
    r = run("start", "agent", "--until", "2h")
    assert r.exit_code == 0, r.output
    (c,) = calls(kube["log"])
    job = yaml.safe_load(c["stdin"])
    assert job["kind"] == "Job" and job["spec"]["activeDeadlineSeconds"] == 7200
    assert job["metadata"]["labels"]["osched/manual"] == "true"
    assert job["spec"]["template"]["spec"]["containers"][0]["command"][-1] == 'quote " here'  # no schedule args
    import kubernetes_validate

    kubernetes_validate.validate(job, "1.27.0", strict=True)
    # only the cluster runs this config's jobs: nothing was started on this machine
    assert not any((Path(os.environ["OSCHED_STATE_DIR"]) / "jobs").glob("*/state.json"))


def test_status_reads_the_cluster(kube: dict[str, Path]) -> None:
    assert run("install", "--target", "kubernetes", "--no-start").exit_code == 0
    name = cronjob_name(_cid(kube), "agent", "weeknights")
    (kube["fixtures"] / "cronjobs.json").write_text(json.dumps({"items": [{
        "metadata": {"name": name, "labels": {"osched/job": "agent"}},
        "status": {"lastScheduleTime": "2026-11-23T21:00:00Z", "active": [{"name": "x"}]},
    }]}))
    (kube["fixtures"] / "jobs.json").write_text(json.dumps({"items": [
        {"metadata": {"ownerReferences": [{"name": name}]},
         "status": {"startTime": "2026-11-20T21:00:00Z", "conditions": [{"type": "Failed", "status": "True"}]}},
        {"metadata": {"ownerReferences": [{"name": name}]},
         "status": {"startTime": "2026-11-23T21:00:00Z", "conditions": [{"type": "Complete", "status": "True"}]}},
    ]}))
    r = run("status", "--json")
    (inst,) = json.loads(r.stdout)["installed"]
    assert inst["cluster"] == [{"name": name, "job": "agent", "last_schedule": "2026-11-23T21:00:00Z", "active": 1,
                                "last_result": "Complete"}]
    assert f"{name}: last scheduled 2026-11-23T21:00:00Z, 1 active, last Job Complete" in run("status").stdout


def test_doctor_checks_kubectl_the_cluster_the_namespace_and_rbac(kube: dict[str, Path]) -> None:
    assert run("install", "--target", "kubernetes", "--no-start").exit_code == 0
    out = run("doctor").stdout
    for line in ("ok    kubectl found", "ok    cluster reachable (Kubernetes v1.30.2)", "ok    namespace agents exists",
                 "ok    RBAC: can create cronjobs.batch", "ok    RBAC: can delete jobs.batch"):
        assert line in out, out


def test_install_inside_an_open_window_starts_a_job_on_the_cluster_not_here(kube: dict[str, Path]) -> None:
    # 2026-11-24 (Tuesday) 22:30 Berlin: the weeknights window is open until 06:00
    r = CliRunner().invoke(cli, ["install", "--target", "kubernetes"], env={"OSCHED_NOW": "2026-11-24T21:30:00+00:00"})
    assert r.exit_code == 0, r.output
    (job,) = [yaml.safe_load(c["stdin"]) for c in calls(kube["log"]) if c["argv"][4] == "apply" and "kind: \"Job\"" in c["stdin"]]
    assert job["spec"]["activeDeadlineSeconds"] == 7 * 3600 + 30 * 60  # 22:30 to 06:00 Berlin
    assert "kubernetes: Job osched-" in r.output
    assert not (Path(os.environ["OSCHED_STATE_DIR"]) / "jobs").exists() or not any(
        (Path(os.environ["OSCHED_STATE_DIR"]) / "jobs").glob("*/state.json"))


def test_a_config_installed_here_and_on_a_cluster_is_stopped_on_both(
    kube: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OSCHED_CRONTAB_FILE", str(tmp_path / "crontab"))
    assert run("install", "--target", "kubernetes", "--no-start").exit_code == 0
    assert run("install", "--target", "cron", "--no-start").exit_code == 0
    kube["log"].unlink()
    r = run("stop", "agent")
    assert r.exit_code == 0, r.output
    lines = r.output.strip().splitlines()
    assert len(lines) == 2 and lines[1] == "kubernetes: 1 running Job of agent deleted", lines  # and here first
    assert [c["argv"][4] for c in calls(kube["log"])] == ["delete"]
    assert lines[0].startswith("agent:")  # this machine's stop, as before
