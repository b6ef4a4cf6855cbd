"""Shell completion's fast path (``osched.complete``) against click's own completion: the
command table is the click tree, every answer is click's answer, for bash, zsh and fish; and
the script ``osched completion bash`` prints works in a real bash."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.shell_completion import get_completion_class, split_arg_string
from hypothesis import given, settings
from hypothesis import strategies as st

from osched import complete
from osched.cli import cli
from osched.cli.completion_table import source, table
from osched.complete_table import TREE

ROOT = Path(__file__).resolve().parent.parent

CONFIG = """\
timezone = "Europe/Berlin"

[jobs.agent]
command = ["/bin/true"]

[[jobs.agent.schedules]]
id = "weeknights"
start = "22:00"
duration = "8h"
days = ["mon-fri"]

[[jobs.agent.schedules]]
id = "mornings"
start = "06:00"
duration = "3h"
days = ["weekends"]

[jobs.backup]
command = ["/bin/true"]
"""


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "osched.toml"
    path.write_text(CONFIG)
    from osched.core import cache as core_cache

    monkeypatch.setattr(core_cache, "RACY_NS", 0)  # the margin, injected: no sleep
    state = tmp_path / "state"
    state.mkdir(mode=0o700)
    monkeypatch.setenv("OSCHED_CONFIG", str(path))
    monkeypatch.setenv("OSCHED_STATE_DIR", str(state))
    return path


def names_file(config: Path) -> Path:
    from osched.core.store import Store

    store = Store(os.environ["OSCHED_STATE_DIR"])
    return Path(store.path(*store.cache(str(config), "names")))


def test_the_table_is_the_click_tree() -> None:
    assert table() == TREE, "regenerate: python3 -m osched.cli.completion_table > osched/complete_table.py"
    assert (ROOT / "osched/complete_table.py").read_text() == source()


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=" \t ab-='\"\\", max_size=14))
def test_words_split_as_click_splits_them(line: str) -> None:
    assert complete._split(line) == split_arg_string(line)


def _lines() -> list[list[str]]:
    """Command lines ending with the word being completed, over the whole tree."""
    out: list[list[str]] = []
    for path, node in TREE.items():
        words = ["osched", *path.split()]
        for inc in ("", "-", "--", "--h", "x", "s", "a"):
            out.append([*words, inc])
        for opt in node["opts"]:
            if opt[2]:
                out.append([*words, opt[0][0], ""])
                out.append([*words, opt[0][0], "a"])
                out.append(
                    [
                        *words,
                        f"{opt[0][0]}=",
                    ]
                )
                out.append([*words, f"{opt[0][0]}=E"])
            out.append([*words, opt[0][0], "--"])
        if node["args"]:
            out.append([*words, "agent", ""])
            out.append([*words, "agent", "w"])
            out.append([*words, "agent", "--", ""])
            out.append([*words, "agent", "weeknights", ""])
            out.append([*words, "ag"])
    out += [
        ["osched", "--config", "CONFIG", "job", "set", ""],
        ["osched", "--config=CONFIG", "schedule", "set", "agent", ""],
        ["osched", "schedule", "add", "agent", "--days", "mon-fri,sa"],
        ["osched", "schedule", "add", "agent", "--days", "mon-"],
        ["osched", "schedule", "add", "agent", "--timezone", "Europe/Be"],
        ["osched", "schedule", "add", "agent", "--timezone", "europe/be"],
        ["osched", "schedule", "add", "agent", "--start", "22:00", "--"],
        ["osched", "schedule", "add", "agent", "--env", "A=1", "--"],
        ["osched", "job", "add", "x", "--", "ls", "-"],
        ["osched", "job", "add", "x", "--", "ls", "--"],
        ["osched", "events", "-n", "3", ""],
        ["osched", "--debug", "st"],
        ["osched", "render", "--target", "cron", "--"],
        ["osched", "--config", "CONFIG", ""],
        ["osched", "completion", ""],
    ]
    return out


LINES = _lines()


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_every_answer_is_clicks(shell: str, config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cls = get_completion_class(shell)
    assert cls is not None
    from osched.cli.view_cmds import answer_format

    fmt = answer_format(cls(cli, {}, "osched", "_OSCHED_COMPLETE"))
    assert fmt, f"osched does not know how this click ({shell}) reads an answer"
    monkeypatch.setenv("_OSCHED_COMPLETE_FORMAT", fmt)
    answered = 0
    for line in LINES:
        words = [str(config) if w == "CONFIG" else w.replace("CONFIG", str(config)) for w in line]
        if shell == "fish":
            monkeypatch.setenv("COMP_WORDS", " ".join(words))
            monkeypatch.setenv("COMP_CWORD", words[-1])
        else:
            monkeypatch.setenv("COMP_WORDS", " ".join(words))
            monkeypatch.setenv("COMP_CWORD", str(len(words) - 1))
        clicks = cls(cli, {}, "osched", "_OSCHED_COMPLETE").complete()
        ours = complete.answer(f"{shell}_complete")
        if ours is None:  # the fast path hands this one to click
            continue
        answered += 1
        if words[-1].startswith("-"):  # click lists -h/--help from a set: in any order
            size = 1 if fmt in ("bash", "fish-tab") else 3
            ours_items, clicks_items = (
                sorted(zip(*[iter(t.split("\n") if t else [])] * size, strict=True)) for t in (ours, clicks)
            )
            assert ours_items == clicks_items, words
        else:
            assert ours == clicks, words
    assert answered > len(LINES) * 0.95


def test_what_the_issue_asked(config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def ask(*words: str) -> list[str]:
        return _ask(monkeypatch, *words)

    assert ask("job", "set", "") == ["agent", "backup"]
    assert ask("job", "remove", "b") == ["backup"]
    assert ask("schedule", "remove", "agent", "") == ["weeknights", "mornings"]
    assert ask("schedule", "add", "agent", "--days", "mon-fri,sa") == ["mon-fri,sat"]
    config.chmod(0o666)  # a config another user could write completes nothing, as it loads nothing
    assert ask("job", "set", "") == []


def _ask(monkeypatch: pytest.MonkeyPatch, *words: str) -> list[str]:
    monkeypatch.setenv("_OSCHED_COMPLETE_FORMAT", "bash")
    monkeypatch.setenv("COMP_WORDS", " ".join(["osched", *words]))
    monkeypatch.setenv("COMP_CWORD", str(len(words)))
    text = complete.answer("bash_complete")
    assert text is not None
    return [line.split(",", 1)[1] for line in text.splitlines()]


def test_names_come_from_a_names_file_only_while_it_is_fresh(
    config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first TAB reads the TOML and writes the names file (0600, stamped with the config's
    identity); the next reads it; an edit makes it stale, so the TOML is read again."""
    assert _ask(monkeypatch, "job", "set", "") == ["agent", "backup"]
    names = names_file(config)
    assert names.stat().st_mode & 0o777 == 0o600
    assert "job agent weeknights mornings" in names.read_text()
    # the next TAB believes it: what it says is what is answered (written by this user)
    names.write_text(names.read_text().replace("job backup", "job spare"))
    names.chmod(0o600)
    assert _ask(monkeypatch, "job", "set", "") == ["agent", "spare"]
    # an edit of the config changes its identity: the file is stale and written again
    config.write_text(CONFIG + '\n[jobs.third]\ncommand = ["/bin/true"]\n')
    assert _ask(monkeypatch, "job", "set", "") == ["agent", "backup", "third"]
    assert "job third" in names.read_text()


