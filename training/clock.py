"""Wall-clock budgets that count from the start of the process, imports included."""
from __future__ import annotations

import os
import signal
import time


def process_age_s() -> float:
    """Seconds since this process started (from /proc on Linux, where a GPU session runs; 0 elsewhere)."""
    try:
        with open("/proc/self/stat") as f:
            start_ticks = int(f.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/uptime") as f:
            uptime = float(f.read().split()[0])
        return max(0.0, uptime - start_ticks / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError):
        return 0.0


def process_start() -> float:
    """``time.monotonic()`` at the start of this process."""
    return time.monotonic() - process_age_s()


class StopRequest:
    """Set when the process receives SIGTERM (the GPU session's deadline): a training loop finishes the
    step it is in, saves its checkpoint or weights, and exits normally instead of dying with nothing."""

    def __init__(self) -> None:
        self.requested = False

    def install(self) -> None:
        signal.signal(signal.SIGTERM, self._set)

    def _set(self, signum, frame) -> None:
        self.requested = True


STOP = StopRequest()
"""The process's stop request; scripts install it (``STOP.install()``), library calls never see SIGTERM."""
