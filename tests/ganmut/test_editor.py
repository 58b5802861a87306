"""The Editor end to end: real MTCNN on real photos, tiny untrained checkpoints (tests/helpers.py)."""
from __future__ import annotations

import gc
import io
import tracemalloc

import numpy as np
import pytest
import skimage.data
import torch
from PIL import Image

from tests.helpers import DetectionCounter

import ganmut
import ganmut.editor as editor_mod
import ganmut.weights as weights_mod
from ganmut import canvas
from ganmut.align import apply_affine, face_to_crop_matrix, invert_affine, paste_region
from ganmut.checkpoint import Model
from ganmut.classifier import Reading, load_classifier, predict
from ganmut.editor import Editor
from ganmut.weights import load_readout
from ganmut.emotions import EMOTIONS
from ganmut.errors import CheckpointError, CodeError, ImageError, NoFaceError
from ganmut.generator import GeneratorConfig
from ganmut.images import display_copy, load_image


@pytest.fixture(scope="module")
def portrait(photos) -> Image.Image:
    """obama.jpg at 400 px wide (the tests that are about big photos use the full files)."""
    with Image.open(photos / "obama.jpg") as img:
        return img.resize((400, round(400 * img.height / img.width)), Image.Resampling.LANCZOS)


def _outside_mask(editor: Editor, result, shape) -> np.ndarray:
    outside = np.ones(shape[:2], bool)
    for f in result.faces:
        x0, y0, x1, y1 = paste_region(shape, face_to_crop_matrix(f.landmarks, editor.template, editor.size), editor.size)
        outside[y0:y1, x0:x1] = False
    return outside


def _assert_local_edit(editor, img: Image.Image, result) -> None:
    assert result.image.size == img.size and result.image.mode == img.mode
    a, b = np.asarray(img), np.asarray(result.image)
    outside = _outside_mask(editor, result, a.shape)
    assert (~outside).any()
    np.testing.assert_array_equal(b[outside], a[outside])
    assert (b[~outside] != a[~outside]).any()


def test_edit_is_local_and_keeps_size_and_mode(editor, portrait):
    res = editor.edit(portrait, emotion="happy", intensity=0.8)
    _assert_local_edit(editor, portrait, res)
    assert _outside_mask(editor, res, (portrait.height, portrait.width)).mean() > 0.5
    assert len(res.faces) == 1 and len(res.crops) == 1
    before, after = res.crops[0]
    assert before.size == after.size == (editor.size, editor.size) and before.mode == "L"
    assert res.code == pytest.approx(tuple(editor.space.code("happy", 0.8).tolist()))


def test_rgba_photo_keeps_its_alpha(editor, photos):
    with Image.open(photos / "32bit.png") as img:
        img.load()
    res = editor.edit(img, z=(0.0, -0.6))
    assert img.mode == "RGBA"
    _assert_local_edit(editor, img, res)
    np.testing.assert_array_equal(np.asarray(res.image)[..., 3], np.asarray(img)[..., 3])


def test_big_photo_is_pasted_at_full_resolution(editor, photos):
    with Image.open(photos / "biden.jpg") as img:  # 970 x 2204: detection runs on a 1600 px copy
        img.load()
    res = editor.edit(photos / "biden.jpg", z=(0.7, 0.0))
    _assert_local_edit(editor, img, res)


def test_grayscale_and_16_bit_give_the_same_edit(editor, photos):
    with Image.open(photos / "lfw" / "George_W_Bush_0132.jpg") as gray:
        gray.load()
    g16 = Image.fromarray(np.asarray(gray).astype(np.uint16) * 257)
    r8 = editor.edit(gray, emotion="surprise")
    r16 = editor.edit(g16, emotion="surprise")
    _assert_local_edit(editor, gray, r8)
    _assert_local_edit(editor, g16, r16)
    assert r16.image.mode == "I;16"
    diff = np.abs((np.asarray(r16.image) / 257.0) - np.asarray(r8.image))
    assert diff.max() <= 1.0


