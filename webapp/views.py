"""Pure renderers: what the page shows of a photo, an edit, a point or a saved point, as images,
HTML or Markdown. Nothing here runs a model or touches a session."""
from __future__ import annotations

import json

from PIL import Image, ImageDraw, ImageFont

import ganmut
from ganmut import wheel
from ganmut.editor import Prepared
from ganmut.emotions import COLORS, EMOTIONS
from ganmut.face import face_window
from ganmut.images import DISPLAY_MAX_SIDE, aligned_box, display_copy, display_factor, display_patch
from ganmut.presets import Preset
from ganmut.spaces import Space

PAPER = ("https://openaccess.thecvf.com/content/CVPR2021/html/dApolito_GANmut_Learning_Interpretable_"
         "Conditional_Space_for_Gamut_of_Emotions_CVPR_2021_paper.html")
MODEL_NOTES = {
    "linear": "**GANmut** learns one *direction* per basic emotion in the unit disc: the angle of a point "
              "picks the emotion, its distance from the neutral centre the intensity.",
    "gaussian": "**GGANmut** learns one *Gaussian mode* per basic emotion: every point is a mix of emotions "
                "(the label distribution), so points between modes give compound expressions.",
}
LEGEND = " ".join(f'<span style="color:{c}">■</span> {e}' for e, c in zip(EMOTIONS, COLORS))
FACE_MARGIN = 0.35
"""The face view: the chosen face with 35 % of its size as margin on every side."""


def model_note(kind: str) -> str:
    """What the note under the model picker says of a model."""
    return MODEL_NOTES[kind] + f" [Paper (CVPR 2021)]({PAPER})"


def lean(space: Space, code: tuple[float, ...]) -> tuple[str, float]:
    """The one emotion the page names for a point and its intensity: the emotion it leans to (the largest
    share of its mix but neutral's: the emotion control's) and the intensity there (the slider's);
    "neutral" where that rounds to 0 %."""
    e = space.nearest_emotion(code)
    r = space.intensity_of(code, e)
    return ("neutral" if round(r, 2) == 0 else EMOTIONS[e]), r


def leaning(space: Space, code: tuple[float, ...]) -> str:
    """:func:`lean` in words: "sad 30%", or "neutral"."""
    name, r = lean(space, code)
    return name if name == "neutral" else f"{name} {r:.0%}"


def describe(space: Space, code: tuple[float, ...]) -> str:
    """'**sad 30%** at (+0.26, +0.22)' (Markdown): the one emotion the page names for the point
    (:func:`leaning`; its whole mix, which in GGANmut neutral may lead, is the mix panel's)."""
    return f"**{leaning(space, code)}** at ({code[0]:+.2f}, {code[1]:+.2f})"


