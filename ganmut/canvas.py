"""Drawing of gamut grids: edited face tiles on a wheel (:func:`wheel_canvas`) or captioned in rows
(:func:`sheet_canvas`). Pure Pillow; :meth:`ganmut.Editor.grid` chooses the codes and edits the tiles."""
from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from .emotions import COLORS, EMOTIONS, NEUTRAL

SHEET_TILE_PX = 128
SHEET_FONT_PX = 24
"""The sheet's tiles and caption size: 4 tiles across a phone (about 300 px) keep the captions over 12 px."""


def sheet_canvas(source: Image.Image, tiles: list[Image.Image], captions: list[tuple[str, str, str]], columns: int,
                 title: str = "", tile_px: int = SHEET_TILE_PX, font_px: int = SHEET_FONT_PX) -> Image.Image:
    """A white sheet: a header with the ``source`` tile and ``title``, then ``tiles`` in rows of
    ``columns``, each captioned below by (emotion, first line, second line) with the emotion's colour swatch."""
    gap, pad = tile_px // 12, tile_px // 8
    big, small = ImageFont.load_default(size=font_px), ImageFont.load_default(size=font_px * 3 // 4)
    caption = big.size + small.size + 3 * gap // 2
    cell_w, cell_h = tile_px + gap, tile_px + caption + gap
    width = 2 * pad + columns * cell_w - gap
    header = tile_px + caption
    rows = math.ceil(len(tiles) / columns)
    canvas = Image.new("RGB", (width, 2 * pad + header + gap + rows * cell_h), "white")
    draw = ImageDraw.Draw(canvas)

    def cell(img: Image.Image, x: int, y: int, emotion: str, line1: str, line2: str) -> None:
        canvas.paste(img.convert("RGB").resize((tile_px, tile_px), Image.Resampling.BICUBIC), (x, y))
        ty = y + tile_px + gap // 2
        sw = big.size * 3 // 4
        draw.rectangle([x, ty + (big.size - sw) // 2, x + sw, ty + (big.size - sw) // 2 + sw],
                       fill=COLORS[EMOTIONS.index(emotion)] if emotion in EMOTIONS else COLORS[NEUTRAL], outline="#333")
        draw.text((x + sw + gap // 2, ty), line1, fill="#111", font=big)
        draw.text((x, ty + big.size + gap // 2), line2, fill="#444", font=small)

    cell(source, pad, pad, "neutral", "input", "aligned face")
    text_x = pad + tile_px + 2 * gap
    lines = [title] if title else []
    lines.append(f"{len(tiles)} edits, by direction; under each, its emotion, that emotion's share of the mix, "
                 "the direction's angle and the radius r")
    y = pad
    for k, line in enumerate(lines):
        font = big if k == 0 and title else small
        for part in _wrap(draw, line, font, width - pad - text_x):
            draw.text((text_x, y), part, fill="#111" if font is big else "#444", font=font)
            y += font.size + gap // 2
    top = pad + header + gap
    for k, (tile, (emotion, line1, line2)) in enumerate(zip(tiles, captions)):
        r, c = divmod(k, columns)
        cell(tile, pad + c * cell_w, top + r * cell_h, emotion, line1, line2)
    return canvas


def _wrap(draw: ImageDraw.ImageDraw, text: str, font: ImageFont.ImageFont, width: int) -> list[str]:
    """``text`` broken at spaces into lines no wider than ``width`` pixels (a long word stays whole)."""
    lines: list[str] = []
    for word in text.split():
        if lines and draw.textlength(f"{lines[-1]} {word}", font=font) <= width:
            lines[-1] += f" {word}"
        else:
            lines.append(word)
    return lines


def wheel_layout(places: list[tuple[int, float]], tile_px: int) -> np.ndarray:
    """Pixel centres (y up, origin at the wheel's centre) for tiles on rings around a centre tile:
    ring ``j`` at an evenly spaced radius, angle as given, no two tiles (or the centre) overlapping."""
    gap = 1.08 * tile_px
    ring = np.array([j for j, _ in places], dtype=float)
    unit = np.array([[math.cos(t), math.sin(t)] for _, t in places]).reshape(-1, 2)
    r1, step = 1.5 * gap, 1.5 * gap
    while True:
        pos = np.concatenate([np.zeros((1, 2)), unit * (r1 + step * ring)[:, None]])
        d = np.abs(pos[:, None] - pos[None]).max(-1)
        np.fill_diagonal(d, np.inf)
        if d.min() >= gap:
            return pos
        r1 *= 1.05


def wheel_canvas(tiles: list[Image.Image], places: list[tuple[int, float]], labels: list[str], tile_px: int) -> Image.Image:
    """The centre tile and one tile per (ring, angle) place on a white canvas, each labelled lightly."""
    pos = wheel_layout(places, tile_px)
    half = np.abs(pos).max() + tile_px / 2 + tile_px // 4
    side = int(np.ceil(2 * half))
    canvas = Image.new("RGB", (side, side), "white")
    draw = ImageDraw.Draw(canvas)
    font = ImageFont.load_default(size=max(10, tile_px // 9))
    for tile, (x, y), label in zip(tiles, pos, labels):
        x0 = int(round(half + x - tile_px / 2))
        y0 = int(round(half - y - tile_px / 2))
        canvas.paste(tile.convert("RGB").resize((tile_px, tile_px), Image.Resampling.BICUBIC), (x0, y0))
        color = COLORS[EMOTIONS.index(label)] if label in EMOTIONS else COLORS[NEUTRAL]
        bar = max(3, tile_px // 24)
        draw.rectangle([x0, y0 + tile_px - bar, x0 + tile_px - 1, y0 + tile_px - 1], fill=color)
        draw.text((x0 + 3, y0 + tile_px - bar - 2), label, fill="white", anchor="ld", font=font,
                  stroke_width=1, stroke_fill="black")
    return canvas
