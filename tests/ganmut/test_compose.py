"""ganmut.compose: a generator's edit applied to a photo at the photo's own resolution. The warp edit on
real photos (a tiny untrained warp checkpoint through the real Editor and MTCNN) and as pure functions."""
from __future__ import annotations

import pickle

import numpy as np
import pytest
import skimage.data
from PIL import Image

from ganmut import compose
from ganmut.align import feather_mask, paste_region
from ganmut.compose import ResidualEdit, WarpEdit
from ganmut.motion import MOUTH_CENTRE

SIZE = 48


def _still(g: int = 12, k: int = 12) -> WarpEdit:
    return WarpEdit(np.zeros((2, g, g), np.float32), np.zeros((k, k), np.float32), np.zeros((SIZE, SIZE), np.float32),
                    np.zeros((SIZE, SIZE), np.float32))


def _photo(h: int = 300, w: int = 400, channels: int = 3, dtype=np.uint8) -> np.ndarray:
    rng = np.random.default_rng(0)
    top = np.iinfo(dtype).max
    base = skimage.data.astronaut()[:h, :w].astype(np.float64) / 255 * top
    noise = rng.normal(0, 0.02 * top, base.shape)
    img = np.clip(base + noise, 0, top).astype(dtype)
    return img if channels == 3 else img.mean(2, keepdims=True).astype(dtype)


def _matrix(scale: float = 0.2, tx: float = -20.0, ty: float = -10.0) -> np.ndarray:
    """photo -> crop: a 240-px face box from (100, 50) onto the 48-px crop."""
    return np.array([[scale, 0, tx], [0, scale, ty]])


def _inside(m: np.ndarray, shape) -> tuple[slice, slice]:
    x0, y0, x1, y1 = paste_region(shape, m, SIZE)
    return slice(y0, y1), slice(x0, x1)


@pytest.mark.parametrize("channels, dtype", [(3, np.uint8), (1, np.uint8), (1, np.uint16), (3, np.uint16)])
def test_a_still_warp_leaves_the_photo_bit_identical(channels, dtype):
    img = _photo(channels=channels, dtype=dtype)
    out = compose.apply(img, _still(), _matrix(), SIZE, feather_mask(SIZE))
    assert out.dtype == img.dtype and np.array_equal(out, img)


def test_a_uniform_flow_moves_the_photo_s_own_pixels():
    img = _photo()
    edit = _still()
    edit.flow[0] = 2 / SIZE  # two crop pixels = ten photo pixels at scale 0.2
    mask = np.ones((SIZE, SIZE), np.float32)  # no feathering: the shift is the same over the crop
    m = _matrix()
    out = compose.apply(img, edit, m, SIZE, mask)
    ys, xs = _inside(m, img.shape)
    inner = (slice(ys.start + 5, ys.stop - 5), slice(xs.start + 5, xs.stop - 15))
    shifted = (inner[0], slice(inner[1].start + 10, inner[1].stop + 10))
    assert np.abs(out[inner].astype(int) - img[shifted].astype(int)).max() <= 1
    outside = np.ones(img.shape[:2], bool)
    outside[ys, xs] = False
    assert np.array_equal(out[outside], img[outside])


def test_the_gain_keeps_the_chromaticity_and_the_feathered_border():
    img = _photo()
    edit = _still()
    edit.log_gain[:] = np.log(0.7)
    m = _matrix()
    out = compose.apply(img, edit, m, SIZE, feather_mask(SIZE))
    ys, xs = _inside(m, img.shape)
    centre = (slice(ys.start + 60, ys.stop - 60), slice(xs.start + 60, xs.stop - 60))
    a, b = img[centre].astype(float), out[centre].astype(float)
    lit = a.sum(2) > 150  # rounding to whole levels dominates in the dark
    assert np.allclose(b.sum(2)[lit] / a.sum(2)[lit], 0.7, atol=0.02)
    ra, rb = a[..., 0][lit] / a.sum(2)[lit], b[..., 0][lit] / b.sum(2)[lit]
    assert np.percentile(np.abs(ra - rb), 99) < 0.01  # a ratio: the hue stays (a grey residual would not)
    grey = a - 0.3 * a.mean(2, keepdims=True).mean()  # a darkening of the same size, added to R, G and B alike
    rg = grey[..., 0][lit] / grey.sum(2)[lit]
    assert np.percentile(np.abs(ra - rg), 99) > 0.02