def test_one_channel_model_keeps_the_chroma_of_a_colour_photo(editor, portrait):
    res = editor.edit(portrait, emotion="anger")
    a, b = np.asarray(portrait).astype(int), np.asarray(res.image).astype(int)
    unclipped = ((b > 0) & (b < 255)).all(-1)
    changed = (a != b).any(-1) & unclipped
    assert changed.sum() > 1000
    np.testing.assert_array_equal((b[..., 0] - b[..., 1])[unclipped], (a[..., 0] - a[..., 1])[unclipped])
    np.testing.assert_array_equal((b[..., 2] - b[..., 1])[unclipped], (a[..., 2] - a[..., 1])[unclipped])


def test_exif_rotated_copy_finds_the_same_face(editor, portrait):
    exif = Image.Exif()
    exif[0x0112] = 6  # stored sideways; displayed after a 90-degree clockwise turn
    buf = io.BytesIO()
    portrait.transpose(Image.Transpose.ROTATE_90).save(buf, "PNG", exif=exif.tobytes())
    data = buf.getvalue()
    assert Image.open(io.BytesIO(data)).size == portrait.size[::-1]
    res = editor.edit(data, emotion="sad")
    assert res.image.size == portrait.size
    expected = editor.detect(portrait)[0]
    np.testing.assert_allclose(res.faces[0].landmarks, expected.landmarks, atol=1.0)


def test_edit_many_equals_individual_edits(editor, portrait):
    codes = [(0.5, 0.0), (0.0, -0.7), editor.code(emotion="fear", intensity=0.6)]
    many = editor.edit_many(portrait, codes)
    assert [r.code for r in many] == [tuple(c) for c in codes]
    for r, c in zip(many, codes):
        one = editor.edit(portrait, z=c)
        a, b = np.asarray(r.image).astype(int), np.asarray(one.image).astype(int)
        # batched and single convolutions may round differently in the last float bit
        assert np.abs(a - b).max() <= 1 and (a != b).mean() < 1e-3
        assert np.abs(np.asarray(r.crops[0][1]).astype(int) - np.asarray(one.crops[0][1])).max() <= 1


def test_edit_each_equals_individual_edits(editor, portrait, photos):
    images = [portrait, photos / "lfw" / "George_W_Bush_0132.jpg", portrait]
    codes = [(0.5, 0.0), (0.0, -0.7), (-0.3, 0.3)]
    each = editor.edit_each(images, codes)
    assert [r.code for r in each] == codes
    for r, image, c in zip(each, images, codes):
        a, b = np.asarray(r.image).astype(int), np.asarray(editor.edit(image, z=c).image).astype(int)
        assert a.shape == b.shape and np.abs(a - b).max() <= 1 and (a != b).mean() < 1e-3  # batched: last-bit rounding
    with pytest.raises(CodeError, match="edit_each takes one code per image: 3 images, 2 codes"):
        editor.edit_each(images, codes[:2])
    with pytest.raises(CodeError, match="lies outside"):
        editor.edit_each(images[:1], [(2.0, 0.0)])


def test_cache_skips_detection_and_is_bounded_by_bytes(editor, photos, monkeypatch):
    a = np.asarray(load_image(photos / "lfw" / "Jelena_Dokic_0001.jpg"))
    b = np.asarray(load_image(photos / "lfw" / "Mike_Weir_0007.jpg"))
    probe = Editor(editor.model, "cpu", editor.detector)
    probe.detect(a)
    size_a = probe.cache_nbytes
    probe.detect(b)
    size_b = probe.cache_nbytes - size_a
    assert size_a > 100_000 and size_b > 100_000  # their paste plans are cached
    small = Editor(editor.model, "cpu", editor.detector, cache_bytes=max(size_a, size_b) + 1000)  # room for one
    seen = DetectionCounter(monkeypatch, editor.detector)
    small.edit(a, emotion="happy")
    small.edit(a, z=(0.1, 0.2))
    small.edit_many(a, [(0.3, 0.3), (0.0, 0.0)])
    small.grid(a, rings=(1.0,), n_directions=3)
    small.detect(Image.fromarray(a.copy()))
    assert seen.n == 1 and small.cache_nbytes == size_a
    small.edit(b, emotion="happy")  # evicts a: both do not fit
    assert small.cache_nbytes == size_b
    small.edit(a, emotion="happy")
    assert seen.n == 3 and small.cache_nbytes == size_a


