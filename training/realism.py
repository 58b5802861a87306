"""Realism figures of an edit at a photo's resolution, as pure functions of the photo and the edit (uint8
``[H, W, C]`` arrays of one region, usually the face's paste box). They need no model:

- :func:`new_colours`: colours the photo never had. For every changed pixel, the distance in chromaticity
  (``r = R / (R + G + B)``, ``g = G / (R + G + B)``) to the nearest photo pixel within ``radius`` (the
  largest expected move). A warp moves existing colours and a gain keeps chromaticity, so both stay low;
  a grey residual added to skin turns it brown, which is far from every colour around it;
- :func:`detail_kept`: the high-frequency energy (variance of the Laplacian) of the edit over the photo's,
  where the edit changed the face: an upsampled residual blurs it, a warp keeps it;
- :func:`change`: the mean absolute change in grey levels (the neutral point's target is 0);
- :func:`seam`: the change's gradient in the outer tenth of the region the edit may touch (where the crop's
  feathered border fades the edit out): a hard or narrow paste border shows as a step there.
"""
from __future__ import annotations

import numpy as np

CHANGED = 2
"""A pixel counts as changed when one of its channels moved by more than this many grey levels."""
DARK = 30
"""Pixels whose R + G + B is below this have no reliable chromaticity and are left out of it."""


def chromaticity(rgb: np.ndarray) -> np.ndarray:
    """``[..., 2]``: (r, g) = (R, G) / (R + G + B) of ``[..., 3]`` pixels (0 where the sum is 0)."""
    x = rgb.astype(np.float32)
    total = x.sum(-1, keepdims=True)
    return np.divide(x[..., :2], total, out=np.zeros(x.shape[:-1] + (2,), np.float32), where=total > 0)


def changed(photo: np.ndarray, edit: np.ndarray) -> np.ndarray:
    """``[H, W]`` bool: where the edit moved a channel by more than :data:`CHANGED` levels."""
    return (np.abs(edit.astype(np.int32) - photo.astype(np.int32)) > CHANGED).any(-1)


def new_colours(photo: np.ndarray, edit: np.ndarray, radius: int, percentile: float = 99.0, step: int = 2) -> float:
    """The ``percentile`` over changed, lit pixels of the chromaticity distance to the nearest photo pixel within
    ``radius`` pixels (offsets sampled every ``step`` pixels); 0 when nothing changed or the photo is grey."""
    if photo.shape[-1] != 3:
        return 0.0
    moved = changed(photo, edit) & (edit.astype(np.int32).sum(-1) >= DARK)
    if not moved.any():
        return 0.0
    ce, cp = chromaticity(edit), chromaticity(photo)
    lit = photo.astype(np.int32).sum(-1) >= DARK
    ys, xs = np.nonzero(moved)
    h, w = photo.shape[:2]
    best = np.full(len(ys), np.inf, np.float32)
    for dy in range(-radius, radius + 1, step):
        for dx in range(-radius, radius + 1, step):
            qy, qx = ys + dy, xs + dx
            ok = (qy >= 0) & (qy < h) & (qx >= 0) & (qx < w)
            qy, qx = np.clip(qy, 0, h - 1), np.clip(qx, 0, w - 1)
            ok &= lit[qy, qx]
            d = np.linalg.norm(ce[ys, xs] - cp[qy, qx], axis=-1)
            best = np.where(ok, np.minimum(best, d), best)
    best = best[np.isfinite(best)]
    return float(np.percentile(best, percentile)) if len(best) else 0.0


def laplacian(grey: np.ndarray) -> np.ndarray:
    """The 4-neighbour Laplacian of a 2-D array (the border rows and columns left out)."""
    g = grey.astype(np.float32)
    return g[1:-1, :-2] + g[1:-1, 2:] + g[:-2, 1:-1] + g[2:, 1:-1] - 4 * g[1:-1, 1:-1]


def detail_kept(photo: np.ndarray, edit: np.ndarray) -> float:
    """Variance of the Laplacian of the edit's luminance over the photo's, where the edit changed pixels (1 when
    nothing changed): 1 keeps the photo's detail, below 1 blurs it."""
    where = changed(photo, edit)[1:-1, 1:-1]
    if where.sum() < 16:
        return 1.0
    lum = lambda a: a.astype(np.float32).mean(-1)  # noqa: E731
    before, after = laplacian(lum(photo))[where], laplacian(lum(edit))[where]
    return float(after.var() / max(before.var(), 1e-6))


def change(photo: np.ndarray, edit: np.ndarray) -> float:
    """Mean absolute change in grey levels over the region and its channels."""
    return float(np.abs(edit.astype(np.float32) - photo.astype(np.float32)).mean())


def seam(photo: np.ndarray, edit: np.ndarray, band: float = 0.1) -> float:
    """The 95th percentile of the change's gradient magnitude (grey levels a pixel) in the outer ``band`` of the
    region's side along its border: near 0 when the edit fades out smoothly, large at a hard paste edge."""
    diff = (edit.astype(np.float32) - photo.astype(np.float32)).mean(-1)
    gy, gx = np.gradient(diff)
    mag = np.hypot(gx, gy)
    band = max(1, round(band * min(diff.shape)))
    ring = np.zeros(diff.shape, bool)
    ring[:band], ring[-band:], ring[:, :band], ring[:, -band:] = True, True, True, True
    return float(np.percentile(mag[ring], 95))
