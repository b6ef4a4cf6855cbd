"""What every renderer shares: the output file, the render context, entrypoint argv."""

from __future__ import annotations

import getpass
import hashlib
import sys
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from pathlib import Path
from zoneinfo import ZoneInfo

from ..fsutil import atomic_write
from ..parse import zone


@dataclass(frozen=True, slots=True)
class File:
    name: str
    content: str
    mode: int = 0o644
    encoding: str = "utf-8"  # "utf-16" means UTF-16 LE with a BOM
    newline: str = "\n"

    def data(self) -> bytes:
        text = self.content if self.newline == "\n" else self.content.replace("\n", self.newline)
        if self.encoding == "utf-16":
            return b"\xff\xfe" + text.encode("utf-16-le")
        return text.encode(self.encoding)


def default_entrypoint(name: str) -> str:
    """The entrypoint installed beside the running interpreter, as an absolute path."""
    bindir = Path(sys.executable).absolute().parent
    exe = name + (".exe" if sys.platform == "win32" else "")
    return str(bindir / exe)


@dataclass(frozen=True)
class RenderContext:
    config_path: Path  # absolute
    state_dir: Path  # absolute
    now: datetime
    host_zone: str
    system: bool = False
    start_exe: str = field(default_factory=lambda: default_entrypoint("osched-start"))
    stop_exe: str = field(default_factory=lambda: default_entrypoint("osched-stop"))
    user: str = field(default_factory=getpass.getuser)

    def __post_init__(self) -> None:
        for p in (self.config_path, self.state_dir):
            if not Path(p).is_absolute():
                raise ValueError(f"{p} must be absolute")
        zone(self.host_zone)

    @property
    def host_tz(self) -> ZoneInfo:
        return zone(self.host_zone)

    @cached_property
    def config_id(self) -> str:
        """A short, stable identity of the config file: the marker of osched's artifacts."""
        return hashlib.sha256(str(self.config_path).encode("utf-8")).hexdigest()[:8]

    def tail(self) -> list[str]:
        return ["--config", str(self.config_path), "--state-dir", str(self.state_dir)]

    def start_argv(self, job: str, schedule: str, foreground: bool = False) -> list[str]:
        """``--foreground``: supervise in this process (the systemd service's main process)."""
        return [
            self.start_exe,
            job,
            "--schedule",
            schedule,
            *self.tail(),
            *(["--foreground"] if foreground else []),
        ]

    def stop_argv(self, job: str, schedule: str) -> list[str]:
        return [self.stop_exe, job, "--schedule", schedule, *self.tail()]

    def resume_argv(self, systemd: str | None = None) -> list[str]:
        """``--systemd user|system``: resume by starting the schedules' service units."""
        return [self.start_exe, "--resume", *self.tail(), *(["--systemd", systemd] if systemd else [])]


def write_files(files: list[File], directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for f in files:
        path = directory / f.name
        atomic_write(path, f.data(), mode=f.mode)
        written.append(path)
    return written
