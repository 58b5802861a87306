"""The tests' helpers, importable as ``tests.helpers`` (by the tests, the benchmarks and docs' scripts):
paths to the committed real test data (tests/data), small checkpoints built through the real export
path, tiny training configs and packs, a detection counter and FER+ vote rows.

The checkpoints here are seeded, untrained and tiny: they exist only so tests can run the whole
pipeline without the served weights. They are never written under weights/.
"""
from __future__ import annotations

from pathlib import Path

import torch

DATA = Path(__file__).resolve().parent / "data"
PHOTOS = DATA / "photos"
FER2013 = DATA / "fer2013-sample"
"""A FER2013 subset in the Kaggle layout: the first 10 files of each emotion in train/ and in test/."""


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
