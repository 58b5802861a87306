"""One compact archive of the training and test packs, to copy to a remote (GPU) machine as one file.

    python -m training.archive build path/to/ferplus -o carry/ferplus.tar      # FER+ folders -> archive
    python -m training.archive build path/to/fer2013 -o carry/fer2013.tar      # FER2013 folders -> archive
    python -m training.archive check carry/ferplus.tar                         # intact? (hashes, shapes)
    python -m training.archive extract carry/ferplus.tar -o packs              # -> packs/<split>.npz

The source is read by :mod:`training.prepare` (FER2013's train and test splits, or FER+'s train, valid and
test splits with their vote distributions). Each split's faces are tiled into mosaics of ``TILE`` x ``TILE``
faces and stored as WebP, by default lossy at quality 90: FER2013's 34,102 faces (78 MB as raw
pixels, 57 MB as PNG files) take 24.9 MB, with a PSNR of 42.3 dB on both splits (measured, and written to
the manifest). 48-px faces sit on whole 16-px WebP macroblocks, so only the codec's deblocking
filter crosses from one face to the next; the measured PSNR says what is lost. ``--lossless``
stores exact pixels.

The archive is an uncompressed tar with ``manifest.json`` (format, per-split counts, shapes, pack
metadata, quality, PSNR and the SHA-256 of every member), ``<split>-labels.npy`` and the mosaics
``<split>-NNN.webp``, and ``<split>-votes.npy`` for a FER+ split (float16 vote distributions). Reading checks
every hash and shape and never unpickles.
"""
from __future__ import annotations

import argparse
import hashlib
import io
import json
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from ganmut.files import atomic_path

from .pack import Pack, PackError, save_pack

FORMAT = "ganmut-archive/1"
TILE = 32
"""Faces per mosaic side: 1,024 faces per WebP image."""
SPLITS = ("train", "test")
"""The splits every archive holds (a FER+ archive also holds ``valid``)."""
LAYOUT_SPLITS = {"fer2013": ("train", "test"), "ferplus": ("train", "valid", "test")}
DEFAULT_QUALITY = 90
MAX_MEMBER = 64 * 1024 * 1024


class ArchiveError(ValueError):
    """A missing, corrupt or inconsistent archive (a one-line message)."""


@dataclass(frozen=True)
class Encoding:
    quality: int = DEFAULT_QUALITY
    lossless: bool = False

    def describe(self) -> str:
        return "lossless WebP" if self.lossless else f"WebP quality {self.quality}"


# --------------------------------------------------------------------------- mosaics
def to_mosaics(images: np.ndarray, tile: int = TILE) -> list[np.ndarray]:
    """uint8 ``[N, C, H, W]`` -> mosaics ``[rows*H, tile*W(, C)]`` of up to ``tile * tile`` faces (last one padded)."""
    n, c, h, w = images.shape
    out = []
    for s in range(0, n, tile * tile):
        chunk = images[s:s + tile * tile]
        rows = -(-len(chunk) // tile)
        pad = np.zeros((rows * tile - len(chunk), c, h, w), np.uint8)
        grid = np.concatenate([chunk, pad]).reshape(rows, tile, c, h, w).transpose(0, 3, 1, 4, 2).reshape(rows * h, tile * w, c)
        out.append(grid[..., 0] if c == 1 else grid)
    return out


def from_mosaics(mosaics: list[np.ndarray], n: int, channels: int, size: int, tile: int = TILE) -> np.ndarray:
    """The inverse of :func:`to_mosaics`: the first ``n`` faces as uint8 ``[n, C, size, size]``."""
    faces = []
    for m in mosaics:
        m = m.reshape(m.shape[0], m.shape[1], channels)
        rows = m.shape[0] // size
        faces.append(m.reshape(rows, size, tile, size, channels).transpose(0, 2, 4, 1, 3).reshape(rows * tile, channels, size, size))
    return np.concatenate(faces)[:n]


def encode(mosaic: np.ndarray, enc: Encoding) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(mosaic).save(buf, "WEBP", lossless=enc.lossless, quality=100 if enc.lossless else enc.quality, method=4)
    return buf.getvalue()


def decode(data: bytes, channels: int) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as img:
        return np.asarray(img.convert("L" if channels == 1 else "RGB"))


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """Peak signal-to-noise ratio in dB of two uint8 arrays (inf when equal)."""
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255.0 ** 2 / mse)


