"""Build a dataset pack from a folder of labelled faces: ``python -m training.prepare SOURCE -o PACK``.

Four source layouts are read (``--layout auto`` tells them apart):

- ``fer2013``: the Kaggle FER2013 folders ``SOURCE/{train,test}/<emotion>/*.png`` (pick the split with
  ``--split``);
- ``csv``: the official GANmut / AffectNet list, a CSV with the columns ``subDirectory_filePath`` and
  ``expression`` (0 neutral ... 6 anger, the order of :data:`ganmut.emotions.EMOTIONS`); paths are
  relative to the CSV's folder or ``--root``; other labels (7 contempt, 8 none, 9 uncertain,
  10 no face) are skipped and counted;
- ``folders``: any ``SOURCE/<emotion>/*.{png,jpg,...}`` (folder names through
  :data:`ganmut.emotions.ALIASES`, e.g. ``angry`` -> anger);
- ``ferplus``: Microsoft's FER+ relabelling of FER2013 as its ``generate_training_data.py`` writes it,
  ``SOURCE/{FER2013Train,FER2013Valid,FER2013Test}/`` (``--split`` train, valid or test), each with its
  images and a ``label.csv`` of rows ``file, box, 10 vote counts`` (neutral, happiness, surprise,
  sadness, anger, disgust, fear, contempt, unknown, not a face); ``SOURCE`` may also be one split's
  folder. The pack keeps each face's **vote distribution** over the seven GANmut emotions
  (``Pack.votes``) and its plurality as the label. A face is left out when "unknown" or "not a face"
  has at least as many votes as any emotion, or when contempt does (contempt has no GANmut
  emotion); the contempt votes of the faces kept are dropped and the rest renormalised. Ties
  between emotions go to the first in GANmut's order (neutral, happy, sad, surprise, fear, disgust,
  anger).

Unreadable or truncated images, unknown labels, missing files and (with ``--align``) photos without
a face are skipped and counted, never fatal. The pack's order is deterministic: class by class,
files sorted by path (CSV: row order within a class).

Pack images become model tensors with :func:`ganmut.images.to_model_input` (:func:`pack_tensors`
does a whole pack).
"""
from __future__ import annotations

import argparse
import csv
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from ganmut.emotions import EMOTIONS, N_EMOTIONS, emotion_index
from ganmut.errors import GanmutError, ImageError
from ganmut.images import IMAGE_SUFFIXES, to_model_input
from training.pack import Pack, PackError, save_pack

LAYOUTS = ("auto", "fer2013", "csv", "folders", "ferplus")
FERPLUS_SPLITS = {"train": "FER2013Train", "valid": "FER2013Valid", "test": "FER2013Test"}
FERPLUS_LABELS = "label.csv"
FERPLUS_COLUMNS = ("neutral", "happy", "surprise", "sad", "anger", "disgust", "fear", "contempt", "unknown", "not a face")
"""The vote columns of a FER+ ``label.csv``, in its order (GANmut's names)."""
CSV_PATH, CSV_LABEL = "subDirectory_filePath", "expression"
ALIGN_SIZE = 64
"""Crop side used by ``--align`` when ``--size`` is not given (the generator's default input)."""
EXAMPLES_PER_REASON = 5


class PrepareError(ValueError):
    """The source cannot be read as any supported layout (a one-line message for the CLI)."""


@dataclass
class PrepareConfig:
    """What to read and how to store it."""

    source: Path
    out: Path
    layout: str = "auto"
    split: str = "train"
    size: int | None = None
    channels: int = 1
    align: bool = False
    limit_per_class: int | None = None
    root: Path | None = None
    progress: bool = True

    def __post_init__(self) -> None:
        if self.layout not in LAYOUTS:
            raise PrepareError(f"unknown layout {self.layout!r}; choose one of: {', '.join(LAYOUTS)}")
        if self.channels not in (1, 3):
            raise PrepareError(f"channels must be 1 or 3, got {self.channels}")
        if self.size is not None and self.size < 8:
            raise PrepareError(f"size must be at least 8 pixels, got {self.size}")
        if self.limit_per_class is not None and self.limit_per_class < 1:
            raise PrepareError(f"--limit-per-class must be at least 1, got {self.limit_per_class}")


@dataclass
class Skipped:
    """Counts of skipped entries per reason, with a few example paths each."""

    counts: Counter = field(default_factory=Counter)
    examples: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))

    def add(self, reason: str, what: str, n: int = 1) -> None:
        self.counts[reason] += n
        if len(self.examples[reason]) < EXAMPLES_PER_REASON:
            self.examples[reason].append(what)

    def to_dict(self) -> dict:
        return {"total": sum(self.counts.values()), "reasons": dict(self.counts), "examples": dict(self.examples)}


