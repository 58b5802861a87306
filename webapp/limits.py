"""What one app may hold and run, and the machinery that holds it to that; nothing here imports Gradio.

- :class:`Limits`: the bounds of one app, from ``GANMUT_SESSION_MEMORY_MB``, ``GANMUT_TEMP_MB`` and
  ``GANMUT_API_WORKERS`` (see "Limits" in the README), and the fixed bounds of the queues;
- :class:`DiskBudget`: keeps the files under some folders within a byte cap and an age;
- :class:`LowPriorityPool`: threads of lower CPU priority, so that interactive work gets the CPU first;
- :class:`PerClient`: at most N calls in flight per client;
- :func:`trim_heap`: hand freed heap memory back to the operating system (glibc).
"""
from __future__ import annotations

import contextvars
import ctypes
import ctypes.util
import os
import stat
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from ganmut.errors import shorten
from ganmut.cache import MB

V = TypeVar("V")
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
EMPTY_FOLDER_S = 60.0
"""A folder emptied by a sweep is removed once it has stayed empty this long."""
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


class DiskBudget:
    """Keeps the files under ``folders`` within ``max_bytes`` and ``max_age_s``.

    :meth:`sweep` deletes files older than ``max_age_s`` and, when more than ``target_bytes``
    remain, the least recently modified ones older than ``grace_s`` until ``target_bytes`` are left,
    then folders that stayed empty for :data:`EMPTY_FOLDER_S` (never the budget's own folders); files
    named by ``keep()``, or directly inside a folder it names, are never deleted, and ``forget`` is
    told which paths went. :meth:`admit` reserves
    room for a file about to be written (an upload), sweeping first when needed, and :meth:`done`
    says it was written. :meth:`run` sweeps every ``every_s`` seconds until :meth:`stop`.
    """

    def __init__(self, folders: Iterable[str | os.PathLike], max_bytes: int, target_bytes: int | None = None,
                 max_age_s: float = 1800.0, keep: Callable[[], set[str]] = set,
                 forget: Callable[[set[str]], None] = lambda paths: None, grace_s: float = 0.0) -> None:
        self.folders = [Path(f) for f in folders]
        self.max_bytes = int(max_bytes)
        self.target_bytes = int(max_bytes // 2 if target_bytes is None else target_bytes)
        self.max_age_s = max_age_s
        self.grace_s = grace_s
        self._keep = keep
        self._forget = forget
        self._on_disk = 0  # at the last sweep
        self._writing = 0  # admitted, not done
        self._written = 0  # done since the last sweep
        self._lock = threading.Lock()
        self._stopped = threading.Event()

    def _scan(self) -> tuple[list[tuple[float, int, str]], list[tuple[float, str]]]:
        """(modification time, bytes on disk, path) of every regular file under the folders, and
        (modification time, path) of every empty folder below them."""
        files, empty = [], []
        for folder in self.folders:
            for root, dirs, names in os.walk(folder, topdown=False):
                for name in names:
                    path = os.path.join(root, name)
                    try:
                        st = os.lstat(path)
                    except OSError:
                        continue
                    if stat.S_ISREG(st.st_mode):
                        files.append((st.st_mtime, st.st_blocks * 512 or st.st_size, path))
                if not names and not dirs and Path(root) != folder:
                    try:
                        empty.append((os.lstat(root).st_mtime, root))
                    except OSError:
                        continue
        return files, empty

    def usage(self) -> int:
        """Bytes on disk under the folders now."""
        return sum(size for _, size, _ in self._scan()[0])

    def sweep(self) -> int:
        """Delete what is too old, then the oldest files past ``target_bytes`` (none younger than
        ``grace_s``), and folders left empty for a minute (a writer may be about to use a newer
        one); the bytes freed. What ``keep()`` names stays, however old."""
        with self._lock:
            files, empty = self._scan()
            files.sort()
            keep = self._keep()
            total = sum(size for _, size, _ in files)
            now = time.time()
            gone: set[str] = set()
            freed = 0
            for mtime, size, path in files:
                age = now - mtime
                if age <= self.max_age_s and (total - freed <= self.target_bytes or age < self.grace_s):
                    break  # the files are in order of age: the rest are younger still
                if path in keep or os.path.dirname(path) in keep:
                    continue
                try:
                    os.unlink(path)
                except OSError:
                    continue
                freed += size
                gone.add(path)
            for mtime, folder in empty:
                if now - mtime > EMPTY_FOLDER_S:
                    with suppress(OSError):
                        os.rmdir(folder)
            self._on_disk = total - freed
            self._written = 0
        if gone:
            self._forget(gone)
        return freed

    def admit(self, size: int) -> bool:
        """Reserve ``size`` bytes for a file about to be written: True when they fit under
        ``max_bytes`` (after a sweep if needed); call :meth:`done` once it is written."""
        for attempt in range(2):
            if attempt:
                self.sweep()
            with self._lock:
                if self._on_disk + self._written + self._writing + size <= self.max_bytes:
                    self._writing += size
                    return True
        return False

    def done(self, size: int) -> None:
        """An admitted file of ``size`` bytes is written (or failed): counted until the next sweep measures it."""
        with self._lock:
            self._writing -= size
            self._written += size

    def run(self, every_s: float) -> None:
        """Sweep every ``every_s`` seconds until :meth:`stop`."""
        while True:
            self.sweep()
            if self._stopped.wait(every_s):
                return

    def stop(self) -> None:
        self._stopped.set()


class LowPriorityPool:
    """Runs calls on ``workers`` threads of lower CPU priority (Linux: ``nice`` more than the
    caller's; elsewhere normal priority), in arrival order, each in a copy of its caller's context
    (so context variables, such as a web framework's request, still hold). Work at normal priority
    gets the CPU first."""

    def __init__(self, workers: int, nice: int = 10, name: str = "low-priority") -> None:
        self.workers = max(1, int(workers))
        self.nice = nice
        self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix=name, initializer=self._lower)

    def _lower(self) -> None:
        if sys.platform.startswith("linux"):  # there, PRIO_PROCESS with a thread id sets that thread's priority
            tid = threading.get_native_id()
            os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + self.nice))

    def run(self, fn: Callable[..., V], *args: object) -> V:
        """``fn(*args)`` on a pool thread, waiting for a free one; its result or its exception."""
        return self._pool.submit(contextvars.copy_context().run, fn, *args).result()


class TooMany(Exception):
    """A client already has as many calls in flight as it may."""


class PerClient:
    """At most ``limit`` calls in flight per client key; :meth:`hold` raises :class:`TooMany` past it."""

    def __init__(self, limit: int) -> None:
        self.limit = max(1, int(limit))
        self._held: dict[str, int] = {}
        self._lock = threading.Lock()

    @contextmanager
    def hold(self, client: str) -> Iterator[None]:
        with self._lock:
            n = self._held.get(client, 0)
            if n >= self.limit:
                raise TooMany(client)
            self._held[client] = n + 1
        try:
            yield
        finally:
            with self._lock:
                if self._held[client] <= 1:
                    del self._held[client]
                else:
                    self._held[client] -= 1


def trim_heap() -> bool:
    """Return freed heap memory to the operating system (glibc's ``malloc_trim``); False elsewhere."""
    name = ctypes.util.find_library("c")
    try:
        return bool(ctypes.CDLL(name).malloc_trim(0)) if name else False
    except (OSError, AttributeError):
        return False
