"""Pure-numpy alignment: similarity fit, warps and the residual paste-back."""
from __future__ import annotations

import math

import numpy as np
import pytest

from ganmut.align import (
    FER2013_TEMPLATE, apply_affine, apply_paste, face_to_crop_matrix, feather_mask, invert_affine, paste_plan, paste_region,
    similarity_transform, warp_to_crop,
)


def paste_residual(original: np.ndarray, residual_crop: np.ndarray, m: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The editor's paste-back in one call: a plan for matrix ``m``, then :func:`apply_paste`."""
    return apply_paste(original, residual_crop, mask, paste_plan(original.shape, m, residual_crop.shape[0]))


def _similarity(scale: float, angle_deg: float, tx: float, ty: float) -> np.ndarray:
    a = math.radians(angle_deg)
    r = scale * np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
    return np.hstack([r, [[tx], [ty]]])


def _blob(h: int, w: int, cx: float, cy: float, sigma: float, channels: int = 3) -> np.ndarray:
    """A uint8 Gaussian spot centred at continuous (cx, cy)."""
    y, x = np.mgrid[0:h, 0:w] + 0.5
    g = np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * sigma ** 2))
    return np.repeat((g * 255).round().astype(np.uint8)[..., None], channels, axis=2)


def _centroid(img: np.ndarray) -> np.ndarray:
    w = img[..., 0].astype(np.float64)
    y, x = np.mgrid[0:img.shape[0], 0:img.shape[1]] + 0.5
    return np.array([(w * x).sum(), (w * y).sum()]) / w.sum()


def test_template_is_a_plausible_face():
    t = FER2013_TEMPLATE
    assert t.shape == (5, 2) and ((t > 0) & (t < 1)).all()
    le, re, nose, ml, mr = t
    assert le[0] < nose[0] < re[0] and ml[0] < mr[0]
    assert max(le[1], re[1]) < nose[1] < min(ml[1], mr[1])


def test_similarity_recovers_a_known_transform():
    m = _similarity(1.7, 23.0, 12.5, -4.0)
    src = np.array([[10, 20], [40, 22], [25, 40], [14, 55], [38, 56]], float)
    np.testing.assert_allclose(similarity_transform(src, apply_affine(m, src)), m, atol=1e-9)


def test_similarity_never_reflects():
    src = np.array([[0, 0], [3, 0], [0, 1], [1, 2]], float)
    m = similarity_transform(src, src * [-1, 1])  # the best fit would be a mirror image
    a = m[:, :2]
    assert np.linalg.det(a) > 0
    assert a[0, 0] == pytest.approx(a[1, 1]) and a[0, 1] == pytest.approx(-a[1, 0])  # scale * rotation


def test_similarity_is_least_squares_under_noise():
    rng = np.random.default_rng(0)
    m = _similarity(0.4, -50.0, 3.0, 8.0)
    src = rng.uniform(0, 200, (5, 2))
    dst = apply_affine(m, src) + rng.normal(0, 0.5, (5, 2))
    fit = similarity_transform(src, dst)
    err_fit = ((apply_affine(fit, src) - dst) ** 2).sum()
    err_true = ((apply_affine(m, src) - dst) ** 2).sum()
    assert err_fit <= err_true + 1e-9


def test_degenerate_points_are_refused():
    with pytest.raises(ValueError):
        similarity_transform(np.ones((5, 2)), np.zeros((5, 2)))


def test_invert_affine_round_trip():
    m = _similarity(2.3, 77.0, -30.0, 15.0)
    pts = np.array([[0.0, 0.0], [123.4, -5.6], [1e3, 2e3]])
    np.testing.assert_allclose(apply_affine(invert_affine(m), apply_affine(m, pts)), pts, atol=1e-9)


def test_face_to_crop_matrix_maps_landmarks_onto_the_template():
    size = 64
    m_true = _similarity(0.2, 10.0, -40.0, 5.0)  # photo -> crop
    landmarks = apply_affine(invert_affine(m_true), FER2013_TEMPLATE * size)
    m = face_to_crop_matrix(landmarks, FER2013_TEMPLATE, size)
    np.testing.assert_allclose(apply_affine(m, landmarks), FER2013_TEMPLATE * size, atol=1e-9)


