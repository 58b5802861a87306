"""The store of the sessions' photos and files, and the temporary folder they live in.

A session (a browser tab, or a gradio_client client) holds one photo, read, detected and aligned
(:class:`ganmut.editor.Prepared`), under its session key, in a map bounded by bytes; the session's
``photo_key`` State holds only that key. Its files (the PNG download, the animation's GIF and MP4, the edited clip) live in a
folder of its own under Gradio's temporary folder. Both go when the tab closes (:meth:`Sessions.end`).

The temporary folder as a whole is kept within ``Limits.temp_bytes`` and 30 minutes (``temp``), but
nothing an open page may still use is deleted to get there: its folder, and the uploads its photo,
clip and reference show (:meth:`Sessions.hold`), stay until the tab closes, for the newest
:data:`~webapp.limits.MAX_SESSIONS` pages (the sessions whose state Gradio keeps). API results live in a
folder of their client and count against it (:meth:`Sessions.api_result`): a client past its share of the
cap loses its own oldest results first, and a result that does not fit even then is refused in one line.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import glob
import hashlib
import os
import shutil
import tempfile
import threading
import uuid
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import gradio as gr
from PIL import Image

import ganmut
from ganmut.editor import Prepared
from ganmut.cache import MB, ByteLRU, nbytes

from .disk import DiskBudget
from .limits import API_FILES_SHARE, API_PER_CLIENT, GRACE_S, MAX_SESSIONS, STORAGE_FULL, Limits

WHEEL_PAGES = 10_000
"""How many pages' newest wheel events are remembered (a page forgotten answers every event)."""
RELEASED = "Your photo was released to make room for other visitors: please upload it again."


def png_room(image: Image.Image) -> int:
    """Bytes a PNG of ``image`` may take on disk: its pixels in memory (at least its raw rows) plus 64 kB."""
    return nbytes(image) + image.height + 65536


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
        self.api_dir = self.temp_dir / "ganmut-api"
        self.api_quota = limits.temp_bytes // API_FILES_SHARE
        self.temp = DiskBudget([self.temp_dir], limits.temp_bytes, limits.temp_bytes // 2, max_age_s=1800,
                               keep=self.kept_files, forget=self.forget_files, grace_s=GRACE_S)
        self._reading: Counter[str] = Counter()
        self._pages: dict[str, dict[str, str]] = {}  # open pages' held uploads by part, the most recent pages last
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
        key = session_key(request)
        with self._lock:
            self._page(key)
        folder = self.sessions_dir / key
        folder.mkdir(parents=True, exist_ok=True)
        self.discard(folder.glob(f"{glob.escape(prefix)}*{glob.escape(suffix)}"))
        return Path(tempfile.mkstemp(suffix=suffix, prefix=prefix, dir=folder)[1])

    def _page(self, key: str) -> dict[str, str]:
        """The uploads the open page ``key`` holds by part, the page made the most recent (under the lock);
        past :data:`MAX_SESSIONS` pages, the least recent one's files are no longer kept."""
        page = self._pages.pop(key, {})
        self._pages[key] = page
        while len(self._pages) > MAX_SESSIONS:
            del self._pages[next(iter(self._pages))]
        return page

    def hold(self, request: gr.Request | None, part: str, path: str | None) -> None:
        """Keep the upload ``path`` that a page's ``part`` ("photo", "clip", "reference") shows from the
        sweeps until the tab closes; the part's previous upload (or, with None, its upload) is let go."""
        with self._lock:
            page = self._page(session_key(request))
            if path is None:
                page.pop(part, None)
            else:
                page[part] = str(path)

    @contextmanager
    def api_result(self, request: gr.Request | None, suffix: str, nbytes: int = 0) -> Iterator[Path]:
        """A new path for an API result, in its client's folder: first the client's own oldest results
        go until they take at most ``api_quota`` with ``nbytes`` more (its newest ones, which it may be
        fetching, are kept), then ``nbytes`` are reserved while the block writes it (:meth:`room`:
        GanmutError, in one line, when the temporary folder has no room even then)."""
        folder = self.api_dir / session_key(request)
        folder.mkdir(parents=True, exist_ok=True)
        self.trim(folder, self.api_quota - nbytes, API_PER_CLIENT)
        with self.room(nbytes):
            yield folder / f"ganmut-api-{uuid.uuid4().hex}{suffix}"

    def trim(self, folder: Path, max_bytes: int, newest: int) -> None:
        """Delete the oldest files of ``folder`` until they take at most ``max_bytes``, never its ``newest`` ones."""
        files = []
        for path in folder.iterdir():
            try:
                st = path.stat()
            except OSError:
                continue
            files.append((st.st_mtime, st.st_blocks * 512 or st.st_size, path))
        files.sort()
        total = sum(size for _, size, _ in files)
        gone = []
        for _, size, path in files[:max(0, len(files) - newest)]:
            if total <= max_bytes:
                break
            gone.append(path)
            total -= size
        self.discard(gone)

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
        try:
            with self.reading(reading):
                yield
        finally:
            self.temp.done(nbytes)

    @contextmanager
    def reading(self, paths: Iterable[str | os.PathLike | None]) -> Iterator[None]:
        """While the block runs (an API call waiting for a worker and computing), ``paths`` are kept from the sweeps."""
        names = [name for path in paths if path is not None for name in (str(path), os.path.abspath(path))]
        with self._lock:
            self._reading.update(names)
        try:
            yield
        finally:
            with self._lock:
                self._reading.subtract(names)
                self._reading = +self._reading  # drop the names nothing reads any more

    def kept_files(self) -> set[str]:
        """Temporary files (and folders, whose files) the sweeps must keep: the examples' copies Gradio
        keeps, the files being read (:meth:`reading`), and what open pages may still use: their
        folders and the uploads they hold (:meth:`hold`)."""
        with self._lock:
            kept = set(self._reading)
            for key, held in self._pages.items():
                kept.add(str(self.sessions_dir / key))
                kept.update(name for path in held.values() for name in (path, os.path.abspath(path)))
        return kept.union(*(getattr(b, "keep_in_cache", set()) for b in self.blocks.blocks.values()))

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
            self._pages.pop(key, None)
        folder = self.sessions_dir / key
        self.discard(folder.glob("*") if folder.is_dir() else ())
        shutil.rmtree(folder, ignore_errors=True)
        trim_heap()


def trim_heap() -> bool:
    """Return freed heap memory to the operating system (glibc's ``malloc_trim``); False elsewhere."""
    name = ctypes.util.find_library("c")
    try:
        return bool(ctypes.CDLL(name).malloc_trim(0)) if name else False
    except (OSError, AttributeError):
        return False
