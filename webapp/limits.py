"""What one app may hold and run; nothing here imports Gradio.

:class:`Limits`: the bounds of one app, from ``GANMUT_SESSION_MEMORY_MB``, ``GANMUT_TEMP_MB`` and
``GANMUT_API_WORKERS`` (see "Limits" in the README), and the fixed bounds of the queues, the clients
and the temporary folder. What holds the app to them: :mod:`webapp.disk` (files) and
:mod:`webapp.pools` (threads, clients).
"""
from __future__ import annotations

import os
from dataclasses import dataclass

from ganmut.errors import shorten
from ganmut.cache import MB

UI_CONCURRENCY = 2
"""Interactive events (all visitors together) that run at once, in Gradio's "ui" group; more wait in order."""
API_CONCURRENCY = 16
"""API calls let through Gradio's "api" group at once, to the per-client check and the API workers' queue."""
API_PER_CLIENT = 2
"""API calls one client (a gradio_client session) may have waiting or running; past that, a 429 error."""
API_FILES_SHARE = 10
"""A client's API results take at most this fraction (1/N) of the temporary folder's cap; past that, its
own oldest results are deleted first (a gradio_client downloads each result as its call ends)."""
QUEUE_SIZE = 64
"""Events that may wait in Gradio's queue; past that, Gradio answers "Queue is full"."""
MAX_SESSIONS = 1000
"""Sessions whose Gradio state (about 90 kB each, the photo not included) is kept, least recently used first out."""
STORAGE_FULL = "the server's temporary storage is full: try again in a minute"
"""What an upload or a clip that does not fit under the temporary folder's cap is told."""
SWEEP_S = 5.0
"""How often the temporary folder is swept."""
GRACE_S = 60.0
"""The temporary folder's sweeps never delete a file younger than this to make room (an upload whose
event has not run yet, an output a page or a client has not fetched yet)."""


def env_count(name: str, default: int) -> int:
    """A positive whole number from the environment variable ``name`` (``default`` when unset)."""
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    n = int(value) if value.isascii() and value.isdigit() else 0
    if n < 1:
        raise SystemExit(f"{name} must be a whole number of at least 1, got {shorten(value)}")
    return n


def cores() -> int:
    """The CPU cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


@dataclass(frozen=True)
class Limits:
    """What one app may hold and run; :meth:`from_env` reads them from the environment."""

    session_memory: int = 1024 * MB
    """Bytes of photos all sessions hold together, the least recently used session's photo released
    first. A session holds one photo, read and aligned: at most about 300 MB (40 megapixels, the most
    that is edited at full size, at 3 bytes a pixel of pixels plus 4 of the image)."""
    temp_bytes: int = 500 * MB
    """Bytes Gradio's temporary folder (uploads, outputs, animations) may hold; a sweep every
    :data:`SWEEP_S` seconds brings it down to half of that, and deletes files older than 30 minutes."""
    api_workers: int = cores()
    """API calls computed at once (one torch thread each; default: one per core), at CPU priority ``nice`` 10."""

    @classmethod
    def from_env(cls) -> "Limits":
        """The limits the environment sets (SystemExit, in one line, for a value that is not a whole number >= 1)."""
        return cls(env_count("GANMUT_SESSION_MEMORY_MB", cls.session_memory // MB) * MB,
                   env_count("GANMUT_TEMP_MB", cls.temp_bytes // MB) * MB,
                   env_count("GANMUT_API_WORKERS", cls.api_workers))
