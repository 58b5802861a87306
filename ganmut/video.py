"""Editing a clip: the face of every frame moved to one point of the space, or along a path, the sound kept.

:func:`edit_video` reads the clip twice and never holds it in memory:

1. tracking: MTCNN searches the whole frame every ``Tracking.detect_every`` frames (on a copy at most
   ``Tracking.detect_side`` px long), and between those only its last stage, O-Net, finds the face
   again around where it was (:meth:`~ganmut.face.FaceDetector.track`); while no face is followed,
   every frame is searched (a search that checks on a followed face looks only for faces at least half
   its size, a fraction of the cost). One face is edited: the largest that a search finds (as face 0 of a
   photo), followed until it is lost or a search no longer finds it (then the largest found again);
2. smoothing: each landmark's path is smoothed over time (:func:`smooth_landmarks`, a Gaussian of
   ``Tracking.smooth_seconds``) within each run of frames that have the face, so the alignment, and with
   it the pasted face, does not jitter with the detector's noise. The same smoothed alignment takes
   the crop and pastes the edit back, so smoothing never misplaces the edit;
3. editing: each frame is aligned with its smoothed landmarks (:meth:`~ganmut.editor.Editor.align`),
   edited like a photo (:data:`CHUNK` frames in one generator batch, :meth:`~ganmut.editor.Editor.edit_each`) and written as H.264 MP4 (:mod:`ganmut.ffmpeg`) with the clip's sound (AAC).

Limits (:class:`VideoLimits`: 20 s, 1920 px on the longest side, 100 MB, 60 fps by default) are checked
from the file's header before any frame is decoded. Odd clips: a phone's rotation metadata is applied
(the result is upright and carries none); a variable frame rate is resampled to its average rate,
and a rate above ``max_fps`` to ``max_fps``; an odd width or height loses its last column or row (H.264
needs even sides); frames without a face are kept as they are and counted; a clip cut short (or
damaged further on) is edited as far as it can be read, with a note of how much that was; an image
(a still, or an animated GIF) is not a clip; a clip without a video
stream, an unreadable one, or one without a face in any frame gets one line of :class:`VideoError`
(or :class:`NoFaceError`); ffmpeg runs under deadlines (:mod:`ganmut.ffmpeg`).
"""
from __future__ import annotations

import itertools
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np
from PIL import Image

from . import ffmpeg
from .emotions import EMOTIONS
from .errors import CodeError, GanmutError, NoFaceError, VideoError, number, require_file, shorten
from .face import Face, FaceDetector
from .files import atomic_path, same_file
from .images import detection_rgb, to_photo

Progress = Callable[[str, int, int], None]
"""``progress(stage, done, total)``: ``stage`` is "tracking" then "editing", ``done`` of ``total`` frames."""
CHUNK = 8
"""Frames edited in one generator batch."""
PATHS = ("neutral-to:EMOTION", "tour")
FACE_CHECK_FRAMES = 8
"""Key frames :func:`find_face` looks at, at most."""
FACE_CHECK_S = 2.0
"""Seconds :func:`find_face` searches for a face, at most (it looks at one frame at least)."""
"""The paths a clip can follow (``path=``), from its first frame to its last."""


@dataclass(frozen=True)
class VideoLimits:
    """What a clip may be; checked from its header before any frame is decoded."""

    max_seconds: float = 20.0
    max_side: int = 1920
    """Longest side of a frame, in pixels (1920: full HD, either way up)."""
    max_bytes: int = 100_000_000
    max_fps: float = 60.0
    """A faster clip is resampled to this rate (not refused)."""
    timeout: float = ffmpeg.TIMEOUT_S
    """Seconds ffmpeg may take to read the header, or over one frame, before it is stopped."""


@dataclass(frozen=True)
class Tracking:
    """How the face is followed from frame to frame."""

    detect_every: int = 5
    """A full MTCNN search every this many frames while a face is followed; O-Net tracks it between."""
    smooth_seconds: float = 0.1
    """Standard deviation, in seconds, of the Gaussian that smooths the landmarks over time; 0: off."""
    detect_side: int = 640
    """Longest side of the copy a full search runs on (O-Net then works on the frame itself)."""

    def __post_init__(self) -> None:
        for name, low, high in (("detect_every", 1, 1000), ("detect_side", 64, 4096)):
            value = getattr(self, name)
            if not (isinstance(value, int) and not isinstance(value, bool) and low <= value <= high):
                raise GanmutError(f"{name} must be a whole number in {low}..{high}, got {shorten(value)}")
        try:
            number(self.smooth_seconds, "smooth_seconds", (0.0, 10.0))
        except ValueError as e:
            raise GanmutError(str(e)) from None


