"""The pure math of the conditional spaces (:mod:`ganmut.spaces`): polar coordinates, the Gaussian modes'
covariances and label distributions, the linear space's distribution, the point of a reading, and the tints
and ellipses a drawing of a space shows. Tests check each against hand-computed values."""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import torch

from .emotions import COLORS, N_EMOTIONS, NEUTRAL

def polar_to_xy(theta: torch.Tensor | float, rho: torch.Tensor | float) -> torch.Tensor:
    """(theta, rho) -> (x, y), theta in radians from the +x axis, counter-clockwise."""
    theta = torch.as_tensor(theta, dtype=torch.float32)
    rho = torch.as_tensor(rho, dtype=torch.float32)
    return torch.stack([rho * torch.cos(theta), rho * torch.sin(theta)], dim=-1)


def xy_to_polar(z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(x, y) -> (theta in [0, 2 pi), rho)."""
    z = torch.as_tensor(z, dtype=torch.float32)
    theta = torch.remainder(torch.atan2(z[..., 1], z[..., 0]), 2 * math.pi)
    return theta, torch.linalg.vector_norm(z, dim=-1)


def unit_directions(weight: torch.Tensor) -> torch.Tensor:
    """L2-normalise each row: the learned emotion directions v_c of GANmut."""
    return weight / torch.linalg.vector_norm(weight, dim=-1, keepdim=True).clamp_min(1e-12)


AXIS_MIN = 1e-3
"""Smallest covariance eigenvalue: keeps Sigma invertible if training shrinks an axis to zero."""
MODE_LIMIT = 0.97
"""How far into the square :meth:`GaussianSpace.place_anchors` puts a mode: tanh still moves it there."""


def _fp32(device: torch.device) -> torch.autocast:
    """A region where autocast is off: the space's small matrices stay in fp32 under any mixed precision
    (CUDA autocast would run ``@`` in bf16 and hand ``linalg.solve`` mismatched dtypes)."""
    return torch.autocast(device.type, enabled=False)


def covariance(angle: torch.Tensor, axes: torch.Tensor) -> torch.Tensor:
    """Sigma = R(angle) diag(max(|axes|, AXIS_MIN)) R(angle)^T per mode; angle [K], axes [K, 2] -> [K, 2, 2], fp32."""
    with _fp32(angle.device):
        angle, axes = angle.float(), axes.float()
        c, s = torch.cos(angle), torch.sin(angle)
        rot = torch.stack([torch.stack([c, -s], -1), torch.stack([s, c], -1)], -2)
        return rot @ torch.diag_embed(axes.abs().clamp_min(AXIS_MIN)) @ rot.transpose(-1, -2)


def mahalanobis_sq(z: torch.Tensor, mu: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """Squared Mahalanobis distance of codes z [..., 2] to every mode (mu [K, 2], sigma [K, 2, 2]) -> [..., K], in fp32
    whatever the inputs' dtypes or the autocast state."""
    with _fp32(z.device):
        diff = z.float().unsqueeze(-2) - mu.float()  # [..., K, 2]
        sol = torch.linalg.solve(sigma.float(), diff.unsqueeze(-1)).squeeze(-1)
        return (diff * sol).sum(-1)


def label_distribution(z: torch.Tensor, mu: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """p_z(c) = softmax_c(-d^2_{c,z}): the paper's label distribution of a code (Sec. 4.2)."""
    return torch.softmax(-mahalanobis_sq(z, mu, sigma), dim=-1)


def linear_distribution(z: torch.Tensor, directions: torch.Tensor) -> torch.Tensor:
    """Emotion mix of linear-space codes: the angularly nearest emotion gets rho, neutral 1 - rho.

    ``directions`` are the 6 unit vectors of emotions 1..6; rho is clipped to [0, 1].
    """
    rho = torch.linalg.vector_norm(z, dim=-1).clamp(0, 1)
    nearest = (z @ directions.T).argmax(-1) + 1
    out = torch.zeros(*z.shape[:-1], N_EMOTIONS, dtype=z.dtype, device=z.device)
    out[..., NEUTRAL] = 1 - rho
    out.scatter_add_(-1, nearest.unsqueeze(-1), rho.unsqueeze(-1))
    return out


def expected_anchor(p: torch.Tensor, anchors: torch.Tensor) -> torch.Tensor:
    """sum_c p_c a_c: the anchors ``[7, dim]`` averaged by emotion mixes ``p [..., 7]`` (shares summing
    to 1), the point of a reading. Linear (neutral at the origin, unit directions v_c): the direction
    of sum_c p_c v_c, the mix of the learned directions, at radius |sum_c p_c v_c|, at most 1 - p_neutral
    (how far the reading is from neutral) and shorter when its emotions pull in different directions; a
    reading of neutral and one emotion c lands at p_c v_c, whose :func:`linear_distribution` is that
    reading. Gaussian: the mixture of the modes, the neutral mode for a neutral reading."""
    return p.to(anchors.dtype) @ anchors


def draw_labels(label_freq: np.ndarray, n: int, gen: torch.Generator) -> torch.Tensor:
    return torch.multinomial(torch.as_tensor(label_freq, dtype=torch.float64), n, replacement=True, generator=gen)


def ellipse(mean: Sequence[float], cov: np.ndarray, k: float, n: int = 72) -> np.ndarray:
    """[n + 1, 2] closed outline of {z : (z - mean)^T cov^-1 (z - mean) = k^2}."""
    vals, vecs = np.linalg.eigh(np.asarray(cov, dtype=np.float64))
    t = np.linspace(0, 2 * math.pi, n + 1)
    circle = np.stack([np.cos(t), np.sin(t)], -1)
    return np.asarray(mean, dtype=np.float64) + k * circle @ (vecs * np.sqrt(np.clip(vals, 0, None))).T


PALETTE = np.array([[int(c[i:i + 2], 16) / 255 for i in (1, 3, 5)] for c in COLORS])
"""The emotion colours as RGB in [0, 1], ``[7, 3]``."""


def mix_tint(p: np.ndarray, alpha: float = 0.55) -> np.ndarray:
    """RGBA in [0, 1] of emotion mixes ``p [..., 7]``: the emotions' colours blended by their shares,
    evenly translucent (linear: neutral grey at the centre fading into the sector's colour at the rim)."""
    return np.concatenate([p @ PALETTE, np.full((*p.shape[:-1], 1), alpha)], -1)


def dominant_tint(p: np.ndarray) -> np.ndarray:
    """RGBA in [0, 1] of emotion mixes ``p [..., 7]``: the most likely emotion's colour, more opaque the
    more confident (alpha 0.12 for an even mix up to 0.72 for a certain one)."""
    k = p.shape[-1]
    conf = np.clip((p.max(-1) - 1 / k) / (1 - 1 / k), 0, 1)
    return np.concatenate([PALETTE[p.argmax(-1)], (0.12 + 0.6 * conf)[..., None]], -1)
