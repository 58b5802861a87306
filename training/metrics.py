"""The paper's evaluation metrics as pure numpy functions (Sec. 5 and the supplement).

Readings of the paper that the code commits to (the text leaves room for more than one):

- **Smoothness** (Table 1, Sec. 5.2): along an interpolation of 11 steps (intensity 0, 0.1, ..., 1)
  the target-class softmax scores s_0..s_10 give ``max_j (s_{j+1} - s_j) / (max_j s_j - min_j s_j)``:
  the largest single-step increase over the range the score covers. 0.1 is a perfectly even ramp,
  1 a single jump (StarGAN's sudden switch). A series that never increases scores 0. A flat series
  (range below ``eps``) has no transition to judge and is NaN, left out of averages and counted,
  so a generator that changes nothing cannot score as perfectly smooth. "Total variation range" is
  read as the range max - min, which equals the total variation sum |s_{j+1} - s_j| on a monotone
  series; on a wiggling one the range keeps oscillations from diluting a jump.
- **ERE** (Table 2, Sec. 5.3): the test set is cut into consecutive groups of 16 faces; in each
  group the face whose classifier softmax has the largest k-th highest value (the most ambiguous
  face with at least k high values; k = 3 is setting 1, k = 2 setting 2) gives the target: its top-k
  softmax values, renormalised to sum to 1. ``group=1`` makes every face a target (the other reading
  of the text). ERE is the mean over targets of the smallest MSE (mean over the 7 classes) between
  the target and the softmax of any candidate code's edit.
- **FED** (Table 2): the Fréchet distance between Gaussians fitted to classifier features.
"""
from __future__ import annotations

import numpy as np


def _array(x) -> np.ndarray:
    """numpy float64 view of a numpy array, a list or a (CPU or GPU) torch tensor."""
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    return np.asarray(x, dtype=np.float64)


def smoothness(scores, eps: float = 1e-6) -> np.ndarray:
    """Max one-step increase over the range of each series ``scores[..., T]`` -> ``[...]`` (NaN if flat)."""
    s = _array(scores)
    if s.shape[-1] < 2:
        raise ValueError("smoothness needs series of at least 2 steps")
    rise = np.clip(np.diff(s, axis=-1).max(-1), 0.0, None)
    span = s.max(-1) - s.min(-1)
    out = np.full(span.shape, np.nan)
    np.divide(rise, span, out=out, where=span >= eps)
    return out


def _sqrt_psd(a: np.ndarray) -> np.ndarray:
    """Symmetric square root of a symmetric positive semi-definite matrix (negative eigenvalues clipped)."""
    w, v = np.linalg.eigh((a + a.T) / 2)
    return (v * np.sqrt(np.clip(w, 0, None))) @ v.T


def frechet_distance(mu1, sigma1, mu2, sigma2) -> float:
    """||mu1 - mu2||^2 + tr(S1) + tr(S2) - 2 tr((S1 S2)^(1/2)) between two Gaussians.

    tr((S1 S2)^(1/2)) is computed as the sum of square roots of the eigenvalues of the symmetric
    matrix S1^(1/2) S2 S1^(1/2) (same eigenvalues as S1 S2), which stays real and stable for the
    singular covariances of small samples, unlike a general matrix square root.
    """
    mu1, mu2, s1, s2 = _array(mu1), _array(mu2), _array(sigma1), _array(sigma2)
    if mu1.shape != mu2.shape or s1.shape != s2.shape or s1.shape != (mu1.size, mu1.size):
        raise ValueError(f"shapes do not match: mu {mu1.shape}, {mu2.shape}; sigma {s1.shape}, {s2.shape}")
    r1 = _sqrt_psd(s1)
    eig = np.linalg.eigvalsh(r1 @ s2 @ r1)
    tr_covmean = np.sqrt(np.clip(eig, 0, None)).sum()
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * tr_covmean)


def gaussian_stats(features) -> tuple[np.ndarray, np.ndarray]:
    """Mean and (unbiased) covariance of features ``[N, D]``; needs N >= 2."""
    f = _array(features)
    if f.ndim != 2 or len(f) < 2:
        raise ValueError(f"need features [N >= 2, D], got shape {f.shape}")
    return f.mean(0), np.atleast_2d(np.cov(f, rowvar=False))


def fed(features_real, features_fake) -> float:
    """Fréchet Emotion Distance between two sets of classifier features ``[N, D]``."""
    return frechet_distance(*gaussian_stats(features_real), *gaussian_stats(features_fake))


def topk_targets(probs, k: int, group: int = 16) -> tuple[np.ndarray, np.ndarray]:
    """Complex-emotion targets: per group of ``group`` rows, the row with the largest k-th highest
    probability, reduced to its top-k values and renormalised. Returns (row indices [M], targets [M, C])."""
    p = _array(probs)
    if p.ndim != 2 or not 1 <= k <= p.shape[1]:
        raise ValueError(f"need probs [N, C] and 1 <= k <= C, got shape {p.shape} and k={k}")
    if group < 1:
        raise ValueError(f"group must be at least 1, got {group}")
    kth = -np.sort(-p, axis=1)[:, k - 1]
    index = np.array([s + int(np.argmax(kth[s:s + group])) for s in range(0, len(p), group)], dtype=np.int64)
    rows = p[index]
    keep = np.argsort(-rows, axis=1, kind="stable")[:, :k]
    targets = np.zeros_like(rows)
    np.put_along_axis(targets, keep, np.take_along_axis(rows, keep, 1), 1)
    return index, targets / targets.sum(1, keepdims=True).clip(1e-12)


def ere(targets, candidates) -> float:
    """Emotion Reconstruction Error: mean over targets ``[N, C]`` of the min over candidates
    ``[N, K, C]`` of the MSE between target and candidate distributions."""
    t, c = _array(targets), _array(candidates)
    if c.ndim != 3 or t.shape != (c.shape[0], c.shape[2]):
        raise ValueError(f"need targets [N, C] and candidates [N, K, C], got {t.shape} and {c.shape}")
    return float(((c - t[:, None]) ** 2).mean(-1).min(-1).mean())


def per_class_accuracy(pred, labels, n_classes: int) -> np.ndarray:
    """Accuracy of ``pred`` within each true class ``[n_classes]`` (NaN for a class with no sample)."""
    pred, labels = np.asarray(pred).ravel(), np.asarray(labels).ravel()
    if pred.shape != labels.shape:
        raise ValueError(f"pred and labels differ in length: {pred.shape} vs {labels.shape}")
    total = np.bincount(labels, minlength=n_classes)[:n_classes].astype(np.float64)
    hits = np.bincount(labels[pred == labels], minlength=n_classes)[:n_classes]
    out = np.full(n_classes, np.nan)
    np.divide(hits, total, out=out, where=total > 0)
    return out


def confusion_matrix(pred, labels, n_classes: int) -> np.ndarray:
    """Counts ``[true, predicted]`` of integer predictions against labels."""
    out = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(out, (np.asarray(labels, dtype=np.int64), np.asarray(pred, dtype=np.int64)), 1)
    return out
