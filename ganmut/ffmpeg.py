"""The ffmpeg binary that ships inside the ``imageio-ffmpeg`` wheel: probing a clip, decoding its frames,
encoding MP4 (H.264, with a clip's audio when given one).

Every run of ffmpeg has a deadline: a probe gets ``timeout`` seconds, and decoding and encoding are
stopped when ffmpeg takes more than ``timeout`` seconds over one frame (the time the caller spends
between frames does not count), so a damaged or hostile file never hangs the caller. What ffmpeg says
about a file it cannot read becomes one line of :class:`~ganmut.errors.VideoError`.

Decoded frames are upright (ffmpeg applies a phone's rotation metadata) RGB uint8 ``[H, W, 3]`` at a
constant frame rate (a variable-frame-rate clip is resampled to its average rate, repeating or
dropping frames, so the audio stays in sync).
"""
from __future__ import annotations

import itertools
import re
import subprocess
import tempfile
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from .errors import GanmutError, VideoError

TIMEOUT_S = 60.0
"""Default deadline of a probe, and of one frame of decoding or encoding."""
PRESET = "veryfast"
CRF = 18
"""x264's speed preset and quality (0 lossless .. 51; 18 looks like the source)."""


def exe() -> str:
    """The path of the ffmpeg binary of imageio-ffmpeg; GanmutError when it is not installed."""
    try:
        import imageio_ffmpeg

        return imageio_ffmpeg.get_ffmpeg_exe()
    except (ImportError, RuntimeError):
        raise GanmutError("video needs the imageio-ffmpeg package (pip install imageio-ffmpeg)") from None


@dataclass(frozen=True)
class Clip:
    """What a probe finds in a video file: the size of its frames as decoded (upright), its average
    frame rate and the rate its timestamps suggest (they differ in a variable-frame-rate clip), its
    length in seconds (0 when the file does not say), whether it has sound, and the rotation its
    metadata asks for (degrees counter-clockwise)."""

    width: int
    height: int
    fps: float
    tbr: float
    seconds: float
    audio: bool
    rotation: int = 0


_DURATION = re.compile(r"Duration: (\d+):(\d\d):(\d\d(?:\.\d+)?)")
_STREAM = re.compile(r"^\s*Stream #\d+:\d+\S*: (Video|Audio): (.*)$", re.M)
_SIZE = re.compile(r"[ ,](\d{1,5})x(\d{1,5})(?=[ ,\[]|$)")
_RATE = re.compile(r"(\d+(?:\.\d+)?)(k?) (fps|tbr)")
_ROTATION = re.compile(r"rotation of (-?\d+(?:\.\d+)?) degrees")
_FORMAT = re.compile(r"Input #0, ([\w,]+), from")
IMAGE_FORMATS = {"image2": "an image", "gif": "a GIF image", "apng": "an animated PNG", "webp_anim": "a WebP image"}
"""ffmpeg's demuxers of images (and ``*_pipe``, one per image format): what such a file is, in words."""


def image_kind(text: str) -> str | None:
    """What ffmpeg's description of an input calls it when it is an image, still or animated ("a JPEG
    image"), not a video; None for a video."""
    found = _FORMAT.search(text)
    fmt = found.group(1) if found else ""
    if fmt.endswith("_pipe"):
        return f"a {fmt.removesuffix('_pipe').upper()} image"
    return IMAGE_FORMATS.get(fmt)


def parse_probe(text: str, name: str = "video") -> Clip:
    """The :class:`Clip` that ffmpeg's description of an input (``ffmpeg -i FILE``'s stderr) describes;
    VideoError when ffmpeg could not open it, it is an image (a still or an animated GIF: one clear line
    whatever the file's name says), or it has no video stream (a cover picture of a sound file is not one)."""
    if "Input #0" not in text:
        raise VideoError(f"{name} is not a video ffmpeg can read ({reason(text)})")
    if kind := image_kind(text):
        raise VideoError(f"{name} is {kind}, not a video clip; give a clip (MP4, MOV, WebM, ...)")
    streams = _STREAM.findall(text)
    video = next((desc for kind, desc in streams if kind == "Video" and "(attached pic)" not in desc), None)
    if video is None:
        raise VideoError(f"{name} has no video stream" + (" (only sound)" if streams else ""))
    size = _SIZE.search(video)
    rates = {unit: float(v) * (1000 if k else 1) for v, k, unit in _RATE.findall(video)}
    fps = rates.get("fps") or rates.get("tbr") or 0.0
    if size is None or not fps > 0:
        raise VideoError(f"{name}: ffmpeg finds no frame size or frame rate in its video stream")
    w, h = int(size.group(1)), int(size.group(2))
    rot = _ROTATION.search(text)
    rotation = round(float(rot.group(1))) % 360 if rot else 0
    if rotation in (90, 270):
        w, h = h, w
    d = _DURATION.search(text)
    seconds = int(d.group(1)) * 3600 + int(d.group(2)) * 60 + float(d.group(3)) if d else 0.0
    return Clip(w, h, fps, rates.get("tbr", fps), seconds, any(kind == "Audio" for kind, _ in streams), rotation)


