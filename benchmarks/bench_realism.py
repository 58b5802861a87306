"""How photographic the edits are, at the photo's resolution: ``python -m benchmarks.bench_realism MODEL [MODEL ...]``.

For each colour photo (``--photos``; by default the colour portraits in ``assets/examples`` and, where it is
beside the repository, ``../shared/data/photos``) and each emotion at full intensity, every model edits the
largest face, and the face's paste box of the photo and of each edit is scored by :mod:`training.realism`:

- ``new colours``: the 99th percentile of the chromaticity distance of each changed pixel to the nearest photo
  pixel within the largest expected move (lower is better);
- ``detail``: the Laplacian variance of the edit over the photo's, where it changed (1 keeps the detail);
- ``seam``: the change's gradient in the outer tenth of the paste box (grey levels a pixel; lower is better);
- ``neutral change``: on the neutral faces (``--neutral``; by default the LFW faces labelled neutral), the mean
  change in grey levels at the neutral point (the target is 0).

It prints a markdown table (the mean over photos and emotions, and the worst photo-emotion) and writes one
sheet a photo to ``--out``: the face box at the photo's resolution, one row an emotion, the photo then each
model's edit, side by side.

    python -m benchmarks.bench_realism weights/ganmut-linear.safetensors runs/warp.safetensors --out benchmarks/realism
"""
from __future__ import annotations

import argparse
import platform
import sys
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data" / "photos"
EMOTIONS6 = ("happy", "sad", "surprise", "fear", "disgust", "anger")


def default_photos() -> list[Path]:
    found = sorted((ROOT / "assets" / "examples").glob("*.jpg"))
    if SHARED.is_dir():
        found += sorted(p for p in SHARED.glob("*") if p.suffix.lower() in (".jpg", ".png"))
    colour = []
    for p in found:
        with Image.open(p) as img:
            if img.mode in ("RGB", "RGBA"):
                colour.append(p)
    return colour


def default_neutral() -> list[Path]:
    labels = SHARED / "lfw" / "labels.csv"
    if not labels.is_file():
        return []
    rows = [line.split(",") for line in labels.read_text().splitlines()[1:]]
    return [SHARED / f for f, e in rows if e.strip() == "neutral"]


def rgb(path: Path) -> Image.Image:
    with Image.open(path) as img:
        return img.convert("RGB")


def score(editors: dict, photos: list[Path], neutral: list[Path]) -> tuple[dict, dict]:
    """Per model: the figures over photos and emotions; and per photo, the face boxes of each model's edits."""
    from ganmut.align import face_to_crop_matrix
    from ganmut.compose import reach
    from training import realism

    figures = {name: {"new_colours": [], "detail": [], "seam": [], "neutral": []} for name in editors}
    sheets: dict[str, list] = {}
    for path in photos:
        img = rgb(path)
        photo = np.asarray(img)
        rows = []
        for emotion in EMOTIONS6:
            row = []
            for name, ed in editors.items():
                res = ed.edit(img, emotion=emotion)
                x0, y0, x1, y1 = res.boxes[0]
                before, after = photo[y0:y1, x0:x1], np.asarray(res.image)[y0:y1, x0:x1]
                radius = reach(face_to_crop_matrix(res.faces[0].landmarks, ed.template, ed.size), ed.size)
                f = figures[name]
                f["new_colours"].append((realism.new_colours(before, after, radius), path.name, emotion))
                f["detail"].append((realism.detail_kept(before, after), path.name, emotion))
                f["seam"].append((realism.seam(before, after), path.name, emotion))
                row.append((before, after))
            rows.append(row)
        sheets[path.name] = rows
    for path in neutral:
        img = rgb(path)
        for name, ed in editors.items():
            res = ed.neutral(img)
            x0, y0, x1, y1 = res.boxes[0]
            figures[name]["neutral"].append(
                (realism.change(np.asarray(img)[y0:y1, x0:x1], np.asarray(res.image)[y0:y1, x0:x1]), path.name, "neutral"))
    return figures, sheets


def write_sheets(sheets: dict, names: list[str], out: Path, max_side: int = 360) -> list[Path]:
    """One JPEG a photo: rows of emotions, columns photo | each model (face boxes at the photo's resolution,
    reduced only where a box is larger than ``max_side``)."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for photo_name, rows in sheets.items():
        tiles = [[rows[r][0][0]] + [after for _, after in rows[r]] for r in range(len(rows))]
        h, w = tiles[0][0].shape[:2]
        k = max(1, int(np.ceil(max(h, w) / max_side)))
        sheet = Image.new("RGB", ((w // k) * len(tiles[0]), (h // k) * len(tiles)), "white")
        for r, row in enumerate(tiles):
            for c, tile in enumerate(row):
                t = Image.fromarray(tile)
                t = t.reduce(k) if k > 1 else t
                sheet.paste(t, (c * (w // k), r * (h // k)))
        path = out / f"{Path(photo_name).stem}.jpg"
        sheet.save(path, quality=90)
        written.append(path)
    return written


def table(figures: dict) -> str:
    head = ("| model | new colours, p99 (mean / worst) | detail kept (mean / worst) | seam (mean / worst) "
            "| neutral change, grey levels (mean / worst) |")
    lines = [head, "|---|---|---|---|---|"]
    for name, f in figures.items():
        cells = []
        for key, worst in (("new_colours", max), ("detail", min), ("seam", max), ("neutral", max)):
            values = f[key]
            if not values:
                cells.append("-")
                continue
            v, photo, emotion = worst(values)
            cells.append(f"{np.mean([x[0] for x in values]):.4f} / {v:.4f} ({photo}, {emotion})")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.bench_realism", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("models", nargs="+", type=Path, help="served-format .safetensors files to compare")
    p.add_argument("--photos", nargs="*", type=Path, default=None, help="colour photos (default: see above)")
    p.add_argument("--neutral", nargs="*", type=Path, default=None, help="neutral faces (default: LFW's neutral ones)")
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "realism", help="folder for the side-by-side sheets")
    args = p.parse_args(argv)
    import torch

    import ganmut
    from ganmut.errors import GanmutError

    torch.set_num_threads(1)
    photos = args.photos if args.photos is not None else default_photos()
    neutral = args.neutral if args.neutral is not None else default_neutral()
    try:
        editors = {m.name: ganmut.load(m, device="cpu", classifier=None) for m in args.models}
    except (GanmutError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    figures, sheets = score(editors, photos, neutral)
    print(f"{len(photos)} colour photos x {len(EMOTIONS6)} emotions at full intensity, {len(neutral)} neutral faces; "
          f"{platform.processor() or platform.machine()}, torch {torch.__version__}")
    print(table(figures))
    for path in write_sheets(sheets, list(editors), args.out):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
