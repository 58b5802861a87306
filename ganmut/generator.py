"""The StarGAN generator of the paper, with the conditional code tiled as input channels.

Options beyond the paper's backbone (each recorded in the model metadata):

- ``upsample="resize"`` (nearest resize then 3x3 conv) avoids the checkerboard artefacts of the
  paper's ``"transposed"`` convolutions;
- ``output="attention"`` predicts a colour image C and a mask A as in GANimation and returns
  ``A * x + (1 - A) * C``, which keeps the identity of the input where nothing needs to change
  (in short CPU training runs the mask saturated to 1, i.e. G collapsed to the identity, so the
  served configs do not use it; ``"direct"``, the paper's plain tanh output, is the default);
- ``output="residual"`` adds the network's output to the input before the tanh,
  ``tanh(atanh(x) + h)``: G starts as the identity and only learns the change, which may keep
  identity better. It is smooth and bounded (no clamp with dead gradients). At a photo's
  resolution it is a grey residual upsampled from the crop, so its edits look painted;
- ``output="warp"`` moves the input's own pixels: a bounded coarse displacement field
  (``flow_grid`` cells a side), a coarser multiplicative luminance gain (``gain_grid``) and new
  content only inside the template's mouth region (:mod:`ganmut.motion`). Its head starts at zero,
  so G starts as the identity, and the same motion applies to a photo at any resolution
  (:mod:`ganmut.compose`).

InstanceNorm never keeps running statistics, so train and eval modes agree and a face's edit
never depends on the other images in its batch.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields

import torch
from torch import nn

from . import motion as M


OUTPUTS = ("direct", "attention", "residual", "warp")
RESIDUAL_EDGE = 0.999
"""Inputs are clipped to +-this before ``atanh`` in the residual output (atanh(+-1) is infinite)."""


@dataclass(frozen=True)
class GeneratorConfig:
    """Architecture of a generator; stored in every checkpoint's metadata."""

    image_size: int = 64
    channels: int = 1
    code_dim: int = 2
    conv_dim: int = 64
    n_res: int = 6
    upsample: str = "resize"  # "resize" | "transposed"
    output: str = "direct"  # "direct" | "attention" | "residual" | "warp"
    flow_grid: int = 12  # warp output: cells a side of the displacement field
    gain_grid: int = 12  # warp output: cells a side of the luminance gain

    def __post_init__(self) -> None:
        if self.upsample not in ("resize", "transposed"):
            raise ValueError(f"upsample must be 'resize' or 'transposed', got {self.upsample!r}")
        if self.output not in OUTPUTS:
            raise ValueError(f"output must be one of {', '.join(OUTPUTS)}, got {self.output!r}")
        if self.image_size % 4 or self.image_size < 16:
            raise ValueError(f"image_size must be a multiple of 4 and at least 16, got {self.image_size}")
        if self.channels not in (1, 3):
            raise ValueError(f"channels must be 1 or 3, got {self.channels}")
        if not (2 <= self.flow_grid <= self.image_size and 1 <= self.gain_grid <= self.image_size):
            raise ValueError(f"flow_grid must be in 2..{self.image_size} and gain_grid in 1..{self.image_size}, "
                             f"got {self.flow_grid} and {self.gain_grid}")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "GeneratorConfig":
        names = {f.name for f in fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise ValueError(f"unknown generator settings: {', '.join(sorted(unknown))}")
        return cls(**d)


def _norm(ch: int) -> nn.InstanceNorm2d:
    return nn.InstanceNorm2d(ch, affine=True, track_running_stats=False)


class ResidualBlock(nn.Module):
    def __init__(self, ch: int) -> None:
        super().__init__()
        self.main = nn.Sequential(
            nn.Conv2d(ch, ch, 3, 1, 1, bias=False), _norm(ch), nn.ReLU(inplace=True),
            nn.Conv2d(ch, ch, 3, 1, 1, bias=False), _norm(ch),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.main(x)


class NearestUp2(nn.Module):
    """2x nearest-neighbour upsampling as a broadcast copy (about 3x faster than nn.Upsample on CPU)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        return x[:, :, :, None, :, None].expand(b, c, h, 2, w, 2).reshape(b, c, 2 * h, 2 * w)


def _up(cin: int, cout: int, mode: str) -> list[nn.Module]:
    if mode == "transposed":
        conv: list[nn.Module] = [nn.ConvTranspose2d(cin, cout, 4, 2, 1, bias=False)]
    else:
        conv = [NearestUp2(), nn.Conv2d(cin, cout, 3, 1, 1, bias=False)]
    return conv + [_norm(cout), nn.ReLU(inplace=True)]


class Generator(nn.Module):
    """G(x, z): x in [-1, 1] with ``channels`` channels, z of ``code_dim`` numbers per image."""

    def __init__(self, cfg: GeneratorConfig = GeneratorConfig()) -> None:
        super().__init__()
        self.cfg = cfg
        c = cfg.conv_dim
        layers: list[nn.Module] = [
            nn.Conv2d(cfg.channels + cfg.code_dim, c, 7, 1, 3, bias=False), _norm(c), nn.ReLU(inplace=True),
        ]
        for _ in range(2):
            layers += [nn.Conv2d(c, c * 2, 4, 2, 1, bias=False), _norm(c * 2), nn.ReLU(inplace=True)]
            c *= 2
        layers += [ResidualBlock(c) for _ in range(cfg.n_res)]
        for _ in range(2):
            layers += _up(c, c // 2, cfg.upsample)
            c //= 2
        self.body = nn.Sequential(*layers)
        if cfg.output == "warp":
            self.head = nn.Conv2d(c, M.CHANNELS + cfg.channels, 7, 1, 3, bias=False)
            nn.init.zeros_(self.head.weight)  # zero flow, unit gain, no mouth: G starts as the identity
            self.register_buffer("region", M.mouth_region(cfg.image_size), persistent=False)
        else:
            extra = 1 if cfg.output == "attention" else 0
            self.head = nn.Conv2d(c, cfg.channels + extra, 7, 1, 3, bias=False)

    def motion(self, x: torch.Tensor, z: torch.Tensor) -> M.Motion:
        """The :class:`~ganmut.motion.Motion` a warp generator predicts for crops ``x`` at codes ``z``."""
        if self.cfg.output != "warp":
            raise ValueError(f"a generator with output {self.cfg.output!r} predicts no motion")
        return M.from_head(self._head(x, z), self.cfg.flow_grid, self.cfg.gain_grid, self.region)

    def _head(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        z = z.to(x.dtype).view(z.size(0), -1, 1, 1).expand(-1, -1, x.size(2), x.size(3))
        return self.head(self.body(torch.cat([x, z], dim=1)))

    def forward(self, x: torch.Tensor, z: torch.Tensor, return_aux: bool = False):
        """The edited images; with ``return_aux`` also what training regularises: the attention mask A (so that
        it does not saturate to 1, G = identity), the warp output's :class:`~ganmut.motion.Motion`, or None."""
        if self.cfg.output == "warp":
            motion = self.motion(x, z)
            out = M.render(x, motion)
            return (out, motion) if return_aux else out
        h = self._head(x, z)
        if self.cfg.output == "direct":
            out, mask = torch.tanh(h), None
        elif self.cfg.output == "residual":
            out, mask = torch.tanh(torch.atanh(x.clamp(-RESIDUAL_EDGE, RESIDUAL_EDGE)) + h), None
        else:
            color, mask = torch.tanh(h[:, :-1]), torch.sigmoid(h[:, -1:])
            out = mask * x + (1 - mask) * color
        return (out, mask) if return_aux else out
