"""The compact dataset pack written by ``training.prepare`` and read by training and evaluation.

One uncompressed ``.npz`` file (loads in well under a second, memory-maps nothing, never
unpickles) holding:

- ``images``: uint8 ``[N, C, H, W]`` (C = 1 for grayscale, 3 for RGB);
- ``labels``: int64 ``[N]`` indices into :data:`ganmut.emotions.EMOTIONS`;
- ``votes`` (optional): float32 ``[N, 7]``, each face's label distribution over the emotions (FER+'s ten
  annotators' votes, normalised), for losses against the distribution instead of one label;
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
    votes: np.ndarray | None = None

    def distributions(self) -> np.ndarray:
        """float32 ``[N, 7]``: the vote distribution of each face, or a one-hot of its label without votes."""
        if self.votes is not None:
            return self.votes
        return np.eye(N_EMOTIONS, dtype=np.float32)[self.labels]

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
        return Pack(self.images[index], self.labels[index], dict(self.meta),
                    None if self.votes is None else self.votes[index])


def save_pack(path: str | os.PathLike, pack: Pack) -> Path:
    """Write a pack atomically."""
    if pack.images.dtype != np.uint8 or pack.images.ndim != 4:
        raise PackError("images must be uint8 [N, C, H, W]")
    if len(pack.images) != len(pack.labels):
        raise PackError("images and labels differ in length")
    if pack.votes is not None:
        _check_votes(pack.votes, len(pack.labels), "votes")
    meta = dict(pack.meta, emotions=list(EMOTIONS), counts=pack.counts())
    arrays = dict(images=pack.images, labels=pack.labels.astype(np.int64), meta=np.array(json.dumps(meta)))
    if pack.votes is not None:
        arrays["votes"] = pack.votes.astype(np.float32)
    with atomic_path(path) as tmp:
        np.savez(tmp, **arrays)
    return Path(path)


def load_pack(path: str | os.PathLike) -> Pack:
    """Read a pack written by :func:`save_pack`; a corrupt file raises :class:`PackError`."""
    path = Path(path)
    if not path.is_file():
        raise PackError(f"pack not found: {path} (make one with `python -m training.prepare`)")
    try:
        with np.load(path, allow_pickle=False) as z:
            images, labels, meta = z["images"], z["labels"], json.loads(str(z["meta"]))
            votes = z["votes"] if "votes" in z.files else None
    except Exception as e:  # zipfile, KeyError, ValueError, JSON: all mean a bad file
        raise PackError(f"{path} is not a valid dataset pack: {e}") from None
    if images.dtype != np.uint8 or images.ndim != 4 or len(images) != len(labels):
        raise PackError(f"{path} is not a valid dataset pack: bad array shapes")
    if len(labels) and (labels.min() < 0 or labels.max() >= N_EMOTIONS):
        raise PackError(f"{path} holds labels outside 0..{N_EMOTIONS - 1}")
    if votes is not None:
        _check_votes(votes, len(labels), f"{path}: votes")
    return Pack(images, labels.astype(np.int64), meta, None if votes is None else votes.astype(np.float32))


def _check_votes(votes: np.ndarray, n: int, what: str) -> None:
    """Vote distributions are finite, non-negative rows over the emotions that sum to 1."""
    if votes.shape != (n, N_EMOTIONS):
        raise PackError(f"{what} must be [{n}, {N_EMOTIONS}], got {list(votes.shape)}")
    if n and (not np.isfinite(votes).all() or votes.min() < 0 or np.abs(votes.sum(1) - 1).max() > 1e-3):
        raise PackError(f"{what} must be non-negative distributions that sum to 1")


def concat_packs(packs: list[Pack]) -> Pack:
    """One pack of several of the same image shape (votes kept when every pack has them); the first's meta."""
    if len(packs) == 1:
        return packs[0]
    shapes = {p.images.shape[1:] for p in packs}
    if len(shapes) != 1:
        raise PackError(f"packs of different image shapes cannot be joined: {sorted(shapes)}")
    votes = np.concatenate([p.votes for p in packs]) if all(p.votes is not None for p in packs) else None
    return Pack(np.concatenate([p.images for p in packs]), np.concatenate([p.labels for p in packs]),
                dict(packs[0].meta), votes)