def test_a_names_file_another_user_could_write_is_not_believed(
    config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _ask(monkeypatch, "job", "set", "")
    names = names_file(config)
    names.write_text(names.read_text().replace("job backup", "job planted"))
    names.chmod(0o622)  # group- and other-writable
    assert _ask(monkeypatch, "job", "set", "") == ["agent", "backup"]
    if os.geteuid() == 0:  # owned by another user
        names.write_text(names.read_text().replace("job backup", "job planted"))
        names.chmod(0o600)
        os.chown(names, 65534, 65534)
        assert _ask(monkeypatch, "job", "set", "") == ["agent", "backup"]
    # a malformed one, or one naming something osched never names, is rebuilt
    names.unlink()
    _ask(monkeypatch, "job", "set", "")
    names.write_text(names.read_text().replace("job backup", "job ../x"))
    names.chmod(0o600)
    assert _ask(monkeypatch, "job", "set", "") == ["agent", "backup"]


def test_no_state_dir_no_names_file(config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A TAB never creates the state dir."""
    monkeypatch.setenv("OSCHED_STATE_DIR", str(tmp_path / "none"))
    assert _ask(monkeypatch, "job", "set", "") == ["agent", "backup"]
    assert not (tmp_path / "none").exists()


def test_the_script_passes_the_default_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With no OSCHED_CONFIG, the TAB finds the config where the script said the default is
    (platformdirs is not imported for a TAB)."""
    from osched import where

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdgstate"))
    default = Path(where.default_config_file())
    assert default == tmp_path / "xdg/osched/osched.toml"
    default.parent.mkdir(parents=True)
    default.write_text(CONFIG)
    monkeypatch.delenv("OSCHED_CONFIG", raising=False)
    monkeypatch.delenv("OSCHED_STATE_DIR", raising=False)
    from osched.cli.view_cmds import fast_completer

    script = fast_completer("bash", "env _OSCHED_COMPLETE=bash_complete $1)", "bash")
    assert f"_OSCHED_DEFAULT_CONFIG={default}" in script
    monkeypatch.setenv("_OSCHED_DEFAULT_CONFIG", str(default))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "elsewhere"))  # not consulted
    assert _ask(monkeypatch, "job", "set", "") == ["agent", "backup"]


