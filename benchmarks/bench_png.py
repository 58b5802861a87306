"""The zlib level of the full-resolution PNG: ``python -m benchmarks.bench_png [--levels 0,1,2,3,6] [--repeats 3]``.

A 12-megapixel photo (obama.jpg resized to 4000x3000, with a camera's grain: Gaussian noise of
``--grain`` levels, so that it does not compress like a smooth upscaled picture: about 1.2 bytes a
pixel at level 6 with the default grain of 1)
is written as PNG to memory at each level, as :func:`ganmut.images.save_options` writes it; the median
time of ``--repeats`` runs and the bytes of each level are printed as a Markdown table, with the
machine. ``ganmut.images.PNG_COMPRESS_LEVEL`` is chosen from these numbers (benchmarks/inference.md).
"""
from __future__ import annotations

import argparse
import io
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
PHOTO = ROOT / "tests" / "data" / "photos" / "obama.jpg"


def photo(size: tuple[int, int], grain: float, seed: int = 0) -> Image.Image:
    """The photo at ``size``, with Gaussian grain of ``grain`` levels."""
    with Image.open(PHOTO) as src:
        img = np.asarray(src.convert("RGB").resize(size, Image.Resampling.BICUBIC), dtype=np.float32)
    noise = np.random.default_rng(seed).normal(0, grain, img.shape).astype(np.float32)
    return Image.fromarray(np.clip(img + noise, 0, 255).astype(np.uint8))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--levels", default="0,1,2,3,6", help="zlib levels to time (default 0,1,2,3,6)")
    ap.add_argument("--repeats", type=int, default=3, help="writes a level (default 3)")
    ap.add_argument("--grain", type=float, default=1.0, help="the grain's standard deviation, in levels (default 1)")
    args = ap.parse_args(argv)
    img = photo((4000, 3000), args.grain)
    print(f"{platform.processor() or platform.machine()}, Python {platform.python_version()}, Pillow {Image.__version__}; "
          f"a {img.width}x{img.height} photo, grain {args.grain:g}")
    print("\n| level | time (median) | MB | bytes vs level 6 |\n|---|---|---|---|")
    rows = []
    for level in (int(v) for v in args.levels.split(",")):
        times, size = [], 0
        for _ in range(args.repeats):
            buf = io.BytesIO()
            t = time.perf_counter()
            img.save(buf, "PNG", compress_level=level)
            times.append(time.perf_counter() - t)
            size = buf.tell()
        rows.append((level, statistics.median(times), size))
    six = next((size for level, _, size in rows if level == 6), None)
    for level, t, size in rows:
        vs = f"{size / six - 1:+.0%}" if six else "-"
        print(f"| {level} | {t:.2f} s | {size / 1e6:.1f} | {vs} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