def faces_preview(image: Image.Image, faces: list[ganmut.Face], side: int = 560) -> Image.Image:
    """A small copy of the photo with every face boxed and numbered (1 = largest)."""
    img = display_copy(image, display_factor(image.size, side)).convert("RGB")
    scale = img.width / image.width
    draw = ImageDraw.Draw(img)
    font = ImageFont.load_default(size=max(14, img.width // 28))
    for n, f in enumerate(faces, start=1):
        x0, y0, x1, y1 = (v * scale for v in f.box)
        width = max(3, img.width // 140)
        draw.rectangle([x0, y0, x1, y1], outline="#ffcc00", width=width)
        draw.text((x0 + width + 2, y0 + width), str(n), fill="#ffcc00", font=font, stroke_width=2, stroke_fill="black")
    return img


def crops_gallery(result: ganmut.EditResult, side: int = 192) -> list[tuple[Image.Image, str]]:
    """Aligned face crops, before and after, enlarged for display."""
    items = []
    for n, (before, after) in enumerate(result.crops, start=1):
        for img, when in ((before, "before"), (after, "after")):
            items.append((img.resize((side, side), Image.Resampling.BICUBIC), f"face {n} · {when}"))
    return items


def before_after(prep: Prepared, result: ganmut.EditResult, whole: bool, max_side: int = DISPLAY_MAX_SIDE,
                 quick: bool = False) -> tuple[Image.Image, Image.Image]:
    """Display-sized before and after (at most ``max_side`` px long): the edited faces with a margin,
    or the whole photo (only the part the edit changed is pasted and reduced again). ``quick``: the
    edit pasted on the display copy (:meth:`ganmut.EditResult.display_window`), a look while the point moves."""
    photo = prep.image
    if not whole:
        box = face_window(result.faces, photo.size, FACE_MARGIN)
        k = display_factor((box[2] - box[0], box[3] - box[1]), max_side)
        after = result.display_window(box, k) if quick else display_copy(result.window(box), k)
        return display_copy(photo.crop(box), k), after
    k = display_factor(photo.size, max_side)
    before = display_copy(photo, k)
    after = before.copy() if quick else before  # display_patch copies; the quick paste does not
    for box in result.boxes:
        box = aligned_box(box, k, photo.size)
        if box[2] > box[0] and box[3] > box[1]:
            if quick:
                after.paste(result.display_window(box, k), (box[0] // k, box[1] // k))
            else:
                after = display_patch(after, result.window(box), box, k)
    return before, after


def mix_html(space: Space, code: tuple[float, ...]) -> str:
    """The emotion mix of a point as bars in the emotion colours (HTML: no chart to draw per click)."""
    rows = "".join(
        f'<div class="bar-row" data-emotion="{e}"><span class="bar-name">{e}</span>'
        f'<span class="bar"><i style="width:{100 * v:.1f}%;background:{c}"></i></span>'
        f'<span class="bar-val">{v:.0%}</span></div>'
        for e, c, v in zip(EMOTIONS, COLORS, wheel.mix_at(space, code))
    )
    title = f"Emotion mix at ({code[0]:+.2f}, {code[1]:+.2f})"
    return f'<div class="bars"><div class="bars-title">{title}</div>{rows}</div>'


def readout_html(status: str, result: ganmut.EditResult | None = None, target: str = "", who: str = "face 1",
                 edge: bool = False) -> str:
    """The classifier's readout of an edit (``result``, to the emotion ``target``) as compact bars,
    before (grey) and after (the emotion's colour), with a hint when ``target`` reads low (``edge``: the
    point is at full intensity, :meth:`ganmut.classifier.Reading.hint`); or, with
    no result or no readings, the ``status`` line alone (which classifier reads, or why none does)."""
    if result is None or not result.readings:
        return f'<p class="readout-line">{status}</p>'
    reading = result.readings[0]
    rows = "".join(
        f'<div class="bar-row{" target" if e == target else ""}" data-emotion="{e}"><span class="bar-name">{e}</span>'
        f'<span class="bar two"><i class="before" style="width:{100 * reading.before[e]:.1f}%"></i>'
        f'<i class="after" style="width:{100 * reading.after[e]:.1f}%;background:{c}"></i></span>'
        f'<span class="bar-val">{reading.before[e]:.0%} → {reading.after[e]:.0%}</span></div>'
        for e, c in zip(EMOTIONS, COLORS)
    )
    hint = reading.hint(target, edge)
    return (f'<div class="bars readout"><div class="bars-title">What the classifier reads on {who}, before (grey) and '
            f'after (colour); you asked for <b>{target}</b></div>{rows}'
            + (f'<p class="hint"><b>Hint:</b> {hint}.</p>' if hint else "")
            + f'<p class="readout-line">{status}</p></div>')


def preset_line(name: str | None, presets: dict[str, Preset]) -> str:
    """A saved point as the JSON the API's ``/edit_preset`` and the CLI's presets file take."""
    if not name or name not in presets:
        return ""
    return f"`{json.dumps(presets[name].to_dict())}`"