def test_a_line_the_fast_path_does_not_model_goes_to_click(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("_OSCHED_COMPLETE_FORMAT", "bash")
    monkeypatch.setenv("COMP_WORDS", "osched logs -fn 3 ")
    monkeypatch.setenv("COMP_CWORD", "4")
    assert complete.answer("bash_complete") is None
    assert complete.answer("bash_source") is None
    # a script that does not say how it reads an answer (an older one): click answers
    monkeypatch.setenv("COMP_WORDS", "osched job set ")
    monkeypatch.setenv("COMP_CWORD", "3")
    monkeypatch.delenv("_OSCHED_COMPLETE_FORMAT")
    assert complete.answer("bash_complete") is None
    monkeypatch.setenv("_OSCHED_COMPLETE_FORMAT", "zsh")  # another shell's format
    assert complete.answer("bash_complete") is None


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_the_printed_script_completes_in_a_real_bash(config: Path, tmp_path: Path) -> None:
    """``eval "$(osched completion bash)"``, then a TAB on ``osched job set ``, through the
    installed ``osched-complete`` (the script names it) or ``python -m osched``."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    launcher = bindir / "osched-complete"
    launcher.write_text(f"#!{sys.executable}\nfrom osched.launch import main\nmain()\n")
    launcher.chmod(0o755)
    script = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; sys.argv[:2] = [sys.argv[1]]; from osched.launch import main; main()",
            str(bindir / "osched"),
            "completion",
            "bash",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert f"_OSCHED_COMPLETE=bash_complete {launcher})" in script
    probe = (
        script
        + '\nCOMP_WORDS=(osched job set ""); COMP_CWORD=3; _osched_completion; echo "${COMPREPLY[*]}"\n'
    )
    env = {**os.environ, "OSCHED_CONFIG": str(config)}
    out = subprocess.run(["bash", "--norc", "-c", probe], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.split() == ["agent", "backup"]


def test_both_fish_formats_are_clicks() -> None:
    """click 8.4 reads fish answers as type/value/help lines, 8.5 as ``type,value<TAB>help``:
    the script says which (``osched completion fish`` asks click's own formatter)."""
    item = ("plain", "agent", "Show one job")
    assert complete.line("fish-lines", item) == "plain\nagent\nShow one job"
    assert complete.line("fish-tab", item) == "plain,agent\tShow one job"
    assert complete.line("fish-tab", ("plain", "agent", "")) == "plain,agent"
    assert complete.line("zsh", ("plain", "a:b", "h")) == "plain\na\\:b\nh"
