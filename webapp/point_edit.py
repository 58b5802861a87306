"""An edit at a point of the space as the page shows it (:mod:`ganmut.editor` makes the edit): the outputs
every part of the page that moves the point (the photo, the wheel, the controls, the view, a saved point)
answers with (:func:`show`), a preview while the wheel is dragged (:func:`preview`), a change of model
(:func:`switch_model`)."""
from __future__ import annotations

from typing import Any

import gradio as gr

import ganmut
from ganmut.classifier import FULL_INTENSITY
from ganmut.editor import Prepared
from ganmut.emotions import EMOTIONS, NEUTRAL
from ganmut.errors import number
from ganmut.face import face_choice

from . import views
from .context import GanmutApp
from .events import warn
from .server import log_user_error

EMOTION_CHOICES = [e for e in EMOTIONS if e != EMOTIONS[NEUTRAL]]
EDIT = ("point", "wheel", "emotion", "intensity", "result", "crops", "mix", "readout", "status", "download")
"""The outputs of an edit at a point (:func:`show`)."""
DRAG = ("wheel", "emotion", "intensity", "result", "mix", "status")
"""The outputs of a look at a point while the wheel is dragged (:func:`preview`)."""
PREVIEW_SIDE = 800
"""The long side, in pixels, of the view while the wheel is dragged (the release shows it at full display size)."""
MODEL_SWITCH = (*EDIT, "model", "model_note", "grid", "anim", "anim_mp4")
"""The outputs of a change of model (:func:`switch_model`): the edit, the model's note, and what the
last model made, cleared."""


def hidden_download() -> gr.DownloadButton:
    """A download button emptied and hidden (what was made from the last photo, point or model)."""
    return gr.DownloadButton(value=None, visible=False)


def as_code(z: Any) -> tuple[float, ...]:
    """A code as a tuple of floats (the spaces answer tensors)."""
    return tuple(float(v) for v in (z.tolist() if hasattr(z, "tolist") else z))


def page_intensity(value: Any) -> float:
    """The intensity control's value as the page sends it (raw): a value typed in the slider's box outside
    [0, 1] is taken as the nearer end, as the box then shows, with one line in the server log; CodeError,
    in one line, for anything that is not a number."""
    try:
        x = number(value, "intensity")
    except ValueError as e:
        raise ganmut.CodeError(str(e)) from None
    inside = min(max(x, 0.0), 1.0)
    if inside != x:
        log_user_error(f"intensity must be a number in [0, 1], got {x:g}: {inside:g} is used")
    return inside


def start_code(app: GanmutApp, kind: str, emotion: str, intensity: Any) -> tuple[float, ...]:
    """The point of an emotion at the intensity control's value (:func:`page_intensity`) in a model's
    space (CodeError for bad values)."""
    return app.models.editor(kind).code(emotion=emotion, intensity=page_intensity(intensity))


def readout(app: GanmutApp, kind: str, code: tuple[float, ...], result: ganmut.EditResult | None = None,
            who: str = "face 1") -> str:
    """The readout's HTML of an edit of model ``kind`` at ``code`` (or only its status line)."""
    target, r = views.lean(app.models.editor(kind).space, code)  # what the status line and the controls name
    return views.readout_html(app.models.readout_status(kind), result, target, who, r >= FULL_INTENSITY)


def controls_at(space: Any, code: tuple[float, ...]) -> dict[str, Any]:
    """The emotion control at the point's nearest emotion, the intensity at the point's."""
    e = space.nearest_emotion(code)
    return {"emotion": gr.Dropdown(choices=EMOTION_CHOICES, value=EMOTIONS[e]),
            "intensity": gr.Slider(value=round(space.intensity_of(code, e), 3))}


def show(app: GanmutApp, prep: Prepared | None, kind: str, face: str, whole: bool, code: tuple[float, ...],
         controls: bool = False, seq: int | None = None) -> dict[str, Any]:
    """The outputs of an edit at ``code`` (:data:`EDIT`). ``controls``: also set the emotion to the
    nearest one and the intensity to the point's; ``seq``: the number of the wheel click being answered."""
    space = app.models.editor(kind).space
    marker = gr.HTML(point=list(code), **({} if seq is None else {"seq": seq}))
    out: dict[str, Any] = {"point": list(code), "wheel": marker, "mix": views.mix_html(space, code),
                           "download": hidden_download()}
    if controls:
        out |= controls_at(space, code)
    if prep is None:
        return {**out, "readout": readout(app, kind, code),
                "status": f"Upload a photo to edit it to {views.describe(space, code)}."}
    try:
        result = app.models.edit(kind, prep, code, face)
    except ganmut.GanmutError as e:
        return {**out, "status": warn(e)}
    f = face_choice(face)
    who = "every face" if f == "all" else f"face {f + 1}"
    return {**out, "result": views.before_after(prep, result, whole), "crops": views.crops_gallery(result),
            "readout": readout(app, kind, code, result, "the largest face" if f == "all" else who),
            "status": f"Edited {who} to {views.describe(space, code)}."}


def preview(app: GanmutApp, prep: Prepared | None, kind: str, face: str, whole: bool, code: tuple[float, ...],
            seq: int) -> dict[str, Any]:
    """The outputs of a look at ``code`` while the wheel is dragged (:data:`DRAG`): the controls and the
    mix follow, and the view is the quick edit (``views.before_after(quick=True)``) at :data:`PREVIEW_SIDE`, without the readout; the point,
    the crops and the readout wait for the release (a click at the last point); the status line
    says the point dragged over is a preview (or what went wrong). ``seq``: the drag's number."""
    space = app.models.editor(kind).space
    out = {"wheel": gr.HTML(seq=seq), "mix": views.mix_html(space, code), **controls_at(space, code)}
    if prep is None:
        return {**out, "status": f"Upload a photo to edit it to {views.describe(space, code)}."}
    try:
        result = app.models.edit(kind, prep, code, face, read=False)
    except ganmut.GanmutError as e:
        return {**out, "status": warn(e)}
    return {**out, "result": views.before_after(prep, result, whole, PREVIEW_SIDE, quick=True),
            "status": f"Preview: {views.describe(space, code)}; release to edit."}


def switch_model(app: GanmutApp, kind: str, key: str | None, face: str, whole: bool, code: tuple[float, ...],
                 controls: bool = False) -> dict[str, Any]:
    """Model ``kind`` at ``code`` (:data:`MODEL_SWITCH`): its wheel and note, the photo aligned for it
    (when its crop differs), the edit, and what the previous model made (grid, animation, download) cleared."""
    out = {"model": kind, "model_note": views.model_note(kind), "grid": None, "anim": None,
           "anim_mp4": hidden_download(), "download": hidden_download()}
    try:
        prep = app.sessions.held(key)
        if prep is not None:
            prep = app.models.prepare(kind, prep)
            app.sessions.photos.put(key, prep)
    except ganmut.GanmutError as e:
        return {**out, "wheel": gr.HTML(value=app.models.wheel(kind)), "result": None, "crops": [], "readout": "",
                "status": warn(e)}
    edit = show(app, prep, kind, face, whole, code, controls=controls)
    return {**out, **edit, "wheel": gr.HTML(value=app.models.wheel(kind), point=list(code))}
