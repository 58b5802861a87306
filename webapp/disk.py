"""Files on disk kept within bytes and age: :class:`DiskBudget` (the temporary folder's keeper)."""
from __future__ import annotations

import os
import stat
import threading
import time
from collections.abc import Callable, Iterable
from contextlib import suppress
from pathlib import Path

EMPTY_FOLDER_S = 60.0
"""A folder emptied by a sweep is removed once it has stayed empty this long."""


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
