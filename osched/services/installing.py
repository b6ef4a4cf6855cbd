"""Installing and editing: install where asked, and after an edit of an installed config,
install it again where it is installed; the edit itself (``edit.py``) with this command's
one load of the config."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..errors import OschedError
from ..model import Config
from .base import AppBase


class Installing(AppBase):
    def edit(self, change: Callable[[Any], Any], job: str | None = None) -> tuple[Config, Any]:
        """Apply ``change`` to the config (``edit.Editor``), validate, save; the saved config is
        this command's load from then on.  (the new config, what ``change`` returned)"""
        from ..edit import edit

        loaded, result = edit(self.config_path, change, job=job)
        self.use(loaded)
        return loaded.config, result

    def remove_job(self, name: str) -> None:
        """Remove job ``name`` from the config and its state with it (state, overrides, logs), so
        a new job of that name starts afresh; refused while it runs."""
        from ..core.trust import Untrusted
        from ..errors import UsageError
        from ..runtime.proc import default_procs
        from ..trust import check_state_dir, refused

        store = self.state.store
        if self.state_dir.is_dir():
            check_state_dir(self.state_dir, create=False)
            st = self.state.read_state(name, self.now, read_only=True)
            procs = self.procs or default_procs()
            # the job's process: a supervisor left (ending after a stop, or in a crash backoff)
            # restarts nothing once the job is gone from the config
            if procs.alive(st.pid, st.pid_start):
                raise UsageError(
                    f"job {name!r} is running (pid {st.pid}): stop it first (osched stop {name})"
                )
        self.edit(lambda e: e.remove_job(name), job=name)
        try:
            store.remove_job(name)
        except Untrusted as e:
            raise refused(e) from None

    def install(self, target: str, system: bool, dry_run: bool = False) -> Any:
        """``install --target``: the config through the trust check once, rendered, installed."""
        from ..install import install

        out = install(self.load_trusted(), self.render_ctx(system), target, dry_run)
        self.installed_changed()
        return out

    def resync(self) -> list[str]:
        """After an edit of an installed config: install it again where it is installed."""
        from ..install import install

        try:
            recorded = self.installed()
        except OschedError as e:
            raise OschedError(f"the config was saved, but re-syncing failed: {e}") from None
        if not recorded:
            return []
        loaded = self.load_trusted()
        lines = []
        for name, entry in recorded.items():
            try:
                out = install(loaded, self.render_ctx(bool(entry.get("system"))), name)
            except OschedError as e:
                raise OschedError(
                    f"the config was saved, but re-syncing {name} failed: {e} (run osched install)"
                ) from None
            lines += [f"Re-synced {name}: {line}" for line in out.plan.summary]
        self.installed_changed()
        return lines
