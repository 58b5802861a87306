"""Reading photos, splitting them into editable pixels, and putting them back in their own mode.

Size policy (sizes are read from the file header, before anything is decoded):

- an image up to :data:`MAX_PIXELS` (40 megapixels) with no side over :data:`MAX_SIDE` (12000 px)
  is edited at full size;
- a larger one, up to :data:`MAX_SOURCE_PIXELS` (120 megapixels: a 48- or 108-MP phone photo)
  with no side over :data:`MAX_SOURCE_SIDE` (30000 px), is read at a reduced size that fits the
  first limits, and a note says so. A JPEG is decoded directly at 1/2, 1/4 or 1/8 scale (libjpeg's
  DCT scaling: fast, and the full size is never held in memory); other formats are decoded in full
  and then reduced (up to about 0.5 GB for a 120-megapixel RGBA image);
- anything larger, or a file over :data:`MAX_FILE_BYTES`, is refused before decoding (this also
  guards against decompression bombs);
- face detection runs on a copy whose long side is at most :data:`DETECT_MAX_SIDE` (1600 px);
  alignment and paste-back use the pixels read;
- :func:`display_copy` makes the 8-bit copy that a screen shows, reduced by the whole factor of
  :func:`display_factor` to at most :data:`DISPLAY_MAX_SIDE` (1600 px); :func:`display_patch`
  updates such a copy where an edit changed the image, without reducing the whole again.

Formats: every format Pillow reads, and HEIC/HEIF through pillow-heif. An animation or a
multi-page file is read as its first frame and a note says so (an MPO, the JPEG of phones that
carries extra images, is read as its main image without a note).

Modes: L, RGB, RGBA, LA and 16-bit grayscale (I;16*, or I holding 0..65535) are edited natively
and come back in the same mode, alpha untouched. Other modes are edited as RGB (or L) and only
the pixels the edit changed are converted back, so every other pixel is bit-identical:

- P (palette): back to P with the original palette (edited pixels take the nearest palette colour,
  no dithering); P with transparency and PA come back as RGBA (lossless; the palette cannot
  represent the edit together with the transparency faithfully);
- CMYK, YCbCr, LAB, HSV and 1 (bilevel): back to their mode with Pillow's conversion.

Writing: :func:`storable` turns a colour-space mode (CMYK, YCbCr, LAB, HSV) that a format cannot
store, e.g. CMYK as PNG, into RGB; every other image is written in its own mode.
"""
from __future__ import annotations

import io
import math
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Union

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError
from pillow_heif import register_heif_opener

from .errors import ImageError, require_file

register_heif_opener()

MAX_PIXELS = 40_000_000
MAX_SIDE = 12_000
MAX_SOURCE_PIXELS = 120_000_000
MAX_SOURCE_SIDE = 30_000
DETECT_MAX_SIDE = 1600
DISPLAY_MAX_SIDE = 1600
MAX_FILE_BYTES = 200_000_000
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".heic", ".heif"}
"""File extensions taken as photos when a folder is read (``python -m ganmut edit DIR``, ``training.prepare``)."""

ImageSource = Union[str, os.PathLike, bytes, bytearray, memoryview, Image.Image, np.ndarray]

_NATIVE = {"L", "RGB", "RGBA", "LA", "I;16", "I;16L", "I;16B", "I;16N", "I"}
_BACK_AS_RGBA = {"PA", "La", "RGBa"}
COLOUR_MODES = ("CMYK", "YCbCr", "LAB", "HSV")
"""Modes written as RGB to a format that cannot store them (see :func:`storable`)."""
LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)
"""ITU-R BT.601 luma weights (Pillow's RGB -> L conversion)."""


@dataclass(frozen=True)
class Loaded:
    """An image as read, upright, and one-line notes on how it was read (reduced, first frame)."""

    image: Image.Image
    notes: tuple[str, ...] = ()


def check_size(width: int, height: int, name: str = "image") -> None:
    """Refuse images beyond the hard size limit with a one-line :class:`ImageError`."""
    if width < 1 or height < 1:
        raise ImageError(f"{name} is empty ({width}x{height} px)")
    if max(width, height) > MAX_SOURCE_SIDE:
        raise ImageError(f"{name} is {width}x{height} px; the longest side accepted is {MAX_SOURCE_SIDE} px")
    if width * height > MAX_SOURCE_PIXELS:
        raise ImageError(
            f"{name} is {width}x{height} px ({width * height / 1e6:.1f} megapixels); "
            f"at most {MAX_SOURCE_PIXELS / 1e6:.0f} megapixels are accepted"
        )


