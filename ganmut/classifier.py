"""The emotion classifier: what the evaluation scores edits with, and the editor's live readout
(:class:`Reading`: what it reads on the aligned face before and after an edit).

Two architectures share the neck and head (global average pooling, one hidden fully connected layer
whose activations are the FED features, then the 7 logits): ``vgg`` (four stages of two 3x3 conv +
BatchNorm + ReLU, max-pooling between stages; the bundled judge) and ``resnet`` (a stem, then one
residual block a stage, downsampling by strided convolutions; a second network of another kind, for
example to guide a generator's training while the first one judges it). Both are trained by
``python -m training.train_classifier`` on FER2013.

Saved as ``.safetensors`` (no pickle) with one metadata entry ``ganmut_classifier`` holding JSON:
architecture, input size and channels, emotions, training settings, data and test accuracy.
:func:`load_classifier` returns the module in eval mode; it accepts images in [-1, 1] of any size
and 1 or 3 channels and adapts them to its own input (:func:`ganmut.images.adapt_images`).
"""
from __future__ import annotations

import os
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from .checkpoint import read_safetensors, write_safetensors
from .emotions import EMOTIONS, N_EMOTIONS
from .errors import CheckpointError
from .images import adapt_images

META_KEY = "ganmut_classifier"
FORMAT_VERSION = 1


@dataclass(frozen=True)
class ClassifierConfig:
    """Architecture; stored in the weights' metadata."""

    arch: str = "vgg"  # "vgg" | "resnet"
    input_size: int = 48
    channels: int = 1
    width: int = 32
    feature_dim: int = 256
    dropout: float = 0.4

    def __post_init__(self) -> None:
        if self.input_size < 16 or self.input_size % 8:
            raise ValueError(f"input_size must be a multiple of 8 and at least 16, got {self.input_size}")
        if self.channels not in (1, 3):
            raise ValueError(f"channels must be 1 or 3, got {self.channels}")
        if self.arch not in ARCHS:
            raise ValueError(f"arch must be one of {', '.join(ARCHS)}, got {self.arch!r}")

    @classmethod
    def from_dict(cls, d: dict) -> "ClassifierConfig":
        unknown = set(d) - {f.name for f in fields(cls)}
        if unknown:
            raise ValueError(f"unknown classifier settings: {', '.join(sorted(unknown))}")
        return cls(**d)


