"""How a generator's output is applied to a photo at the photo's own resolution.

The one place that knows what a face's edit is once it leaves the network: the editor (click, drag,
match, neutral, gamut sheet, animation) and the video path hand every face's edit here, apart from the
generator that predicts it (:mod:`ganmut.generator`, :mod:`ganmut.motion`) and from the editor that
caches faces (:mod:`ganmut.editor`). Two kinds of edit, as the generator's ``output`` says:

- :class:`ResidualEdit`: a change in crop space, added to the photo along a
  :class:`~ganmut.align.PastePlan` (:func:`~ganmut.align.apply_paste`); a grey residual is added to R, G
  and B alike and is as sharp as the crop;
- :class:`WarpEdit`: a :class:`~ganmut.motion.Motion` moved to the photo. Every photo pixel ``p`` the
  crop covers is mapped to crop coordinates through the alignment ``M``; the coarse flow, the gain and
  the mouth's opacity are interpolated there; the photo is resampled (bicubic) at
  ``p + A^-1 flow * size`` (``A`` the alignment's linear part), so the face keeps the photo's own detail
  and colour at any resolution; the gain multiplies R, G and B together (the hue is kept); the mouth's
  new pixels take the luminance of the generator's content, the colour of the warped photo around them
  (averaged over a crop pixel) and the photo's grain (:func:`hue`, :func:`grain`). All three fade out over the crop's feathered border, a displacement that would read
  outside the photo reads its border, and every pixel outside the feathered crop is bit-identical to
  the input.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from .align import PastePlan, apply_paste, invert_affine, paste_plan, paste_region
from .motion import FLOW_LIMIT, Motion, unfold

ALPHA_FLOOR = 0.01
"""Mouth opacities below this are not applied: a warp head's opacity is a sigmoid, never exactly 0."""
LUMA = (0.299, 0.587, 0.114)


@dataclass(frozen=True)
class ResidualEdit:
    """``residual`` ``[S, S, C]`` (C = 1: a luminance change) in the photo's units."""

    residual: np.ndarray

    def nbytes(self) -> int:
        return self.residual.nbytes


@dataclass(frozen=True)
class WarpEdit:
    """One face's :class:`~ganmut.motion.Motion` as arrays: ``flow`` ``[2, g, g]`` in fractions of the crop's
    side, ``log_gain`` ``[k, k]``, ``alpha`` ``[S, S]`` and ``content`` ``[S, S]`` (intensity in [0, 1])."""

    flow: np.ndarray
    log_gain: np.ndarray
    alpha: np.ndarray
    content: np.ndarray

    def nbytes(self) -> int:
        return self.flow.nbytes + self.log_gain.nbytes + self.alpha.nbytes + self.content.nbytes


Edit = ResidualEdit | WarpEdit


def reach(m: np.ndarray, size: int) -> int:
    """The farthest, in photo pixels, that a warp of a ``size`` crop aligned by ``m`` may read from a pixel it
    changes (the largest flow, and the bicubic kernel's two pixels)."""
    scale = float(np.sqrt(abs(np.linalg.det(np.asarray(m, dtype=np.float64)[:, :2]))))
    return int(np.ceil(FLOW_LIMIT * size / scale)) + 3


def warp_edits(motion: Motion) -> list[WarpEdit]:
    """The :class:`WarpEdit` of each face of a batch's motion (grey content: its channels averaged), each flow
    unfolded (:func:`ganmut.motion.unfold`): an edit never folds the face over itself."""
    m = motion.detach()
    flow, gain = unfold(m.flow.float()).cpu().numpy(), m.log_gain.float().cpu().numpy()
    alpha = m.alpha.float().cpu().numpy()
    content = ((m.content.float().mean(1) + 1) / 2).cpu().numpy()
    return [WarpEdit(flow[i], gain[i, 0], alpha[i, 0], content[i]) for i in range(len(flow))]


def apply(pixels: np.ndarray, edit: Edit, m: np.ndarray, size: int, mask: np.ndarray,
          plan: PastePlan | None = None) -> np.ndarray:
    """``pixels`` (an integer ``[H, W, C]`` photo) with one face's ``edit`` applied; ``m`` maps the photo to the
    face's ``size`` crop and ``mask`` ``[S, S]`` feathers the crop's border. ``plan`` (a residual edit's paste
    plan, when the caller keeps one) saves recomputing it. Returns a new array of the same dtype."""
    if isinstance(edit, ResidualEdit):
        return apply_paste(pixels, edit.residual, mask, plan or paste_plan(pixels.shape, m, size))
    return apply_warp(pixels, edit, m, size, mask)


def hue(image: torch.Tensor, cell: int) -> torch.Tensor:
    """``[C, h, w]``: each channel over the luminance of ``image`` ``[C, h, w]``, averaged over ``cell`` x ``cell``
    blocks and interpolated back: the local colour of the photo without its pixel noise (1 for grey)."""
    if image.shape[0] == 1:
        return torch.ones_like(image)
    small = F.avg_pool2d(image[None], cell, cell, ceil_mode=True) if cell > 1 else image[None]
    luma = sum(c * k for k, c in zip(LUMA, small[0]))
    ratio = small / luma.clamp_min(1.0)
    return F.interpolate(ratio, size=image.shape[1:], mode="bilinear", align_corners=False)[0]


