"""The package index's copy of README.md: its links into docs/ are relative, which a package
index cannot follow, so there they become the path, as text (the docs ship in the source
distribution).  A hatchling metadata hook ([tool.hatch.metadata.hooks.custom]), no dependency."""

from __future__ import annotations

import re
from pathlib import Path

from hatchling.metadata.plugin.interface import MetadataHookInterface

LINK = re.compile(r"\[([^\]]+)\]\((?!https?://|#)([^)]+)\)")


def index_readme(text: str) -> str:
    """``[docs/x.md](docs/x.md)`` -> ```docs/x.md```; ``[cron](docs/install-cron.md)`` ->
    ``cron (`docs/install-cron.md`)``; absolute links stay."""

    def plain(m: re.Match[str]) -> str:
        label, target = m.group(1), m.group(2)
        return f"`{target}`" if label.strip("`") == target else f"{label} (`{target}`)"

    return LINK.sub(plain, text)


class CustomMetadataHook(MetadataHookInterface):
    def update(self, metadata: dict) -> None:  # type: ignore[type-arg]
        text = (Path(self.root) / "README.md").read_text(encoding="utf-8")
        metadata["readme"] = {"content-type": "text/markdown", "text": index_readme(text)}
