"""osched: time-window schedules handed to the operating system's own scheduler."""

__version__ = "0.1.0"
