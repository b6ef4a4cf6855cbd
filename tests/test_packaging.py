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

    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    bindir = env_dir / ("Scripts" if os.name == "nt" else "bin")
    subprocess.run(
        [str(bindir / "python"), "-m", "pip", "install", "-q", str(wheel)],
        check=True,
        capture_output=True,
    )
    for script in ("osched", "osched-start", "osched-stop"):
        assert (bindir / script).exists(), script

    work = tmp_path / "elsewhere"
    work.mkdir()
    env = {**os.environ, "TZ": "UTC"}
    env.pop("PYTHONPATH", None)
    r = subprocess.run([str(bindir / "osched"), "--help"], cwd=work, env=env,
                       capture_output=True, text=True)
    assert r.returncode == 0 and "Usage: osched" in r.stdout
    r = subprocess.run([str(bindir / "osched"), "--config", str(EXAMPLES / "osched.toml"), "list"],
                       cwd=work, env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "weeknights: 22:00 for 8h on mon-fri (Europe/Berlin)" in r.stdout
    # the installed package (not the checkout) answered, and finds its templates
    r = subprocess.run(
        [str(bindir / "python"), "-c",
         "import osched, osched.templating as t; print(osched.__file__); print(t.TEMPLATE_DIR)"],
        cwd=work, env=env, capture_output=True, text=True,
    )
    assert r.returncode == 0, r.stderr
    module_file, template_dir = r.stdout.split()
    assert module_file.startswith(str(env_dir))
    assert template_dir.startswith(str(env_dir)) and Path(template_dir, "cron").is_dir()