@pytest.mark.slow
def test_cache_holds_neither_the_photo_nor_plans_past_its_bound(editor, photos, monkeypatch):
    with Image.open(photos / "obama.jpg") as src:
        big = src.convert("RGB").resize((3000, 3750), Image.Resampling.BILINEAR)  # 11 MP, 34 MB of pixels
    roomy = Editor(editor.model, "cpu", editor.detector)
    tracemalloc.start()  # numpy's allocations are traced: what the editor keeps of the photo's pixels
    try:
        size = roomy.edit(big, emotion="happy").image.size
        gc.collect()
        kept = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert size == big.size and kept < 2_000_000
    assert 0 < roomy.cache_nbytes < 100_000  # the face's plan (over 0.6 MP) is not cached
    medium = np.asarray(load_image(photos / "lfw" / "Jelena_Dokic_0001.jpg"))
    tight = Editor(editor.model, "cpu", editor.detector, cache_bytes=50_000)
    before = tight.edit(medium, emotion="happy")
    seen = DetectionCounter(monkeypatch, editor.detector)
    again = tight.edit(medium, emotion="happy")  # cached without its paste plan: no detection, same pixels
    assert seen.n == 0 and 0 < tight.cache_nbytes <= 50_000
    np.testing.assert_array_equal(np.asarray(again.image), np.asarray(before.image))


def test_a_prepared_photo_is_edited_without_reading_hashing_or_detecting_it_again(editor, gaussian_editor, photos,
                                                                                   monkeypatch):
    photo = load_image(photos / "obama.jpg")
    seen = DetectionCounter(monkeypatch, editor.detector)
    prep = editor.prepare(photo)
    assert seen.n == 1 and prep.image.size == photo.size and prep.faces == editor.detect(photo)
    monkeypatch.setattr(editor_mod, "pixels_key", lambda px: pytest.fail("hashed again"))
    monkeypatch.setattr(editor_mod, "read_image", lambda img: pytest.fail("read again"))
    direct = editor.edit(prep, z=(0.4, -0.3))
    assert direct.image.size == photo.size and seen.n == 1
    # the same aligned crops serve another model with the same crop (both fixtures: 64 px, grey, FER2013 template)
    assert gaussian_editor.prepare(prep) is prep
    gaussian_editor.edit(prep, z=(0.2, 0.2))
    gaussian_editor.grid(prep, rings=(1.0,), n_directions=3)
    assert seen.n == 1
    monkeypatch.undo()
    other = Editor(editor.model, "cpu", editor.detector)  # a different crop: prepared again from the photo
    other._crop = (96,) + other._crop[1:]
    assert other.prepare(prep) is not prep
    np.testing.assert_array_equal(np.asarray(direct.image), np.asarray(editor.edit(photo, z=(0.4, -0.3)).image))


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "P", "CMYK", "I;16"])
def test_a_window_of_the_result_is_that_part_of_the_image(editor, portrait, mode):
    img = portrait.convert(mode) if mode != "I;16" else Image.fromarray(np.asarray(portrait.convert("L")).astype(np.uint16) * 257)
    res = editor.edit(img, z=(-0.5, 0.6))
    (x0, y0, x1, y1), = res.boxes  # the part the edit may change: the face's paste region
    outside = np.ones(img.size[::-1], bool)
    outside[y0:y1, x0:x1] = False
    np.testing.assert_array_equal(np.asarray(res.image)[outside], np.asarray(img)[outside])
    for box in ((x0, y0, x1, y1), (0, 0, img.width, img.height), (x0 + 7, 0, x1 + 20, y0 + 30), (0, 0, 10, 10)):
        np.testing.assert_array_equal(np.asarray(res.window(box)), np.asarray(res.image.crop(box)))
        assert res.window(box).mode == res.image.mode


