"""Measure the face-alignment template of FER2013: ``python -m training.template DIR``.

FER2013 faces are roughly centred 48x48 crops. This script upscales a random sample of them,
runs MTCNN, keeps confident single detections and prints the mean position of the five
landmarks (left eye, right eye, nose tip, left and right mouth corner) as fractions of the
crop's side, with the per-point standard deviation and the number of faces used. The printed
array is what :data:`ganmut.align.FER2013_TEMPLATE` holds.

Fractions use the continuous-coordinate convention of :mod:`ganmut.align`: pixel ``i`` of a
crop of side ``s`` covers ``[i, i + 1)``, so its centre sits at ``(i + 0.5) / s``.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image


def sample_files(root: Path, n: int, seed: int) -> list[Path]:
    """A seeded uniform sample of ``n`` PNG files below ``root`` (all of them if fewer)."""
    files = sorted(root.rglob("*.png"))
    if not files:
        raise SystemExit(f"error: no .png files under {root}")
    rng = np.random.default_rng(seed)
    idx = rng.choice(len(files), size=min(n, len(files)), replace=False)
    return [files[i] for i in sorted(idx)]


def load_upscaled(path: Path, side: int) -> np.ndarray:
    """A FER2013 face as an RGB uint8 array of ``side`` x ``side`` (bicubic upscale)."""
    img = Image.open(path).convert("L").resize((side, side), Image.BICUBIC)
    return np.repeat(np.asarray(img)[:, :, None], 3, axis=2)


def measure(files: list[Path], side: int, min_prob: float, batch: int) -> tuple[np.ndarray, int]:
    """Landmarks (as crop fractions) of every confident single-face detection, and the count tried."""
    from facenet_pytorch import MTCNN

    mtcnn = MTCNN(keep_all=True, min_face_size=side // 4, device="cpu")
    kept: list[np.ndarray] = []
    for start in range(0, len(files), batch):
        arrs = np.stack([load_upscaled(p, side) for p in files[start:start + batch]])
        boxes, probs, points = mtcnn.detect(arrs, landmarks=True)
        for b, p, pts in zip(boxes, probs, points):
            if b is None or len(b) != 1:  # none, or ambiguous (several faces)
                continue
            if float(p[0]) < min_prob:
                continue
            kept.append((np.asarray(pts[0], dtype=np.float64) + 0.5) / side)
    return np.stack(kept) if kept else np.empty((0, 5, 2)), len(files)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m training.template",
        description="Measure the mean MTCNN landmarks of FER2013 faces as fractions of the crop.",
    )
    ap.add_argument("root", type=Path, help="folder of FER2013 PNGs, e.g. path/to/fer2013/train")
    ap.add_argument("-n", type=int, default=3000, help="faces to sample (default 3000)")
    ap.add_argument("--side", type=int, default=160, help="upscaled side fed to MTCNN (default 160)")
    ap.add_argument("--min-prob", type=float, default=0.98, help="keep detections at least this confident")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--batch", type=int, default=64)
    args = ap.parse_args(argv)
    torch.set_num_threads(min(2, torch.get_num_threads()))

    t0 = time.time()
    files = sample_files(args.root, args.n, args.seed)
    pts, tried = measure(files, args.side, args.min_prob, args.batch)
    if len(pts) == 0:
        print("error: no confident detections", file=sys.stderr)
        return 2
    mean, std = pts.mean(0), pts.std(0)
    names = ("left eye", "right eye", "nose", "mouth left", "mouth right")
    print(f"# python -m training.template {args.root} -n {args.n} --side {args.side} "
          f"--min-prob {args.min_prob} --seed {args.seed}")
    print(f"# faces used: {len(pts)} of {tried} sampled ({time.time() - t0:.0f} s)")
    for name, m, s in zip(names, mean, std):
        print(f"#   {name:11s} mean ({m[0]:.4f}, {m[1]:.4f})  std ({s[0]:.4f}, {s[1]:.4f})")
    rows = ",\n".join(f"    [{m[0]:.4f}, {m[1]:.4f}]" for m in mean)
    print(f"FER2013_TEMPLATE = np.array([\n{rows},\n])")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
