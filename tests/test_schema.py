"""The config's JSON Schema (``osched schema``): generated from the loader's rules, shipped
current, accepted by draft-04 and draft-07 tools, accepting every config the loader accepts
(the examples, every TOML block of the docs, every config the tests write) and refusing what
the loader refuses wherever a schema can see it (docs/config.md, "Editor support")."""

from __future__ import annotations

import ast
import json
import re
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from osched import configschema
from osched.config import validate
from osched.errors import ConfigError

from conftest import ROOT

SCHEMA = json.loads(Path(configschema.path()).read_text(encoding="utf-8"))
CHECK = jsonschema.Draft7Validator(SCHEMA)
GOOD = """\
timezone = "Europe/Berlin"

[jobs.agent]
command = ["python3", "-m", "agent"]
stop_signal = "SIGTERM"
restart = { retries = 3, backoff = ["10s", "30s"] }
limits = { nice = 10, io = "idle", cpu = "50%", memory = "4G", tasks = 256 }
skip = ["2026-12-24..2027-01-01"]

[[jobs.agent.schedules]]
id = "weeknights"
start = "22:00"
duration = "8h"
days = ["mon-fri"]

[[jobs.agent.windows]]
start = "2026-12-05T02:00"
duration = "3h"

[jobs.agent.kubernetes]
image = "ghcr.io/me/agent:1"
resources = { cpu = "500m", memory = "1Gi" }
"""


def loader_accepts(doc: dict[str, Any]) -> bool:
    try:
        validate(doc, Path("osched.toml"), host_zone="UTC")
    except ConfigError:
        return False
    return True


def schema_accepts(doc: dict[str, Any]) -> bool:
    return CHECK.is_valid(doc)


def test_the_shipped_file_is_what_the_rules_generate() -> None:
    shipped = Path(configschema.path()).read_text(encoding="utf-8")
    assert shipped == configschema.text(), "run: python3 -m osched.configschema > osched/config.schema.json"


def test_it_is_a_schema_for_draft_04_and_draft_07_tools() -> None:
    jsonschema.Draft7Validator.check_schema(SCHEMA)
    draft4 = {k: v for k, v in SCHEMA.items() if k != "$schema"}
    jsonschema.Draft4Validator.check_schema(draft4)
    doc = tomllib.loads(GOOD)
    assert jsonschema.Draft4Validator(draft4).is_valid(doc)
    assert not jsonschema.Draft4Validator(draft4).is_valid({**doc, "colour": 1})


def test_every_table_has_exactly_the_loaders_keys() -> None:
    from osched import dateconfig, limits, validators

    jobs = SCHEMA["properties"]["jobs"]["patternProperties"]
    job = next(iter(jobs.values()))
    assert set(SCHEMA["properties"]) == validators.TOP_KEYS
    assert set(job["properties"]) == validators.JOB_KEYS
    assert job["required"] == list(validators.JOB_REQUIRED)
    sched = job["properties"]["schedules"]["items"]
    assert set(sched["properties"]) == validators.SCHEDULE_KEYS
    assert sched["required"] == list(validators.SCHEDULE_REQUIRED)
    window = job["properties"]["windows"]["items"]
    assert set(window["properties"]) == dateconfig.WINDOW_KEYS
    assert set(job["properties"]["limits"]["properties"]) == set(limits.KEYS)
    assert set(job["properties"]["kubernetes"]["properties"]) == validators.KUBE_JOB_KEYS


def test_a_key_without_a_schema_cannot_be_added(monkeypatch: pytest.MonkeyPatch) -> None:
    from osched import validators

    monkeypatch.setattr(validators, "JOB_KEYS", {*validators.JOB_KEYS, "new_key"})
    with pytest.raises(KeyError, match="new_key"):
        configschema.schema()


def _examples() -> list[Path]:
    return sorted((ROOT / "examples").rglob("*.toml"))


@pytest.mark.parametrize("path", _examples(), ids=lambda p: p.name)
def test_every_example_validates(path: Path) -> None:
    doc = tomllib.loads(path.read_text(encoding="utf-8"))
    assert loader_accepts(doc)
    errors = [f"{'.'.join(map(str, e.absolute_path))}: {e.message}" for e in CHECK.iter_errors(doc)]
    assert errors == []


def _toml_blocks(page: Path) -> list[str]:
    return re.findall(r"^```toml\n(.*?)^```", page.read_text(encoding="utf-8"), re.M | re.S)


def _loads(text: str) -> dict[str, Any] | None:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return None


