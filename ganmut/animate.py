"""Animations of one face moving through the emotion space, written as GIF or MP4.

``path_codes`` gives the codes of a path (``"ramp"``: neutral to an emotion and back; ``"tour"``:
round every emotion's anchor), :func:`frames` edits the face once per code in one generator batch
and crops each frame to the face, and :func:`write` saves them: GIF with Pillow, MP4 (H.264) with
:func:`ganmut.ffmpeg.write_mp4`.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import numpy as np
from PIL import Image

from . import ffmpeg
from .errors import GanmutError, shorten
from .face import face_window
from .images import display_copy
from .files import atomic_path

PATHS = ("ramp", "tour")
FORMATS = (".gif", ".mp4")
SIDE = 320
"""Longest side of a frame, in pixels."""
FRAME_MS = 90


def path_codes(space, path: str, emotion: str | int = "happy") -> list[tuple[float, ...]]:
    """The codes of an animation path of a space: ``"ramp"`` (neutral -> ``emotion`` -> neutral) or ``"tour"``."""
    if path == "ramp":
        return space.ramp(emotion)
    if path == "tour":
        return space.tour()
    raise GanmutError(f"unknown animation path {shorten(path)}; choose one of: {', '.join(PATHS)}")


def frames(editor, image, codes: Sequence[Sequence[float]], face: int | str = 0, side: int = SIDE) -> list[Image.Image]:
    """The photo edited with every code (one detection, one batch), cropped to the edited face(s) and
    scaled to at most ``side`` pixels, as RGB frames of one size."""
    prep = editor.prepare(image)
    results = editor.edit_many(prep, codes, face)
    box = face_window(results[0].faces, prep.image.size)
    out = []
    for r in results:
        frame = display_copy(r.window(box)).convert("RGB")  # 16-bit, CMYK and alpha to 8-bit RGB
        frame.thumbnail((side, side), Image.Resampling.LANCZOS)
        out.append(frame)
    return out


def write(images: Sequence[Image.Image], out: str | os.PathLike, frame_ms: int = FRAME_MS) -> Path:
    """Save looping GIF or MP4 frames (by ``out``'s extension) atomically."""
    out = Path(out)
    suffix = out.suffix.lower()
    if suffix not in FORMATS:
        raise GanmutError(f"cannot write an animation as {shorten(out.suffix or out.name)}; use .gif or .mp4")
    if not images:
        raise GanmutError("an animation needs at least one frame")
    with atomic_path(out) as tmp:
        if suffix == ".gif":
            images[0].save(tmp, format="GIF", save_all=True, append_images=list(images[1:]), duration=frame_ms, loop=0,
                           optimize=True)
        else:
            ffmpeg.write_mp4((np.asarray(img.convert("RGB")) for img in images), tmp, 1000 / frame_ms)
    return out
