"""The result: the before/after view of the chosen face (or the whole photo), the status line, the
full-resolution PNG, and under them the emotion mix, the classifier's readout and the aligned crops."""
from __future__ import annotations

from typing import Any

import gradio as gr

import ganmut
from ganmut.images import save_options, storable

from .context import GanmutApp
from .point_edit import EDIT, hidden_download, readout, show, start_code
from .events import Wiring, warn
from .sessions import png_room
from .ui_photo import NO_PHOTO, ONE_FACE


def layout() -> dict[str, Any]:
    """The view column: the before/after slider, the status, the view and face pickers, the PNG."""
    result = gr.ImageSlider(label="Before / after (drag the handle)", type="pil", format="jpeg",
                            buttons=["fullscreen"], elem_id="result", max_height=520)
    status = gr.Markdown(NO_PHOTO, elem_id="status")
    with gr.Row():
        whole = gr.Checkbox(False, label="Whole photo", elem_id="whole", min_width=120)
        save = gr.Button("Full-resolution PNG", size="sm", elem_id="save", min_width=120)
    download = gr.DownloadButton(visible=False, size="sm", elem_id="download")
    face = gr.Radio(label="Face to edit", choices=ONE_FACE, value="0", visible=False, elem_id="face")
    return {"result": result, "status": status, "whole": whole, "save": save, "download": download, "face": face}


def readings_layout(app: GanmutApp, default: str) -> dict[str, Any]:
    """The row under the stage: the point's emotion mix, the classifier's readout, the aligned crops."""
    mix = gr.HTML("", elem_id="mix", padding=True)
    shown = readout(app, default, (0.0, 0.0)) if app.models.paths else ""
    reading = gr.HTML(shown, elem_id="readout", padding=True)
    with gr.Column():
        crops = gr.Gallery(label="Aligned face crop: before, after", columns=4, height=170, object_fit="contain",
                           elem_id="crops", format="png")
    return {"mix": mix, "readout": reading, "crops": crops}


def on_view(app: GanmutApp, key: str | None, kind: str, face: str, whole: bool, point: list | None, emotion: str,
            intensity: float) -> dict[str, Any]:
    """Another face, or the whole photo instead of the face: the same point shown again."""
    try:
        code = tuple(point) if point else start_code(app, kind, emotion, intensity)
    except ganmut.GanmutError as e:
        return {"status": warn(e)}
    return show(app, app.sessions.held(key), kind, face, whole, code)


def on_save(app: GanmutApp, key: str | None, kind: str, face: str, point: list | None,
            session: gr.Request | None = None) -> dict[str, Any]:
    """The full-resolution PNG of the current edit, made now, offered for download."""
    hidden = {"download": hidden_download()}
    prep = app.sessions.photo_or_warn(key)
    if prep is None or not point:
        return hidden
    out = app.sessions.session_file(session, "ganmut-edit-", ".png")
    try:
        image = storable(app.models.edit(kind, prep, tuple(point), face).image, "PNG")
        with app.sessions.room(png_room(image)):  # the server's storage full: one line
            image.save(out, **save_options("PNG"))
    except ganmut.GanmutError as e:
        app.sessions.discard([out])
        warn(e)
        return hidden
    label = f"⬇ Download the PNG ({image.width}×{image.height})"
    return {"download": gr.DownloadButton(value=str(out), visible=True, label=label)}


def wire(w: Wiring) -> None:
    inputs = ("photo_key", "model", "face", "whole", "point", "emotion", "intensity")
    for trigger in (w["face"].input, w["whole"].input):  # the intensity raw: point_edit.page_intensity checks it
        w.on(trigger, on_view, inputs, EDIT, live=True, preprocess=False)
    w.on(w["save"].click, on_save, ("photo_key", "model", "face", "point"), ("download",))
