"""Writing files so that a crash or an error never leaves a half-written one, and checking where an
output goes before any work is done for it."""
from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import GanmutError


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """A fresh temporary path beside ``path`` to write to; when the block ends without an error it
    replaces ``path`` in one rename, otherwise it is removed and ``path`` is left as it was.
    The temporary name keeps ``path``'s suffix (some writers choose the format by it)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.{secrets.token_hex(4)}.tmp{path.suffix}")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def same_file(a: str | os.PathLike, b: str | os.PathLike) -> bool:
    """Whether the paths ``a`` and ``b`` name one file (through links and ``..`` too)."""
    try:
        return Path(a).resolve() == Path(b).resolve() or os.path.samefile(a, b)
    except OSError:
        return False


def check_output(path: str | os.PathLike, *inputs: str | os.PathLike | None) -> Path:
    """``path``, where an output is to be written, checked before any work: it is none of ``inputs``, and
    its folder takes a new file (one is made and removed at once); GanmutError, naming ``path`` as
    given, otherwise (the folder's own checks, its existence and kind, are the caller's)."""
    path = Path(path)
    if any(src is not None and same_file(path, src) for src in inputs):
        raise GanmutError(f"{path} is also the input: write the output to another file")
    probe = path.with_name(f".{path.stem}.{secrets.token_hex(4)}.probe")
    try:
        probe.open("xb").close()
    except OSError as e:
        raise GanmutError(f"cannot write {path}: {e.strerror or type(e).__name__}") from None
    probe.unlink(missing_ok=True)
    return path
