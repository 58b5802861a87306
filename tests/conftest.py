"""Shared fixtures: the committed real test data (tests/data), small checkpoints, packs and a classifier
built through the real paths (their makers are in tests/helpers.py), photos that need care, FER+ folders.
"""
from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest
import torch

from tests.helpers import FER2013, FERPLUS_ROWS, PHOTOS, make_fer_pack, make_tiny_checkpoint

# One thread: tests share the CPU with the app servers they start; two threads per process thrash there.
torch.set_num_threads(1)


@pytest.fixture(scope="session")
def photos() -> Path:
    return PHOTOS


@pytest.fixture(scope="session")
def fer2013() -> Path:
    return FER2013


@pytest.fixture(scope="session")
def linear_ckpt(tmp_path_factory) -> Path:
    return make_tiny_checkpoint(tmp_path_factory.mktemp("ckpt") / "tiny-linear.safetensors", "linear")


@pytest.fixture(scope="session")
def warp_ckpt(tmp_path_factory) -> Path:
    return make_tiny_checkpoint(tmp_path_factory.mktemp("ckpt") / "tiny-warp.safetensors", "linear", output="warp")


@pytest.fixture(scope="session")
def gaussian_ckpt(tmp_path_factory) -> Path:
    return make_tiny_checkpoint(tmp_path_factory.mktemp("ckpt") / "tiny-gaussian.safetensors", "gaussian")


@pytest.fixture(scope="module")
def editor(linear_ckpt):
    """An Editor of ``linear_ckpt`` on the CPU without the readout (a module overrides it for one)."""
    import ganmut

    return ganmut.load(linear_ckpt, device="cpu", classifier=None)


@pytest.fixture(scope="module")
def gaussian_editor(gaussian_ckpt, editor):
    """An Editor of ``gaussian_ckpt`` sharing ``editor``'s face detector and classifier."""
    from ganmut.checkpoint import load_checkpoint
    from ganmut.editor import Editor

    return Editor(load_checkpoint(gaussian_ckpt), "cpu", editor.detector, classifier=editor.classifier)


@pytest.fixture(scope="session")
def fer_pack(tmp_path_factory) -> Path:
    """10 real FER2013 training images per emotion (70 faces, 48 px grayscale) as a pack."""
    return make_fer_pack(tmp_path_factory.mktemp("pack") / "fer-small.npz")


@pytest.fixture(scope="session")
def fer_test_pack(tmp_path_factory) -> Path:
    """2 real FER2013 test images per emotion (14 faces) as a pack."""
    return make_fer_pack(tmp_path_factory.mktemp("pack") / "fer-test-small.npz", per_class=2, split="test")


@pytest.fixture(scope="session")
def tiny_classifier(fer_pack, fer_test_pack, tmp_path_factory) -> Path:
    """A narrow emotion classifier trained for two epochs on ``fer_pack`` through the CLI (untrained in effect)."""
    from training.train_classifier import main

    path = tmp_path_factory.mktemp("classifier") / "tiny-classifier.safetensors"
    args = ["--data", str(fer_pack), "--test", str(fer_test_pack), "--out", str(path), "--epochs", "2",
            "--width", "4", "--batch-size", "32", "--device", "cpu", "--quiet"]
    assert main(args) == 0
    return path


@pytest.fixture(scope="session")
def odd_photos(photos, tmp_path_factory) -> dict[str, Path]:
    """photos/obama.jpg as users bring photos that need care: ``cmyk`` (a CMYK JPEG, as from print
    workflows), ``big`` (an 8000x6000 JPEG, 48 megapixels like a phone's full-resolution photo, at
    low quality to stay small), ``heic`` (made by pillow-heif, as an iPhone saves) and ``gif`` (an
    animated GIF whose first frame is the photo)."""
    import pillow_heif
    from PIL import Image

    folder = tmp_path_factory.mktemp("odd-photos")
    with Image.open(photos / "obama.jpg") as src:
        rgb = src.convert("RGB")
    paths = {k: folder / f"obama-{k}.{ext}" for k, ext in (("cmyk", "jpg"), ("big", "jpg"), ("heic", "heic"), ("gif", "gif"))}
    rgb.convert("CMYK").save(paths["cmyk"], quality=92)
    canvas = Image.new("RGB", (8000, 6000), (120, 130, 140))
    canvas.paste(rgb.resize((4800, 6000), Image.Resampling.BILINEAR), (1600, 0))
    canvas.save(paths["big"], quality=30)
    pillow_heif.from_pillow(rgb).save(paths["heic"], quality=90)
    rgb.save(paths["gif"], save_all=True, append_images=[rgb.rotate(20), rgb.rotate(40)], duration=100, loop=0)
    return paths


@pytest.fixture(scope="session")
def face_png(tmp_path_factory, photos) -> Path:
    """A real 350-px grayscale LFW face as a PNG file."""
    from ganmut.images import load_image

    path = tmp_path_factory.mktemp("face") / "face.png"
    load_image(photos / "lfw" / "George_W_Bush_0132.jpg").save(path)
    return path


def _write_split(folder: Path, faces: list[Path], rows=FERPLUS_ROWS, extra_lines: tuple[str, ...] = ()) -> None:
    folder.mkdir(parents=True)
    with open(folder / "label.csv", "w", newline="") as f:
        w = csv.writer(f)
        for (name, votes), src in zip(rows, faces + [None] * len(rows)):
            if src is not None and name != "missing.png":
                shutil.copy(src, folder / name)
            w.writerow([name, "(0, 0, 48, 48)", *votes])
    with open(folder / "label.csv", "a") as f:
        f.writelines(line + "\n" for line in extra_lines)


@pytest.fixture(scope="session")
def ferplus(fer2013, tmp_path_factory) -> Path:
    """A FER+ layout of real FER2013 faces: the rows above in FER2013Train (with a row of unreadable counts
    and a short row), two rows in FER2013Valid and FER2013Test."""
    from training.prepare import FERPLUS_SPLITS

    faces = sorted((fer2013 / "train").rglob("*.png"))
    root = tmp_path_factory.mktemp("ferplus")
    _write_split(root / FERPLUS_SPLITS["train"], faces, extra_lines=("j.png,\"(0, 0, 48, 48)\",1,x,0,0,0,0,0,0,0,0", "k.png,3"))
    for split in ("valid", "test"):
        _write_split(root / FERPLUS_SPLITS[split], faces[20:], FERPLUS_ROWS[:2])
    return root
