"""Batched on-device augmentation: one affine ``grid_sample`` per batch.

Flip, rotation, translation and zoom are composed into one 2x3 matrix per image, and the same
bilinear resampling resizes the stored images (48 px for FER2013) to the model's ``image_size``.
Without augmentation (sample grids, evaluation) :func:`ganmut.images.to_model_input` does the
conversion and resize.
The output is float in [-1, 1]. All randomness comes from the caller's ``torch.Generator``.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from .config import AugmentConfig
from ganmut.images import to_model_input


def affine_matrices(n: int, cfg: AugmentConfig, gen: torch.Generator, device) -> torch.Tensor:
    """Random ``[n, 2, 3]`` matrices mapping output to input coordinates (``affine_grid`` convention)."""
    def u(low: float, high: float) -> torch.Tensor:
        return torch.rand(n, generator=gen, device=device) * (high - low) + low

    angle = u(-1, 1) * math.radians(cfg.rotate_deg)
    scale = 1 / u(cfg.zoom_min, cfg.zoom_max)  # zoom > 1 samples a smaller region: crops in
    flip = torch.where(u(0, 1) < 0.5, -1.0, 1.0) if cfg.flip else torch.ones(n, device=device)
    tx, ty = u(-1, 1) * 2 * cfg.translate, u(-1, 1) * 2 * cfg.translate  # normalised coords span 2
    cos, sin = torch.cos(angle) * scale, torch.sin(angle) * scale
    return torch.stack([
        torch.stack([cos * flip, -sin, tx], -1),
        torch.stack([sin * flip, cos, ty], -1),
    ], 1)


def warp(x: torch.Tensor, theta: torch.Tensor, size: int) -> torch.Tensor:
    """Resample float images ``x`` with matrices ``theta`` to ``size`` x ``size`` (bilinear, border padding)."""
    grid = F.affine_grid(theta.to(x.dtype), [x.size(0), x.size(1), size, size], align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)


def augment(x: torch.Tensor, size: int, channels: int, cfg: AugmentConfig, gen: torch.Generator) -> torch.Tensor:
    """Augment a uint8 batch and return it in [-1, 1] at ``size`` px with ``channels`` channels."""
    return warp(to_model_input(x, channels=channels), affine_matrices(x.size(0), cfg, gen, x.device), size)