def test_the_readmes_and_every_docs_config_validates() -> None:
    """Every TOML block of README.md and docs/ that the loader takes is a config the schema
    takes too (a fragment that shows a job without its command gets one)."""
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    whole = 0
    for page in pages:
        for block in _toml_blocks(page):
            doc = _loads(block)
            for job in (doc or {}).get("jobs", {}).values():
                if isinstance(job, dict):
                    job.setdefault("command", ["true"])
            if doc and "jobs" in doc and loader_accepts(doc):
                whole += 1
                assert schema_accepts(doc), (page.name, [e.message for e in CHECK.iter_errors(doc)][:3])
    assert whole >= 5, whole


def test_every_config_the_tests_write_validates() -> None:
    """Every string in the test modules that is a config the loader accepts."""
    seen = 0
    for module in sorted((ROOT / "tests").glob("test_*.py")):
        for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and "[jobs." in node.value:
                doc = _loads(node.value)
                if doc is not None and loader_accepts(doc):
                    seen += 1
                    assert schema_accepts(doc), (module.name, node.lineno)
    assert seen >= 20, seen


BAD = [
    ('start = "22:00"', 'start = "24:00"'),
    ('start = "22:00"', "start = 2200"),
    ('duration = "8h"', 'duration = "8 hours"'),
    ('duration = "8h"', "duration = 0"),
    ('duration = "8h"', "duration = 10081"),
    ('days = ["mon-fri"]', "days = []"),
    ('days = ["mon-fri"]', 'days = ["someday"]'),
    ('days = ["mon-fri"]', 'days = "mon - fri"'),
    ('id = "weeknights"', 'id = "week nights"'),
    ('id = "weeknights"\n', ""),
    ("[jobs.agent]", '[jobs."bad name"]'),
    ('stop_signal = "SIGTERM"', 'stop_signal = "SIGNOPE"'),
    ('stop_signal = "SIGTERM"', 'stop_signal = "SIGSIGTERM"'),
    ('command = ["python3", "-m", "agent"]', "command = []"),
    ('command = ["python3", "-m", "agent"]', 'command = ["", "x"]'),
    ('command = ["python3", "-m", "agent"]', 'command = "python3 agent"'),
    ('command = ["python3", "-m", "agent"]\n', ""),
    ("retries = 3", "retries = -1"),
    ("retries = 3", "retries = 101"),
    ("retries = 3", "retries = true"),
    ('"10s", "30s"', '"10s", "soon"'),
    ('backoff = ["10s", "30s"]', "backoff = []"),
    ('stop_signal = "SIGTERM"', 'env = { "1X" = "opus" }'),
    ('stop_signal = "SIGTERM"', "stop_timeout = -1"),
    ('stop_signal = "SIGTERM"', "stop_timeout = 604801"),
    ('stop_signal = "SIGTERM"', "colour = 1"),
    ('stop_signal = "SIGTERM"', "log_keep = 0"),
    ('stop_signal = "SIGTERM"', 'ping_url = "ftp://example.com"'),
    ('stop_signal = "SIGTERM"', 'user = "-root"'),
    ('stop_signal = "SIGTERM"', "on_ac_power = 1"),
    ('stop_signal = "SIGTERM"', 'holidays = "germany"'),
    ("nice = 10", "nice = 20"),
    ('io = "idle"', 'io = "best-effort:8"'),
    ('cpu = "50%"', 'cpu = "0%"'),
    ('cpu = "50%"', 'cpu = "half"'),
    ('memory = "4G"', "memory = 1024"),
    ('memory = "4G"', 'memory = "4 gigs"'),
    ("tasks = 256", "tasks = 0"),
    ("tasks = 256", "threads = 256"),
    ('skip = ["2026-12-24..2027-01-01"]', 'skip = ["24.12.2026"]'),
    ('skip = ["2026-12-24..2027-01-01"]', 'skip = "2026-12-24"'),
    ('start = "2026-12-05T02:00"', 'start = "2026-12-05"'),
    ('start = "2026-12-05T02:00"', "start = 2026-12-05T02:00:00"),
    ('duration = "3h"\n', 'duration = "3h"\ndays = ["mon"]\n'),
    ('image = "ghcr.io/me/agent:1"', 'image = "ghcr.io/me/agent 1"'),
    ('cpu = "500m"', 'cpu = "half"'),
    ('resources = { cpu = "500m", memory = "1Gi" }', 'namespace = "x"'),
    ('timezone = "Europe/Berlin"', "timezone = 1"),
    ('timezone = "Europe/Berlin"', 'timezone = "Europe/Berlin"\n[kubernetes]\nnamespace = "Not_A_Label"'),
]


@pytest.mark.parametrize(("old", "new"), BAD, ids=[new.strip() or f"no {old.split()[0]}" for old, new in BAD])
def test_it_refuses_what_the_loader_refuses(old: str, new: str) -> None:
    assert old in GOOD
    doc = tomllib.loads(GOOD.replace(old, new, 1))
    assert not loader_accepts(doc), "the loader accepts this: not a bad config"
    assert not schema_accepts(doc)