@pytest.mark.parametrize("mode", ["RGB", "L", "RGBA", "I;16"])
def test_a_quick_display_window_is_the_reduced_window(editor, portrait, mode):
    """display_window(box, k) pastes the edit on the display copy: at k = 1 it is the display copy of
    the exact window, and reduced it stays much nearer the reduced edit than the unedited photo is
    (the crop is sampled at the centre of each displayed pixel's block instead of averaged over it)."""
    img = portrait.convert(mode) if mode != "I;16" else Image.fromarray(np.asarray(portrait.convert("L")).astype(np.uint16) * 257)
    res = editor.edit(img, z=(-0.5, 0.6))
    x0, y0, x1, y1 = res.boxes[0]
    box = (max(0, x0 - 30), max(0, y0 - 20), min(img.width, x1 + 25), min(img.height, y1 + 10))
    before = np.asarray(display_copy(img.crop(box), 1), dtype=int)
    exact = np.asarray(display_copy(res.window(box), 1), dtype=int)
    assert np.abs(exact - before).mean() > 0.5  # the face was edited
    if mode != "I;16":  # 16-bit values are rounded to 8 bits before the quick paste, after the exact one
        np.testing.assert_array_equal(np.asarray(res.display_window(box, 1)), exact)
    for k in (1, 2, 3):
        quick = np.asarray(res.display_window(box, k), dtype=int)
        reduced = np.asarray(display_copy(res.window(box), k), dtype=int)
        unedited = np.asarray(display_copy(img.crop(box), k), dtype=int)
        assert quick.shape == reduced.shape
        assert np.abs(quick - reduced).mean() < 0.15 * np.abs(unedited - reduced).mean()


def test_sheet_shows_every_edit_with_a_readable_caption(editor, portrait):
    sheet = editor.grid(portrait, layout="sheet", title="GANmut (linear): gamut of emotions")
    tile, font = canvas.SHEET_TILE_PX, canvas.SHEET_FONT_PX
    assert sheet.mode == "RGB" and tile * 4 < sheet.width < tile * 5  # 4 tiles across: 2 directions x 2 rings
    rows = 1 + 24 // 4  # the input's row, then 6 rows of edits
    assert sheet.height == pytest.approx(rows * (tile + 2.4 * font), rel=0.25)
    grey = np.asarray(sheet.convert("L"))
    assert (grey < 245).mean() > 0.45  # mostly faces, not white space
    with pytest.raises(ValueError, match="layout"):
        editor.grid(portrait, layout="spiral")


def test_cat_gets_the_no_face_error(editor):
    with pytest.raises(NoFaceError, match="no face found"):
        editor.edit(skimage.data.chelsea(), emotion="happy")


def test_tiny_lfw_face_is_edited(editor, photos):
    with Image.open(photos / "lfw" / "Jayamadhuri_187.jpg") as img:  # 54 x 68 px
        img.load()
    res = editor.edit(img, emotion="happy")
    assert res.image.size == (54, 68) and res.image.mode == img.mode


def test_face_cut_by_the_border_is_edited(editor, photos):
    with Image.open(photos / "obama_partial_face.jpg") as full:
        img = full.reduce(2)
    res = editor.edit(img, z=(-0.5, 0.5))
    _assert_local_edit(editor, img, res)


