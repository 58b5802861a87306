"""Bounds on what a long-running server holds and how it shares the CPU; nothing here imports Gradio.

- :class:`ByteLRU`: a least-recently-used map bounded by the bytes of its values;
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
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Generic, TypeVar

import numpy as np
import torch
from PIL import Image

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
MB = 1024 * 1024
EMPTY_FOLDER_S = 60.0
"""A folder emptied by a sweep is removed once it has stayed empty this long."""


def nbytes(*parts: object) -> int:
    """Bytes held by numpy arrays, torch tensors and PIL images among ``parts`` (nested in lists,
    tuples and dicts; other objects count 0)."""
    total = 0
    for p in parts:
        if isinstance(p, np.ndarray):
            total += p.nbytes
        elif isinstance(p, torch.Tensor):
            total += p.element_size() * p.nelement()
        elif isinstance(p, Image.Image):
            total += _image_bytes(p)
        elif isinstance(p, (list, tuple)):
            total += nbytes(*p)
        elif isinstance(p, dict):
            total += nbytes(*p.values())
    return total


def _image_bytes(img: Image.Image) -> int:
    """Memory of a PIL image's pixels: PIL keeps 1 byte a pixel for modes 1, L and P, 2 for
    16-bit modes and 4 for every other mode (multi-band pixels are stored as 32 bits)."""
    per = 1 if img.mode in ("1", "L", "P") else 2 if img.mode.startswith("I;16") else 4
    return img.width * img.height * per


class ByteLRU(Generic[K, V]):
    """A least-recently-used map holding at most ``max_bytes`` of values, as ``sizeof`` measures
    them; a value larger than that alone is not kept. Thread-safe."""

    def __init__(self, max_bytes: int, sizeof: Callable[[V], int] = nbytes) -> None:
        self.max_bytes = int(max_bytes)
        self._sizeof = sizeof
        self._items: OrderedDict[K, tuple[V, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    @property
    def nbytes(self) -> int:
        """Bytes held now."""
        return self._bytes

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def get(self, key: K) -> V | None:
        """The value of ``key`` (now the most recently used) or None."""
        with self._lock:
            hit = self._items.get(key)
            if hit is None:
                return None
            self._items.move_to_end(key)
            return hit[0]

    def put(self, key: K, value: V) -> bool:
        """Keep ``value`` under ``key``, evicting the least recently used values to make room;
        False (and ``key`` dropped) when the value alone exceeds ``max_bytes``."""
        size = self._sizeof(value)
        with self._lock:
            self._drop(key)
            if size > self.max_bytes:
                return False
            self._items[key] = (value, size)
            self._bytes += size
            while self._bytes > self.max_bytes:
                self._drop(next(iter(self._items)))
            return True

    def pop(self, key: K) -> V | None:
        """Remove ``key``; its value or None."""
        with self._lock:
            return self._drop(key)

    def _drop(self, key: K) -> V | None:
        hit = self._items.pop(key, None)
        if hit is None:
            return None
        self._bytes -= hit[1]
        return hit[0]


class DiskBudget:
    """Keeps the files under ``folders`` within ``max_bytes`` and ``max_age_s``.

    :meth:`sweep` deletes files older than ``max_age_s`` and, when more than ``target_bytes``
    remain, the least recently modified ones until ``target_bytes`` are left, then folders that
    stayed empty for :data:`EMPTY_FOLDER_S` (never the budget's own folders); files named by
    ``keep()`` are never deleted, and ``forget`` is told which paths went. :meth:`admit` reserves
    room for a file about to be written (an upload), sweeping first when needed, and :meth:`done`
    says it was written. :meth:`run` sweeps every ``every_s`` seconds until :meth:`stop`.
    """

    def __init__(self, folders: Iterable[str | os.PathLike], max_bytes: int, target_bytes: int | None = None,
                 max_age_s: float = 1800.0, keep: Callable[[], set[str]] = set,
                 forget: Callable[[set[str]], None] = lambda paths: None) -> None:
        self.folders = [Path(f) for f in folders]
        self.max_bytes = int(max_bytes)
        self.target_bytes = int(max_bytes // 2 if target_bytes is None else target_bytes)
        self.max_age_s = max_age_s
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
        """Delete what is too old, then the oldest files past ``target_bytes``, and folders left
        empty for a minute (a writer may be about to use a newer one); the bytes freed."""
        with self._lock:
            files, empty = self._scan()
            files.sort()
            keep = self._keep()
            total = sum(size for _, size, _ in files)
            now = time.time()
            gone: set[str] = set()
            freed = 0
            for mtime, size, path in files:
                if total - freed <= self.target_bytes and now - mtime <= self.max_age_s:
                    break
                if path in keep:
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
    caller's; elsewhere normal priority), in arrival order, each in a copy of its caller's context (so context variables,
    such as a web framework's request, still hold). Work at normal priority gets the CPU first."""

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
