"""The evaluation metrics on inputs whose answers can be computed by hand."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from training.metrics import ere, fed, frechet_distance, gaussian_stats, per_class_accuracy, smoothness, topk_targets


def test_smoothness_even_ramp_and_single_jump():
    ramp = np.linspace(0.0, 1.0, 11)
    step = np.r_[np.zeros(5), np.ones(6)]
    np.testing.assert_allclose(smoothness(np.stack([ramp, step])), [0.1, 1.0])


def test_smoothness_hand_computed_series():
    s = [0.1, 0.2, 0.2, 0.5, 0.4, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9]  # max rise 0.5, range 0.8
    assert smoothness(s) == pytest.approx(0.5 / 0.8)


def test_smoothness_decreasing_is_zero_and_flat_is_nan():
    out = smoothness(torch.tensor([[1.0, 0.5, 0.0], [0.3, 0.3, 0.3]]))
    assert out[0] == 0.0 and math.isnan(out[1])


def test_smoothness_keeps_leading_shape():
    assert smoothness(np.random.default_rng(0).random((4, 6, 11))).shape == (4, 6)


def test_frechet_distance_diagonal_closed_form():
    mu1, mu2 = np.array([0.0, 1.0]), np.array([3.0, -1.0])
    s1, s2 = np.diag([4.0, 1.0]), np.diag([1.0, 9.0])
    # |mu diff|^2 = 9 + 4; per axis (sqrt a - sqrt b)^2 = 1 + 4
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(18.0)


def test_frechet_distance_matches_scipy_sqrtm():
    import scipy.linalg as scipy_linalg
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(5, 5)), rng.normal(size=(5, 5))
    s1, s2 = a @ a.T + 0.1 * np.eye(5), b @ b.T + 0.1 * np.eye(5)
    mu1, mu2 = rng.normal(size=5), rng.normal(size=5)
    ref = ((mu1 - mu2) ** 2).sum() + np.trace(s1 + s2) - 2 * np.trace(scipy_linalg.sqrtm(s1 @ s2)).real
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(ref, rel=1e-8)


def test_fed_identical_sets_is_zero_and_shift_adds_squared_norm():
    f = np.random.default_rng(2).normal(size=(50, 3))
    assert fed(f, f) == pytest.approx(0.0, abs=1e-9)
    assert fed(f, f + np.array([1.0, 2.0, 2.0])) == pytest.approx(9.0, rel=1e-9)


def test_fed_singular_covariance_small_sample():
    rng = np.random.default_rng(3)
    d = fed(rng.normal(size=(4, 16)), rng.normal(size=(4, 16)))  # rank 3 covariances of 16-d features
    assert math.isfinite(d) and d > 0


def test_gaussian_stats_rejects_single_sample():
    with pytest.raises(ValueError):
        gaussian_stats(np.zeros((1, 3)))


def test_topk_targets_selects_most_ambiguous_and_renormalises():
    p = np.array([
        [0.90, 0.05, 0.05, 0, 0, 0, 0],
        [0.40, 0.35, 0.20, 0.05, 0, 0, 0],  # largest 2nd and 3rd values in group 1
        [0.50, 0.30, 0.10, 0.10, 0, 0, 0],
        [0.0, 0.0, 0.6, 0.0, 0.2, 0.2, 0.0],  # group 2 (alone)
    ])
    idx, t = topk_targets(p, k=2, group=3)
    np.testing.assert_array_equal(idx, [1, 3])
    np.testing.assert_allclose(t[0], [0.40 / 0.75, 0.35 / 0.75, 0, 0, 0, 0, 0])
    np.testing.assert_allclose(t[1], [0, 0, 0.75, 0, 0.25, 0, 0])  # tie at 0.2: the lower class index is kept
    idx3, t3 = topk_targets(p, k=3, group=3)
    np.testing.assert_array_equal(idx3, [1, 3])
    np.testing.assert_allclose(t3[0], [0.40 / 0.95, 0.35 / 0.95, 0.20 / 0.95, 0, 0, 0, 0])
    idx1, t1 = topk_targets(p, k=2, group=1)
    assert list(idx1) == [0, 1, 2, 3]
    np.testing.assert_allclose(t1.sum(1), 1.0)
    assert ((t1 > 0).sum(1) == 2).all()


def test_ere_min_over_candidates_then_mean():
    targets = np.array([[0.5, 0.5, 0.0], [1.0, 0.0, 0.0]])
    cands = np.array([
        [[1.0, 0.0, 0.0], [0.5, 0.5, 0.0]],  # exact match -> 0
        [[0.0, 1.0, 0.0], [0.7, 0.3, 0.0]],  # best MSE = (0.09 + 0.09) / 3 = 0.06
    ])
    assert ere(targets, cands) == pytest.approx(0.03)


def test_ere_rejects_mismatched_shapes():
    with pytest.raises(ValueError):
        ere(np.zeros((2, 7)), np.zeros((3, 5, 7)))


def test_per_class_accuracy_with_missing_class():
    acc = per_class_accuracy([0, 1, 1, 2, 0], [0, 1, 2, 2, 1], n_classes=4)
    np.testing.assert_allclose(acc[:3], [1.0, 0.5, 0.5])
    assert math.isnan(acc[3])
