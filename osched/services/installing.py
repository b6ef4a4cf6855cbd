"""Installing: after an edit of an installed config, install it again where it is installed."""

from __future__ import annotations

from ..errors import OschedError
from .base import AppBase


class Installing(AppBase):
    def resync(self) -> list[str]:
        """After an edit of an installed config: install it again where it is installed."""
        from ..install import install

        try:
            recorded = self.installed()
        except OschedError as e:
            raise OschedError(f"the config was saved, but re-syncing failed: {e}") from None
        if not recorded:
            return []
        cfg = self.load()
        lines = []
        for name, entry in recorded.items():
            try:
                out = install(cfg, self.render_ctx(bool(entry.get("system"))), name)
            except OschedError as e:
                raise OschedError(
                    f"the config was saved, but re-syncing {name} failed: {e} (run osched install)"
                ) from None
            lines += [f"Re-synced {name}: {line}" for line in out.plan.summary]
        return lines
