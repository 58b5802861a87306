"""Loading photos (sources, EXIF, modes, size limits) and returning them in their own mode."""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from ganmut.errors import ImageError
from ganmut.images import (
    DETECT_MAX_SIDE, MAX_PIXELS, MAX_SOURCE_PIXELS, MAX_SOURCE_SIDE, aligned_box, detection_rgb, display_copy, display_factor,
    display_patch, from_photo, load_image, match_channels, pixels_key, read_image, reduction, storable, stored_mode, to_photo,
)


def _rgb(w=64, h=48, seed=0) -> Image.Image:
    return Image.fromarray(np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8))


def _png_bytes(img: Image.Image, fmt: str = "PNG", **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def test_sources_path_bytes_pil_numpy(tmp_path):
    img = _rgb()
    path = tmp_path / "a.png"
    img.save(path)
    expected = np.asarray(img)
    for src in (path, str(path), path.read_bytes(), img, expected):
        np.testing.assert_array_equal(np.asarray(load_image(src)), expected)


@pytest.mark.parametrize("bad", [b"", b"not an image at all", "no/such/file.png"])
def test_non_images_are_refused_with_one_line(bad):
    with pytest.raises(ImageError) as e:
        load_image(bad)
    assert "\n" not in str(e.value)


def test_text_file_and_truncated_file(tmp_path):
    txt = tmp_path / "notes.txt"
    txt.write_text("hello")
    with pytest.raises(ImageError, match="not an image"):
        load_image(txt)
    data = _png_bytes(_rgb(200, 200), "JPEG")
    with pytest.raises(ImageError, match="corrupt or truncated"):
        load_image(data[: len(data) // 2])


def test_unsupported_arrays_are_refused():
    with pytest.raises(ImageError, match="unsupported array"):
        load_image(np.zeros((10, 10, 3), np.float32))


def test_size_limits_are_checked_before_decoding(tmp_path):
    wide = tmp_path / "wide.png"
    Image.new("1", (MAX_SOURCE_SIDE + 1, 2)).save(wide)
    with pytest.raises(ImageError, match="wide.png is 30001x2 px; the longest side accepted is 30000"):
        load_image(wide)
    header_only = _png_bytes(Image.new("1", (12000, 11000)))[:200]  # 132 megapixels; the pixel data is cut off
    with pytest.raises(ImageError, match="132.0 megapixels\\); at most 120 megapixels are accepted"):
        load_image(header_only)  # refused from the header: decoding would have said "truncated"
    bomb = _png_bytes(Image.new("1", (20000, 20000)))  # 400 megapixels in a few kB: Pillow's own bomb guard
    with pytest.raises(ImageError, match="too large: at most 120 megapixels"):
        load_image(bomb)


def test_reduction_is_the_smallest_factor_that_fits_the_editing_limits():
    cases = {(7000, 5000): 1, (12000, 3333): 1, (8000, 6000): 2, (12001, 10): 2, (10000, 12000): 2, (30000, 10): 3}
    assert {size: reduction(*size) for size in cases} == cases
    assert 10000 * 12000 == MAX_SOURCE_PIXELS and 8000 * 6000 > MAX_PIXELS


def test_large_photos_are_read_at_a_reduced_size_with_a_note(odd_photos):
    loaded = read_image(odd_photos["big"])  # a JPEG: decoded at 1/2 scale
    assert loaded.image.size == (4000, 3000) and loaded.image.mode == "RGB"
    assert loaded.notes == ("obama-big.jpg is 8000x6000 px (48 megapixels); it is edited at 4000x3000 px, "
                            "as at most 40 megapixels are edited",)
    png = read_image(_png_bytes(Image.new("L", (7000, 6000), 77)))  # not a JPEG: decoded, then reduced
    assert png.image.size == (3500, 3000) and np.asarray(png.image).max() == 77 and "7000x6000" in png.notes[0]
    assert read_image(_rgb()).notes == ()


def test_heic_is_read(odd_photos, photos):
    loaded = read_image(odd_photos["heic"])
    with Image.open(photos / "obama.jpg") as src:
        ref = np.asarray(src.convert("RGB"), dtype=np.int16)
    assert loaded.image.mode == "RGB" and loaded.notes == ()
    assert np.abs(np.asarray(loaded.image, dtype=np.int16) - ref).mean() < 4  # lossy, but the same photo


def test_animated_gif_is_read_as_its_first_frame_with_a_note(odd_photos):
    loaded = read_image(odd_photos["gif"])
    with Image.open(odd_photos["gif"]) as gif:
        first = np.asarray(gif.convert("RGB"))
    assert loaded.notes == ("obama-gif.gif has 3 frames: only the first is edited",)
    np.testing.assert_array_equal(np.asarray(loaded.image.convert("RGB")), first)


def test_cmyk_jpeg_is_read_as_cmyk_and_written_as_rgb_where_the_format_cannot_store_it(odd_photos):
    cmyk = load_image(odd_photos["cmyk"])
    assert cmyk.mode == "CMYK"
    cmyk.info["icc_profile"] = b"a CMYK profile"
    as_png = storable(cmyk, "PNG")
    assert as_png.mode == "RGB" and "icc_profile" not in as_png.info
    np.testing.assert_array_equal(np.asarray(as_png), np.asarray(cmyk.convert("RGB")))
    assert storable(cmyk, "JPEG") is cmyk and storable(cmyk, "TIFF") is cmyk
    assert stored_mode("YCbCr", "PNG") == "RGB" and stored_mode("RGBA", "JPEG") == "RGBA"  # alpha is never dropped here
    rgb = _rgb()
    assert storable(rgb, "PNG") is rgb


def test_paths_that_are_not_regular_files_are_named_by_their_basename(tmp_path):
    with pytest.raises(ImageError, match="^image file zero is not a regular file$"):
        load_image("/dev/zero")
    (tmp_path / "photos").mkdir()
    with pytest.raises(ImageError, match="^photos is a folder, not a file$"):
        load_image(tmp_path / "photos")
    with pytest.raises(ImageError, match="^image file not found: gone.png$"):
        load_image(tmp_path / "gone.png")


def test_exif_orientation_is_applied():
    img = _rgb(64, 48)
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    loaded = load_image(_png_bytes(img, "PNG", exif=exif.tobytes()))
    assert loaded.size == (48, 64)
    np.testing.assert_array_equal(np.asarray(loaded), np.asarray(img.transpose(Image.Transpose.ROTATE_270)))


def _all_modes() -> dict[str, Image.Image]:
    rgb = _rgb(40, 30)
    rgba = rgb.copy()
    rgba.putalpha(Image.fromarray(np.random.default_rng(1).integers(0, 256, (30, 40), dtype=np.uint8)))
    i16 = Image.fromarray((np.random.default_rng(2).integers(0, 65536, (30, 40))).astype(np.uint16))
    return {
        "RGB": rgb, "RGBA": rgba, "L": rgb.convert("L"), "LA": rgba.convert("LA"),
        "P": rgb.quantize(64),
        "CMYK": Image.fromarray(np.random.default_rng(3).integers(0, 256, (30, 40, 4), dtype=np.uint8), "CMYK"), "I;16": i16, "1": rgb.convert("1"),
    }


@pytest.mark.parametrize("mode", list(_all_modes()))
def test_round_trip_without_edit_is_identical(mode):
    img = _all_modes()[mode]
    photo = to_photo(load_image(img))
    out = from_photo(photo, photo.pixels, [(0, 0, 40, 30)])
    assert out.mode == img.mode and out.size == img.size
    np.testing.assert_array_equal(np.asarray(out), np.asarray(img))


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "L", "LA", "P", "CMYK", "I;16"])
def test_edit_inside_a_box_leaves_the_rest_and_alpha(mode):
    img = _all_modes()[mode]
    photo = to_photo(img)
    pixels = photo.pixels.copy()
    pixels[5:15, 10:20] = pixels[5:15, 10:20] // 2
    out = from_photo(photo, pixels, [(10, 5, 20, 15)])
    assert out.mode == img.mode and out.size == img.size
    a, b = np.asarray(out), np.asarray(img)
    outside = np.ones(b.shape[:2], bool)
    outside[5:15, 10:20] = False
    np.testing.assert_array_equal(a[outside], b[outside])
    assert (a[~outside] != b[~outside]).any()
    if mode in ("RGBA", "LA"):
        np.testing.assert_array_equal(a[..., -1], b[..., -1])


def test_sixteen_bit_png_stays_sixteen_bit(tmp_path):
    arr = (np.arange(30 * 40).reshape(30, 40) * 50).astype(np.uint16)
    path = tmp_path / "g16.png"
    Image.fromarray(arr).save(path)
    photo = to_photo(load_image(path))
    assert photo.pixels.dtype == np.uint16 and photo.max_value == 65535
    out = from_photo(photo, photo.pixels, [])
    assert out.mode.startswith("I")
    np.testing.assert_array_equal(np.asarray(out).astype(np.uint16), arr)


def test_palette_with_transparency_comes_back_as_rgba():
    p = _rgb(20, 10).quantize(16)
    p.info["transparency"] = 0
    photo = to_photo(p)
    assert photo.mode == "RGBA" and photo.alpha is not None
    assert from_photo(photo, photo.pixels, []).mode == "RGBA"


def test_float_mode_is_refused():
    with pytest.raises(ImageError, match="mode F"):
        to_photo(Image.new("F", (4, 4)))


def test_detection_copy_is_rgb_uint8_and_downscaled():
    big = Image.fromarray(np.zeros((2000, 3200), np.uint16) + 40000)
    rgb, scale = detection_rgb(to_photo(big))
    assert rgb.dtype == np.uint8 and rgb.shape == (1000, DETECT_MAX_SIDE, 3)
    np.testing.assert_allclose(scale, [0.5, 0.5])
    assert rgb[0, 0, 0] == 40000 >> 8
    small = _rgb(300, 200)
    rgb, scale = detection_rgb(to_photo(small))
    np.testing.assert_array_equal(rgb, np.asarray(small))
    np.testing.assert_array_equal(scale, [1.0, 1.0])


def test_match_channels():
    x = np.array([[[1.0, 0.0, 0.0]], [[0.0, 0.0, 1.0]]], np.float32)
    np.testing.assert_allclose(match_channels(x, 1)[..., 0], [[0.299], [0.114]], rtol=1e-6)
    np.testing.assert_array_equal(match_channels(x[..., :1], 3), np.repeat(x[..., :1], 3, -1))


def test_pixels_key_tells_values_shape_and_type_apart():
    a = np.asarray(_rgb())
    b = a.copy()
    b[0, 0, 0] ^= 1
    assert pixels_key(a) == pixels_key(a.copy()) == pixels_key(np.asfortranarray(a))
    variants = {pixels_key(a), pixels_key(b), pixels_key(a.astype(np.uint16)), pixels_key(a.reshape(a.shape[1], a.shape[0], 3))}
    assert len(variants) == 4


def test_model_tensors_round_trip_to_the_same_pixels():
    from ganmut.images import from_model_output, to_model_input, to_pil

    rng = np.random.default_rng(0)
    u8 = rng.integers(0, 256, (3, 1, 8, 8), dtype=np.uint8)
    x = to_model_input(u8)
    assert float(x.min()) >= -1 and float(x.max()) <= 1
    assert np.array_equal(from_model_output(x), u8.transpose(0, 2, 3, 1))
    rgb = rng.integers(0, 256, (3, 8, 8), dtype=np.uint8)
    assert np.array_equal(np.asarray(to_pil(to_model_input(rgb[None])[0])), rgb.transpose(1, 2, 0))


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "L", "LA", "P", "CMYK", "I;16", "1"])
def test_display_copy_is_8_bit_and_reduces_by_whole_blocks(mode):
    img = _all_modes()[mode]
    view = display_copy(img, 3)
    assert view.mode in ("RGB", "L") and view.size == (14, 10)  # ceil(40 / 3), ceil(30 / 3)
    full = np.asarray(display_copy(img), dtype=np.float64)
    assert display_copy(img).size == img.size
    block = full[3:6, 6:9].mean(axis=(0, 1))  # one 3x3 block of the 8-bit copy
    assert np.abs(np.asarray(view, dtype=np.float64)[1, 2] - block).max() <= 1
    if mode == "I;16":
        np.testing.assert_array_equal(full, np.asarray(img) // 257)  # 16-bit values scaled, not clipped
    if mode == "RGBA":  # transparency flattened onto white
        a = np.asarray(img, dtype=np.float64)
        expected = a[..., :3] * a[..., 3:] / 255 + 255 * (1 - a[..., 3:] / 255)
        assert np.abs(full - expected).max() <= 1


def test_display_patch_equals_reducing_the_whole_again():
    img = _rgb(1000, 700, seed=5)
    edited = img.copy()
    edited.paste((255, 0, 0), (333, 250, 520, 410))
    k = display_factor(img.size, 400)
    assert k == 3
    box = aligned_box((333, 250, 520, 410), k, img.size)
    assert box == (333, 249, 522, 411) and all(v % k == 0 for v in box[:2])
    assert aligned_box((990, 690, 1000, 700), k, img.size) == (990, 690, 1000, 700)  # the edge is an edge
    patched = display_patch(display_copy(img, k), edited.crop(box), box, k)
    np.testing.assert_array_equal(np.asarray(patched), np.asarray(display_copy(edited, k)))
    with pytest.raises(ValueError, match="multiples"):
        display_patch(display_copy(img, k), edited.crop((1, 0, 10, 10)), (1, 0, 10, 10), k)


def test_photo_window_is_a_part_of_the_photo():
    img = _all_modes()["RGBA"]
    photo = to_photo(img)
    part = photo.window((5, 4, 25, 20))
    assert part.pixels.shape == (16, 20, 3) and part.alpha.shape == (16, 20) and part.source.size == (20, 16)
    np.testing.assert_array_equal(np.asarray(from_photo(part, part.pixels, [])), np.asarray(img.crop((5, 4, 25, 20))))
