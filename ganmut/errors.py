"""User-facing errors: each carries one clear line for a CLI, an app or a log.

Helpers that build such lines: :func:`shorten` echoes a user's value in at most about
:data:`SHOWN_CHARS` characters, :func:`number` checks a number, :func:`require_file` checks a
path; files are named by their basename only, so a message never reveals a server's folders.
"""
from __future__ import annotations

import math
import stat
from pathlib import Path

SHOWN_CHARS = 60
"""At most this many characters of a user's value are echoed in a message."""


class GanmutError(Exception):
    """Base class of every error that is the user's input's fault, not a bug."""


class ImageError(GanmutError):
    """The file is not a readable image, or is too large."""


class NoFaceError(GanmutError):
    """No face (or no face large enough) was found in the image."""


class CheckpointError(GanmutError):
    """A model file is missing, not a safetensors checkpoint, or does not match the format."""


class CodeError(GanmutError):
    """A conditional code or emotion request lies outside the model's space."""


class VideoError(GanmutError):
    """A clip is not a video ffmpeg reads, is past a limit, or ffmpeg failed on it."""


def shorten(value: object, limit: int = SHOWN_CHARS) -> str:
    """``repr(value)`` on one line, cut to about ``limit`` characters (a long string says its length)."""
    if isinstance(value, str) and len(value) > limit:
        return f"{value[:limit]!r}... ({len(value)} characters)"
    text = " ".join(repr(value).split())
    return text if len(text) <= limit else text[:limit] + "..."


def number(value: object, name: str, bounds: tuple[float, float] | None = None) -> float:
    """``value`` as a float: a finite real number (not a bool or a string), within ``bounds`` when
    given; ValueError with one line naming ``name`` otherwise."""
    try:
        x = math.nan if isinstance(value, (bool, str, bytes)) or value is None else float(value)
    except (TypeError, ValueError, OverflowError):
        x = math.nan
    if not math.isfinite(x) or (bounds is not None and not bounds[0] <= x <= bounds[1]):
        where = f" in [{bounds[0]:g}, {bounds[1]:g}]" if bounds is not None else ""
        raise ValueError(f"{name} must be a number{where}, got {shorten(value)}")
    return x


def require_file(path: Path, error: type[GanmutError], what: str = "file") -> int:
    """The size in bytes of ``path``; ``error`` unless it is an existing, readable regular file
    (not a folder, a device or a pipe)."""
    try:
        st = path.stat()
    except (FileNotFoundError, NotADirectoryError):
        raise error(f"{what} not found: {path.name}") from None
    except OSError as e:
        raise error(f"cannot read {path.name}: {e.strerror}") from None
    if stat.S_ISDIR(st.st_mode):
        raise error(f"{path.name} is a folder, not a file")
    if not stat.S_ISREG(st.st_mode):
        raise error(f"{what} {path.name} is not a regular file")
    return st.st_size
