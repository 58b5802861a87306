"""The page: the parts of the UI laid out and wired, and the API beside them.

On a desktop the stage is three columns (the photo and the reference under it; the result; the wheel and
its controls) with the readings under them, then the gamut sheet and the animation, and the video clip; on a
phone the stylesheet (``static/app.css``) puts the photo and the result side by side above the wheel, and the
reference right under the wheel's part (the intro's step 2 links to it).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, NoReturn

import gradio as gr
import pydantic
from gradio.exceptions import InvalidPathError

from ganmut.errors import shorten

from . import api, ui_gamut, ui_match, ui_photo, ui_picker, ui_result, ui_saved, ui_video
from .context import GanmutApp
from .events import Wiring, bind
from .server import log_user_error
from .views import PAPER

OFFICIAL_CODE = "https://github.com/stefanodapolito/GANmut"
INTRO = """
# GANmut · edit a face to any point of a gamut of emotions

1. **Bring a face**: upload, webcam, paste or pick an example.
2. **Click the wheel**, pick an emotion and its intensity, or [match a reference photo](#reference).
3. **Compare**; save the PNG, a GIF, an MP4 or the point.
"""
ABOUT = (f"Based on *GANmut: Learning Interpretable Conditional Space for Gamut of Emotions* (CVPR 2021): "
         f"[paper]({PAPER}) · [official code]({OFFICIAL_CODE}). Trained on FER2013 (48×48 grayscale faces).")
PARTS = (ui_photo, ui_match, ui_result, ui_picker, ui_saved, ui_gamut, ui_video)


class Page(gr.Blocks):
    """The app's Blocks: a client's payload that Gradio refuses before any handler runs (too few
    arguments, a file argument that is not a file object, a path the server was not sent) is one line
    to the client and to the server log, not Gradio's empty error and a traceback."""

    async def preprocess_data(self, block_fn: Any, inputs: list[Any], *args: Any, **kwargs: Any) -> Any:
        if len(inputs) < len(block_fn.inputs):
            refuse(f"this call takes {len(block_fn.inputs)} arguments, got {len(inputs)}")
        try:
            return await super().preprocess_data(block_fn, inputs, *args, **kwargs)
        except (InvalidPathError, pydantic.ValidationError) as e:
            refuse(refused_payload(block_fn.inputs, inputs, e))


def refuse(message: str) -> NoReturn:
    """A client's error: one line in the server log, and to the client."""
    log_user_error(message)
    raise gr.Error(message, print_exception=False)


def refused_payload(components: list[Any], inputs: list[Any], e: InvalidPathError | pydantic.ValidationError) -> str:
    """One line for a file argument Gradio refused: which one (its component's label) and what it takes."""
    paths = [ui_photo.payload_path(v) if isinstance(v, dict) else None for v in inputs]
    if isinstance(e, pydantic.ValidationError):
        bad = e.errors()[0]["input"]
        i = next((i for i, v in enumerate(inputs) if v is bad), None)
    else:
        i = next((i for i, p in enumerate(paths) if p and str(Path(p).resolve()) in str(e)), None)
    name = getattr(components[i], "label", None) if i is not None else None
    what = f"{name or 'a file argument'} must be a file sent with gradio_client's handle_file(path)"
    if isinstance(e, pydantic.ValidationError):
        return f"{what}, got {shorten(bad)}"
    return f"{what}, not the path of a file on the server ({Path(paths[i]).name if i is not None else 'not sent'})"


def on_unload(app: GanmutApp, request: gr.Request) -> None:
    """A tab closed: its photo and files go now (see :meth:`webapp.sessions.Sessions.end`)."""
    app.sessions.end(request)


def build(app: GanmutApp) -> gr.Blocks:
    """The Blocks of the app (not launched); ``app`` holds the models, the sessions and the API workers."""
    default = app.models.names[0]
    c: dict[str, Any] = {}
    with Page(title="GANmut: gamut of emotions", analytics_enabled=False) as blocks:
        gr.Markdown(INTRO, elem_id="intro")
        gr.Markdown(app.models.banner(), elem_id="banner", visible=bool(app.models.banner()))
        with gr.Row(equal_height=False, elem_id="stage"):
            with gr.Column(scale=3, min_width=220, elem_id="source"):
                c |= ui_photo.layout(under=ui_match.layout)  # the reference in the first screen of a desktop
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