def grain(photo: torch.Tensor, box: tuple[int, int, int, int]) -> torch.Tensor:
    """``[C, h, w]`` noise for new pixels in ``box`` (its size) with the fine grain of ``photo`` ``[C, H, W]``
    around it: the standard deviation of the photo's detail finer than 3 pixels (its difference from a 3x3
    mean), the same in every channel. Seeded by the box, so the same edit always gets the same grain."""
    h, w = photo.shape[1:]
    y, x = max(0, h // 2 - 256), max(0, w // 2 - 256)
    middle = photo[:, y:y + 512, x:x + 512]  # the grain of the face's middle: enough to measure, cheap on 48 MP
    detail = middle - F.avg_pool2d(middle[None], 3, 1, 1, count_include_pad=False)[0]
    std = float(detail.std())
    x0, y0, x1, y1 = box
    gen = torch.Generator().manual_seed(hash(box) & 0x7FFFFFFF)
    return torch.randn((1, y1 - y0, x1 - x0), generator=gen) * std


def _sample(field: np.ndarray, grid: torch.Tensor, padding: str) -> torch.Tensor:
    """A ``[C, g, g]`` (or ``[g, g]``) crop-space field at grid_sample positions ``grid`` ``[1, h, w, 2]``: ``[C, h, w]``."""
    t = torch.from_numpy(np.ascontiguousarray(field, dtype=np.float32))
    t = t[None, None] if t.ndim == 2 else t[None]
    return F.grid_sample(t, grid, mode="bilinear", padding_mode=padding, align_corners=False)[0]


@torch.inference_mode()
def apply_warp(pixels: np.ndarray, edit: WarpEdit, m: np.ndarray, size: int, mask: np.ndarray) -> np.ndarray:
    """A :class:`WarpEdit` applied to the photo at its own resolution (see the module docs)."""
    if pixels.ndim != 3 or not np.issubdtype(pixels.dtype, np.integer):
        raise ValueError(f"expected an integer [H, W, C] photo, got {pixels.dtype} {pixels.shape}")
    out = pixels.copy()
    x0, y0, x1, y1 = paste_region(pixels.shape, m, size)
    if x1 <= x0 or y1 <= y0:
        return out
    m = np.asarray(m, dtype=np.float64)
    xs = torch.arange(x0, x1, dtype=torch.float64) + 0.5  # pixel centres
    ys = torch.arange(y0, y1, dtype=torch.float64) + 0.5
    k = 2.0 / size  # crop pixels -> grid_sample's [-1, 1]
    gx = ((m[0, 0] * k) * xs + (m[0, 2] * k - 1)).float()[None, :] + ((m[0, 1] * k) * ys).float()[:, None]
    gy = ((m[1, 0] * k) * xs + (m[1, 2] * k - 1)).float()[None, :] + ((m[1, 1] * k) * ys).float()[:, None]
    grid = torch.stack([gx, gy], -1)[None]
    feather = _sample(mask, grid, "zeros")[0]
    flow = _sample(edit.flow, grid, "border") * (feather * size)  # crop pixels
    gain = torch.exp(_sample(edit.log_gain, grid, "border")[0] * feather)
    alpha = _sample(edit.alpha, grid, "zeros")[0] * feather
    alpha = torch.where(alpha < ALPHA_FLOOR, 0.0, alpha)
    a_inv = invert_affine(m)[:, :2]  # crop displacement -> photo displacement
    dx = flow[0] * float(a_inv[0, 0]) + flow[1] * float(a_inv[0, 1])
    dy = flow[0] * float(a_inv[1, 0]) + flow[1] * float(a_inv[1, 1])
    h, w = pixels.shape[:2]
    r = int(np.ceil(max(float(dx.abs().max()), float(dy.abs().max())))) + 3  # bicubic reads 2 pixels further
    rx0, ry0, rx1, ry1 = max(0, x0 - r), max(0, y0 - r), min(w, x1 + r), min(h, y1 + r)
    src = torch.from_numpy(pixels[ry0:ry1, rx0:rx1].astype(np.float32)).permute(2, 0, 1)[None]
    px = (xs - rx0).float()[None, :] + dx  # source positions in the read region's pixels
    py = (ys - ry0).float()[:, None] + dy
    at = torch.stack([px * (2.0 / (rx1 - rx0)) - 1, py * (2.0 / (ry1 - ry0)) - 1], -1)[None]
    new = F.grid_sample(src, at, mode="bicubic", padding_mode="border", align_corners=False)[0]
    new *= gain
    if bool((alpha > 0).any()):
        top = float(np.iinfo(pixels.dtype).max)
        content = _sample(edit.content, grid, "border")[0] * top
        cell = max(1, round(1 / float(np.sqrt(abs(np.linalg.det(m[:, :2]))))))  # photo pixels a crop pixel
        painted = content * hue(new, cell)  # the content's luminance, the warped photo's colour around it
        painted = painted + grain(src[0], (x0, y0, x1, y1))  # as grainy as the photo: a smooth patch reads as painted
        new = torch.lerp(new, painted, alpha)
    info = np.iinfo(pixels.dtype)
    new = new.round_().clamp_(info.min, info.max).permute(1, 2, 0).numpy().astype(pixels.dtype)
    moved = (feather > 0) & ((dx != 0) | (dy != 0) | (gain != 1) | (alpha > 0))  # a still pixel stays bit-identical
    np.copyto(out[y0:y1, x0:x1], new, where=moved.numpy()[..., None])
    return out
