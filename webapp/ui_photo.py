"""The photo: upload, webcam, paste or an example, and the faces found in it; a new photo is read,
detected and aligned once (held by the session's store), then edited at the current point."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import gradio as gr

import ganmut
from ganmut.images import stored_mode

from . import views
from .context import GanmutApp
from .point_edit import EDIT, hidden_download, readout, show, start_code
from .events import Wiring, inform, warn
from .sessions import session_key

EXAMPLES = sorted(str(p) for p in (Path(__file__).resolve().parents[1] / "assets" / "examples").glob("*.jpg"))
NO_PHOTO = "Upload a photo, take one with the webcam, paste one, or pick an example."
ONE_FACE = [("Face 1", "0")]
PHOTO = ("photo_key", "faces", "face", *EDIT, "grid", "anim", "anim_mp4")
"""The outputs of a new photo: its key, faces and face picker, the edit, and what the last photo made, cleared."""


def layout(under: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """The photo input, the parts ``under`` lays out right below it, the examples and the detected faces
    (in the page's source column)."""
    photo = gr.Image(label="Your photo", type="filepath", sources=["upload", "webcam", "clipboard"],
                     image_mode=None, height=250, elem_id="photo")
    parts = under()
    gr.Examples(EXAMPLES, inputs=[photo], label="Examples (public-domain and Apache-2.0 photos)",
                examples_per_page=len(EXAMPLES), elem_id="examples")
    faces = gr.Image(label="Detected faces (1 = largest)", interactive=False, height=180, elem_id="faces",
                     format="jpeg", buttons=[])
    return {**parts, "photo": photo, "faces": faces, "photo_key": gr.State(None)}


def payload_path(payload: Any) -> str | None:
    """The server path of an un-preprocessed image payload (FileData dict), or None."""
    if payload is None:
        return None
    path = payload.get("path") if isinstance(payload, dict) else getattr(payload, "path", None)
    return str(path) if path else None


def on_image(app: GanmutApp, payload: Any, kind: str, whole: bool, point: list | None, emotion: str, intensity: float,
             session: gr.Request | None = None) -> dict[str, Any]:
    """A new photo (upload, webcam, paste or example): read it, find the faces, edit it at the
    current point; everything made from the previous photo (views, crops, readout, grid,
    animation, download) is replaced or cleared. The session's ``photo_key`` State gets the key of
    the photo in the store; its last photo is released first."""
    app.sessions.photos.pop(session_key(session))
    cleared = {"photo_key": None, "faces": None, "face": gr.Radio(choices=ONE_FACE, value="0", visible=False),
               "result": None, "crops": [], "readout": readout(app, kind, (0.0, 0.0)) if app.models.paths else "",
               "download": hidden_download(), "grid": None, "anim": None, "anim_mp4": hidden_download()}
    path = payload_path(payload)
    app.sessions.hold(session, "photo", path)
    if path is None:
        return {**cleared, "status": NO_PHOTO}
    try:
        code = tuple(point) if point else start_code(app, kind, emotion, intensity)
        prep = app.models.prepare(kind, path)
        key = app.sessions.keep(prep, session)
    except ganmut.GanmutError as e:
        return {**cleared, "status": warn(e)}
    image, faces = prep.image, prep.faces
    choices = [(f"Face {n}", str(n - 1)) for n in range(1, len(faces) + 1)]
    choices += [("All faces", "all")] if len(faces) > 1 else []
    out = show(app, prep, kind, "0", whole, code)
    shown = stored_mode(image.mode, "PNG")
    notes = prep.notes + ((f"a {image.mode} photo is downloaded as {shown}",) if shown != image.mode else ())
    return {**cleared, **out, "photo_key": key, "faces": views.faces_preview(image, faces),
            "face": gr.Radio(choices=choices, value="0", visible=len(faces) > 1),
            "status": out["status"] + inform(notes)}


def wire(w: Wiring) -> None:
    w.on(w["photo"].change, on_image, ("photo", "model", "whole", "point", "emotion", "intensity"), PHOTO,
         live=True, preprocess=False)
