"""The store of the sessions' photos and files, and the temporary folder they live in.

A session (a browser tab, or a gradio_client client) holds one photo, read, detected and aligned
(:class:`ganmut.editor.Prepared`), under its session key, in a map bounded by bytes; the session's
``photo_key`` State holds only that key. Its files (the PNG download, the animation's GIF and MP4, the edited clip) live in a
folder of its own under Gradio's temporary folder. Both go when the tab closes (:meth:`Sessions.end`).
The temporary folder as a whole is kept within ``Limits.temp_bytes`` and 30 minutes (``temp``).
"""
from __future__ import annotations

import glob
import hashlib
import os
import shutil
import tempfile
import threading
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import gradio as gr

import ganmut
from ganmut.editor import Prepared
from ganmut.limits import MB, ByteLRU

from .limits import STORAGE_FULL, DiskBudget, Limits, trim_heap

WHEEL_PAGES = 10_000
"""How many pages' newest wheel events are remembered (a page forgotten answers every event)."""
RELEASED = "Your photo was released to make room for other visitors: please upload it again."


def session_key(request: gr.Request | None) -> str:
    """The key of a session's photo and files: a hash of its session hash (the client chooses that)."""
    return hashlib.sha256(str(getattr(request, "session_hash", None) or "local").encode()).hexdigest()[:32]


class Sessions:
    """Each session's photo (``photos``, bounded by bytes) and files (``sessions_dir``), in Gradio's
    temporary folder (``temp_dir``, bounded by bytes and age by ``temp``). ``blocks``: the app's
    Blocks, whose records of the files Gradio made or must keep the sweeps follow."""

    def __init__(self, limits: Limits, blocks: gr.Blocks) -> None:
        self.blocks = blocks
        self.photos: ByteLRU[str, Prepared] = ByteLRU(limits.session_memory, Prepared.nbytes)
        self.temp_dir = Path(gr.utils.get_upload_folder())
        self.sessions_dir = self.temp_dir / "ganmut-sessions"
        self.temp = DiskBudget([self.temp_dir], limits.temp_bytes, limits.temp_bytes // 2, max_age_s=1800,
                               keep=self.kept_files, forget=self.forget_files)
        self._reading: Counter[str] = Counter()
        self._wheel: dict[str, int] = {}  # each page's newest wheel event (its number), the most recent pages last
        self._lock = threading.Lock()

    def keep(self, prep: Prepared, request: gr.Request | None) -> str:
        """Hold a session's new photo, read and aligned (replacing its last one); the key for its
        ``photo_key`` State. ImageError when the photo alone needs more than the store holds."""
        key = session_key(request)
        if not self.photos.put(key, prep):
            raise ganmut.ImageError(f"this photo needs {prep.nbytes() / MB:.1f} MB of memory, more than the "
                                    f"{self.photos.max_bytes / MB:.1f} MB this server holds for photos: "
                                    "use a smaller one")
        return key

    def held(self, key: str | None) -> Prepared | None:
        """The photo a session holds; None, with a toast, when it was released for room."""
        if key is None:
            return None
        prep = self.photos.get(key)
        if prep is None:
            gr.Warning(RELEASED)
        return prep

    def photo_or_warn(self, key: str | None) -> Prepared | None:
        """The session's photo, for a button that needs one; None, with a toast, when there is none."""
        if key is None:
            gr.Warning("Upload a photo first.")
            return None
        return self.held(key)

    def session_file(self, request: gr.Request | None, prefix: str, suffix: str) -> Path:
        """A new file named ``prefix...suffix`` in the session's folder (deleted when the tab closes),
        after deleting the session's older files of that prefix and suffix: one PNG, one animation
        and one clip at a time, each with a prefix of its own."""
        folder = self.sessions_dir / session_key(request)
        folder.mkdir(parents=True, exist_ok=True)
        self.discard(folder.glob(f"{glob.escape(prefix)}*{glob.escape(suffix)}"))
        return Path(tempfile.mkstemp(suffix=suffix, prefix=prefix, dir=folder)[1])

    def wheel_event(self, key: str, seq: int) -> None:
        """Note that the page of session ``key`` sent its wheel event number ``seq`` (the page numbers them
        in the order it sends them); the newest :data:`WHEEL_PAGES` pages are remembered."""
        with self._lock:
            self._wheel[key] = max(seq, self._wheel.pop(key, 0))
            while len(self._wheel) > WHEEL_PAGES:
                del self._wheel[next(iter(self._wheel))]

    def superseded(self, key: str, seq: int) -> bool:
        """Whether the page of session ``key`` has sent a newer wheel event than ``seq``: an answer to
        ``seq`` would then arrive late, over the newer one's."""
        with self._lock:
            return seq < self._wheel.get(key, 0)

    @contextmanager
    def room(self, nbytes: int, reading: Iterable[str | os.PathLike] = ()) -> Iterator[None]:
        """While files are made (a clip): ``nbytes`` of the temporary folder reserved for them
        (GanmutError, in one line, when they do not fit even after a sweep), and the files they are
        made from (``reading``) kept from the sweeps."""
        if not self.temp.admit(nbytes):
            raise ganmut.GanmutError(STORAGE_FULL)
        names = [name for path in reading for name in (str(path), os.path.abspath(path))]
        with self._lock:
            self._reading.update(names)
        try:
            yield
        finally:
            with self._lock:
                self._reading.subtract(names)
                self._reading = +self._reading  # drop the names no clip reads any more
            self.temp.done(nbytes)

    def kept_files(self) -> set[str]:
        """Temporary files the sweeps must keep: the examples' copies Gradio keeps, and the files a
        clip is being made from (:meth:`room`)."""
        with self._lock:
            reading = set(self._reading)
        return reading.union(*(getattr(b, "keep_in_cache", set()) for b in self.blocks.blocks.values()))

    def forget_files(self, paths: set[str]) -> None:
        """Drop deleted files from Gradio's records of the files it made (which would otherwise grow)."""
        for files in self.blocks.temp_file_sets:
            files.difference_update(paths)

    def discard(self, paths: Iterable[Path]) -> None:
        """Delete files and drop them from Gradio's records."""
        gone = set()
        for path in paths:
            path.unlink(missing_ok=True)
            gone.add(str(path))
        self.forget_files(gone)

    def end(self, request: gr.Request) -> None:
        """A tab closed: free its photo and delete its files now (Gradio keeps a closed session's state an hour)."""
        key = session_key(request)
        self.photos.pop(key)
        with self._lock:
            self._wheel.pop(key, None)
        folder = self.sessions_dir / key
        self.discard(folder.glob("*") if folder.is_dir() else ())
        shutil.rmtree(folder, ignore_errors=True)
        trim_heap()
