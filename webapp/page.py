"""The page: the parts of the UI laid out and wired, and the API beside them.

On a desktop the stage is three columns (the photo; the result; the wheel and its controls) with
the readings under them, then the gamut sheet and the animation, and the video clip; on a phone the stylesheet
(``static/app.css``) puts the photo and the result side by side above the wheel.
"""
from __future__ import annotations

from typing import Any

import gradio as gr

from . import api, ui_gamut, ui_match, ui_photo, ui_picker, ui_result, ui_saved, ui_video
from .events import Wiring, bind
from .views import PAPER

OFFICIAL_CODE = "https://github.com/stefanodapolito/GANmut"
INTRO = """
# GANmut · edit a face to any point of a gamut of emotions

1. **Bring a face**: upload, webcam, paste or pick an example.
2. **Click the wheel**, pick an emotion and its intensity, or match a reference photo.
3. **Compare**; save the PNG, a GIF, an MP4 or the point.
"""
ABOUT = (f"Based on *GANmut: Learning Interpretable Conditional Space for Gamut of Emotions* (CVPR 2021): "
         f"[paper]({PAPER}) · [official code]({OFFICIAL_CODE}). Trained on FER2013 (48×48 grayscale faces).")
PARTS = (ui_photo, ui_match, ui_result, ui_picker, ui_saved, ui_gamut, ui_video)


def on_unload(app: Any, request: gr.Request) -> None:
    """A tab closed: its photo and files go now (see :meth:`webapp.sessions.Sessions.end`)."""
    app.sessions.end(request)


def build(app: Any) -> gr.Blocks:
    """The Blocks of the app (not launched); ``app`` holds the models, the sessions and the API workers."""
    default = app.models.names[0]
    c: dict[str, Any] = {}
    with gr.Blocks(title="GANmut: gamut of emotions", analytics_enabled=False) as blocks:
        gr.Markdown(INTRO, elem_id="intro")
        gr.Markdown(app.models.banner(), elem_id="banner", visible=bool(app.models.banner()))
        with gr.Row(equal_height=False, elem_id="stage"):
            with gr.Column(scale=3, min_width=220, elem_id="source"):
                c |= ui_photo.layout()
                c |= ui_match.layout()
            with gr.Column(scale=5, min_width=200, elem_id="view"):
                c |= ui_result.layout()
            with gr.Column(scale=5, min_width=280, elem_id="picker"):
                c |= ui_picker.layout(app, default)
                c |= ui_saved.layout()
        with gr.Row(equal_height=False):
            c |= ui_result.readings_layout(app, default)
        with gr.Accordion("Gamut of emotions and animation", open=True):
            c |= ui_gamut.layout()
        with gr.Accordion("Edit a video clip", open=False, elem_id="video"):
            c |= ui_video.layout()
        gr.Markdown(ABOUT)
        with gr.Accordion("Use the API", open=False):
            gr.Markdown(api.DOC)
        wiring = Wiring(app, blocks, c)
        for part in PARTS:
            part.wire(wiring)
        blocks.unload(bind(app, on_unload))
        api.layout_and_wire(app, default)
    return blocks