@pytest.fixture(scope="module")
def two_faces() -> Image.Image:
    face = Image.fromarray(skimage.data.astronaut()).crop((150, 40, 300, 200))
    canvas = Image.new("RGB", (600, 300), "gray")
    canvas.paste(face.resize((120, 128)), (20, 100))
    canvas.paste(face.resize((240, 256)), (330, 20))
    return canvas


def test_all_faces_and_face_numbers(editor, two_faces):
    res = editor.edit(two_faces, emotion="happy", face="all")
    assert len(res.faces) == 2 and len(res.crops) == 2
    _assert_local_edit(editor, two_faces, res)
    second = editor.edit(two_faces, emotion="happy", face=1)
    assert second.faces[0].box[0] < 300  # the smaller, left face
    with pytest.raises(NoFaceError, match="face 2 requested but 2 face"):
        editor.edit(two_faces, emotion="happy", face=2)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(z=(1.2, 0.0)), r"outside the linear space"),
        (dict(emotion="joy"), r"unknown emotion 'joy'; choose one of: neutral, happy, sad"),
        (dict(z=(0.1, 0.1), emotion="happy"), r"exactly one"),
        (dict(), r"exactly one"),
        (dict(emotion="happy", intensity=1.5), r"intensity"),
        (dict(z=(0.1, 0.1), intensity=0.5), r"intensity applies to an emotion"),
        (dict(z=(0.1, 0.2, 0.3)), r"2 numbers"),
        (dict(z=(float("nan"), 0.0)), r"^x must be a number, got nan$"),
        (dict(z=(0.1, None)), r"^y must be a number, got None$"),
        (dict(z=(0.1, "0.2")), r"^y must be a number, got '0.2'$"),
        (dict(z=None, emotion="happy", intensity=None), r"^intensity must be a number in \[0, 1\], got None$"),
        (dict(emotion="x" * 1_000_000), r"^unknown emotion 'x{60}'\.\.\. \(1000000 characters\); choose one of"),
        (dict(z=7), r"^a code must be 2 numbers, got 7$"),
    ],
)
def test_bad_codes_raise_code_error_before_any_work(editor, kwargs, message, monkeypatch):
    seen = DetectionCounter(monkeypatch, editor.detector)
    with pytest.raises(CodeError, match=message):
        editor.edit(b"never decoded", **kwargs)
    assert seen.n == 0


def test_grid_size_is_bounded_before_any_work(editor, monkeypatch):
    seen = DetectionCounter(monkeypatch, editor.detector)
    for kwargs, message in ((dict(n_directions=100_000), r"n_directions must be a number in \[1, 24\], got 100000"),
                            (dict(n_directions=0), r"n_directions must be a number in \[1, 24\], got 0"),
                            (dict(rings=[0.1] * 7), r"a grid has 1 to 6 rings, got 7"),
                            (dict(rings=()), r"a grid has 1 to 6 rings, got 0"),
                            (dict(rings=(0.0, 1.0)), r"rings must lie in \(0, 1\]"),
                            (dict(rings=(float("nan"),)), r"a ring radius must be a number, got nan")):
        with pytest.raises(CodeError, match=message):
            editor.grid(b"never decoded", **kwargs)
    assert seen.n == 0
    codes, _ = editor.grid_codes([1 / 6 * k for k in range(1, 7)], 24)
    assert len(codes) == 6 * 24 == editor_mod.MAX_RINGS * editor_mod.MAX_DIRECTIONS


def test_edit_result_says_how_the_photo_was_read(editor, odd_photos):
    res = editor.edit(odd_photos["gif"], emotion="happy")
    assert res.notes == ("obama-gif.gif has 3 frames: only the first is edited",)
    assert editor.edit(load_image(odd_photos["gif"]), emotion="happy").notes == ()


def test_bad_image_raises_image_error(editor):
    with pytest.raises(ImageError):
        editor.edit(b"GIF89a-broken", emotion="happy")