def _stage(cin: int, cout: int) -> list[nn.Module]:
    layers: list[nn.Module] = []
    for c in (cin, cout):
        layers += [nn.Conv2d(c, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]
    return layers


class _Residual(nn.Module):
    """conv-BN-ReLU-conv-BN plus a (projected where the shape changes) shortcut, then ReLU."""

    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.main = nn.Sequential(
            nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
            nn.Conv2d(cout, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout),
        )
        self.skip = (nn.Identity() if stride == 1 and cin == cout
                     else nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.main(x) + self.skip(x))


def _vgg_body(channels: int, widths: list[int]) -> list[nn.Module]:
    layers: list[nn.Module] = []
    for i, c in enumerate(widths):
        layers += _stage(channels, c)
        if i < len(widths) - 1:
            layers.append(nn.MaxPool2d(2))
        channels = c
    return layers


def _resnet_body(channels: int, widths: list[int]) -> list[nn.Module]:
    layers: list[nn.Module] = [nn.Conv2d(channels, widths[0], 3, 1, 1, bias=False), nn.BatchNorm2d(widths[0]), nn.ReLU(inplace=True)]
    for i, c in enumerate(widths):
        layers.append(_Residual(widths[max(0, i - 1)], c, 1 if i == 0 else 2))
    return layers


ARCHS = {"vgg": _vgg_body, "resnet": _resnet_body}


class EmotionClassifier(nn.Module):
    """Emotion classifier; ``features(x)`` are the penultimate activations, ``forward(x)`` the logits."""

    def __init__(self, cfg: ClassifierConfig = ClassifierConfig(), meta: dict | None = None) -> None:
        super().__init__()
        self.cfg = cfg
        self.meta = meta or {}
        w = cfg.width
        widths = [w, 2 * w, 4 * w, 8 * w]
        cin = widths[-1]
        self.body = nn.Sequential(*ARCHS[cfg.arch](cfg.channels, widths), nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.neck = nn.Sequential(
            nn.Dropout(cfg.dropout), nn.Linear(cin, cfg.feature_dim), nn.BatchNorm1d(cfg.feature_dim), nn.ReLU(inplace=True)
        )
        self.head = nn.Sequential(nn.Dropout(cfg.dropout), nn.Linear(cfg.feature_dim, N_EMOTIONS))

    def adapt(self, x: torch.Tensor) -> torch.Tensor:
        """Images in [-1, 1] of any size and 1 or 3 channels -> this network's input."""
        return adapt_images(x, self.cfg.input_size, self.cfg.channels)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.neck(self.body(self.adapt(x)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


# --------------------------------------------------------------------------- weights
def save_classifier(path: str | os.PathLike, model: EmotionClassifier, meta: dict) -> Path:
    """Write weights + JSON metadata atomically as safetensors."""
    meta = dict(meta, format_version=FORMAT_VERSION, architecture=asdict(model.cfg), emotions=list(EMOTIONS))
    return write_safetensors(path, model.state_dict(), meta, key=META_KEY)


def load_classifier(path: str | os.PathLike, device: str | torch.device = "cpu") -> EmotionClassifier:
    """Load weights saved by :func:`save_classifier` (eval mode, no gradients); one-line errors, no unpickling."""
    path = Path(path)
    meta, tensors = read_safetensors(path, key=META_KEY, what="an emotion classifier")
    try:
        if meta.get("emotions") != list(EMOTIONS):
            raise ValueError(f"emotions {meta.get('emotions')} differ from {list(EMOTIONS)}")
        model = EmotionClassifier(ClassifierConfig.from_dict(meta["architecture"]), meta)
        model.load_state_dict(tensors)
    except (KeyError, TypeError, ValueError, RuntimeError) as e:
        raise CheckpointError(f"{path.name}: bad classifier weights or metadata: {str(e).splitlines()[0]}") from None
    return model.to(device).eval().requires_grad_(False)


# --------------------------------------------------------------------------- training
@torch.no_grad()
def predict(model: EmotionClassifier, x: torch.Tensor, batch_size: int = 512, flip: bool = False) -> torch.Tensor:
    """Softmax probabilities ``[N, 7]`` of images ``x`` in [-1, 1] (eval mode restored afterwards).
    ``flip`` averages them with those of the mirrored images (test-time augmentation)."""
    was = model.training
    model.eval()

    def probs(b: torch.Tensor) -> torch.Tensor:
        p = F.softmax(model(b).float(), -1)
        return (p + F.softmax(model(b.flip(-1)).float(), -1)) / 2 if flip else p

    out = torch.cat([probs(x[i:i + batch_size]) for i in range(0, len(x), batch_size)])
    model.train(was)
    return out


# --------------------------------------------------------------------------- the editor's readout
HINT_BELOW = 0.4
"""Below this probability of the target emotion after an edit, the readout adds a hint."""
FULL_INTENSITY = 0.995
"""A point at least this intense (the slider's 100 %) lies at the edge of its space: no point lies further out."""


def probabilities(row: torch.Tensor) -> dict[str, float]:
    """One softmax row -> {emotion: probability}."""
    return {e: round(float(p), 4) for e, p in zip(EMOTIONS, row.tolist())}


@dataclass(frozen=True)
class Reading:
    """What the classifier reads on one aligned face before and after an edit."""

    before: dict[str, float]
    after: dict[str, float]

    def top(self, which: str = "after") -> tuple[str, float]:
        probs = getattr(self, which)
        name = max(probs, key=probs.get)
        return name, probs[name]

    def hint(self, target: str, edge: bool = False) -> str | None:
        """A plain sentence when the edit does not read as ``target``; None when it does. ``edge``: the
        point is already at the edge of the space (full intensity), so no point lies further out."""
        p = self.after[target]
        if p >= HINT_BELOW:
            return None
        name, q = self.top()
        advice = "the point is at full intensity already: try another face" if edge else \
            "try a point further out, or another face"
        return f"the classifier reads this edit as {name} ({q:.0%}) and {target} at only {p:.0%}: {advice}"

    def describe(self) -> str:
        """One line: the top three emotions before and after."""
        def top3(probs: dict[str, float]) -> str:
            return ", ".join(f"{e} {p:.0%}" for e, p in sorted(probs.items(), key=lambda kv: -kv[1])[:3])

        return f"before: {top3(self.before)} | after: {top3(self.after)}"
