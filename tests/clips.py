"""Short test clips made from the real photos of tests/data with the ffmpeg of imageio-ffmpeg (not
with ganmut.ffmpeg, which the tests check): a face with a small synthetic pan and zoom, a sine tone."""
from __future__ import annotations

import subprocess
from pathlib import Path

import imageio_ffmpeg
import numpy as np
from PIL import Image

FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()
PHOTOS_OBAMA = Path(__file__).resolve().parent / "data" / "photos" / "obama.jpg"
OBAMA_FACE = (490, 250)
"""The centre of the face of photos/obama.jpg, in its pixels."""


def face_frames(photo: Path, n: int, size: tuple[int, int] = (320, 240), centre: tuple[float, float] = OBAMA_FACE,
                window: float = 600, motion: float = 1.0) -> list[np.ndarray]:
    """``n`` RGB frames of ``size`` cut from a photo around ``centre``, a ``window`` px wide: the window
    pans by up to 20 px and zooms by up to 5 % (times ``motion``) over the clip, as a hand-held camera."""
    with Image.open(photo) as src:
        img = src.convert("RGB")
    w, h = size
    frames = []
    for i in range(n):
        t = i / max(1, n - 1)
        cx = centre[0] + motion * 20 * np.sin(2 * np.pi * t)
        cy = centre[1] + motion * 10 * np.cos(2 * np.pi * t)
        ww = window * (1 + motion * 0.05 * np.sin(np.pi * t))
        hh = ww * h / w
        box = (cx - ww / 2, cy - hh / 2, cx + ww / 2, cy + hh / 2)
        frames.append(np.asarray(img.resize(size, Image.Resampling.BILINEAR, box=box)))
    return frames


def write_clip(path: Path, frames: list[np.ndarray], fps: float = 12, audio: bool = True) -> Path:
    """Encode RGB frames as H.264 MP4, with a 440 Hz sine tone as long as the clip when ``audio``."""
    h, w = frames[0].shape[:2]
    cmd = [FFMPEG, "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{w}x{h}", "-r", str(fps), "-i", "-"]
    if audio:
        cmd += ["-f", "lavfi", "-i", f"sine=frequency=440:duration={len(frames) / fps}", "-c:a", "aac", "-shortest"]
    cmd += ["-c:v", "libx264", "-pix_fmt", "yuv420p", str(path)]
    subprocess.run(cmd, input=b"".join(np.ascontiguousarray(f).tobytes() for f in frames), check=True, timeout=120,
                   capture_output=True)
    return path


def ffmpeg(*args: str) -> None:
    """Run the bundled ffmpeg quietly (making a test file); CalledProcessError when it fails."""
    subprocess.run([FFMPEG, "-v", "error", "-y", *args], check=True, timeout=120, capture_output=True)


def decode(path: Path) -> tuple[list[np.ndarray], dict]:
    """Every frame of a clip as RGB arrays (imageio-ffmpeg's reader) and its metadata."""
    reader = imageio_ffmpeg.read_frames(str(path))
    meta = next(reader)
    w, h = meta["size"]
    return [np.frombuffer(f, np.uint8).reshape(h, w, 3) for f in reader], meta