def test_gaussian_model_edits_and_checks_its_square(gaussian_editor, portrait):
    res = gaussian_editor.edit(portrait, z=(0.95, -0.95))
    _assert_local_edit(gaussian_editor, portrait, res)
    with pytest.raises(CodeError, match=r"\[-1, 1\]\^2"):
        gaussian_editor.edit(portrait, z=(1.05, 0.0))


def test_grid_codes_lie_on_rings(editor, gaussian_editor):
    codes, places = editor.grid_codes((0.5, 1.0), 12)
    assert len(codes) == len(places) == 24
    np.testing.assert_allclose(np.linalg.norm(codes, axis=1), [0.5] * 12 + [1.0] * 12)
    codes, _ = gaussian_editor.grid_codes((0.5, 1.0), 12)
    np.testing.assert_allclose(np.abs(codes).max(1), [0.5] * 12 + [1.0] * 12)
    assert all(gaussian_editor.space.contains(np.array(c)) for c in codes)


def test_grid_draws_every_tile_without_overlap(editor, gaussian_editor, portrait):
    for ed in (editor, gaussian_editor):
        img = ed.grid(portrait, rings=(0.5, 1.0), n_directions=12, tile_px=64)
        assert img.mode == "RGB" and img.width == img.height
        pos = canvas.wheel_layout(ed.grid_codes((0.5, 1.0), 12)[1], 64)
        assert len(pos) == 25
        d = np.abs(pos[:, None] - pos[None]).max(-1) + np.eye(25) * 1e9
        assert d.min() >= 64


def test_bundled_names_without_weights_give_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setattr(weights_mod, "WEIGHTS_DIR", tmp_path)
    with pytest.raises(CheckpointError, match="no trained weights are bundled yet.*path of a .safetensors"):
        ganmut.load("linear", device="cpu")


def test_unknown_model_names_and_bad_files(tmp_path):
    with pytest.raises(CheckpointError, match="unknown model 'linaer'"):
        ganmut.load("linaer", device="cpu")
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x00" * 64)
    with pytest.raises(CheckpointError):
        ganmut.load(bad, device="cpu")