# --------------------------------------------------------------------------- layouts
def _label_of(name: str) -> int | None:
    try:
        return emotion_index(name)
    except ValueError:
        return None


def _images_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def _emotion_dirs(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_dir() and _label_of(p.name) is not None)


def detect_layout(source: Path) -> str:
    """'csv', 'fer2013' or 'folders'; raises :class:`PrepareError` when none fits."""
    if source.is_file():
        if source.suffix.lower() == ".csv":
            return "csv"
        raise PrepareError(f"{source} is a file but not a .csv list")
    if not source.is_dir():
        raise PrepareError(f"source not found: {source}")
    if (source / FERPLUS_LABELS).is_file() or any((source / d / FERPLUS_LABELS).is_file() for d in FERPLUS_SPLITS.values()):
        return "ferplus"
    if any((source / s).is_dir() and _emotion_dirs(source / s) for s in ("train", "test")):
        return "fer2013"
    if _emotion_dirs(source):
        return "folders"
    raise PrepareError(
        f"cannot tell the layout of {source}: expected train/ or test/ with emotion folders, emotion folders, "
        "FER+ split folders with label.csv, or a .csv list (set --layout)"
    )


Entry = tuple[Path, int, "np.ndarray | None"]
"""(image file, label, vote distribution over the emotions or None)."""


def _list_folders(folder: Path, skipped: Skipped) -> list[Entry]:
    if not folder.is_dir():
        raise PrepareError(f"folder not found: {folder}")
    entries: list[Entry] = []
    for sub in sorted(p for p in folder.iterdir() if p.is_dir()):
        label, files = _label_of(sub.name), _images_in(sub)
        if label is None:
            if files:
                skipped.add(f"unknown label folder '{sub.name}'", str(sub), len(files))
            continue
        entries += [(f, label, None) for f in files]
    return entries


def _list_csv(path: Path, root: Path | None, skipped: Skipped) -> list[Entry]:
    base = root or path.parent
    entries: list[Entry] = []
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        if not reader.fieldnames or CSV_PATH not in reader.fieldnames or CSV_LABEL not in reader.fieldnames:
            raise PrepareError(f"{path.name}: expected the columns '{CSV_PATH}' and '{CSV_LABEL}', got {reader.fieldnames}")
        for row_no, row in enumerate(reader, start=2):
            rel, raw = (row.get(CSV_PATH) or "").strip(), (row.get(CSV_LABEL) or "").strip()
            try:
                label = int(float(raw))
            except ValueError:
                skipped.add("unreadable label", f"{path.name}:{row_no}: {raw!r}")
                continue
            if not 0 <= label < N_EMOTIONS:
                skipped.add(f"label {label} (not a basic emotion)", f"{path.name}:{row_no}")
                continue
            if not rel:
                skipped.add("empty path", f"{path.name}:{row_no}")
                continue
            entries.append((base / rel, label, None))
    return entries


def ferplus_votes(counts: np.ndarray) -> tuple[int, np.ndarray] | str:
    """(plurality label, distribution over the 7 GANmut emotions) of one face's 10 FER+ vote counts, or the
    reason it is left out: "unknown" / "not a face" / "contempt" holding the plurality (ties included), or
    no emotion vote at all."""
    emotion_votes = counts[:7].max(initial=0)
    other = max((9, 8, 7), key=lambda col: counts[col])  # the strongest of not a face, unknown and contempt
    if counts[other] > 0 and counts[other] >= emotion_votes:  # it beats the emotions on a tie
        return f"FER+ plurality '{FERPLUS_COLUMNS[other]}'"
    if emotion_votes <= 0:
        return "no FER+ emotion vote"
    gan = np.zeros(N_EMOTIONS, dtype=np.float64)
    for col, name in enumerate(FERPLUS_COLUMNS[:7]):
        gan[EMOTIONS.index(name)] = counts[col]
    return int(gan.argmax()), (gan / gan.sum()).astype(np.float32)


def _list_ferplus(source: Path, split: str, skipped: Skipped) -> list[Entry]:
    folder = source if (source / FERPLUS_LABELS).is_file() else source / FERPLUS_SPLITS.get(split, split)
    labels = folder / FERPLUS_LABELS
    if not labels.is_file():
        raise PrepareError(f"FER+ label file not found: {labels} (--split is one of {', '.join(FERPLUS_SPLITS)})")
    entries: list[Entry] = []
    with open(labels, newline="", encoding="utf-8-sig") as f:
        for row_no, row in enumerate(csv.reader(f), start=1):
            where = f"{labels.name}:{row_no}"
            if not row or not row[0].strip():
                skipped.add("empty row", where)
                continue
            try:
                counts = np.array([float(v) for v in row[-10:]], dtype=np.float64)
                if len(row) < 12 or not np.isfinite(counts).all() or counts.min() < 0:
                    raise ValueError
            except ValueError:
                skipped.add("unreadable vote counts", f"{where}: {','.join(row)[:80]!r}")
                continue
            got = ferplus_votes(counts)
            if isinstance(got, str):
                skipped.add(got, f"{where}: {row[0]}")
                continue
            entries.append((folder / row[0].strip(), got[0], got[1]))
    return entries