# --------------------------------------------------------------------------- build / read
def build(packs: dict[str, Pack], out: Path, enc: Encoding = Encoding(), progress: bool = True) -> dict:
    """Write the archive of ``packs`` (split name -> pack) atomically; returns its manifest."""
    members: dict[str, bytes] = {}
    manifest: dict = {"format": FORMAT, "encoding": enc.describe(), "tile": TILE, "splits": {}}
    for split, pack in packs.items():
        if pack.images.shape[2] != pack.images.shape[3]:
            raise ArchiveError(f"{split}: faces must be square, got {pack.images.shape[2:]}")
        labels = io.BytesIO()
        np.save(labels, pack.labels.astype(np.int8), allow_pickle=False)
        members[f"{split}-labels.npy"] = labels.getvalue()
        if pack.votes is not None:
            votes = io.BytesIO()
            np.save(votes, pack.votes.astype(np.float16), allow_pickle=False)
            members[f"{split}-votes.npy"] = votes.getvalue()
        tiles, decoded = [], []
        for i, mosaic in enumerate(to_mosaics(pack.images)):
            name = f"{split}-{i:03d}.webp"
            members[name] = encode(mosaic, enc)
            tiles.append(name)
            decoded.append(decode(members[name], pack.channels))
            if progress:
                print(f"\r{split}: {min((i + 1) * TILE * TILE, len(pack))}/{len(pack)} faces", end="", file=sys.stderr)
        if progress:
            print(file=sys.stderr)
        back = from_mosaics(decoded, len(pack), pack.channels, pack.image_size)
        manifest["splits"][split] = {
            "n": len(pack), "channels": pack.channels, "image_size": pack.image_size, "tiles": tiles,
            "psnr_db": round(psnr(pack.images, back), 2), "meta": pack.meta,
        }
    manifest["sha256"] = {k: hashlib.sha256(v).hexdigest() for k, v in members.items()}
    with atomic_path(out) as tmp, tarfile.open(tmp, "w") as tar:
        for name, data in [("manifest.json", json.dumps(manifest, indent=1).encode()), *members.items()]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return manifest


def _read_members(path: Path) -> tuple[dict, dict[str, bytes]]:
    """(manifest, members) with every hash checked."""
    if not path.is_file():
        raise ArchiveError(f"archive not found: {path} (build it with `python -m training.archive build`)")
    try:
        with tarfile.open(path, "r:") as tar:
            members = {}
            for m in tar.getmembers():
                if not m.isfile() or m.size > MAX_MEMBER or "/" in m.name:
                    raise ArchiveError(f"{path.name}: unexpected member {m.name!r}")
                members[m.name] = tar.extractfile(m).read()
    except (tarfile.TarError, OSError, EOFError) as e:
        raise ArchiveError(f"{path.name} is not a readable archive: {e}") from None
    try:
        manifest = json.loads(members.pop("manifest.json"))
        if manifest["format"] != FORMAT:
            raise ArchiveError(f"{path.name}: archive format {manifest['format']!r}, expected {FORMAT!r}")
        hashes = manifest["sha256"]
    except (KeyError, TypeError, json.JSONDecodeError):
        raise ArchiveError(f"{path.name}: missing or invalid manifest.json") from None
    if set(hashes) != set(members):
        raise ArchiveError(f"{path.name}: members differ from the manifest")
    for name, data in members.items():
        if hashlib.sha256(data).hexdigest() != hashes[name]:
            raise ArchiveError(f"{path.name}: {name} is corrupt (SHA-256 mismatch)")
    return manifest, members


def check(path: str | Path) -> dict:
    """Verify an archive (hashes, splits present); returns its manifest. Fast: no image is decoded."""
    manifest, _ = _read_members(Path(path))
    missing = [s for s in SPLITS if s not in manifest["splits"]]
    if missing:
        raise ArchiveError(f"{Path(path).name}: no {' or '.join(missing)} split")
    return manifest


def read(path: str | Path) -> dict[str, Pack]:
    """Decode every split of an archive into packs (the pack metadata records the encoding and its PSNR)."""
    manifest, members = _read_members(Path(path))
    packs = {}
    for split, info in manifest["splits"].items():
        try:
            labels = np.load(io.BytesIO(members[f"{split}-labels.npy"]), allow_pickle=False).astype(np.int64)
            mosaics = [decode(members[t], info["channels"]) for t in info["tiles"]]
            images = from_mosaics(mosaics, info["n"], info["channels"], info["image_size"])
        except (KeyError, ValueError, OSError) as e:
            raise ArchiveError(f"{Path(path).name}: split {split!r} cannot be decoded: {e}") from None
        if len(images) != info["n"] or len(labels) != info["n"]:
            raise ArchiveError(f"{Path(path).name}: split {split!r} holds {len(images)} faces, expected {info['n']}")
        meta = dict(info["meta"], archive={"encoding": manifest["encoding"], "psnr_db": info["psnr_db"]})
        packs[split] = Pack(images, labels, meta, _votes(members.get(f"{split}-votes.npy"), path, split))
    return packs