def test_the_good_config_passes_both() -> None:
    doc = tomllib.loads(GOOD)
    assert loader_accepts(doc)
    assert schema_accepts(doc)


# -- the value languages, checked against the parsers on many values ----------------------------
def _with(key: str, value: object) -> dict[str, Any]:
    """GOOD with the first schedule's (or the job's, or its limits') ``key`` set to ``value``."""
    doc = tomllib.loads(GOOD)
    job = doc["jobs"]["agent"]
    del job["windows"]  # a window's date must not change what is checked
    if key in job["schedules"][0] or key in ("timezone", "random_delay"):
        job["schedules"][0][key] = value
        job["schedules"][0]["duration"] = "1h" if key != "duration" else value
        job["schedules"][0]["days"] = ["mon"] if key != "days" else value
    elif key in job["limits"]:
        job["limits"][key] = value
    else:
        job[key] = value
    return doc


def _text(alphabet: str, size: int = 12) -> st.SearchStrategy[str]:
    return st.text(alphabet=alphabet, max_size=size)


def _spaced(core: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    pad = st.sampled_from(["", " ", "\t"])
    return st.builds(lambda a, c, b: a + c + b, pad, core, pad)


_NUM = st.builds(lambda n, z: "0" * z + str(n), st.integers(-1, 99), st.integers(0, 2))
EXACT = {  # the schema decides as the loader does
    "start": st.one_of(st.builds(lambda h, m: f"{h}:{m}", _NUM, _NUM), _text("0123456789: ", 6)),
    "id": _text("aZ09_- .", 8),
    "days": st.one_of(
        st.lists(
            st.sampled_from(["mon", "FRI", "sun-tue", "weekdays", "daily", " sat ", "mon -fri", "x", ""])
        ),
        _text("montuewdfrisa-, ", 14),
    ),
    "stop_signal": _spaced(
        st.builds(
            lambda a, b: a + b,
            st.sampled_from(["", "SIG", "sig", "Sig", "SIGSIG", "S"]),
            st.sampled_from(["TERM", "kill", "Hup", "USR1", "usr3", "INTX", ""]),
        )
    ),
    "io": st.one_of(
        _spaced(
            st.builds(
                lambda a, b: a + b,
                st.sampled_from(["best-effort", "idle", "BEST-effort", "best"]),
                st.sampled_from(["", ":", ":7", ":8", "::3", "3", ":07"]),
            )
        ),
        _text("idlebst-for:079 "),
    ),
    "cpu": st.one_of(
        _spaced(st.builds(lambda n, pc: n + pc, _NUM, st.sampled_from(["%", "", "%%", " %"]))),
        _text("0123456789% ", 6),
    ),
    "user": _text("az_.-$09A", 8),
}
IMPLIED = {  # the schema takes at least what the loader takes (the loader also checks ranges, dates)
    "skip": st.lists(
        st.one_of(
            _text("0123456789-. ", 24),
            st.sampled_from(
                [
                    "2026-12-24",
                    "2026-12-24 .. 2026-12-31",
                    " 2026-12-24",
                    "2026-12-31..2026-12-24",
                    "2026-02-30",
                ]
            ),
        )
    ),
    "duration": st.one_of(st.integers(-5, 20000), _text("0123456789dhmsDH ", 8)),
    "stop_timeout": st.one_of(st.integers(-5, 700000), _text("0123456789dhms ", 8)),
    "memory": st.one_of(st.integers(0, 1 << 32), _text("0123456789.KMGTkib ", 8)),
    "timezone": st.sampled_from(
        ["UTC", "Europe/Berlin", "America/Argentina/Buenos_Aires", "Etc/GMT+5", "EST5EDT"]
    ),
    "holidays": st.sampled_from(["DE", "DE-BY", "US-CA", "FR"]),
}


@pytest.mark.parametrize("key", sorted(EXACT))
def test_the_schema_decides_as_the_loader_does(key: str) -> None:
    @settings(max_examples=150, deadline=None, derandomize=True)
    @given(EXACT[key])
    def check(value: object) -> None:
        doc = _with(key, value)
        assert schema_accepts(doc) == loader_accepts(doc), (key, value)

    check()


@pytest.mark.parametrize("key", sorted(IMPLIED))
def test_the_schema_takes_whatever_the_loader_takes(key: str) -> None:
    @settings(max_examples=100, deadline=None, derandomize=True)
    @given(IMPLIED[key])
    def check(value: object) -> None:
        doc = _with(key, value)
        if loader_accepts(doc):
            assert schema_accepts(doc), (key, value)

    check()


# -- the commands -------------------------------------------------------------------------------
def _run(*args: str) -> Any:
    from click.testing import CliRunner

    from osched.cli import cli

    return CliRunner().invoke(cli, list(args), env={"OSCHED_NOW": "2026-11-24T12:00:00+00:00"})


def test_osched_schema_validates_the_readmes_example() -> None:
    """The README's first line renders ``examples/...toml``: what ``osched schema`` prints
    takes it, and refuses it with a key misspelt."""
    first = (ROOT / "README.md").read_text(encoding="utf-8").split("```sh\n", 1)[1].splitlines()[0]
    example = ROOT / re.search(r"--config (\S+\.toml)", first).group(1)  # type: ignore[union-attr]
    r = _run("schema")
    assert r.exit_code == 0, r.output
    printed = json.loads(r.stdout)
    assert printed == SCHEMA
    doc = tomllib.loads(example.read_text(encoding="utf-8"))
    jsonschema.Draft7Validator(printed).validate(doc)
    job = next(iter(doc["jobs"].values()))
    job["comand"] = job.pop("command")
    assert not jsonschema.Draft7Validator(printed).is_valid(doc)
    r = _run("schema", "--path")
    assert r.exit_code == 0
    assert Path(r.stdout.strip()) == Path(configschema.path())


def test_init_writes_the_directive_editors_read_and_edits_keep_it(cfg_path: Path) -> None:
    assert _run("init", "--timezone", "Europe/Berlin").exit_code == 0
    assert _run("job", "add", "agent", "--", "python3", "-m", "agent").exit_code == 0
    r = _run(
        "schedule", "add", "agent", "--start", "22:00", "--duration", "8h", "--days", "mon-fri", "--no-start"
    )
    assert r.exit_code == 0, r.output
    text = cfg_path.read_text(encoding="utf-8")
    first = text.splitlines()[0]
    assert first.startswith("#:schema file:///"), first  # taplo: the document's first line
    from urllib.parse import unquote, urlsplit

    target = Path(unquote(urlsplit(first.split(" ", 1)[1]).path))
    assert json.loads(target.read_text(encoding="utf-8")) == SCHEMA
    doc = tomllib.loads(text)
    assert loader_accepts(doc)
    assert schema_accepts(doc)
    assert doc["jobs"]["agent"]["schedules"][0]["start"] == "22:00"


def test_doctor_names_a_schema_line_that_points_nowhere(cfg_path: Path) -> None:
    assert _run("init", "--timezone", "UTC").exit_code == 0
    r = _run("doctor")
    assert "the #:schema line names file:///" in r.stdout
    text = cfg_path.read_text(encoding="utf-8")
    gone = "#:schema file:///gone/venv/lib/python3.11/site-packages/osched/config.schema.json"
    cfg_path.write_text(gone + "\n" + text.split("\n", 1)[1], encoding="utf-8")
    r = _run("doctor")
    assert "the config's #:schema line names a file that is gone: /gone/venv/" in r.stdout
    assert f"#:schema {Path(configschema.path()).as_uri()}" in r.stdout


# -- the oracle: taplo, the TOML language server editors run, reading the #:schema line ----------
def _taplo(tmp: Path, name: str, text: str) -> subprocess.CompletedProcess[str]:
    import shutil

    exe = shutil.which("taplo")
    if exe is None:
        pytest.fail("taplo is not installed (pip install -e '.[test]')")
    path = tmp / name
    path.write_text(f"#:schema {Path(configschema.path()).as_uri()}\n{text}", encoding="utf-8")
    return subprocess.run([exe, "check", str(path)], capture_output=True, text=True, timeout=60)


@pytest.mark.oracle
def test_taplo_reads_the_line_and_agrees_on_every_good_and_bad_config(tmp_path: Path) -> None:
    for path in [*_examples(), None]:
        text = GOOD if path is None else path.read_text(encoding="utf-8")
        r = _taplo(tmp_path, "good.toml", text)
        assert r.returncode == 0, (path, r.stderr[-2000:])
    accepted = [
        new for old, new in BAD if _taplo(tmp_path, "bad.toml", GOOD.replace(old, new, 1)).returncode == 0
    ]
    assert accepted == []
    r = _taplo(tmp_path, "typo.toml", GOOD.replace("stop_signal", "stop_sginal"))
    assert r.returncode == 1 and "stop_sginal" in r.stderr


@pytest.mark.oracle
def test_taplo_checks_what_init_wrote_and_the_edits_kept(cfg_path: Path) -> None:
    import shutil

    assert _run("init", "--timezone", "UTC").exit_code == 0
    assert _run("job", "add", "agent", "--", "python3", "-m", "agent").exit_code == 0
    exe = shutil.which("taplo")
    assert exe is not None, "taplo is not installed (pip install -e '.[test]')"
    assert subprocess.run([exe, "check", str(cfg_path)], capture_output=True, timeout=60).returncode == 0
    cfg_path.write_text(cfg_path.read_text(encoding="utf-8") + "colour = 1\n", encoding="utf-8")
    r = subprocess.run([exe, "check", str(cfg_path)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 1 and "colour" in r.stderr
