"""The warp output of the generator: how a face is edited by moving its own pixels.

A :class:`Motion` is what a ``output="warp"`` generator predicts for one aligned crop, in crop
coordinates and independent of the crop's resolution:

- ``flow``: a displacement field ``[B, 2, g, g]`` (x then y), in fractions of the crop's side, on a
  coarse grid (``g`` = :attr:`GeneratorConfig.flow_grid`): the edited face at ``p`` shows the input
  at ``p + flow(p)`` (a backward warp). It is bounded by :data:`FLOW_LIMIT` and, being coarse and
  interpolated, smooth: it moves the pixels of a 12-megapixel photo as well as those of the crop;
- ``log_gain``: a multiplicative luminance ratio ``[B, 1, k, k]`` on an even coarser grid (an expression
  ratio image, Liu, Shan and Zhang 2001): R, G and B scale together, so shading keeps the skin's hue.
  ``|log gain| <= GAIN_LIMIT``;
- ``alpha`` and ``content``: new pixels ``[B, C, S, S]`` where the warp cannot supply them (the inside
  of an opening mouth), composited with opacity ``alpha`` ``[B, 1, S, S]``. ``alpha`` is confined to a
  hard region of the aligned template around the mouth (:func:`mouth_region`), so it cannot spread
  over the face, whatever training does.

All zero (zero flow, unit gain, zero alpha) is the identity: a generator whose warp head starts at
zero returns its input unchanged. :func:`render` composes the parts in crop space (differentiable, for
training and for the crop preview); :mod:`ganmut.compose` applies the same motion to a photo at its
own resolution.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .align import FER2013_TEMPLATE

FLOW_LIMIT = 0.08
"""The largest displacement, as a fraction of the crop's side."""
GAIN_LIMIT = 0.4
"""The largest ``|log gain|``: shading scales a pixel by 0.67 to 1.49."""
ALPHA_BIAS = -5.0
"""The mouth opacity's initial logit: sigmoid(-5) = 0.007, barely alive, so the mouth is learned late."""
MOUTH_CENTRE = ((FER2013_TEMPLATE[3] + FER2013_TEMPLATE[4]) / 2).tolist()
"""Centre of the template's mouth (the midpoint of its corners), in fractions of the crop."""
MOUTH_RADII = (0.26, 0.15)
"""Half-width and half-height of the mouth region, in fractions of the crop: FER2013's crops are centred
only to about 0.1 of the side, so the region is generous below the nose and stops short of it."""
CHANNELS = 2 + 1 + 1  # flow, log gain, alpha logit (the content's channels come on top)


@dataclass
class Motion:
    """A warp generator's output for a batch of crops (see the module docs); every field is a tensor."""

    flow: torch.Tensor  # [B, 2, g, g], fractions of the side
    log_gain: torch.Tensor  # [B, 1, k, k]
    alpha: torch.Tensor  # [B, 1, S, S] in [0, 1], zero outside the mouth region
    content: torch.Tensor  # [B, C, S, S] in [-1, 1]

    def detach(self) -> "Motion":
        return Motion(self.flow.detach(), self.log_gain.detach(), self.alpha.detach(), self.content.detach())

    def __getitem__(self, index) -> "Motion":
        return Motion(self.flow[index], self.log_gain[index], self.alpha[index], self.content[index])


def mouth_region(size: int, device=None, dtype=torch.float32) -> torch.Tensor:
    """``[1, 1, size, size]`` in [0, 1]: 1 inside the template's mouth ellipse, falling smoothly to 0 over
    its outer fifth; the only place a warp generator may paint."""
    c = (torch.arange(size, device=device, dtype=torch.float32) + 0.5) / size
    ys, xs = torch.meshgrid(c, c, indexing="ij")
    r = torch.sqrt(((xs - MOUTH_CENTRE[0]) / MOUTH_RADII[0]) ** 2 + ((ys - MOUTH_CENTRE[1]) / MOUTH_RADII[1]) ** 2)
    t = ((1.0 - r) / 0.2).clamp(0, 1)
    return (t * t * (3 - 2 * t)).to(dtype)[None, None]