def probe(path: str | Path, timeout: float = TIMEOUT_S) -> Clip:
    """The :class:`Clip` of a video file (ffmpeg reads its header; nothing is decoded)."""
    path = Path(path)
    try:
        run = subprocess.run([exe(), "-hide_banner", "-nostdin", "-i", str(path)], capture_output=True,
                             timeout=timeout, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise VideoError(f"ffmpeg took over {timeout:g} s to read the header of {path.name}") from None
    return parse_probe(run.stderr.decode("utf-8", "replace").replace(str(path), path.name), path.name)


@contextmanager
def _deadline(proc: subprocess.Popen, seconds: float, fired: list[bool]):
    """Kill ``proc`` if the block runs longer than ``seconds``; ``fired`` records it."""
    def kill() -> None:
        fired.append(True)
        proc.kill()

    timer = threading.Timer(seconds, kill)
    timer.start()
    try:
        yield
    finally:
        timer.cancel()


def reason(log: str) -> str:
    """The last line of an ffmpeg log, without its "[demuxer @ 0x...]" or "Error opening input files:"
    prefix, cut to 100 characters."""
    lines = [ln.strip() for ln in log.splitlines() if ln.strip()]
    why = re.sub(r"^\[[^]]*\]\s*|^Error opening input files?: ", "", lines[-1]) if lines else "no message"
    return why if len(why) <= 100 else why[:100] + "..."


def _run_log(log, *paths: str | Path | None) -> str:
    """What ffmpeg said, each of ``paths`` named by its basename only (a message never shows a folder)."""
    log.seek(0)
    text = log.read().decode("utf-8", "replace")
    for p in paths:
        if p is not None:
            text = text.replace(str(p), Path(p).name)
    return text


def frames(path: str | Path, clip: Clip, fps: float | None = None, timeout: float = TIMEOUT_S,
           keys: bool = False) -> Iterator[np.ndarray]:
    """The frames of a probed clip, upright RGB uint8 ``[clip.height, clip.width, 3]``, at a constant
    ``fps`` (default: the clip's average rate); ``keys``: only its key frames, as they come (the first
    frame, then one every second or few in most clips; the others are not even decoded). VideoError when
    ffmpeg fails before the first frame or stalls for ``timeout`` seconds; a file damaged further on ends early."""
    path = Path(path)
    rate = str(Fraction(fps or clip.fps).limit_denominator(1001))
    scale = f"scale={clip.width}:{clip.height}"
    pace = ["-fps_mode", "passthrough", "-vf", scale] if keys else ["-vf", f"fps={rate},{scale}"]
    cmd = [exe(), "-nostdin", "-v", "error", *(["-skip_frame", "nokey"] if keys else []), "-i", str(path),
           "-map", "0:v:0", "-an", "-sn", "-dn", *pace, "-f", "rawvideo", "-pix_fmt", "rgb24", "-"]
    size = clip.width * clip.height * 3
    fired: list[bool] = []
    count = 0
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=log)
        try:
            while True:
                with _deadline(proc, timeout, fired):
                    buf = proc.stdout.read(size)
                if len(buf) < size:
                    break
                count += 1
                yield np.frombuffer(buf, np.uint8).reshape(clip.height, clip.width, 3)
        finally:
            proc.kill()
            proc.stdout.close()
            proc.wait()
        if fired:
            raise VideoError(f"ffmpeg stalled for over {timeout:g} s decoding {path.name}")
        if count == 0:
            raise VideoError(f"ffmpeg decodes no frame of {path.name} ({reason(_run_log(log, path))})")


def write_mp4(images: Iterable[np.ndarray], path: str | Path, fps: float, audio: str | Path | None = None,
              timeout: float = TIMEOUT_S, seconds: float | None = None) -> int:
    """Encode RGB uint8 frames of one size as H.264 MP4 (yuv420p, which needs even sides: an odd last
    row or column is dropped) at ``fps``; with ``audio``, the first sound stream of that file too
    (AAC), cut to the frames' length; given that length, ``seconds``, a shorter sound (a clip cut short)
    is padded with silence to it, so that it never cuts frames. Returns the number of frames; VideoError
    when ffmpeg fails or stalls for ``timeout`` seconds over one frame."""
    path = Path(path)
    it = iter(images)
    first = next(it, None)
    if first is None:
        raise VideoError("a video needs at least one frame")
    h, w = first.shape[0] - first.shape[0] % 2, first.shape[1] - first.shape[1] % 2
    rate = str(Fraction(fps).limit_denominator(1001))
    cmd = [exe(), "-y", "-nostdin", "-v", "error", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{w}x{h}", "-r", rate, "-i", "-"]
    if audio is not None:
        pad = ["-af", f"apad=whole_dur={seconds:.3f}"] if seconds else []
        cmd += ["-i", str(audio), "-map", "0:v:0", "-map", "1:a:0?", "-c:a", "aac", "-b:a", "160k", *pad, "-shortest"]
    cmd += ["-c:v", "libx264", "-preset", PRESET, "-crf", str(CRF), "-pix_fmt", "yuv420p", "-movflags", "+faststart", str(path)]
    fired: list[bool] = []
    count = 0
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=log)
        try:
            for img in itertools.chain([first], it):
                with _deadline(proc, timeout, fired):
                    try:
                        proc.stdin.write(np.ascontiguousarray(img[:h, :w, :3]).tobytes())
                    except BrokenPipeError:  # ffmpeg has stopped: its log says why
                        break
                count += 1
            with _deadline(proc, timeout, fired):
                try:
                    proc.stdin.close()
                except BrokenPipeError:
                    pass
                proc.wait()
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
        if fired:
            raise VideoError(f"ffmpeg stalled for over {timeout:g} s writing {path.name}")
        if proc.returncode != 0:
            raise VideoError(f"ffmpeg could not write {path.name} ({reason(_run_log(log, path, audio))})")
    return count