def test_the_mouth_paints_only_inside_its_region_with_the_photo_s_hue():
    img = _photo()
    edit = _still()
    edit.alpha[:] = 1.0  # the generator confines alpha; compose honours what it gets, feathered
    edit.alpha[: SIZE // 2] = 0.0
    m = _matrix()
    out = compose.apply(img, edit, m, SIZE, feather_mask(SIZE))
    ys, xs = _inside(m, img.shape)
    lower = (slice(ys.start + 150, ys.stop - 40), slice(xs.start + 40, xs.stop - 40))  # where the feather is 1
    upper = (slice(ys.start, ys.start + 110), xs)
    assert out[lower].mean() < 10  # content 0: black, with the photo's grain
    assert np.array_equal(out[upper], img[upper])


def test_a_flow_that_reads_outside_the_photo_uses_its_border_and_a_face_at_the_edge_is_kept_whole():
    img = _photo(120, 120)
    edit = _still()
    edit.flow[:] = 0.08  # the largest move, towards the bottom right
    m = _matrix(0.2, 0.0, 0.0)  # the crop covers (0, 0)-(240, 240): half outside the photo
    out = compose.apply(img, edit, m, SIZE, feather_mask(SIZE))
    assert out.shape == img.shape and out.dtype == img.dtype and (out != img).any()
    empty = compose.apply(img, edit, _matrix(0.2, -100.0, -100.0), SIZE, feather_mask(SIZE))  # crop off the photo
    assert np.array_equal(empty, img)


@pytest.mark.slow
def test_a_48_megapixel_photo_is_warped_at_full_resolution():
    img = np.zeros((6000, 8000, 3), np.uint8)
    img[(np.arange(6000) // 128) % 2 == 1] = 200  # bands 128 rows high that a warp must move, not blur
    edit = _still()
    edit.flow[1] = 1 / SIZE  # one crop pixel: 64 photo pixels for a 3072-px face
    s = SIZE / 3072
    out = compose.apply(img, edit, _matrix(s, -2500 * s, -1500 * s), SIZE, feather_mask(SIZE))
    centre = (slice(2800, 3200), slice(3800, 4200))
    assert np.abs(out[centre].astype(int) - np.roll(img, -64, 0)[centre]).max() <= 1
    assert np.array_equal(out[:1400], img[:1400]) and np.array_equal(out[:, :2400], img[:, :2400])


def test_a_residual_edit_is_the_paste_of_before():
    img = _photo()
    r = np.full((SIZE, SIZE, 1), 10.0, np.float32)
    out = compose.apply(img, ResidualEdit(r), _matrix(), SIZE, np.ones((SIZE, SIZE), np.float32))
    ys, xs = _inside(_matrix(), img.shape)
    inner = (slice(ys.start + 5, ys.stop - 5), slice(xs.start + 5, xs.stop - 5))
    assert np.abs(out[inner].astype(int) - np.clip(img[inner].astype(int) + 10, 0, 255)).max() == 0


# --------------------------------------------------------------------------- through the Editor
@pytest.fixture(scope="module")
def warp_editor(warp_ckpt, editor):
    from ganmut.checkpoint import load_checkpoint
    from ganmut.editor import Editor

    return Editor(load_checkpoint(warp_ckpt), "cpu", editor.detector)


def _outside(editor, result, shape) -> np.ndarray:
    from ganmut.align import face_to_crop_matrix

    outside = np.ones(shape[:2], bool)
    for f in result.faces:
        x0, y0, x1, y1 = paste_region(shape, face_to_crop_matrix(f.landmarks, editor.template, editor.size), editor.size)
        outside[y0:y1, x0:x1] = False
    return outside


@pytest.mark.parametrize("name, mode", [("obama.jpg", "RGB"), ("32bit.png", "RGBA"), ("lfw/George_W_Bush_0132.jpg", "L")])
def test_warp_edits_of_real_photos_are_local_and_keep_the_mode(warp_editor, photos, name, mode):
    with Image.open(photos / name) as img:
        img.load()
    res = warp_editor.edit(img, emotion="surprise")
    a, b = np.asarray(img), np.asarray(res.image)
    assert res.image.mode == img.mode == mode and res.image.size == img.size
    outside = _outside(warp_editor, res, a.shape)
    assert np.array_equal(b[outside], a[outside]) and (b[~outside] != a[~outside]).any()
    if mode == "RGBA":
        assert np.array_equal(b[..., 3], a[..., 3])


def test_warp_edits_of_16_bit_tiny_edge_and_several_faces(warp_editor, photos):
    with Image.open(photos / "lfw" / "George_W_Bush_0132.jpg") as gray:
        gray.load()
    g16 = Image.fromarray(np.asarray(gray).astype(np.uint16) * 257)
    r8, r16 = warp_editor.edit(gray, emotion="happy"), warp_editor.edit(g16, emotion="happy")
    assert r16.image.mode == "I;16"
    assert np.abs(np.asarray(r16.image) / 257.0 - np.asarray(r8.image)).max() <= 1.0
    with Image.open(photos / "lfw" / "Jayamadhuri_187.jpg") as tiny:  # 54 x 68 px
        tiny.load()
    assert warp_editor.edit(tiny, emotion="sad").image.size == (54, 68)
    with Image.open(photos / "obama_partial_face.jpg") as full:
        edge = full.reduce(2)
    res = warp_editor.edit(edge, z=(-0.5, 0.5))
    a, b = np.asarray(edge), np.asarray(res.image)
    assert np.array_equal(b[_outside(warp_editor, res, a.shape)], a[_outside(warp_editor, res, a.shape)])
    face = Image.fromarray(skimage.data.astronaut()).crop((150, 40, 300, 200))
    two = Image.new("RGB", (600, 300), "gray")
    two.paste(face.resize((120, 128)), (20, 100))
    two.paste(face.resize((240, 256)), (330, 20))
    res = warp_editor.edit(two, emotion="happy", face="all")
    assert len(res.faces) == 2
    a, b = np.asarray(two), np.asarray(res.image)
    outside = _outside(warp_editor, res, a.shape)
    assert np.array_equal(b[outside], a[outside])


def test_warp_windows_display_copies_and_pickles(warp_editor, photos):
    with Image.open(photos / "obama.jpg") as img:
        img.load()
    res = warp_editor.edit(img, emotion="happy")
    box = res.boxes[0]
    assert np.array_equal(np.asarray(res.window(box)), np.asarray(res.image.crop(box)))
    quick = res.display_window(box, 2)
    assert quick.size == ((box[2] - box[0] + 1) // 2, (box[3] - box[1] + 1) // 2)
    again = pickle.loads(pickle.dumps(res))
    assert np.array_equal(np.asarray(again.image), np.asarray(res.image))


def test_the_warp_generator_s_mouth_stays_in_the_mouth(warp_editor):
    edit = compose.warp_edits(warp_editor.model.generator.motion(*_crop_and_code(warp_editor)))[0]
    region = np.asarray(__import__("ganmut.motion", fromlist=["mouth_region"]).mouth_region(warp_editor.size))[0, 0]
    assert edit.alpha.max() > 0.05 and (edit.alpha[region == 0] == 0).all()
    cy, cx = int(MOUTH_CENTRE[1] * warp_editor.size), int(MOUTH_CENTRE[0] * warp_editor.size)
    assert edit.alpha[cy, cx] == edit.alpha.max() or edit.alpha[cy, cx] > 0


def _crop_and_code(editor):
    import torch

    gen = torch.Generator().manual_seed(0)
    return torch.rand(1, 1, editor.size, editor.size, generator=gen) * 2 - 1, torch.tensor([[0.5, 0.5]])


def test_a_motion_that_would_fold_reaches_the_photo_unfolded():
    import torch

    from ganmut.motion import FOLD_MARGIN, Motion, jacobian_det

    g = 12
    xs = (torch.arange(g) + 0.5) / g
    flow = torch.zeros(1, 2, g, g)
    flow[0, 0] = (-1.5 * xs)[None, :].expand(g, g)
    motion = Motion(flow, torch.zeros(1, 1, 12, 12), torch.zeros(1, 1, SIZE, SIZE), torch.zeros(1, 1, SIZE, SIZE))
    edit = compose.warp_edits(motion)[0]
    assert float(jacobian_det(torch.from_numpy(edit.flow)[None]).min()) >= FOLD_MARGIN


def test_new_mouth_pixels_get_the_photo_s_grain():
    img = _photo()  # the astronaut with Gaussian noise of 2 % of the range
    edit = _still()
    edit.alpha[:] = 1.0
    edit.content[:] = 0.5  # a flat content: without grain it would be a smooth patch
    m = _matrix()
    out = compose.apply(img, edit, m, SIZE, np.ones((SIZE, SIZE), np.float32))
    ys, xs = _inside(m, img.shape)
    patch = out[ys, xs].astype(float)[20:-20, 20:-20]
    fine = lambda a: a - (np.roll(a, 1, 0) + np.roll(a, -1, 0) + np.roll(a, 1, 1) + np.roll(a, -1, 1)) / 4  # noqa: E731
    photo_fine = fine(img.astype(float))[ys, xs][20:-20, 20:-20].std()
    assert 0.4 * photo_fine < fine(patch).std() < 2.5 * photo_fine
    again = compose.apply(img, edit, m, SIZE, np.ones((SIZE, SIZE), np.float32))
    assert np.array_equal(out, again)  # the same edit, the same grain