@dataclass(frozen=True)
class VideoReport:
    """What :func:`edit_video` wrote: ``frames`` of ``size`` (width, height) at ``fps``, of which
    ``edited`` have the face edited (the others have none and are kept as they are), ``audio``: whether
    the sound was kept; ``notes``: one line each on how the clip was read (rotation, frame rate)."""

    frames: int
    edited: int
    size: tuple[int, int]
    fps: float
    audio: bool
    notes: tuple[str, ...] = ()

    @property
    def unedited(self) -> int:
        return self.frames - self.edited

    @property
    def seconds(self) -> float:
        return self.frames / self.fps


# --------------------------------------------------------------------------- the clip
def inspect(src: str | Path, limits: VideoLimits = VideoLimits()) -> tuple[ffmpeg.Clip, float, tuple[str, ...]]:
    """The clip's header, the frame rate it is edited at and notes on how it is read; VideoError, in
    one line, for a missing, unreadable or odd file or one past a limit."""
    src = Path(src)
    size = require_file(src, VideoError, "video file")
    if size > limits.max_bytes:
        raise VideoError(f"{src.name} is {size / 1e6:.0f} MB; at most {limits.max_bytes / 1e6:g} MB are accepted")
    clip = ffmpeg.probe(src, limits.timeout)
    if max(clip.width, clip.height) > limits.max_side:
        raise VideoError(f"{src.name} is {clip.width}x{clip.height} px; the longest side accepted is {limits.max_side} px")
    if clip.seconds > limits.max_seconds:
        raise VideoError(f"{src.name} is {clip.seconds:.1f} s long; at most {limits.max_seconds:g} s are accepted")
    notes = []
    if clip.rotation:
        notes.append(f"{src.name} is turned {clip.rotation}° as its metadata asks")
    fps = clip.fps
    if abs(clip.tbr - clip.fps) > 0.002 * clip.fps:
        notes.append(f"{src.name} has a variable frame rate: resampled to its average, {fps:.3g} fps")
    if fps > limits.max_fps:
        notes.append(f"{src.name} has {fps:.3g} fps: resampled to {limits.max_fps:g} fps")
        fps = limits.max_fps
    return clip, fps, tuple(notes)


def _frames(src: Path, clip: ffmpeg.Clip, fps: float, limits: VideoLimits) -> Iterable[np.ndarray]:
    """The decoded frames, stopping with VideoError past ``max_seconds`` (a header may not say how long)."""
    most = math.floor(limits.max_seconds * fps) + 1
    for i, frame in enumerate(ffmpeg.frames(src, clip, fps, limits.timeout)):
        if i >= most:
            raise VideoError(f"{src.name} is longer than {limits.max_seconds:g} s, the most accepted")
        yield frame


