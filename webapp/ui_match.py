"""Match a reference expression: a second photo (upload, webcam or paste) whose face the emotion
classifier reads; the point of that reading (:meth:`ganmut.Editor.reference_point`) becomes the
current point, so the marker, the controls and the edit of the user's photo follow."""
from __future__ import annotations

from typing import Any

import gradio as gr

import ganmut

from . import views
from .context import GanmutApp
from .point_edit import EDIT, as_code, show
from .events import Wiring, warn
from .ui_photo import payload_path


def layout() -> dict[str, Any]:
    """The reference photo's input (in the page's source column)."""
    reference = gr.Image(label="Match a reference expression", type="filepath",
                         sources=["upload", "webcam", "clipboard"], image_mode=None, height=160, elem_id="reference")
    return {"reference": reference}


def reading_line(reading: dict[str, float]) -> str:
    """The reference's reading in a few words: its two strongest emotions."""
    top = sorted(reading.items(), key=lambda kv: -kv[1])[:2]
    return ", ".join(f"{e} {p:.0%}" for e, p in top)


def reference_line(space: Any, code: tuple[float, ...], reading: dict[str, float]) -> str:
    """What the reference reads and the one emotion its point leans to (:func:`webapp.views.lean`,
    which the edit, the emotion control and the readout name): the point is the reading's emotions'
    points averaged by their shares, which in GGANmut may lean elsewhere than the strongest reading."""
    return (f"The reference reads {reading_line(reading)}, which averaged over the emotions' points is "
            f"{views.lean(space, code)[0]}.")


def on_reference(app: GanmutApp, key: str | None, kind: str, face: str, whole: bool, payload: Any,
                 session: gr.Request | None = None) -> dict[str, Any]:
    """A reference photo: the point its largest face reads as, and the edit there (the controls set
    to it). A reference without a face, or no classifier, is one line; a cleared reference changes nothing."""
    path = payload_path(payload)
    app.sessions.hold(session, "reference", path)
    if path is None:
        return {}
    try:
        point, reading = app.models.reference_point(kind, path)
    except ganmut.GanmutError as e:
        return {"status": warn(e)}
    code = as_code(point)
    out = show(app, app.sessions.held(key), kind, face, whole, code, controls=True)
    return {**out, "status": f"{reference_line(app.models.editor(kind).space, code, reading)} {out['status']}"}


def wire(w: Wiring) -> None:
    w.on(w["reference"].change, on_reference, ("photo_key", "model", "face", "whole", "reference"), EDIT, live=True,
         preprocess=False)
