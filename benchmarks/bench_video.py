"""Video editing speed and jitter: ``python -m benchmarks.bench_video [--arch served|default] [--part speed|jitter|both]``.

The generator has RANDOM weights (a video's cost does not depend on them): ``served`` is the
architecture of ``configs/ganmut-linear.toml`` (what the served models train), ``default`` the one
``benchmarks/bench_inference.py`` times (64 px, conv_dim 64, 6 residual blocks). Face detection and
tracking (MTCNN) are real; the clips are made from ``tests/data/photos/obama.jpg`` by
``tests/clips.py`` (a window panned and zoomed over the photo), H.264 with a sine tone.

- speed: ``ganmut.video.edit_video`` on a 720p clip (1280x720, 30 fps, the face about 400 px
  tall, moving), end to end: two decodes, tracking, editing, pasting, H.264 encoding with the sound;
  frames per second of the clip, and the seconds each pass takes;
- jitter: a 720p clip of a still face with a camera's noise (Gaussian, sigma 3 levels per frame),
  edited with the landmarks smoothed (the default 0.1 s) and without (``smooth_seconds=0``), the
  rest of the pipeline the same: the mean absolute frame-to-frame change of the pixels in the face's
  paste region of the decoded result (8-bit levels), beside the input's own (its noise), and the mean
  frame-to-frame movement of the landmarks (px).
"""
from __future__ import annotations

import argparse
import tempfile
import time
import tomllib
from pathlib import Path

import numpy as np
import torch

import ganmut
from ganmut import video
from ganmut.align import face_to_crop_matrix, paste_region

from benchmarks.bench_inference import random_model
from tests.clips import PHOTOS_OBAMA, decode, face_frames, write_clip

ROOT = Path(__file__).resolve().parents[1]
SIZE = (1280, 720)
WINDOW = 760
CENTRE = (455, 260)
"""What of obama.jpg a 720p frame shows: 760 px across (enlarged 1.7x: the face about 400 px tall)."""


def recipe_model(path: Path, config: str = "ganmut-linear.toml") -> Path:
    """A recipe's generator architecture (``configs/<config>``) with random weights (for timing only)."""
    return random_model(path, "linear", tomllib.loads((ROOT / "configs" / config).read_text())["generator"])


def speed(editor, folder: Path, seconds: float) -> None:
    frames = face_frames(PHOTOS_OBAMA, round(30 * seconds), size=SIZE, centre=CENTRE, window=WINDOW)
    src = write_clip(folder / "720p.mp4", frames, fps=30)
    stamps: dict[str, float] = {}
    t0 = time.perf_counter()
    report = video.edit_video(editor, src, folder / "out.mp4", emotion="happy", intensity=0.8,
                              progress=lambda stage, done, total: stamps.__setitem__(stage, time.perf_counter()))
    total = time.perf_counter() - t0
    tracking = stamps["tracking"] - t0
    print(f"speed: {report.frames} frames of {report.size[0]}x{report.size[1]} at {report.fps:g} fps, {report.edited} edited, "
          f"sound {report.audio}")
    print(f"  total {total:.1f} s = {report.frames / total:.1f} frames/s "
          f"(tracking pass {tracking:.1f} s = {report.frames / tracking:.1f} frames/s, "
          f"editing + encoding pass {total - tracking:.1f} s = {report.frames / (total - tracking):.1f} frames/s)")


def _region_change(frames: list[np.ndarray], box: tuple[int, int, int, int]) -> float:
    x0, y0, x1, y1 = box
    crop = np.stack(frames)[:, y0:y1, x0:x1].astype(np.int16)
    return float(np.abs(np.diff(crop, axis=0)).mean())


def jitter(editor, folder: Path, seconds: float) -> None:
    rng = np.random.default_rng(0)
    still = face_frames(PHOTOS_OBAMA, round(30 * seconds), size=SIZE, centre=CENTRE, window=WINDOW, motion=0.0)
    noisy = [np.clip(f + rng.normal(0, 3, f.shape), 0, 255).astype(np.uint8) for f in still]
    src = write_clip(folder / "still.mp4", noisy, fps=30)
    face = editor.detect(still[0])[0]
    box = paste_region(still[0].shape, face_to_crop_matrix(face.landmarks, editor.template, editor.size), editor.size)
    source, _ = decode(src)
    print(f"jitter: {len(noisy)} frames of a still face, paste region {box[2] - box[0]}x{box[3] - box[1]} px")
    print(f"  input (its noise): mean frame-to-frame change {_region_change(source, box):.2f} levels")
    for name, smooth in (("smoothed (0.1 s)", 0.1), ("not smoothed", 0.0)):
        tracking = video.Tracking(smooth_seconds=smooth)
        video.edit_video(editor, src, folder / "jitter.mp4", emotion="happy", intensity=0.8, tracking=tracking)
        out, _ = decode(folder / "jitter.mp4")
        faces = video.smoothed(video.track(editor.detector, source, tracking), smooth * 30)
        moves = np.abs(np.diff(np.stack([f.landmarks for f in faces]), axis=0)).mean()
        print(f"  {name:17s}: mean frame-to-frame change {_region_change(out, box):.2f} levels, landmarks move {moves:.3f} px")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--arch", choices=("served", "warp", "default"), default="served",
                    help="generator architecture: served (configs/ganmut-linear.toml, default), warp "
                    "(configs/ganmut-linear-warp.toml) or the library's default")
    ap.add_argument("--part", choices=("speed", "jitter", "both"), default="both")
    ap.add_argument("--seconds", type=float, default=5.0, help="length of the speed clip (default 5; the jitter clip is 3 s)")
    ap.add_argument("--threads", type=int, default=2, help="torch CPU threads (default 2)")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    cpu = next((ln.split(":", 1)[1].strip() for ln in open("/proc/cpuinfo") if ln.startswith("model name")), "?")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        model = folder / "model.safetensors"
        configs = {"served": "ganmut-linear.toml", "warp": "ganmut-linear-warp.toml"}
        made = recipe_model(model, configs[args.arch]) if args.arch in configs else random_model(model)
        editor = ganmut.load(made, "cpu", classifier=None)
        cfg = editor.model.config
        print(f"cpu {cpu} | torch threads {torch.get_num_threads()} | generator {args.arch}: {cfg.image_size} px, "
              f"conv_dim {cfg.conv_dim}, n_res {cfg.n_res}, output {cfg.output} (random weights)")
        editor.edit(face_frames(PHOTOS_OBAMA, 1, size=SIZE, centre=CENTRE, window=WINDOW)[0], emotion="happy")  # warm-up
        if args.part in ("speed", "both"):
            speed(editor, folder, args.seconds)
        if args.part in ("jitter", "both"):
            jitter(editor, folder, 3.0)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