@pytest.mark.parametrize("scale", [0.9, 0.15])  # plain bilinear, and the box-averaged path (k >= 2)
def test_align_then_inverse_align_within_one_pixel(scale):
    h, w, size = 700, 900, 64
    m = _similarity(scale, 17.0, 0.0, 0.0)
    centre = np.array([430.3, 310.8])
    m[:, 2] = size / 2 - apply_affine(m, centre) + np.array([3.2, -4.1])  # centre lands off-middle
    img = _blob(h, w, *centre, sigma=6.0 / scale)
    crop = warp_to_crop(img, m, size)
    assert crop.shape == (size, size, 3) and crop.dtype == np.float32
    found_in_crop = _centroid(crop)
    np.testing.assert_allclose(found_in_crop, apply_affine(m, centre), atol=0.25)
    back = apply_affine(invert_affine(m), found_in_crop)
    assert np.linalg.norm(back - centre) < 1.0


def test_warp_pads_beyond_the_border_by_replication():
    img = np.zeros((50, 50, 1), np.uint8)
    img[:, -1] = 200  # the right-most column
    m = np.array([[1.0, 0, -30], [0, 1.0, 0]])  # crop starts at x = 30, runs 30 px past the edge
    crop = warp_to_crop(img, m, 40)
    assert np.all(crop[:, 25:, 0] == 200)  # x >= 55 in the photo: replicated edge


def test_feather_mask_shape_and_range():
    m = feather_mask(64)
    assert m.shape == (64, 64) and m.dtype == np.float32
    assert m[32, 32] == 1.0 and m[0].max() == 0.0 and m[:, -1].max() == 0.0
    assert (m >= 0).all() and (m <= 1).all()
    np.testing.assert_array_equal(m, m.T)
    np.testing.assert_array_equal(m, m[::-1, ::-1])


def _photo(h=300, w=400, c=3, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (h, w, c), dtype=np.uint8)


def test_paste_changes_nothing_outside_the_region():
    photo, size = _photo(), 64
    m = _similarity(0.5, 12.0, -60.0, -40.0)
    res = np.full((size, size, 3), 40.0, np.float32)
    out = paste_residual(photo, res, m, feather_mask(size))
    x0, y0, x1, y1 = paste_region(photo.shape, m, size)
    assert 0 < x0 < x1 < photo.shape[1] and 0 < y0 < y1 < photo.shape[0]
    outside = np.ones(photo.shape[:2], bool)
    outside[y0:y1, x0:x1] = False
    np.testing.assert_array_equal(out[outside], photo[outside])
    assert (out != photo).any()
    centre = np.rint(apply_affine(invert_affine(m), [size / 2, size / 2])).astype(int)
    cx, cy = centre
    expected = np.minimum(photo[cy, cx].astype(int) + 40, 255)
    np.testing.assert_array_equal(out[cy, cx], expected)


def test_zero_residual_is_bit_identical_and_dtype_kept():
    photo = _photo().astype(np.uint16) * 257
    m = _similarity(0.3, -5.0, -20.0, -10.0)
    out = paste_residual(photo, np.zeros((64, 64, 3), np.float32), m, feather_mask(64))
    assert out.dtype == np.uint16
    np.testing.assert_array_equal(out, photo)


def test_luminance_residual_keeps_chroma():
    photo = np.random.default_rng(1).integers(60, 190, (200, 200, 3), dtype=np.uint8)
    m = _similarity(0.5, 0.0, -10.0, -10.0)
    res = np.random.default_rng(2).uniform(-30, 30, (64, 64, 1)).astype(np.float32)
    out = paste_residual(photo, res, m, feather_mask(64)).astype(int)
    p = photo.astype(int)
    assert (out != p).any()
    # the same value is added to R, G and B: Cb and Cr (colour differences) stay put
    np.testing.assert_array_equal(out[..., 0] - out[..., 1], p[..., 0] - p[..., 1])
    np.testing.assert_array_equal(out[..., 2] - out[..., 1], p[..., 2] - p[..., 1])


def test_face_cut_by_the_border_pastes_inside_the_photo_only():
    photo = _photo(120, 120)
    m = _similarity(1.0, 0.0, 30.0, 30.0)  # crop origin at (-30, -30): a face in the corner
    out = paste_residual(photo, np.full((64, 64, 3), 10.0, np.float32), m, feather_mask(64))
    assert paste_region(photo.shape, m, 64) == (0, 0, 34, 34)
    np.testing.assert_array_equal(out[34:], photo[34:])
    np.testing.assert_array_equal(out[:, 34:], photo[:, 34:])
    assert (out[:34, :34] != photo[:34, :34]).any()
