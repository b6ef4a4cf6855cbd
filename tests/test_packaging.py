"""The wheel, installed into a fresh virtual environment outside the repo, works."""

from __future__ import annotations

import os
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

from conftest import EXAMPLES, ROOT

pytestmark = pytest.mark.slow


def test_wheel_installs_and_runs(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(dist), str(ROOT)],
        check=True,
        capture_output=True,
    )
    (wheel,) = dist.glob("osched-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    templates = [n for n in names if n.startswith("osched/templates/")]
    assert templates, "templates/ is not inside the wheel"
    # the package index's README: no relative link it could not follow; the text is all there
    meta = zipfile.ZipFile(wheel).read("osched-0.1.0.dist-info/METADATA").decode()
    description = meta.split("\n\n", 1)[1]
    assert "](docs/" not in description and "`docs/config.md` — the TOML format" in description
    assert "Description-Content-Type: text/markdown" in meta
    assert description.count("\n") > (ROOT / "README.md").read_text().count("\n") - 5

    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    bindir = env_dir / ("Scripts" if os.name == "nt" else "bin")
    subprocess.run(
        [str(bindir / "python"), "-m", "pip", "install", "-q", str(wheel)],
        check=True,
        capture_output=True,
    )
    for script in ("osched", "osched-start", "osched-stop", "osched-complete"):
        assert (bindir / script).exists(), script
    # the entrypoints are plain scripts (no console-script wrapper and its `import re`), their
    # shebang pointed at the venv's interpreter by the installer
    entry_points = zipfile.ZipFile(wheel).read("osched-0.1.0.dist-info/entry_points.txt").decode()
    assert "osched-start" not in entry_points and "osched-stop" not in entry_points
    for script in ("osched-start", "osched-stop", "osched-complete"):
        text = (bindir / script).read_text()
        assert text.splitlines()[0] == f"#!{bindir / 'python'}" and "import re" not in text
        assert os.access(bindir / script, os.X_OK)

    work = tmp_path / "elsewhere"
    work.mkdir()
    env = {**os.environ, "TZ": "UTC"}
    env.pop("PYTHONPATH", None)
    r = subprocess.run([str(bindir / "osched"), "--help"], cwd=work, env=env, capture_output=True, text=True)
    assert r.returncode == 0 and "Usage: osched" in r.stdout
    r = subprocess.run(
        [str(bindir / "osched"), "--config", str(EXAMPLES / "osched.toml"), "list"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0, r.stderr
    assert "weeknights: 22:00 for 8h on mon-fri (Europe/Berlin)" in r.stdout
    # a TAB, as the printed completion script asks it: osched-complete, named by the script
    script = subprocess.run(
        [str(bindir / "osched"), "completion", "bash"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert f"_OSCHED_COMPLETE=bash_complete {bindir / 'osched-complete'})" in script
    tab = {
        **env,
        "OSCHED_CONFIG": str(EXAMPLES / "osched.toml"),
        "_OSCHED_COMPLETE": "bash_complete",
        "_OSCHED_COMPLETE_FORMAT": "bash",
        "COMP_WORDS": "osched schedule remove demo-agent ",
        "COMP_CWORD": "4",
    }
    r = subprocess.run([str(bindir / "osched-complete")], cwd=work, env=tab, capture_output=True, text=True)
    assert r.stdout.split() == ["plain,weeknights", "plain,weekend-mornings"], r.stderr
    # the installed package (not the checkout) answered, and finds its templates
    r = subprocess.run(
        [
            str(bindir / "python"),
            "-c",
            "import osched, osched.templating as t; print(osched.__file__); print(t.TEMPLATE_DIR)",
        ],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0, r.stderr
    module_file, template_dir = r.stdout.split()
    assert module_file.startswith(str(env_dir))
    assert template_dir.startswith(str(env_dir)) and Path(template_dir, "cron").is_dir()

    # a timer's firing through the installed script: the full path first, then the fast lane
    cfg, state = tmp_path / "osched.toml", tmp_path / "state"
    cfg.write_text(
        'timezone = "UTC"\n[jobs.a]\ncommand = ["true"]\n[[jobs.a.schedules]]\n'
        'id = "s"\nstart = "03:00"\nduration = "1m"\ndays = ["mon"]\n'
    )
    cfg.chmod(0o600)
    import time

    time.sleep(1.1)
    argv = [
        str(bindir / "osched-start"),
        "a",
        "--schedule",
        "s",
        "--config",
        str(cfg),
        "--state-dir",
        str(state),
        "-v",
    ]
    env["OSCHED_NOW"] = "2026-11-24T12:00:00+00:00"
    outs = [
        subprocess.run(
            argv, cwd=work, env={**env, "PYTHONPROFILEIMPORTTIME": "1"}, capture_output=True, text=True
        )
        for _ in range(2)
    ]
    for r in outs:
        assert (
            r.returncode == 0
            and r.stdout == "a: outside the window of s (next start 2026-11-30T03:00:00+00:00)\n"
        )
    assert [" osched.entry\n" in r.stderr for r in outs] == [True, False]
