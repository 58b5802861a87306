"""The gamut sheet of the face (every direction at half and full intensity, captioned) and its
animation (neutral -> emotion -> neutral, or a tour of every emotion) as a GIF and an MP4."""
from __future__ import annotations

from typing import Any

import gradio as gr

import ganmut
from ganmut import animate
from ganmut.errors import shorten
from ganmut.face import face_choice

from .context import GanmutApp
from .point_edit import hidden_download
from .events import Wiring, warn
from .models import MODEL_LABELS

PATHS = [("neutral → chosen emotion → neutral", "ramp"), ("tour of every emotion", "tour")]


def layout() -> dict[str, Any]:
    """The sheet and the animation, side by side."""
    with gr.Row():
        with gr.Column():
            gr.Markdown("### Gamut of emotions of the face", elem_id="grid-title")
            grid_btn = gr.Button("Render the gamut sheet", elem_id="grid-btn")
            grid = gr.Image(show_label=False, format="png", interactive=False, buttons=["download", "fullscreen"],
                            elem_id="grid")
        with gr.Column():
            gr.Markdown("### Animation", elem_id="anim-title")
            anim_btn = gr.Button("Animate (GIF and MP4)", elem_id="anim-btn")
            path_kind = gr.Radio(PATHS, value="ramp", show_label=False, elem_id="anim-path")
            anim = gr.Image(show_label=False, type="filepath", interactive=False, buttons=["download"], elem_id="anim")
            anim_mp4 = gr.DownloadButton(visible=False, size="sm", elem_id="anim-mp4")
    return {"grid_btn": grid_btn, "grid": grid, "anim_btn": anim_btn, "path_kind": path_kind, "anim": anim,
            "anim_mp4": anim_mp4}


def sheet_face(face: str | int | None) -> int:
    """The face a gamut sheet shows: the one chosen, or the largest for "all"."""
    f = face_choice(face)
    return 0 if f == "all" else f


def on_grid(app: GanmutApp, key: str | None, kind: str, face: str) -> dict[str, Any]:
    """The gamut-of-emotions sheet of one face (the first of "all"), titled with the model."""
    prep = app.sessions.photo_or_warn(key)
    if prep is None:
        return {"grid": None}
    try:
        title = f"{MODEL_LABELS[kind]}: gamut of emotions"
        return {"grid": app.models.grid(kind, prep, sheet_face(face), "sheet", title)}
    except ganmut.GanmutError as e:
        warn(e)
        return {"grid": None}


def on_animate(app: GanmutApp, key: str | None, kind: str, face: str, emotion: str, path_kind: str,
               session: gr.Request | None = None) -> dict[str, Any]:
    """The face moving neutral -> emotion -> neutral, or on a tour of every emotion: a looping GIF
    shown, and the same frames as an MP4 to download; they replace the session's last ones, in the
    session's folder (deleted when the tab closes)."""
    none = {"anim": None, "anim_mp4": hidden_download()}
    prep = app.sessions.photo_or_warn(key)
    if prep is None:
        return none
    try:
        codes = animate.path_codes(app.models.editor(kind).space, path_kind, emotion)
        frames = app.models.frames(kind, prep, codes, face)
    except ganmut.GanmutError as e:
        warn(e)
        return none
    try:
        gif = animate.write(frames, app.sessions.session_file(session, "ganmut-animation-", ".gif"))
    except OSError as e:
        warn(ganmut.GanmutError(f"the animation could not be written ({e.strerror or type(e).__name__})"))
        return none
    try:
        mp4 = animate.write(frames, app.sessions.session_file(session, "ganmut-animation-", ".mp4"))
    except (ganmut.GanmutError, RuntimeError, OSError) as e:  # no ffmpeg, a full disk: the GIF still shows
        warn(ganmut.GanmutError(f"the MP4 could not be made ({shorten(str(e))}); the GIF is below"))
        return {**none, "anim": str(gif)}
    return {"anim": str(gif), "anim_mp4": gr.DownloadButton(value=str(mp4), visible=True, label="⬇ MP4")}


def wire(w: Wiring) -> None:
    w.on(w["grid_btn"].click, on_grid, ("photo_key", "model", "face"), ("grid",))
    w.on(w["anim_btn"].click, on_animate, ("photo_key", "model", "face", "emotion", "path_kind"), ("anim", "anim_mp4"))