def ended_early(name: str, clip: ffmpeg.Clip, fps: float, frames: int) -> str | None:
    """A note when fewer ``frames`` could be read at ``fps`` than the header's length promises (a clip cut
    short, or damaged further on: ffmpeg stops where it can read no more), by more than a frame in 20
    and one frame; None otherwise (and when the header gives no length)."""
    expected = round(clip.seconds * fps)
    if frames >= expected - max(1, expected // 20):
        return None
    return (f"{name} ends early: {frames} of the {expected} frames its header promises could be read "
            f"({frames / fps:.1f} of {clip.seconds:.1f} s); the rest is missing or damaged")


def find_face(detector: FaceDetector, src: str | Path, limits: VideoLimits = VideoLimits(),
              tracking: Tracking = Tracking(), most: int = FACE_CHECK_FRAMES, seconds: float = FACE_CHECK_S) -> None:
    """Check, before a clip's edit, that a face shows in its first key frames: at most ``most`` of them,
    searched for at most ``seconds`` (at least one is searched), the others never decoded, so that a clip
    without a face is answered in a few seconds rather than after a pass over every frame; NoFaceError, in
    one line, when none has one (VideoError, as :func:`inspect`, for a bad clip). A face that shows only
    later in the clip is not seen: :func:`edit_video` itself searches every frame."""
    src = Path(src)
    clip, _, _ = inspect(src, limits)
    deadline = time.monotonic() + seconds
    looked = 0
    for frame in ffmpeg.frames(src, clip, timeout=limits.timeout, keys=True):
        looked += 1
        if _search(detector, frame, tracking.detect_side):
            return
        if looked >= most or time.monotonic() > deadline:
            break
    raise NoFaceError(f"no face found in {src.name}: none in the first {looked} key frame{'s' * (looked > 1)} "
                      "looked at; the face should show from the start")


def output_path(out: str | Path, src: str | Path | None = None) -> Path:
    """The output clip, checked before any work: an .mp4 in a folder that exists, not the clip ``src``."""
    out = Path(out)
    if out.suffix.lower() != ".mp4":
        raise GanmutError(f"a video is written as .mp4, not {shorten(out.suffix or out.name)}")
    if not out.parent.is_dir():
        raise GanmutError(f"folder {out.parent} does not exist")
    if out.exists() and not out.is_file():
        raise GanmutError(f"{out.name} is not a regular file; name an .mp4 file to write")
    if src is not None and same_file(out, src):
        raise GanmutError(f"{out.name} is also the input: write the edited clip to another file")
    return out


# --------------------------------------------------------------------------- codes
def along(points: Sequence[Sequence[float]], n: int) -> list[tuple[float, ...]]:
    """``n`` codes at equal steps of time along the polyline through ``points``, from the first to the
    last (each segment takes the same time)."""
    p = np.asarray(points, dtype=np.float64)
    if len(p) == 1 or n == 1:
        return [tuple(float(v) for v in p[0])] * n
    t = np.linspace(0, len(p) - 1, n)
    i = np.minimum(t.astype(int), len(p) - 2)
    out = p[i] + (t - i)[:, None] * (p[i + 1] - p[i])
    return [tuple(float(v) for v in row) for row in out]


def path_codes(space, path: str, n: int, intensity: float = 1.0) -> list[tuple[float, ...]]:
    """The codes of ``n`` frames following a path: ``"neutral-to:EMOTION"`` (from the neutral anchor to
    the emotion at ``intensity``) or ``"tour"`` (round every emotion's anchor and back to the first)."""
    kind, _, emotion = str(path).partition(":")
    try:
        if kind == "neutral-to" and emotion:
            return along([space.code(emotion, 0.0).tolist(), space.code(emotion, intensity).tolist()], n)
    except ValueError as e:
        raise CodeError(str(e)) from None
    if path == "tour":
        loop = space.tour(steps_per_leg=1)
        return along(loop + loop[:1], n)
    raise CodeError(f"unknown path {shorten(path)}; use one of: {', '.join(PATHS)} (emotions: {', '.join(EMOTIONS)})")


# --------------------------------------------------------------------------- tracking
def _iou(a: Sequence[float], b: Sequence[float]) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    inter = max(w, 0.0) * max(h, 0.0)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def _search(detector: FaceDetector, frame: np.ndarray, side: int, smallest: float = 0.0) -> list[Face]:
    rgb, scale = detection_rgb(to_photo(Image.fromarray(frame)), side)
    try:
        return detector.detect(rgb, scale, smallest)
    except NoFaceError:
        return []


def track(detector: FaceDetector, frames: Iterable[np.ndarray], tracking: Tracking = Tracking(),
          tick: Callable[[int], None] | None = None) -> list[Face | None]:
    """The face of every frame, or None where there is none (see the module docstring); ``tick(i)``
    after frame ``i``."""
    faces: list[Face | None] = []
    prev: Face | None = None
    for i, frame in enumerate(frames):
        face = detector.track(frame, prev) if prev is not None else None
        if face is None or i % tracking.detect_every == 0:
            found = _search(detector, frame, tracking.detect_side, 0.0 if face is None else face.size / 2)
            if found and (face is None or max(_iou(face.box, f.box) for f in found) < 0.3):
                face = detector.track(frame, found[0]) or found[0]
        faces.append(face)
        prev = face
        if tick:
            tick(i)
    return faces


def smooth_landmarks(points: np.ndarray, sigma: float) -> np.ndarray:
    """Landmark paths ``[T, K, 2]`` (a NaN frame has no face) smoothed over time by a Gaussian of
    ``sigma`` frames, each run of frames with a face on its own; the ends of a run are mirrored through
    its end points (odd reflection), so a steady motion is kept as it is and the ends do not lag."""
    points = np.asarray(points, dtype=np.float64)
    out = points.copy()
    if sigma <= 0:
        return out
    r = max(1, math.ceil(3 * sigma))
    kernel = np.exp(-0.5 * (np.arange(-r, r + 1) / sigma) ** 2)
    kernel /= kernel.sum()
    have = np.isfinite(points).all(axis=(1, 2))
    edges = np.flatnonzero(np.diff(np.concatenate([[0], have.astype(np.int8), [0]])))
    for start, stop in zip(edges[::2], edges[1::2]):
        run = points[start:stop].reshape(stop - start, -1)
        if len(run) < 2:
            continue
        padded = np.pad(run, ((r, r), (0, 0)), mode="reflect", reflect_type="odd")
        windows = np.lib.stride_tricks.sliding_window_view(padded, 2 * r + 1, axis=0)  # [T, K*2, 2r + 1]
        out[start:stop] = (windows @ kernel).reshape(points[start:stop].shape)
    return out


def smoothed(faces: Sequence[Face | None], sigma: float) -> list[Face | None]:
    """The faces with their landmarks smoothed over time (:func:`smooth_landmarks`)."""
    nan = np.full((5, 2), np.nan)
    points = smooth_landmarks(np.stack([nan if f is None else f.landmarks for f in faces]), sigma) if faces else []
    return [None if f is None else Face(f.box, p, f.score) for f, p in zip(faces, points)]


# --------------------------------------------------------------------------- editing
def edit_video(editor, src: str | Path, out: str | Path, z: Sequence[float] | None = None, emotion: str | int | None = None,
               intensity: float = 1.0, path: str | None = None, limits: VideoLimits = VideoLimits(),
               tracking: Tracking = Tracking(), progress: Progress | None = None) -> VideoReport:
    """Edit the face of every frame of the clip ``src`` and write ``out`` (.mp4, with the clip's sound).
    The target is one point for every frame, ``z`` or ``emotion`` at ``intensity`` (as
    :meth:`~ganmut.editor.Editor.edit`), or a ``path`` the clip follows from its first frame to its last
    (:data:`PATHS`; ``neutral-to:EMOTION`` ends at ``intensity``). See the module docstring for the
    steps, the limits and odd clips. The arguments but ``editor`` and ``progress``, and the result, are
    plain data (picklable); every check of them runs before any frame is decoded."""
    if path is None:
        point = editor.code(z, emotion, intensity)
    elif z is not None or emotion is not None:
        raise CodeError("give a point (z or emotion) or a path, not both")
    elif intensity != 1.0 and not str(path).startswith("neutral-to:"):
        raise CodeError("intensity applies to an emotion or a neutral-to path")
    else:
        path_codes(editor.space, path, 2, intensity)  # a bad path fails here
    out = output_path(out, src)
    src = Path(src)
    clip, fps, notes = inspect(src, limits)
    say = progress or (lambda stage, done, total: None)
    expected = max(1, round(clip.seconds * fps))
    faces = track(editor.detector, _frames(src, clip, fps, limits), tracking,
                  lambda i: say("tracking", i + 1, max(expected, i + 1)))
    n = len(faces)
    say("tracking", n, n)
    if not any(faces):
        raise NoFaceError(f"no face found in any frame of {src.name}")
    faces = smoothed(faces, tracking.smooth_seconds * fps)
    codes = [point] * n if path is None else path_codes(editor.space, path, n, intensity)

    def edited() -> Iterable[np.ndarray]:
        source = zip(_frames(src, clip, fps, limits), faces, codes)
        done = 0
        while chunk := list(itertools.islice(source, CHUNK)):
            todo = [(frame, face, code) for frame, face, code in chunk if face is not None]
            results = iter(editor.edit_each([editor.align(frame, [face]) for frame, face, _ in todo], [c for *_, c in todo]))
            for frame, face, _ in chunk:
                yield frame if face is None else np.asarray(next(results).image)
                done += 1
                say("editing", done, n)

    with atomic_path(out) as tmp:
        try:
            written = ffmpeg.write_mp4(edited(), tmp, fps, audio=src if clip.audio else None, timeout=limits.timeout,
                                       seconds=n / fps)
        except VideoError as e:  # named as the caller named it, not as the temporary file
            raise VideoError(str(e).replace(tmp.name, out.name)) from None
    edited_count = sum(f is not None for f in faces[:written])
    if short := ended_early(src.name, clip, fps, written):
        notes += (short,)
    if edited_count < written:
        notes += (f"{written - edited_count} of {written} frames have no face found and are kept as they are",)
    return VideoReport(written, edited_count, (clip.width - clip.width % 2, clip.height - clip.height % 2), fps,
                       clip.audio, notes)
