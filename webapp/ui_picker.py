"""The picker: the clickable emotion wheel (drawn in the page by ``static/wheel.js``), the emotion and
intensity controls and the model. One state, the point of the space (``point``), drives them all:
a wheel click sets it (and the controls to the nearest emotion and its intensity); a press dragged
over the wheel previews the points it passes (the controls follow) and its release sets it; the intensity
slider moves it along its ray (GGANmut: along the emotion's path), **Neutral** sends it to the neutral
anchor; the marker follows."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import gradio as gr

import ganmut
from ganmut.errors import number, shorten

from . import views
from .context import GanmutApp
from .point_edit import (DRAG, EDIT, EMOTION_CHOICES, MODEL_SWITCH, as_code, page_intensity, preview, show, start_code,
                   switch_model)
from .events import Wiring, warn
from .models import MODEL_LABELS
from .server import PLOTLY_URL
from .sessions import session_key

WHEEL_JS = Path(__file__).with_name("static") / "wheel.js"
WHEEL_HTML = ('<div class="ganmut-stage"><div class="ganmut-wheel"></div><div class="ganmut-marker"></div></div>'
              '<div class="ganmut-wheel-empty">The emotion wheel appears here once trained weights are available.'
              '</div>')
MAX_SEQ = 2**31 - 1
"""The largest wheel event number taken (the page numbers its events 1, 2, ...: years of dragging)."""
START = {"emotion": "happy", "intensity": 1.0}
"""The first edit of a new photo: full happiness."""


def layout(app: GanmutApp, default: str) -> dict[str, Any]:
    """The wheel, the emotion and intensity controls, the legend, the model picker and its note."""
    wheel = gr.HTML(value=app.models.wheel(default if app.models.paths else None), html_template=WHEEL_HTML,
                    js_on_load=WHEEL_JS.read_text(), head=f'<script src="{PLOTLY_URL}"></script>',
                    elem_id="wheel", point=None, seq=0)
    with gr.Row():
        emotion = gr.Dropdown(EMOTION_CHOICES, value=START["emotion"], label="Emotion", scale=1, min_width=110,
                              elem_id="emotion")
        intensity = gr.Slider(0, 1, value=START["intensity"], step=0.01, label="Intensity", scale=2, min_width=160,
                              elem_id="intensity")
        neutral = gr.Button("Neutral", size="sm", scale=0, min_width=80, elem_id="neutral")
    gr.Markdown(f"<small>{views.LEGEND}. The centre is neutral. Hover to read the mix; click, or drag, to edit.</small>")
    model = gr.Radio([(MODEL_LABELS[k], k) for k in app.models.names], value=default, label="Model", elem_id="model")
    note = gr.Markdown(views.model_note(default))
    return {"wheel": wheel, "emotion": emotion, "intensity": intensity, "neutral": neutral, "model": model,
            "model_note": note, "point": gr.State(None)}


def event_data(evt: Any) -> dict[str, Any]:
    """The data a wheel event carries (``{x, y, seq}``); ValueError, in one line, when it carries none."""
    data = getattr(evt, "_data", None) if isinstance(evt, gr.EventData) else vars(evt) if evt is not None else None
    if not isinstance(data, dict):
        raise ValueError("the wheel event carries no data; it takes {x, y, seq}")
    return data


def wheel_seq(value: Any) -> int:
    """A wheel event's number: a whole number in 0..:data:`MAX_SEQ` (0, or none: not ordered); ValueError otherwise."""
    if value is None:
        return 0
    x = number(value, "the wheel event's number")
    if not (x.is_integer() and 0 <= x <= MAX_SEQ):
        raise ValueError(f"the wheel event's number must be a whole number in 0..{MAX_SEQ}, got {shorten(value)}")
    return int(x)


def wheel_event(app: GanmutApp, kind: str, evt: gr.EventData) -> tuple[int, tuple[float, ...] | None, str]:
    """A wheel event's number (0 when it has no valid one), its exact point projected into the space
    (a point outside goes to the edge) and ``""``; for a bad event, None and the warning's status line
    (a bad number is never noted, so the page's later events still count)."""
    try:
        data = event_data(evt)
        seq = wheel_seq(data.get("seq"))
    except ValueError as e:
        return 0, None, warn(e)
    try:
        xy = (number(data.get("x"), "x"), number(data.get("y"), "y"))
        return seq, as_code(app.models.editor(kind).space.project(xy)), ""
    except (ganmut.GanmutError, ValueError) as e:
        return seq, None, warn(e)


