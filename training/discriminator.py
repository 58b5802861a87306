"""The StarGAN discriminator with GANmut's heads.

A trunk of stride-2 4x4 convolutions with LeakyReLU(0.01) (no normalisation, as in StarGAN; spectral
norm optional) halves the image until it is 2 or 3 pixels wide, then three heads read it:

- ``src``: a 3x3 conv PatchGAN map of real/fake scores, ``[B, 1, k, k]``;
- ``cls``: a k x k conv giving the 7 emotion logits, ``[B, 7]``;
- ``coor``: a k x k conv regressing the conditional code, ``[B, code_dim]`` (GANmut and GGANmut;
  absent when ``code_dim`` is 0, as for the StarGAN baseline, and then returned as ``None``).

D holds no batch-dependent layer, so scoring a concatenation of batches equals scoring each batch.
"""
from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn

from ganmut.emotions import N_EMOTIONS
from ganmut.spaces import SPACES

from .config import DiscriminatorConfig, TrainConfig


class DOut(NamedTuple):
    src: torch.Tensor
    cls: torch.Tensor
    coor: torch.Tensor | None


def trunk_depth(image_size: int) -> int:
    """Number of stride-2 convs: the most that leave a map of at least 2 pixels (6 at 128 px, 5 at 64)."""
    depth = 0
    while image_size % 2 == 0 and image_size // 2 >= 2:
        image_size //= 2
        depth += 1
    return depth


class Discriminator(nn.Module):
    def __init__(self, image_size: int, channels: int, code_dim: int, cfg: DiscriminatorConfig = DiscriminatorConfig()) -> None:
        super().__init__()
        depth = trunk_depth(image_size)
        wrap = nn.utils.parametrizations.spectral_norm if cfg.norm == "spectral" else (lambda m: m)
        layers: list[nn.Module] = []
        cin, cout = channels, cfg.conv_dim
        for _ in range(depth):
            layers += [wrap(nn.Conv2d(cin, cout, 4, 2, 1)), nn.LeakyReLU(0.01)]
            cin, cout = cout, min(cout * 2, cfg.max_channels)
        self.main = nn.Sequential(*layers)
        k = image_size >> depth
        self.src = wrap(nn.Conv2d(cin, 1, 3, 1, 1, bias=False))
        self.cls = wrap(nn.Conv2d(cin, N_EMOTIONS, k, bias=False))
        self.coor = wrap(nn.Conv2d(cin, code_dim, k, bias=False)) if code_dim else None

    def forward(self, x: torch.Tensor) -> DOut:
        h = self.main(x)
        coor = self.coor(h).flatten(1) if self.coor is not None else None
        return DOut(self.src(h), self.cls(h).flatten(1), coor)


def discriminator(cfg: TrainConfig) -> Discriminator:
    """A fresh discriminator for ``cfg`` (a StarGAN baseline's has no coordinate head)."""
    g = cfg.generator_config()
    return Discriminator(g.image_size, g.channels, g.code_dim if SPACES[cfg.kind].continuous else 0, cfg.discriminator)
