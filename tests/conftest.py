"""Shared fixtures: paths to the committed real test data (tests/data), and small checkpoints built
through the real export path.

The checkpoints here are seeded, untrained and tiny: they exist only so tests can run the whole
pipeline without the served weights. They are never written under weights/.
"""
from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest
import torch

DATA = Path(__file__).resolve().parent / "data"
PHOTOS = DATA / "photos"
FER2013 = DATA / "fer2013-sample"
"""A FER2013 subset in the Kaggle layout: the first 10 files of each emotion in train/ and in test/."""

# One thread: tests share the CPU with the app servers they start; two threads per process thrash there.
torch.set_num_threads(1)


def make_tiny_checkpoint(path: Path, kind: str = "linear", seed: int = 0, image_size: int = 64, output: str = "residual") -> Path:
    """Save a seeded, untrained small model with :func:`ganmut.checkpoint.save_checkpoint` (``output="warp"``: a warp
    head with random weights, so that its edits move, shade and paint)."""
    from ganmut.align import FER2013_TEMPLATE
    from ganmut.checkpoint import save_checkpoint
    from ganmut.generator import Generator, GeneratorConfig
    from ganmut.spaces import make_space

    torch.manual_seed(seed)
    space = make_space(kind)
    if kind == "linear":  # spread the directions so the wheel is readable
        with torch.no_grad():
            angles = torch.arange(6) * (2 * torch.pi / 6) + 0.3
            space.weight.copy_(torch.stack([angles.cos(), angles.sin()], -1))
    gen = Generator(GeneratorConfig(image_size=image_size, channels=1, code_dim=space.dim, conv_dim=16, n_res=2, output=output))
    if output == "warp":
        torch.nn.init.normal_(gen.head.weight, std=0.05)
        with torch.no_grad():
            gen.head.weight[3] += 0.2  # an opacity that the mouth region lets through
    return save_checkpoint(path, gen, space, FER2013_TEMPLATE.tolist(), training={"note": "untrained test fixture"})


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


TINY_TRAIN = {
    "kind": "linear",
    "generator": {"image_size": 32, "conv_dim": 8, "n_res": 1},
    "discriminator": {"conv_dim": 8},
    "log": {"tensorboard": False},
}
"""A training config small enough for a few CPU iterations a second; tests add their own settings."""


def write_tiny_config(path: Path, **sections: dict) -> Path:
    """Write ``TINY_TRAIN`` merged with ``sections`` (e.g. ``optim={"iters": 8}``) as a TOML config."""
    import copy

    from training.config import merge
    from training.config import to_toml

    path.write_text(to_toml(merge(copy.deepcopy(TINY_TRAIN), sections)))
    return path


def make_fer_pack(path: Path, per_class: int | None = None, split: str = "train") -> Path:
    """A small real pack made by ``training.prepare``: the first ``per_class`` FER2013 images of each
    emotion in ``split`` (all 10 when None)."""
    from training.pack import save_pack
    from training.prepare import PrepareConfig, prepare

    cfg = PrepareConfig(source=FER2013, out=path, split=split, limit_per_class=per_class, progress=False)
    return save_pack(path, prepare(cfg))


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


class DetectionCounter:
    """Counts the face detections a FaceDetector runs from now on, in one test (its ``detect`` wrapped
    with ``monkeypatch``): ``n``."""

    def __init__(self, monkeypatch, detector) -> None:
        self.n = 0
        real = detector.detect

        def detect(*args, **kwargs):
            self.n += 1
            return real(*args, **kwargs)

        monkeypatch.setattr(detector, "detect", detect)


# vote columns: neutral, happiness, surprise, sadness, anger, disgust, fear, contempt, unknown, NF
FERPLUS_ROWS = [
    ("a.png", [4, 0, 0, 1, 3, 2, 0, 0, 0, 0]),  # neutral 4 of 10: kept, anger 3, disgust 2, sad 1
    ("b.png", [0, 10, 0, 0, 0, 0, 0, 0, 0, 0]),  # happy
    ("c.png", [0, 0, 6, 0, 0, 0, 4, 0, 0, 0]),  # surprise with fear votes
    ("d.png", [1, 0, 0, 0, 0, 0, 0, 2, 6, 1]),  # unknown: left out
    ("e.png", [0, 0, 0, 0, 0, 0, 0, 0, 0, 10]),  # not a face: left out
    ("f.png", [2, 0, 0, 0, 0, 2, 0, 6, 0, 0]),  # contempt: left out
    ("g.png", [3, 0, 0, 0, 0, 0, 6, 1, 0, 0]),  # fear; the contempt vote is dropped
    ("h.png", [4, 0, 0, 4, 0, 0, 0, 0, 0, 2]),  # a tie of emotions goes to the first in GANmut's order
    ("i.png", [0, 0, 0, 0, 0, 5, 0, 0, 5, 0]),  # unknown ties disgust: left out
    ("missing.png", [0, 9, 0, 0, 0, 0, 0, 0, 1, 0]),  # no such file: skipped, counted
]


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