def list_entries(cfg: PrepareConfig, skipped: Skipped) -> tuple[str, list[Entry]]:
    """(layout, [(file, label, votes)]) in the pack's order, before reading any image."""
    layout = detect_layout(cfg.source) if cfg.layout == "auto" else cfg.layout
    if layout == "csv":
        if not cfg.source.is_file():
            raise PrepareError(f"CSV list not found: {cfg.source}")
        entries = _list_csv(cfg.source, cfg.root, skipped)
    elif layout == "fer2013":
        entries = _list_folders(cfg.source / cfg.split, skipped)
    elif layout == "ferplus":
        entries = _list_ferplus(cfg.source, cfg.split, skipped)
    else:
        entries = _list_folders(cfg.source, skipped)
    entries = sorted(entries, key=lambda e: e[1])  # stable: keeps the path / row order within a class
    if cfg.limit_per_class is not None:
        taken: Counter = Counter()
        limited = []
        for entry in entries:
            if taken[entry[1]] < cfg.limit_per_class:
                taken[entry[1]] += 1
                limited.append(entry)
        entries = limited
    return layout, entries


# --------------------------------------------------------------------------- images
def to_uint8(pixels: np.ndarray, max_value: int, channels: int) -> np.ndarray:
    """uint8 [H, W, channels] of [H, W, C] pixels in 0..max_value (BT.601 luminance for grey)."""
    from ganmut.images import match_channels

    x = match_channels(pixels.astype(np.float32) * (255.0 / max_value), channels)
    return np.clip(np.rint(x), 0, 255).astype(np.uint8)


