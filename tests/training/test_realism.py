"""training.realism: the realism figures tell a moved photo from a painted one, on a real photo."""
from __future__ import annotations

import numpy as np
import pytest
import skimage.data
from PIL import Image, ImageFilter

from training import realism


@pytest.fixture(scope="module")
def face() -> np.ndarray:
    return skimage.data.astronaut()[40:200, 150:300].copy()  # a real colour face, 160 x 150


def test_a_moved_region_brings_no_new_colours_and_keeps_its_detail(face):
    moved = face.copy()
    moved[40:120, 30:120] = face[44:124, 33:123]  # a part of the face moved by a few pixels
    assert realism.new_colours(face, moved, radius=8, step=1) < 0.01
    assert realism.detail_kept(face, moved) == pytest.approx(1.0, abs=0.2)


def test_a_grey_residual_paints_colours_the_photo_never_had(face):
    painted = face.astype(np.int32)
    painted[60:110, 40:110] -= 60  # the same darkening added to R, G and B: skin turns brown
    painted = np.clip(painted, 0, 255).astype(np.uint8)
    assert realism.new_colours(face, painted, radius=8) > 0.03


def test_blur_loses_detail_and_an_unchanged_photo_changes_nothing(face):
    blurred = np.asarray(Image.fromarray(face).filter(ImageFilter.GaussianBlur(3)))
    assert realism.detail_kept(face, blurred) < 0.5
    assert realism.change(face, face) == 0 and realism.detail_kept(face, face) == 1.0
    assert realism.new_colours(face, face, radius=4) == 0.0


def test_a_hard_paste_edge_is_a_seam_and_a_fade_is_not(face):
    as_u8 = lambda a: np.clip(a, 0, 255).astype(np.uint8)  # noqa: E731
    boxed = face.astype(np.float32)
    boxed[8:-8, 8:-8] -= 40  # a change that stops at a hard edge inside the border
    fade = face.astype(np.float32) - 40 * np.outer(np.hanning(160), np.hanning(150))[..., None]
    assert realism.seam(face, as_u8(boxed)) > 10
    assert realism.seam(face, as_u8(fade)) < 3
