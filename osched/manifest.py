"""The install manifest (``<state>/install/<config id>.toml``): per target, each artifact and
the sha256 of its content, and the config's own hash.  Uninstall removes exactly that, even
after the TOML changed, and ``status``/``doctor`` report drift.  Read and written through the
state store (private, never through a link, never another user's file)."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

from .core.store import Store
from .core.trust import Untrusted
from .errors import EXIT_USAGE, OschedError


class ManifestError(OschedError):
    """The install manifest cannot be read: never taken as 'nothing installed'.  Bad input
    (exit 2), like a config that cannot be read."""

    exit_code = EXIT_USAGE


def read_manifest(state_dir: Path, config_id: str) -> dict[str, Any]:
    store = Store(state_dir)
    parts = store.manifest(config_id)
    path = store.path(*parts)
    try:
        raw = store.read(parts, "manifest")
    except FileNotFoundError:
        return {"targets": {}}
    except (Untrusted, OSError) as e:
        raise ManifestError(f"{path}: install manifest refused: {e}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, RecursionError) as e:
        raise ManifestError(
            f"{path}: install manifest is unreadable ({e}); move it aside to reinstall"
        ) from None
    found = data.setdefault("targets", {})
    if not isinstance(found, dict) or not all(isinstance(v, dict) for v in found.values()):
        raise ManifestError(f"{path}: install manifest is unreadable (targets is not a table of tables)")
    for name, entry in found.items():
        bad = _bad_artifact(entry.get("artifacts", []))
        if bad:
            raise ManifestError(f"{path}: install manifest refused: {name}: {bad}")
    return data


def _bad_artifact(artifacts: object) -> str:
    """Why the recorded artifacts cannot be what osched wrote ("" when they can): each id a
    plain name (it becomes a file name in the target's folder), each path absolute and plain,
    ending in a name osched gives."""
    if not isinstance(artifacts, list):
        return "artifacts is not a list"
    for a in artifacts:
        if not isinstance(a, dict) or not isinstance(a.get("id"), str):
            return "an artifact without an id"
        ident = a["id"]
        if not ident or "/" in ident or "\\" in ident or ident in (".", "..") or "\0" in ident:
            return f"artifact id {ident!r} is not a plain name"
        where = a.get("path")
        if where is None:
            continue
        if not isinstance(where, str) or not os.path.isabs(where) or os.path.normpath(where) != where:
            return f"artifact path {where!r} is not a plain absolute path"
    return ""


def outside(artifacts: list[dict[str, Any]], folders: list[Path]) -> str | None:
    """The first recorded artifact path outside ``folders`` (the target's own), or None."""
    allowed = {os.path.normpath(str(f)) for f in folders}
    for a in artifacts:
        where = a.get("path")
        if where is not None and os.path.dirname(str(where)) not in allowed:
            return str(where)
    return None


def write_manifest(state_dir: Path, config_id: str, data: dict[str, Any]) -> None:
    import tomli_w

    store = Store(state_dir)
    parts = store.manifest(config_id)
    try:
        if not data.get("targets"):
            store.remove(parts)
            return
        store.write(parts, tomli_w.dumps(data).encode("utf-8"))
    except Untrusted as e:
        from .trust import refused

        raise refused(e) from None


def installed_targets(state_dir: Path, config_id: str) -> dict[str, dict[str, Any]]:
    """Where this config is installed (by the manifest); {} when nowhere.  An unreadable
    manifest is a ``ManifestError``, never "nothing installed"."""
    return dict(read_manifest(state_dir, config_id)["targets"])
