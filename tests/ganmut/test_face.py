"""Face detection with the real MTCNN on real photographs."""
from __future__ import annotations

import numpy as np
import pytest
import skimage.data
from PIL import Image

from ganmut.errors import NoFaceError
from ganmut.face import MIN_FACE_PX, Face, FaceDetector, face_window
from ganmut.images import detection_rgb, load_image, to_photo


@pytest.fixture(scope="module")
def detector() -> FaceDetector:
    return FaceDetector("cpu")


def _detect(detector, src, max_side=1600):
    rgb, scale = detection_rgb(to_photo(load_image(src)), max_side)
    return detector.detect(rgb, scale)


def _assert_plausible(face):
    le, re, nose, ml, mr = face.landmarks
    assert le[0] < re[0] and ml[0] < mr[0]
    assert max(le[1], re[1]) < nose[1] < min(ml[1], mr[1])
    x0, y0, x1, y1 = face.box
    assert (face.landmarks[:, 0] > x0).all() and (face.landmarks[:, 0] < x1).all()
    assert (face.landmarks[:, 1] > y0).all() and (face.landmarks[:, 1] < y1).all()
    assert face.score >= 0.9 and face.size >= MIN_FACE_PX


@pytest.mark.parametrize("name", ["obama.jpg", "biden.jpg", "lfw/George_W_Bush_0132.jpg", "lfw/Jayamadhuri_187.jpg"])
def test_real_faces_have_plausible_landmarks(detector, photos, name):
    faces = _detect(detector, photos / name)
    assert faces
    _assert_plausible(faces[0])


def test_astronaut_face_is_where_it_is(detector):
    faces = _detect(detector, skimage.data.astronaut())
    assert len(faces) == 1
    _assert_plausible(faces[0])
    cx, cy = faces[0].landmarks.mean(0)
    assert 200 < cx < 250 and 100 < cy < 150  # Eileen Collins' face, upper middle of the 512 px photo


def test_big_photo_is_detected_on_a_downscaled_copy_in_full_resolution_coordinates(detector, photos):
    full = _detect(detector, photos / "obama.jpg", max_side=1137)[0]  # 910 x 1137: no downscale
    half = _detect(detector, photos / "obama.jpg", max_side=568)[0]
    eye_dist = np.linalg.norm(full.landmarks[1] - full.landmarks[0])
    assert np.abs(full.landmarks - half.landmarks).max() < 0.06 * eye_dist


def test_faces_are_sorted_largest_first(detector):
    face = Image.fromarray(skimage.data.astronaut()).crop((150, 40, 300, 200))
    canvas = Image.new("RGB", (600, 300), "gray")
    canvas.paste(face.resize((90, 96)), (20, 100))
    canvas.paste(face.resize((240, 256)), (330, 20))
    faces = _detect(detector, canvas)
    assert len(faces) == 2
    assert faces[0].area > faces[1].area and faces[0].box[0] > 300


def test_face_cut_by_the_border_is_found(detector, photos):
    faces = _detect(detector, photos / "obama_partial_face.jpg")
    assert faces[0].box[0] < 0  # the box runs past the left edge
    assert faces[0].score >= 0.9


def test_cat_has_no_face(detector):
    with pytest.raises(NoFaceError, match="^no face found in the image$"):
        _detect(detector, skimage.data.chelsea())


def test_tiny_face_gets_the_clear_error(detector):
    small = Image.fromarray(skimage.data.astronaut()).resize((170, 170), Image.Resampling.LANCZOS)
    with pytest.raises(NoFaceError, match=rf"^face too small: .* the minimum is {MIN_FACE_PX} px$"):
        _detect(detector, small)


def test_the_minimum_is_configurable(photos):
    strict = FaceDetector("cpu", min_face_px=200)
    with pytest.raises(NoFaceError, match="face too small"):
        _detect(strict, photos / "lfw" / "Jayamadhuri_187.jpg")


def test_face_window_is_a_square_with_margin_moved_inside_the_photo():
    face = Face((100.0, 120.0, 180.0, 220.0), np.zeros((5, 2)), 0.99)  # 80 x 100
    assert face_window([face], (1000, 800), 0.5) == (40, 70, 240, 270)  # 200 px square, centred on the face
    assert face_window([face], (1000, 800), 0.0) == (90, 120, 190, 220)
    corner = Face((-20.0, -10.0, 60.0, 90.0), np.zeros((5, 2)), 0.99)  # cut by the photo's corner
    assert face_window([corner], (1000, 800), 0.5) == (0, 0, 200, 200)  # moved in, not cut
    assert face_window([face], (150, 120), 0.5) == (0, 0, 150, 120)  # never larger than the photo
    other = Face((600.0, 100.0, 700.0, 200.0), np.zeros((5, 2)), 0.99)
    x0, y0, x1, y1 = face_window([face, other], (1000, 800), 0.1)  # every face at once
    assert x0 <= 100 and x1 >= 700 and y0 <= 100 and y1 >= 220 and x1 - x0 == y1 - y0
    with pytest.raises(ValueError):
        face_window([], (100, 100))


@pytest.mark.parametrize("name", ["obama.jpg", "biden.jpg", "obama2.jpg"])
def test_track_follows_a_face_that_moved_with_o_net_alone(detector, photos, name, monkeypatch):
    rgb = np.asarray(load_image(photos / name).convert("RGB"))
    face = detector.detect(rgb)[0]
    first = detector.track(rgb, face)
    _assert_plausible(first)
    assert np.abs(first.landmarks - face.landmarks).max() < 0.05 * face.size  # where a full search puts them
    moved = np.roll(rgb, (9, -6), (0, 1))  # the face 6 px left and 9 px down in the next frame
    monkeypatch.setattr(detector._mtcnn, "detect", lambda *a, **k: pytest.fail("searched the whole frame"))
    again = detector.track(moved, first)
    shift = (again.landmarks - first.landmarks).mean(0)
    assert np.abs(shift - (-6, 9)).max() < 2.5
    assert detector.track(np.full_like(rgb, 128), first) is None  # lost: nothing like a face there
    assert detector.track(rgb, Face((-900.0, -900.0, -700.0, -700.0), face.landmarks - 1000, 1.0)) is None  # off the frame