def from_head(h: torch.Tensor, flow_grid: int, gain_grid: int, region: torch.Tensor) -> Motion:
    """The :class:`Motion` of a warp head's raw output ``h`` ``[B, 4 + C, S, S]``: the flow and the gain are
    averaged onto their grids and bounded by tanh, the opacity is a sigmoid confined to ``region``."""
    flow = FLOW_LIMIT * torch.tanh(F.adaptive_avg_pool2d(h[:, :2].float(), flow_grid))
    log_gain = GAIN_LIMIT * torch.tanh(F.adaptive_avg_pool2d(h[:, 2:3].float(), gain_grid))
    alpha = torch.sigmoid(h[:, 3:4].float() + ALPHA_BIAS) * region
    return Motion(flow, log_gain, alpha, torch.tanh(h[:, 4:].float()))


def upsample(field: torch.Tensor, size: int) -> torch.Tensor:
    """A coarse grid ``[B, C, g, g]`` interpolated to ``[B, C, size, size]`` (bilinear, cell centres aligned)."""
    if field.shape[-1] == size:
        return field
    return F.interpolate(field, size=(size, size), mode="bilinear", align_corners=False)


def identity_grid(size: int, device=None, dtype=torch.float32) -> torch.Tensor:
    """``[1, size, size, 2]``: the pixel centres of a ``size`` crop in grid_sample's coordinates (x, y in [-1, 1])."""
    c = (torch.arange(size, device=device, dtype=dtype) + 0.5) / size * 2 - 1
    ys, xs = torch.meshgrid(c, c, indexing="ij")
    return torch.stack([xs, ys], -1)[None]


def warp(x: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
    """``x`` ``[B, C, S, S]`` sampled at ``p + flow(p)`` (bilinear, the border replicated)."""
    size = x.shape[-1]
    d = upsample(flow, size).permute(0, 2, 3, 1) * 2  # fractions of the side -> grid units
    grid = identity_grid(size, x.device, d.dtype) + d
    return F.grid_sample(x.float(), grid, mode="bilinear", padding_mode="border", align_corners=False)


def render(x: torch.Tensor, motion: Motion, gain: bool = True, mouth: bool = True) -> torch.Tensor:
    """The edited crops ``[B, C, S, S]`` in [-1, 1] of crops ``x`` in [-1, 1]: warped, shaded by the gain, and
    with the new content composited where ``alpha`` allows. ``gain=False`` / ``mouth=False`` leave a part out
    (the warp-only image that training also asks to carry the expression)."""
    size = x.shape[-1]
    out = (warp(x, motion.flow) + 1) / 2  # intensities in [0, 1]: the gain is a ratio of them
    if gain:
        out = (out * torch.exp(upsample(motion.log_gain, size))).clamp(0, 1)
    if mouth:
        out = torch.lerp(out, (motion.content + 1) / 2, motion.alpha)
    return (out * 2 - 1).to(x.dtype)


def jacobian_det(flow: torch.Tensor) -> torch.Tensor:
    """``[B, g - 1, g - 1]``: the determinant of the Jacobian of ``p -> p + flow(p)`` on the flow's grid
    (forward differences, both sides in the same unit). At most 0 where the warp folds the face over itself."""
    g = flow.shape[-1]
    dx = (flow[..., :-1, 1:] - flow[..., :-1, :-1]) * g  # d(flow)/dx, flow in fractions, x in cells -> fractions
    dy = (flow[..., 1:, :-1] - flow[..., :-1, :-1]) * g
    return (1 + dx[:, 0]) * (1 + dy[:, 1]) - dx[:, 1] * dy[:, 0]


FOLD_MARGIN = 0.1
"""The least area ratio (det J) a served warp may leave anywhere: :func:`unfold` scales a flow to keep it."""


def unfold(flow: torch.Tensor, margin: float = FOLD_MARGIN, steps: int = 12) -> torch.Tensor:
    """Each flow of a batch ``[B, 2, g, g]`` scaled down, as little as needed (bisection on the scale), so that its
    warp nowhere folds or crushes a region below ``margin`` of its area (``det J >= margin``); a flow that already
    does not is returned unchanged. Training prices folds (:func:`training.losses.fold_loss`); this guarantees
    that an edit never shows one."""
    out = flow.clone()
    for i in range(len(flow)):
        if float(jacobian_det(flow[i:i + 1]).min()) >= margin:
            continue
        lo, hi = 0.0, 1.0  # det J at scale 0 is 1 everywhere
        for _ in range(steps):
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if float(jacobian_det(flow[i:i + 1] * mid).min()) >= margin else (lo, mid)
        out[i] = flow[i] * lo
    return out