def in_order(app: GanmutApp, request: gr.Request | None, seq: int, answer: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """``answer()`` to wheel event ``seq``; only its number when the page sent a newer wheel event meanwhile
    (a look that took longer than the page waits, say), so that a late answer never replaces a newer one."""
    if seq <= 0:
        return answer()
    page = session_key(request)
    app.sessions.wheel_event(page, seq)
    out = answer()
    return {"wheel": gr.HTML(seq=seq)} if app.sessions.superseded(page, seq) else out


def on_click(app: GanmutApp, key: str | None, kind: str, face: str, whole: bool, evt: gr.EventData,
             request: gr.Request = None) -> dict[str, Any]:
    """A click on the wheel, or the release of a drag: the exact point, the controls set to it, the edit."""
    seq, code, problem = wheel_event(app, kind, evt)
    if code is None:
        return {"wheel": gr.HTML(seq=seq), "status": problem}
    return in_order(app, request, seq, lambda: show(app, app.sessions.held(key), kind, face, whole, code, controls=True,
                                                    seq=seq))


def on_drag(app: GanmutApp, key: str | None, kind: str, face: str, whole: bool, evt: gr.EventData,
            request: gr.Request = None) -> dict[str, Any]:
    """A point of a drag on the wheel (the press held and moved): a quick look there (:func:`preview`);
    a released photo is said once, by the release's click, not at every move."""
    seq, code, problem = wheel_event(app, kind, evt)
    if code is None:
        return {"wheel": gr.HTML(seq=seq), "status": problem}
    return in_order(app, request, seq,
                    lambda: preview(app, app.sessions.photos.get(key) if key else None, kind, face, whole, code, seq))


def on_intensity(app: GanmutApp, key: str | None, kind: str, face: str, whole: bool, point: list | None, emotion: str,
                 intensity: float) -> dict[str, Any]:
    """The intensity slider moved: the point moves along its ray (GGANmut: along the emotion's path)."""
    try:
        space = app.models.editor(kind).space
        r = page_intensity(intensity)
        code = as_code(space.at_intensity(point, emotion, r) if point else space.code(emotion, r))
    except (ganmut.GanmutError, ValueError) as e:
        return {"status": warn(e)}
    return show(app, app.sessions.held(key), kind, face, whole, code)


def on_emotion(app: GanmutApp, key: str | None, kind: str, face: str, whole: bool, emotion: str,
               intensity: float) -> dict[str, Any]:
    """Another emotion chosen: its point at the current intensity."""
    try:
        code = start_code(app, kind, emotion, intensity)
    except (ganmut.GanmutError, ValueError) as e:
        return {"status": warn(e)}
    return show(app, app.sessions.held(key), kind, face, whole, code)


def on_neutral(app: GanmutApp, key: str | None, kind: str, face: str, whole: bool) -> dict[str, Any]:
    """Back to neutral: the point at the space's neutral anchor (the intensity at 0, the emotion kept, so
    that the slider leads back to it), identity and the rest of the photo kept."""
    try:
        code = start_code(app, kind, "neutral", 1.0)
    except ganmut.GanmutError as e:
        return {"status": warn(e)}
    return {**show(app, app.sessions.held(key), kind, face, whole, code), "intensity": gr.Slider(value=0)}


def on_model(app: GanmutApp, kind: str, key: str | None, face: str, whole: bool, emotion: str,
             intensity: float) -> dict[str, Any]:
    """Another model: the same emotion and intensity in its space."""
    try:
        code = start_code(app, kind, emotion, intensity)
    except ganmut.GanmutError as e:
        return {"status": warn(e)}
    return switch_model(app, kind, key, face, whole, code)


def wire(w: Wiring) -> None:
    # The events that take the intensity control take it raw (preprocess=False): Gradio's own check of a
    # value typed outside the slider's range answered with a bare error and a traceback (point_edit.page_intensity).
    # Wheel clicks and drags are sent one at a time by the page, the last one kept (see static/wheel.js).
    w.on(w["wheel"].click, on_click, ("photo_key", "model", "face", "whole"), EDIT, live=True, trigger_mode="multiple")
    w.on(w["wheel"].input, on_drag, ("photo_key", "model", "face", "whole"), DRAG, trigger_mode="multiple",
         show_progress="hidden")
    for trigger in (w["intensity"].input, w["intensity"].release):
        w.on(trigger, on_intensity, ("photo_key", "model", "face", "whole", "point", "emotion", "intensity"), EDIT,
             live=True, preprocess=False)
    w.on(w["emotion"].input, on_emotion, ("photo_key", "model", "face", "whole", "emotion", "intensity"), EDIT,
         live=True, preprocess=False)
    w.on(w["neutral"].click, on_neutral, ("photo_key", "model", "face", "whole"), EDIT, live=True)
    w.on(w["model"].input, on_model, ("model", "photo_key", "face", "whole", "emotion", "intensity"), MODEL_SWITCH,
         live=True, preprocess=False)
