"""Wall-clock budgets that count from the start of the process, imports included."""
from __future__ import annotations

import os
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
