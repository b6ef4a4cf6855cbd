"""The layout holds: the import contracts of pyproject.toml ([tool.importlinter]) are kept and
each one fails on a deliberate violation; no module imports another in a circle; no module is
over 400 lines; every rule lives in one place (docs/development.md maps them)."""

from __future__ import annotations

import ast
import os
import pkgutil
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import osched

from conftest import ROOT

PACKAGE = Path(osched.__file__).parent


def _lint(tree: Path) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("lint-imports")
    if exe is None:
        pytest.fail("lint-imports is not installed (pip install -e '.[test]')")
    env = {**os.environ, "PYTHONPATH": str(tree)}
    return subprocess.run([exe, "--config", str(ROOT / "pyproject.toml"), "--no-cache"], cwd=tree,
                          capture_output=True, text=True, env=env, timeout=300)


def test_the_import_contracts_are_kept() -> None:
    r = _lint(PACKAGE.parent)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "0 broken" in r.stdout


VIOLATIONS = {
    "core imports nothing else of osched": ("core/ids.py", "from osched import config\n"),
    "the fast lane imports only the core": ("fastlane.py", "from osched import state\n"),
    "targets import neither the runtime nor the CLI": ("targets/base.py", "from osched import runtime\n"),
    "the runtime imports neither the CLI, the service layer nor a target": (
        "runtime/clock.py", "from osched import targets\n"),
    "no import circles among the modules of a package": ("model.py", "from osched import app\n"),
    "the CLI changes nothing except through osched.api": ("cli/job_cmds.py", "from osched import edit\n"),
}


@pytest.mark.parametrize("contract", sorted(VIOLATIONS))
def test_each_contract_fails_on_a_deliberate_violation(contract: str, tmp_path: Path) -> None:
    copy = tmp_path / "osched"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    rel, line = VIOLATIONS[contract]
    target = copy / rel
    target.write_text(target.read_text() + "\n" + line)
    r = _lint(tmp_path)
    assert r.returncode != 0
    assert f"{contract} BROKEN" in r.stdout, r.stdout


def test_no_command_makes_a_change_except_through_the_api() -> None:
    """The CLI is a client of ``osched.api`` for every change: no command module calls a
    service that changes something (the editing, installing and control use cases) itself."""
    from osched.services import control, editing, installing, setup

    changing = {
        name
        for cls in (editing.Editing, setup.Setup, installing.Installing, control.Control)
        for name, value in vars(cls).items()
        if callable(value) and not name.startswith("__")
    } - {"runtime", "overrides_in_force", "render_notes"}  # reads
    assert {"edit", "job_add", "install_use", "start", "stop", "resync"} <= changing
    calls = []
    for path in sorted((PACKAGE / "cli").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            func = node.func if isinstance(node, ast.Call) else None
            on_app = isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id == "c"
            if on_app and func.attr in changing:
                calls.append(f"{path.name}:{node.lineno}: c.{func.attr}()")
    assert calls == []


def _graph() -> dict[str, set[str]]:
    """Every import between osched's modules, wherever it stands (in a function, under
    TYPE_CHECKING): what the structure picture draws."""
    import grimp

    g = grimp.build_graph("osched")
    return {m: set(g.find_modules_directly_imported_by(m)) for m in g.modules}


def test_no_module_imports_another_in_a_circle() -> None:
    edges = _graph()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    circles: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                circles.append(sorted(comp))

    for m in sorted(edges):
        if m not in index:
            visit(m)
    assert circles == []


def test_every_module_is_named_by_the_core_contract() -> None:
    """A new module is forbidden to the core (and the fast lane) from the day it lands."""
    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    core = next(c for c in contracts if c["name"] == "core imports nothing else of osched")
    names = {f"osched.{m.name}" for m in pkgutil.iter_modules([str(PACKAGE)])} - {"osched.core", "osched.__main__"}
    assert names == set(core["forbidden_modules"])


def test_no_module_is_over_400_lines() -> None:
    long = {str(p.relative_to(PACKAGE)): n for p in PACKAGE.rglob("*.py")
            if (n := len(p.read_text().splitlines())) > 400}
    assert long == {}


def test_the_fast_lane_is_a_thin_adapter() -> None:
    assert len((PACKAGE / "fastlane.py").read_text().splitlines()) <= 175
    assert "osched.entry" not in _graph()["osched.fastlane"]


TARGETS = ("cron", "systemd", "taskscheduler", "launchd", "kubernetes", "kubecluster", "kubeobjects")


def test_no_module_outside_targets_names_a_target() -> None:
    """What differs between schedulers is a member of the Target protocol: nothing outside
    ``targets/`` imports one target's module or compares a target's name."""
    edges = _graph()
    for module, imported in edges.items():
        if module.startswith("osched.targets"):
            continue
        named = {m for m in imported if m.startswith("osched.targets.") and m.split(".")[2] in TARGETS}
        assert not named, (module, named)
    for path in PACKAGE.rglob("*.py"):
        if "targets" in path.relative_to(PACKAGE).parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Compare) and all(isinstance(op, ast.Eq | ast.NotEq) for op in node.ops):
                consts = [c.value for c in [node.left, *node.comparators] if isinstance(c, ast.Constant)]
                assert not set(consts) & set(TARGETS), (path, ast.unparse(node))


def test_the_state_dir_layout_is_built_in_one_place() -> None:
    """Only the state store joins names under the state dir: no other module spells one of its
    files or folders."""
    spelled = ('"events.jsonl"', '"state.json"', '"override-', '"plans"', '"jobs"', '"install"', '"lock"')
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE)
        if rel.parts[0] == "core":
            continue
        text = path.read_text()
        found = [s for s in spelled if f"/ {s}" in text or f"root / {s}" in text or f"join(state, {s}" in text]
        assert not found, (rel, found)


def test_the_core_is_standard_library_only() -> None:
    stdlib = set(sys.stdlib_module_names)
    for path in (PACKAGE / "core").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            else:
                continue
            for name in names:
                assert name.split(".")[0] in stdlib, (path.name, name)


def test_the_package_says_what_it_is() -> None:
    """issue 24, 14: a license file, classifiers, a typed marker, and no linters in the
    published test extra (they are in the dev extra)."""
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")
    assert (PACKAGE / "py.typed").exists()
    assert any(c.startswith("Typing :: Typed") for c in meta["classifiers"])
    test = " ".join(meta["optional-dependencies"]["test"])
    assert "ruff" not in test and "mypy" not in test
    assert any(d.startswith("ruff") for d in meta["optional-dependencies"]["dev"])
