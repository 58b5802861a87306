"""Neutral-to-emotion strips of the example photos: ``python -m docs.strips MODEL [PHOTO ...] -o docs/strips``.

For each photo (by default every one in assets/examples), one sheet: a row per emotion, and in each
row the photo's face as it is, then edited from the model's neutral anchor (intensity 0) out to the
emotion at full intensity, in ``--steps`` equal steps. Each tile is the photo's own pixels round the
face (``face_window``, a tenth of its side round it), edited by the library as the app edits them, so what a 48-px model does to a
real photo shows at the photo's resolution. The floor's last condition (edits show the intended
expression without breaking the face) is judged from these sheets by a person.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from PIL import Image, ImageDraw

import ganmut
from ganmut.emotions import EMOTIONS, NEUTRAL
from ganmut.face import face_window

ROOT = Path(__file__).resolve().parents[1]
LABEL_W = 80
"""Width of the emotion names at the left of each row, in pixels."""


def sheet(editor: ganmut.Editor, photo: Path, steps: int, tile: int) -> Image.Image:
    """The strips of one photo: rows of [the face, intensity 0, 1/steps, ..., 1] for each emotion."""
    prep = editor.prepare(photo)
    box = face_window(prep.faces[:1], prep.image.size, margin=0.1)
    emotions = [e for i, e in enumerate(EMOTIONS) if i != NEUTRAL]
    levels = [k / steps for k in range(steps + 1)]
    codes = [editor.code(emotion=e, intensity=t) for e in emotions for t in levels]
    results = editor.edit_many(prep, codes)
    original = prep.image.crop(box).convert("RGB").resize((tile, tile), Image.LANCZOS)
    out = Image.new("RGB", (LABEL_W + tile * (len(levels) + 1), 20 + tile * len(emotions)), "white")
    draw = ImageDraw.Draw(out)
    for j, t in enumerate(["photo", *(f"{t:.2g}" for t in levels)]):
        draw.text((LABEL_W + j * tile + 4, 4), t, fill="black")
    for i, e in enumerate(emotions):
        y = 20 + i * tile
        draw.text((4, y + tile // 2 - 6), e, fill="black")
        out.paste(original, (LABEL_W, y))
        for j in range(len(levels)):
            edited = results[i * len(levels) + j].window(box).convert("RGB").resize((tile, tile), Image.LANCZOS)
            out.paste(edited, (LABEL_W + (j + 1) * tile, y))
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[1].replace("\n", " "),
                                epilog="Example: python -m docs.strips weights/ganmut-linear.safetensors -o docs/strips/linear")
    p.add_argument("model", help="'linear', 'gaussian' or a .safetensors checkpoint")
    p.add_argument("photos", nargs="*", type=Path, help="photos (default: every .jpg in assets/examples)")
    p.add_argument("-o", "--out", type=Path, required=True, help="output folder: one <photo>.jpg per photo")
    p.add_argument("--steps", type=int, default=4, help="steps from intensity 0 to 1 (default %(default)s)")
    p.add_argument("--tile", type=int, default=160, help="tile side in pixels (default %(default)s)")
    args = p.parse_args(argv)
    if args.steps < 1 or args.tile < 32:
        p.error("--steps must be at least 1 and --tile at least 32")
    photos = args.photos or sorted((ROOT / "assets" / "examples").glob("*.jpg"))
    try:
        editor = ganmut.load(args.model, classifier=None)
        args.out.mkdir(parents=True, exist_ok=True)
        for photo in photos:
            path = args.out / f"{photo.stem}.jpg"
            sheet(editor, photo, args.steps, args.tile).save(path, quality=92)
            print(path)
    except ganmut.GanmutError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