def square_resize(img: np.ndarray, size: int | None) -> np.ndarray:
    """Centre-crop [H, W, C] uint8 to a square, then resize to ``size`` (bicubic) unless None."""
    h, w = img.shape[:2]
    s = min(h, w)
    img = img[(h - s) // 2:(h - s) // 2 + s, (w - s) // 2:(w - s) // 2 + s]
    if size is None or size == s:
        return img
    pil = Image.fromarray(img[..., 0] if img.shape[2] == 1 else img)
    out = np.asarray(pil.resize((size, size), Image.Resampling.BICUBIC))
    return out[..., None] if out.ndim == 2 else out


class Aligner:
    """MTCNN landmarks -> similarity warp onto the FER2013 template (``ganmut.face``, loaded lazily)."""

    def __init__(self, size: int) -> None:
        from ganmut.align import FER2013_TEMPLATE
        from ganmut.face import FaceDetector

        self.size = size
        self.template = FER2013_TEMPLATE
        self.detector = FaceDetector()

    def __call__(self, photo) -> np.ndarray | None:
        """The aligned crop [size, size, C] (photo units) of the largest face, or None without a usable face."""
        from ganmut.align import face_to_crop_matrix, warp_to_crop
        from ganmut.errors import NoFaceError
        from ganmut.images import detection_rgb

        rgb, scale = detection_rgb(photo)
        try:
            face = self.detector.detect(rgb, scale)[0]
        except NoFaceError:
            return None
        return warp_to_crop(photo.pixels, face_to_crop_matrix(face.landmarks, self.template, self.size), self.size)


def prepare(cfg: PrepareConfig) -> Pack:
    """Read every entry of the source into a :class:`~training.pack.Pack` (not yet saved)."""
    from tqdm import tqdm

    from ganmut.images import load_image, to_photo

    skipped = Skipped()
    layout, entries = list_entries(cfg, skipped)
    if not entries:
        raise PrepareError(f"no labelled image files found in {cfg.source} (layout {layout})")
    aligner = Aligner(cfg.size or ALIGN_SIZE) if cfg.align else None
    size = aligner.size if aligner else cfg.size
    images, labels, votes = [], [], []
    for path, label, vote in tqdm(entries, desc="reading", unit="img", disable=not cfg.progress, file=sys.stderr):
        if not path.is_file():
            skipped.add("missing file", str(path))
            continue
        try:
            photo = to_photo(load_image(path))
        except (ImageError, OSError, ValueError) as e:
            skipped.add("unreadable image", f"{path}: {str(e).splitlines()[0] if str(e) else type(e).__name__}")
            continue
        try:
            pixels = aligner(photo) if aligner else photo.pixels
        except ValueError as e:  # degenerate landmarks
            skipped.add("alignment failed", f"{path}: {e}")
            continue
        if pixels is None:
            skipped.add("no face found", str(path))
            continue
        img = to_uint8(pixels, photo.max_value, cfg.channels)
        img = square_resize(img, size)
        size = img.shape[0]  # native size of the first image fixes the size of the rest
        images.append(img.transpose(2, 0, 1))
        labels.append(label)
        votes.append(vote)
    if not images:
        raise PrepareError(f"none of the {len(entries)} files in {cfg.source} could be read")
    meta = {
        "source": str(cfg.source),
        "layout": layout,
        "split": cfg.split if layout in ("fer2013", "ferplus") else None,
        "image_size": size,
        "channels": cfg.channels,
        "aligned": cfg.align,
        "limit_per_class": cfg.limit_per_class,
        "skipped": skipped.to_dict(),
    }
    if aligner:
        meta["template"] = aligner.template.tolist()
    if layout == "ferplus":
        meta["contempt"] = "faces with a contempt plurality left out; other faces' contempt votes dropped"
    pack_votes = np.stack(votes) if layout == "ferplus" else None
    return Pack(np.stack(images).astype(np.uint8), np.asarray(labels, dtype=np.int64), meta, pack_votes)


def summary(pack: Pack) -> str:
    """A small text table of per-class counts and skipped entries."""
    counts = pack.counts()
    lines = [f"{'emotion':<10}{'images':>8}", *(f"{e:<10}{counts[e]:>8}" for e in EMOTIONS), f"{'total':<10}{len(pack):>8}"]
    sk = pack.meta.get("skipped", {})
    lines.append(f"skipped: {sk.get('total', 0)}")
    for reason, n in sorted(sk.get("reasons", {}).items()):
        lines.append(f"  {n:>6}  {reason}  (e.g. {sk['examples'][reason][0]})")
    return "\n".join(lines)


# --------------------------------------------------------------------------- tensors for models
def pack_tensors(pack: Pack, size: int | None = None, channels: int | None = None, device=None):
    """(images float32 [N, C, size, size] in [-1, 1], labels int64 [N]) of a pack, as torch tensors."""
    import torch

    return to_model_input(pack.images, size, channels, device), torch.as_tensor(pack.labels, device=device)


# --------------------------------------------------------------------------- CLI
def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m training.prepare",
        description="Read labelled face images (FER2013 folders, FER+ vote folders, a GANmut/AffectNet CSV, or "
        "emotion folders) into one dataset pack (.npz).",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n"
        "  python -m training.prepare path/to/fer2013 -o packs/fer2013-train.npz --split train\n"
        "  python -m training.prepare path/to/fer2013 -o packs/fer2013-test.npz --split test\n"
        "  python -m training.prepare path/to/ferplus -o packs/ferplus-train.npz --split train   # FER+ votes kept\n"
        "  python -m training.prepare affectnet/training.csv --root affectnet/images -o packs/affectnet.npz "
        "--size 128 --channels 3\n"
        "  python -m training.prepare my_faces/ -o packs/mine.npz --align --size 64 --limit-per-class 100",
    )
    p.add_argument("source", type=Path, help="dataset folder or CSV list")
    p.add_argument("-o", "--out", type=Path, required=True, help="pack file to write (.npz)")
    p.add_argument("--layout", choices=LAYOUTS, default="auto", help="source layout (default: detect)")
    p.add_argument("--split", default="train",
                   help="FER2013 layout: the split folder to read; FER+ layout: train, valid or test (default: train)")
    p.add_argument("--size", type=int, default=None, help="square side in pixels (default: the native size)")
    p.add_argument("--channels", type=int, choices=(1, 3), default=1, help="1 = grayscale (default), 3 = RGB")
    p.add_argument("--align", action="store_true", help="detect faces (MTCNN) and align them to the FER2013 template")
    p.add_argument("--limit-per-class", type=int, default=None, metavar="N", help="keep at most N images per emotion")
    p.add_argument("--root", type=Path, default=None, help="CSV layout: folder the paths are relative to (default: the CSV's)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        cfg = PrepareConfig(
            source=args.source, out=args.out, layout=args.layout, split=args.split, size=args.size,
            channels=args.channels, align=args.align, limit_per_class=args.limit_per_class, root=args.root,
            progress=not args.quiet,
        )
        pack = prepare(cfg)
        save_pack(cfg.out, pack)
    except (PrepareError, PackError, GanmutError, ImportError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(summary(pack))
    print(f"wrote {cfg.out} ({len(pack)} images, {pack.channels}x{pack.image_size}x{pack.image_size})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
