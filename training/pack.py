"""The compact dataset pack written by ``training.prepare`` and read by training and evaluation.

One uncompressed ``.npz`` file (loads in well under a second, memory-maps nothing, never
unpickles) holding:

- ``images``: uint8 ``[N, C, H, W]`` (C = 1 for grayscale, 3 for RGB);
- ``labels``: int64 ``[N]`` indices into :data:`ganmut.emotions.EMOTIONS`;
- ``meta``: a JSON string (source, layout, split, image size, channels, per-class counts,
  skipped files, alignment template if faces were aligned).
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ganmut.emotions import EMOTIONS, N_EMOTIONS
from ganmut.files import atomic_path


class PackError(ValueError):
    """A pack file is missing, corrupt or inconsistent."""


@dataclass
class Pack:
    images: np.ndarray
    labels: np.ndarray
    meta: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def channels(self) -> int:
        return int(self.images.shape[1])

    @property
    def image_size(self) -> int:
        return int(self.images.shape[2])

    def counts(self) -> dict[str, int]:
        c = np.bincount(self.labels, minlength=N_EMOTIONS)
        return {name: int(n) for name, n in zip(EMOTIONS, c)}

    def subset(self, index: np.ndarray) -> "Pack":
        return Pack(self.images[index], self.labels[index], dict(self.meta))


def save_pack(path: str | os.PathLike, pack: Pack) -> Path:
    """Write a pack atomically."""
    if pack.images.dtype != np.uint8 or pack.images.ndim != 4:
        raise PackError("images must be uint8 [N, C, H, W]")
    if len(pack.images) != len(pack.labels):
        raise PackError("images and labels differ in length")
    meta = dict(pack.meta, emotions=list(EMOTIONS), counts=pack.counts())
    with atomic_path(path) as tmp:
        np.savez(tmp, images=pack.images, labels=pack.labels.astype(np.int64), meta=np.array(json.dumps(meta)))
    return Path(path)


def load_pack(path: str | os.PathLike) -> Pack:
    """Read a pack written by :func:`save_pack`; a corrupt file raises :class:`PackError`."""
    path = Path(path)
    if not path.is_file():
        raise PackError(f"pack not found: {path} (make one with `python -m training.prepare`)")
    try:
        with np.load(path, allow_pickle=False) as z:
            images, labels, meta = z["images"], z["labels"], json.loads(str(z["meta"]))
    except Exception as e:  # zipfile, KeyError, ValueError, JSON: all mean a bad file
        raise PackError(f"{path} is not a valid dataset pack: {e}") from None
    if images.dtype != np.uint8 or images.ndim != 4 or len(images) != len(labels):
        raise PackError(f"{path} is not a valid dataset pack: bad array shapes")
    if len(labels) and (labels.min() < 0 or labels.max() >= N_EMOTIONS):
        raise PackError(f"{path} holds labels outside 0..{N_EMOTIONS - 1}")
    return Pack(images, labels.astype(np.int64), meta)