class _MarkTemplate(torch.nn.Module):
    """A stand-in generator that brightens small spots at the template's five landmarks."""

    def __init__(self, cfg: GeneratorConfig, template: np.ndarray) -> None:
        super().__init__()
        self.cfg = cfg
        s = cfg.image_size
        yy, xx = torch.meshgrid(torch.arange(s) + 0.5, torch.arange(s) + 0.5, indexing="ij")
        spots = sum(torch.exp(-((xx - x * s) ** 2 + (yy - y * s) ** 2) / (2 * 1.2 ** 2)) for x, y in template)
        self.register_buffer("spots", spots)

    def forward(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        return x + 0.5 * self.spots


def test_the_edit_lands_where_the_alignment_puts_the_template(editor, photos):
    """End-to-end geometry: spots drawn at the template in crop space appear in the photo where
    the inverse alignment maps them (within 1 px), next to the detected landmarks."""
    model = Model(_MarkTemplate(editor.model.config, editor.template), editor.model.space, editor.model.meta)
    marker = Editor(model, "cpu", editor.detector)
    with Image.open(photos / "obama2.jpg") as img:
        photo = img.convert("L").reduce(2)
    res = marker.edit(photo, z=(0.0, 0.0))
    gain = np.asarray(res.image).astype(float) - np.asarray(photo).astype(float)
    face = res.faces[0]
    m = face_to_crop_matrix(face.landmarks, editor.template, editor.size)
    expected = apply_affine(invert_affine(m), editor.template * editor.size)
    r = int(round(3 * 1.2 / np.sqrt(abs(np.linalg.det(m[:, :2])))))  # 3 sigma of a spot, in photo px
    yy, xx = np.mgrid[0:gain.shape[0], 0:gain.shape[1]] + 0.5
    for (ex, ey), lm in zip(expected, face.landmarks):
        win = (slice(int(ey) - r, int(ey) + r + 1), slice(int(ex) - r, int(ex) + r + 1))
        w = np.clip(gain[win], 0, None)
        assert w.max() > 40
        centroid = np.array([(w * xx[win]).sum(), (w * yy[win]).sum()]) / w.sum()
        assert np.linalg.norm(centroid - (ex, ey)) < 1.0
        assert np.linalg.norm(centroid - lm) < 0.2 * np.linalg.norm(face.landmarks[1] - face.landmarks[0])


@pytest.mark.parametrize("mode", ["P", "CMYK"])
def test_converted_modes_come_back_in_their_mode(editor, portrait, mode):
    img = portrait.quantize(256) if mode == "P" else portrait.convert("CMYK")
    res = editor.edit(img, emotion="surprise")
    _assert_local_edit(editor, img, res)
    if mode == "P":
        assert res.image.getpalette() == img.getpalette()


# --------------------------------------------------------------------------- the classifier's readout
def test_edit_reads_the_face_before_and_after(linear_ckpt, tiny_classifier, editor, portrait):
    reader = Editor(editor.model, "cpu", editor.detector, classifier=load_classifier(tiny_classifier))
    result = reader.edit(portrait, emotion="happy", intensity=0.9)
    (reading,) = result.readings
    for probs in (reading.before, reading.after):
        assert list(probs) == list(EMOTIONS) and abs(sum(probs.values()) - 1) < 1e-3
    assert reading.before == reader.read(portrait)  # the same aligned crop
    x = torch.from_numpy(np.asarray(result.crops[0][1], dtype=np.float32) / 127.5 - 1)[None, None]
    expected = predict(reader.classifier, x)[0]  # the after-crop, as returned, read again
    assert max(abs(reading.after[e] - float(p)) for e, p in zip(EMOTIONS, expected)) < 0.02
    assert reader.edit_many(portrait, [(0.3, 0.3)])[0].readings == []  # only on request
    assert editor.edit(portrait, z=(0.3, 0.3)).readings == []  # no classifier: no readout
    with pytest.raises(CheckpointError, match="readout off"):
        editor.read(portrait)


def test_reading_hints_when_the_target_reads_low():
    probs = dict.fromkeys(EMOTIONS, 0.0)
    low = Reading(probs, dict(probs, happy=0.2, sad=0.7, neutral=0.1))
    assert low.top() == ("sad", 0.7)
    assert low.hint("happy") == ("the classifier reads this edit as sad (70%) and happy at only 20%: "
                                 "try a point further out, or another face")
    assert low.hint("sad") is None
    assert low.describe().endswith("after: sad 70%, happy 20%, neutral 10%")


def test_load_says_why_the_readout_is_off(monkeypatch, tmp_path, tiny_classifier):
    monkeypatch.setattr(weights_mod, "CLASSIFIER_FILE", tmp_path / "fer-classifier.safetensors")
    assert load_readout("auto") == (None, "emotion readout off: no classifier at weights/fer-classifier.safetensors")
    clf, status = load_readout(tiny_classifier)
    assert clf is not None and status.startswith("emotion readout by tiny-classifier.safetensors")
    with pytest.raises(CheckpointError):
        load_readout(tmp_path / "missing.safetensors")


def test_an_edit_result_pickles_without_its_editor(editor, photos):
    """ZeroGPU sends the GPU functions' results between processes: an EditResult (which pastes on
    first use) and a prepared photo must pickle, and paste the same pixels after."""
    import pickle

    prep = editor.prepare(load_image(photos / "obama.jpg"))
    result = editor.edit(prep, z=(0.3, -0.2))
    again = pickle.loads(pickle.dumps(result))
    assert np.array_equal(np.asarray(again.image), np.asarray(result.image))
    box = again.boxes[0]
    assert np.array_equal(np.asarray(again.window(box)), np.asarray(result.image.crop(box)))
    assert [f.box for f in pickle.loads(pickle.dumps(prep)).faces] == [f.box for f in prep.faces]