def reduction(width: int, height: int) -> int:
    """The smallest factor k for which a ``width`` x ``height`` image reduced k times in each
    direction fits :data:`MAX_PIXELS` and :data:`MAX_SIDE` (1: it fits as it is)."""
    k = 1
    while -(-width // k) * -(-height // k) > MAX_PIXELS or -(-max(width, height) // k) > MAX_SIDE:
        k += 1
    return k


def _shrink(img: Image.Image, k: int) -> Image.Image:
    """The image reduced ``k`` times in each direction (box filter; nearest for modes 1 and P)."""
    if k == 1:
        return img
    return img.resize((-(-img.width // k), -(-img.height // k)), Image.Resampling.BOX)


def _from_array(arr: np.ndarray) -> Image.Image:
    if arr.dtype == np.uint8 and arr.ndim == 2:
        return Image.fromarray(arr)
    if arr.dtype == np.uint8 and arr.ndim == 3 and arr.shape[2] in (1, 3, 4):
        return Image.fromarray(arr[..., 0] if arr.shape[2] == 1 else np.ascontiguousarray(arr))
    if arr.dtype == np.uint16 and (arr.ndim == 2 or (arr.ndim == 3 and arr.shape[2] == 1)):
        return Image.fromarray(np.ascontiguousarray(arr.reshape(arr.shape[:2])))
    raise ImageError(
        f"unsupported array: dtype {arr.dtype}, shape {arr.shape} "
        "(expected uint8 HxW, HxWx1, HxWx3, HxWx4 or uint16 HxW)"
    )


def _source(src: str | os.PathLike | bytes | bytearray | memoryview) -> tuple[io.BytesIO, str]:
    """The bytes of a path or a buffer, and the name messages use for it (a file's basename)."""
    if not isinstance(src, (str, os.PathLike)):
        return io.BytesIO(bytes(src)), "image"
    path = Path(src)
    size = require_file(path, ImageError, "image file")
    if size > MAX_FILE_BYTES:
        raise ImageError(f"{path.name} is {size / 1e6:.0f} MB; at most {MAX_FILE_BYTES / 1e6:.0f} MB are accepted")
    try:
        return io.BytesIO(path.read_bytes()), path.name  # no file handle outlives this call
    except OSError as e:
        raise ImageError(f"cannot read {path.name}: {e.strerror}") from None


def _decode(fp: io.BytesIO, name: str) -> tuple[Image.Image, tuple[int, int], int]:
    """The decoded image (a large JPEG already at a reduced scale), its size in the file's header
    and its number of frames; the size is checked before anything is decoded."""
    try:
        with warnings.catch_warnings():  # Pillow warns from 89 megapixels; MAX_SOURCE_PIXELS is checked here
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(fp)
            size = img.size
            check_size(*size, name)
            frames = 1 if img.format == "MPO" else getattr(img, "n_frames", 1)
            k = reduction(*size)
            if k > 1:  # a JPEG decodes at 1/2, 1/4 or 1/8 scale; other formats ignore the draft
                scale = next((s for s in (2, 4, 8) if s >= k), 8)
                img.draft(None, (max(1, size[0] // scale), max(1, size[1] // scale)))
            img.load()
    except ImageError:
        raise
    except UnidentifiedImageError:
        raise ImageError(f"{name} is not an image (or not a format Pillow can read)") from None
    except Image.DecompressionBombError:
        raise ImageError(f"{name} is too large: at most {MAX_SOURCE_PIXELS / 1e6:.0f} megapixels are accepted") from None
    except MemoryError:
        raise ImageError(f"{name} is too large to decode in the memory available") from None
    except (OSError, SyntaxError, ValueError, EOFError, RuntimeError) as e:
        raise ImageError(f"{name} is a corrupt or truncated image: {e}") from None
    return img, size, frames


def read_image(src: ImageSource) -> Loaded:
    """Read an image from a path, bytes, a PIL image or a numpy array, upright (EXIF orientation
    applied), fully decoded and reduced to the editing limits, with notes on what was changed;
    bad input raises a one-line :class:`ImageError`."""
    frames = 1
    if isinstance(src, Image.Image):
        name, img = "image", src
        check_size(*img.size)
        try:
            img.load()
        except (OSError, SyntaxError, ValueError, EOFError) as e:
            raise ImageError(f"corrupt or truncated image: {e}") from None
        size = img.size
    elif isinstance(src, np.ndarray):
        name, img = "array", _from_array(src)
        size = img.size
        check_size(*size)
    elif isinstance(src, (str, os.PathLike, bytes, bytearray, memoryview)):
        fp, name = _source(src)
        img, size, frames = _decode(fp, name)
    else:
        raise ImageError(f"cannot read an image from a {type(src).__name__}")
    notes = [f"{name} has {frames} frames: only the first is edited"] if frames > 1 else []
    img = _shrink(img, reduction(*img.size))
    if img.size != size:
        notes.append(f"{name} is {size[0]}x{size[1]} px ({size[0] * size[1] / 1e6:.0f} megapixels); it is edited at "
                     f"{img.width}x{img.height} px, as at most {MAX_PIXELS / 1e6:.0f} megapixels are edited")
    try:
        out = ImageOps.exif_transpose(img)
    except (OSError, SyntaxError, ValueError) as e:
        raise ImageError(f"cannot apply the image's EXIF orientation: {e}") from None
    return Loaded(out, tuple(notes))


def load_image(src: ImageSource) -> Image.Image:
    """The image of :func:`read_image`, without its notes."""
    return read_image(src).image


def can_write(mode: str, fmt: str) -> bool:
    """Whether Pillow writes images of ``mode`` in the format ``fmt`` ('PNG', 'JPEG', ...)."""
    try:
        Image.new(mode, (1, 1)).save(io.BytesIO(), fmt)
    except (OSError, KeyError, ValueError):
        return False
    return True


def stored_mode(mode: str, fmt: str) -> str:
    """The mode an image of ``mode`` is written in as ``fmt``: its own, except a colour-space mode
    (CMYK, YCbCr, LAB, HSV) the format cannot store, which is written as RGB."""
    return "RGB" if mode in COLOUR_MODES and not can_write(mode, fmt) else mode


PNG_COMPRESS_LEVEL = 1
"""zlib level of the PNGs written (full-resolution downloads, API results, the CLI's .png): level 1 writes
a 12-megapixel photo about 4 times faster than Pillow's default 6, for about a quarter more bytes
(measured: benchmarks/inference.md, "Writing the full-resolution PNG")."""


def save_options(fmt: str) -> dict[str, int]:
    """The options :meth:`PIL.Image.Image.save` is given for ``fmt`` (PNG: :data:`PNG_COMPRESS_LEVEL`)."""
    return {"compress_level": PNG_COMPRESS_LEVEL} if fmt == "PNG" else {}


def storable(img: Image.Image, fmt: str) -> Image.Image:
    """The image in its :func:`stored_mode` for ``fmt`` (a conversion to RGB is Pillow's, without
    colour management, and drops the source's ICC profile)."""
    mode = stored_mode(img.mode, fmt)
    if mode == img.mode:
        return img
    out = img.convert(mode)
    out.info.pop("icc_profile", None)
    return out


@dataclass
class Photo:
    """An image split into editable pixels and what passes through unchanged.

    ``pixels`` is uint8 or uint16 [H, W, C] with C = 1 (gray) or 3 (RGB); ``alpha`` is the
    untouched alpha channel or None; ``source`` the loaded image; ``mode`` the mode returned.
    """

    pixels: np.ndarray
    alpha: np.ndarray | None
    source: Image.Image
    mode: str

    @property
    def max_value(self) -> int:
        return int(np.iinfo(self.pixels.dtype).max)

    @property
    def channels(self) -> int:
        return int(self.pixels.shape[2])

    def window(self, box: tuple[int, int, int, int]) -> "Photo":
        """The part of the photo inside the pixel box (x0, y0, x1, y1), which must lie inside it."""
        x0, y0, x1, y1 = box
        alpha = None if self.alpha is None else self.alpha[y0:y1, x0:x1]
        return Photo(self.pixels[y0:y1, x0:x1], alpha, self.source.crop(box), self.mode)


def _split(img: Image.Image) -> tuple[np.ndarray, np.ndarray | None]:
    """Editable pixels and alpha of an image in a native mode."""
    arr = np.asarray(img)
    if img.mode in ("RGBA", "LA"):
        return arr[..., :-1], arr[..., -1]
    if img.mode.startswith("I"):
        if arr.min(initial=0) < 0 or arr.max(initial=0) > 65535:
            raise ImageError("32-bit integer images with values outside 0..65535 are not supported")
        arr = arr.astype(np.uint16)
    return (arr[..., None] if arr.ndim == 2 else arr), None


def to_photo(img: Image.Image) -> Photo:
    """Split a loaded image into a :class:`Photo` (see the module docstring for the modes)."""
    mode = img.mode
    if mode in _NATIVE:
        work, out_mode = img, mode
    elif mode == "F":
        raise ImageError("32-bit floating-point images (mode F) are not supported")
    elif mode in _BACK_AS_RGBA or (mode == "P" and ("transparency" in img.info or img.palette.mode == "RGBA")):
        work, out_mode = img.convert("RGBA"), "RGBA"
    elif mode == "1":
        work, out_mode = img.convert("L"), mode
    else:
        try:
            work, out_mode = img.convert("RGB"), mode
        except (ValueError, OSError) as e:
            raise ImageError(f"unsupported image mode {mode}: {e}") from None
    pixels, alpha = _split(work)
    return Photo(np.ascontiguousarray(pixels), alpha, img, out_mode)


def _native_image(pixels: np.ndarray, alpha: np.ndarray | None, mode: str) -> Image.Image:
    """Assemble an image of a native ``mode`` from pixels (and alpha)."""
    if alpha is not None:
        return Image.fromarray(np.concatenate([pixels, alpha[..., None]], axis=2))
    arr = np.ascontiguousarray(pixels[..., 0] if pixels.shape[2] == 1 else pixels)
    if mode == "I":
        return Image.fromarray(arr.astype(np.int32))
    if mode.startswith("I;16"):
        dt = ">u2" if mode == "I;16B" else "<u2" if mode in ("I;16", "I;16L") else "=u2"
        return Image.frombytes(mode, (arr.shape[1], arr.shape[0]), arr.astype(dt).tobytes())
    return Image.fromarray(arr)


def from_photo(photo: Photo, pixels: np.ndarray, boxes: list[tuple[int, int, int, int]]) -> Image.Image:
    """The edited ``pixels`` as an image in the photo's own mode and size.

    ``boxes`` are the (x0, y0, x1, y1) regions the edit touched; for modes that are converted
    for editing, only the pixels that changed inside them are converted back and every other
    pixel is the source's.
    """
    if photo.mode in _NATIVE:
        out = _native_image(pixels, photo.alpha, photo.mode)
        if "icc_profile" in photo.source.info:
            out.info["icc_profile"] = photo.source.info["icc_profile"]
        return out
    out = photo.source.copy()
    for x0, y0, x1, y1 in boxes:
        if x1 <= x0 or y1 <= y0:
            continue
        changed = (pixels[y0:y1, x0:x1] != photo.pixels[y0:y1, x0:x1]).any(axis=2)
        if not changed.any():
            continue
        region = _native_image(pixels[y0:y1, x0:x1], None, "L" if photo.channels == 1 else "RGB")
        if photo.mode == "P":
            back = region.quantize(palette=photo.source, dither=Image.Dither.NONE)
        elif photo.mode == "1":
            back = region.convert("1", dither=Image.Dither.NONE)
        else:
            back = region.convert(photo.mode)
        out.paste(back, (x0, y0), Image.fromarray(changed.astype(np.uint8) * 255))
    return out


def display_factor(size: tuple[int, int], max_side: int = DISPLAY_MAX_SIDE) -> int:
    """The smallest whole factor that brings an image of ``size`` to ``max_side`` on its long side."""
    return max(1, math.ceil(max(size) / max_side))


def display_copy(img: Image.Image, factor: int = 1) -> Image.Image:
    """An 8-bit RGB (or L) copy of an image for a screen, reduced by a whole ``factor`` (the mean
    of each factor x factor block, so a part of an image reduces to the same pixels as the whole
    when it starts on a multiple of ``factor``): transparency is flattened onto white, 16-bit
    values are scaled to 8 bits, colour spaces become RGB; every conversion is pixel by pixel."""
    if img.mode.startswith("I"):
        img = Image.fromarray((np.clip(np.asarray(img), 0, 65535) // 257).astype(np.uint8))
    elif img.mode in ("RGBA", "LA", "PA", "La", "RGBa") or (img.mode == "P" and ("transparency" in img.info or img.palette.mode == "RGBA")):
        img = Image.alpha_composite(Image.new("RGBA", img.size, "white"), img.convert("RGBA")).convert("RGB")
    elif img.mode not in ("RGB", "L"):
        img = img.convert("L" if img.mode == "1" else "RGB")
    return img.reduce(factor) if factor > 1 else img.copy()


def display_patch(view: Image.Image, part: Image.Image, box: tuple[int, int, int, int], factor: int) -> Image.Image:
    """``view`` (a :func:`display_copy` of a whole image by ``factor``) with the pixel box ``box``
    of that image replaced by ``part`` (an image of that box's size), exactly as if the whole had
    been reduced; ``box`` must start on multiples of ``factor``."""
    if box[0] % factor or box[1] % factor:
        raise ValueError(f"box {box} does not start on multiples of {factor}")
    out = view.copy()
    out.paste(display_copy(part, factor), (box[0] // factor, box[1] // factor))
    return out


def aligned_box(box: tuple[int, int, int, int], factor: int, size: tuple[int, int]) -> tuple[int, int, int, int]:
    """``box`` grown to start and end on multiples of ``factor`` (or the image's edge)."""
    x0, y0, x1, y1 = box
    return (x0 // factor * factor, y0 // factor * factor,
            min(size[0], -(-x1 // factor) * factor), min(size[1], -(-y1 // factor) * factor))


def detection_rgb(photo: Photo, max_side: int = DETECT_MAX_SIDE) -> tuple[np.ndarray, np.ndarray]:
    """An RGB uint8 copy for face detection, downscaled to ``max_side`` at most, and its
    (sx, sy) scale: a point ``p`` of the photo is at ``p * scale`` in the copy."""
    px = photo.pixels
    if px.dtype == np.uint16:
        px = (px >> 8).astype(np.uint8)
    h, w = px.shape[:2]
    s = min(1.0, max_side / max(h, w))
    if s < 1.0:
        nw, nh = max(1, round(w * s)), max(1, round(h * s))
        img = Image.fromarray(px[..., 0] if px.shape[2] == 1 else px)
        px = np.asarray(img.resize((nw, nh), Image.Resampling.BILINEAR, reducing_gap=2.0))
        if px.ndim == 2:
            px = px[..., None]
        scale = np.array([nw / w, nh / h])
    else:
        scale = np.array([1.0, 1.0])
    if px.shape[2] == 1:
        px = np.repeat(px, 3, axis=2)
    return np.ascontiguousarray(px), scale


def match_channels(x: np.ndarray, channels: int) -> np.ndarray:
    """Convert float [..., C] to ``channels`` (1: BT.601 luminance; 3: gray repeated)."""
    c = x.shape[-1]
    if c == channels:
        return x
    if c == 3 and channels == 1:
        return (x @ LUMA)[..., None]
    if c == 1 and channels == 3:
        return np.repeat(x, 3, axis=-1)
    raise ValueError(f"cannot convert {c} channels to {channels}")


def pixels_key(pixels: np.ndarray) -> str:
    """A key naming an array's shape, type and values (for caches): SHA-256 of the array in place,
    without a copy (hardware-accelerated on most CPUs: ~1 ms per megapixel)."""
    import hashlib

    h = hashlib.sha256(f"{pixels.shape}:{pixels.dtype}".encode())
    h.update(np.ascontiguousarray(pixels).data)
    return h.hexdigest()


# --------------------------------------------------------------------------- model tensors
def adapt_images(x, size: int | None = None, channels: int | None = None):
    """Float images ``[B, C, H, W]`` -> ``size`` x ``size`` (antialiased bilinear) with ``channels``
    channels (RGB -> luminance, grey -> repeated). Values keep their range."""
    import torch
    import torch.nn.functional as F

    if channels is not None and channels != x.shape[1]:
        if channels == 1:
            x = (x * torch.as_tensor(LUMA, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)).sum(1, keepdim=True)
        else:
            x = x.repeat(1, channels, 1, 1)
    if size is not None and (x.shape[2] != size or x.shape[3] != size):
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False, antialias=True)
    return x


def to_model_input(images, size: int | None = None, channels: int | None = None, device=None, max_value: int = 255):
    """Integer images ``[N, C, H, W]`` (numpy or torch; 8-bit, or 16-bit with ``max_value=65535``) ->
    float32 torch tensor in [-1, 1] at ``size``/``channels``."""
    import torch

    if isinstance(images, torch.Tensor):
        x = images.to(device=device, dtype=torch.float32, copy=True)
    else:
        x = torch.from_numpy(np.array(images, dtype=np.float32)).to(device)  # a copy: the caller's array stays
    x = x.mul_(2.0 / max_value).sub_(1.0)
    return adapt_images(x, size, channels).clamp_(-1, 1)


def from_model_output(x) -> np.ndarray:
    """Images in [-1, 1], ``[..., C, H, W]`` (torch or numpy) -> uint8 ``[..., H, W, C]`` (the inverse of
    :func:`to_model_input`)."""
    if hasattr(x, "detach"):
        x = x.detach().float().cpu().numpy()
    x = np.clip(np.rint((np.asarray(x, dtype=np.float32) + 1) * 127.5), 0, 255).astype(np.uint8)
    return np.moveaxis(x, -3, -1)


def to_pil(x) -> Image.Image:
    """One image in [-1, 1], ``[C, H, W]`` -> an L or RGB PIL image."""
    arr = from_model_output(x)
    return Image.fromarray(arr[..., 0] if arr.shape[-1] == 1 else arr)