def _votes(data: bytes | None, path: str | Path, split: str) -> np.ndarray | None:
    """A split's vote distributions (float16 in the archive, renormalised in float32), or None without them."""
    if data is None:
        return None
    try:
        votes = np.load(io.BytesIO(data), allow_pickle=False).astype(np.float32)
    except ValueError as e:
        raise ArchiveError(f"{Path(path).name}: split {split!r} has unreadable votes: {e}") from None
    return votes / np.maximum(votes.sum(-1, keepdims=True), 1e-6)


def extract(path: str | Path, out_dir: str | Path) -> dict[str, Path]:
    """Decode the archive into ``out_dir/<split>.npz`` packs; returns their paths."""
    out_dir = Path(out_dir)
    return {split: save_pack(out_dir / f"{split}.npz", pack) for split, pack in read(path).items()}


# --------------------------------------------------------------------------- CLI
def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m training.archive",
        description="Pack the training and test faces into one compact archive to copy to a remote (GPU) machine, "
        "check it, or unpack it.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n"
        "  python -m training.archive build path/to/ferplus -o carry/ferplus.tar\n"
        "  python -m training.archive check carry/ferplus.tar\n"
        "  python -m training.archive extract carry/ferplus.tar -o packs   # packs/train.npz, valid.npz, test.npz",
    )
    sub = p.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="FER+ or FER2013 folders -> archive")
    b.add_argument("source", type=Path, help="FER+ folder (FER2013Train/, FER2013Valid/, FER2013Test/ with label.csv) or "
                   "FER2013 folder (train/<emotion>/*.png, test/<emotion>/*.png)")
    b.add_argument("-o", "--output", type=Path, required=True, help="archive to write (.tar)")
    b.add_argument("--quality", type=int, default=DEFAULT_QUALITY, help=f"WebP quality 1-100 (default {DEFAULT_QUALITY})")
    b.add_argument("--lossless", action="store_true", help="exact pixels (about twice the size)")
    b.add_argument("--quiet", action="store_true", help="no progress output")
    c = sub.add_parser("check", help="verify hashes and splits (no decoding)")
    c.add_argument("archive", type=Path)
    e = sub.add_parser("extract", help="archive -> OUT/<split>.npz packs")
    e.add_argument("archive", type=Path)
    e.add_argument("-o", "--output", type=Path, required=True, help="folder for the packs")
    return p


def main(argv: list[str] | None = None) -> int:
    from .prepare import PrepareConfig, PrepareError, detect_layout, prepare

    args = build_parser().parse_args(argv)
    try:
        if args.command == "build":
            if not 1 <= args.quality <= 100:
                raise ArchiveError(f"--quality must lie in 1..100, got {args.quality}")
            layout = detect_layout(args.source)
            if layout not in LAYOUT_SPLITS:
                raise ArchiveError(f"{args.source} is a {layout} source; an archive is built from FER+ or FER2013 folders")
            packs = {s: prepare(PrepareConfig(source=args.source, out=args.output, split=s, layout=layout, progress=not args.quiet))
                     for s in LAYOUT_SPLITS[layout]}
            manifest = build(packs, args.output, Encoding(args.quality, args.lossless), progress=not args.quiet)
            size = args.output.stat().st_size / 1e6
            print(f"wrote {args.output} ({size:.1f} MB, {manifest['encoding']}): "
                  + ", ".join(f"{s} {v['n']} faces, PSNR {v['psnr_db']} dB" for s, v in manifest["splits"].items()))
        elif args.command == "check":
            manifest = check(args.archive)
            print(f"{args.archive}: intact ({manifest['encoding']}; "
                  + ", ".join(f"{s} {v['n']} faces" for s, v in manifest["splits"].items()) + ")")
        else:
            paths = extract(args.archive, args.output)
            print("wrote " + ", ".join(str(p) for p in paths.values()))
    except (ArchiveError, PackError, PrepareError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
