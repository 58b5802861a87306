"""The API: ``/edit_xy``, ``/edit_emotion``, ``/edit_preset``, ``/match``, ``/grid`` and ``/video`` (for
``gradio_client``), on components of their own, hidden from the page.

Each call takes its payloads raw (``preprocess=False``: the errors stay ours) and runs on an API
worker at lower CPU priority, within its client's :data:`~webapp.limits.API_PER_CLIENT` places
(:func:`api_call`). Every argument has one type: numbers for x, y and intensity, strings for
model, emotion, face, preset and target; anything else is refused in one line, as is every user
error. ``/video`` edits one clip at a time on the server, as the page does (:func:`webapp.ui_video.edit_clip`):
a call made while another clip is edited is refused at once, in one line.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gradio as gr
from PIL import Image

import ganmut
from ganmut.weights import model_name
from ganmut.errors import VideoError, shorten
from ganmut.face import face_choice
from ganmut.images import read_image, save_options, storable
from ganmut.presets import parse_preset

from .context import GanmutApp
from .events import bind, inform
from .limits import API_CONCURRENCY, API_PER_CLIENT
from .pools import TooMany
from .server import log_user_error
from .sessions import png_room
from . import ui_video
from .ui_gamut import sheet_face
from .ui_photo import payload_path

TOO_MANY = (f"429 Too Many Requests: this client already has {API_PER_CLIENT} API calls queued or running; "
            "wait for one to finish, then call again")
TEXT_FORMS = {"model": '"linear" or "gaussian"', "emotion": "an emotion's name",
              "face": '"0" (the largest face), "1", ... or "all"',
              "reference_face": '"0" (the largest face of the reference), "1", ...', "preset": 'JSON text {"model": ..., "z": [x, y]}',
              "target": 'an emotion\'s name, "neutral-to:EMOTION" or "tour"'}
DOC = """
Six endpoints, callable with [`gradio_client`](https://www.gradio.app/guides/getting-started-with-the-python-client):
`/edit_xy` (a point of the space), `/edit_emotion` (an emotion and an intensity in [0, 1]), `/edit_preset`
(a saved point, as the JSON the "Saved points" panel shows), `/match` (the expression of a reference
photo, as the emotion classifier reads it), `/grid` (the gamut grid of one face) and `/video` (every
frame of a clip to an emotion, `"neutral-to:EMOTION"` or `"tour"`; an MP4 with the clip's sound).
`model` is `"linear"` (GANmut) or `"gaussian"` (GGANmut); `face` is `"0"` (the largest face), `"1"`, ...
or `"all"` (for `/grid`, which shows one face, the largest). `x`, `y` and `intensity` are numbers, the
other arguments strings. Errors (no face, unreadable image, a point outside the space, a value of the
wrong type) come back as a one-line message. Back to neutral: `/edit_emotion` with `"neutral"`.

```python
from gradio_client import Client, handle_file

client = Client("http://localhost:7860/")
edited = client.predict(handle_file("face.jpg"), 0.6, 0.4, "linear", "0", api_name="/edit_xy")
happy = client.predict(handle_file("face.jpg"), "happy", 0.8, "gaussian", "all", api_name="/edit_emotion")
saved = client.predict(handle_file("face.jpg"), '{"model": "gaussian", "z": [-0.35, 0.5]}', "0",
                       api_name="/edit_preset")
matched = client.predict(handle_file("face.jpg"), handle_file("smile.jpg"), "linear", "0", "0", api_name="/match")
grid = client.predict(handle_file("face.jpg"), "linear", "0", api_name="/grid")
print(edited, happy, saved, matched, grid)  # paths of PNG files
clip = client.predict(handle_file("clip.mp4"), "neutral-to:happy", 1.0, "linear", api_name="/video")
print(clip)  # the path of an MP4
```
"""
DOC += (f"\nA clip may be {ui_video.LIMITS.max_seconds:g} s long, {ui_video.LIMITS.max_side} px on its longest side "
        f"and {ui_video.LIMITS.max_bytes / 1e6:g} MB; one clip is edited at a time on the server (a call made while "
        "another is edited is refused at once).\n")


def text(value: Any, name: str) -> str:
    """A string argument of an API call; GanmutError, saying what it takes, for anything else."""
    if not isinstance(value, str):
        raise ganmut.GanmutError(f"{name} must be a string, {TEXT_FORMS[name]}; got {shorten(value)}")
    return value


def api_image(payload: Any) -> Image.Image:
    """The photo of an API call, read as the UI reads it (its notes go to the caller's log and the server's)."""
    path = payload_path(payload)
    if path is None:
        raise ganmut.ImageError("no image given")
    loaded = read_image(path)
    inform(loaded.notes)
    return loaded.image


def api_call(app: GanmutApp, work: Callable[[], str], request: gr.Request | None, payloads: tuple[Any, ...] = ()) -> str:
    """An API call: ``work``, which writes the call's file and answers its path, on an API worker (low
    priority), within one of its client's places, its uploaded ``payloads`` kept from the temporary
    folder's sweeps meanwhile. Past the places, and for a user error, a one-line gr.Error (and one line
    in the server log, no traceback)."""
    try:
        with app.api_clients.hold(getattr(request, "session_hash", None) or "anonymous"):
            with app.sessions.reading(payload_path(p) for p in payloads):
                return app.api_pool.run(work)
    except TooMany:
        log_user_error(TOO_MANY)
        raise gr.Error(TOO_MANY, print_exception=False) from None
    except ganmut.GanmutError as e:
        log_user_error(str(e))
        raise gr.Error(str(e), print_exception=False) from None


def png(app: GanmutApp, request: gr.Request | None, work: Callable[[], Image.Image]) -> Callable[[], str]:
    """``work`` with its image written as a PNG API result of ``request``'s client (:meth:`Sessions.api_result`): the path."""
    def write() -> str:
        image = storable(work(), "PNG")
        with app.sessions.api_result(request, ".png", png_room(image)) as path:
            image.save(path, **save_options("PNG"))
        return str(path)

    return write


def edited(app: GanmutApp, image: Any, model: Any, face: Any,
           code: Callable[[ganmut.Editor], tuple[float, ...]]) -> Image.Image:
    """The photo ``image`` edited by ``model`` at the code ``code`` gives for its editor."""
    kind = model_name(text(model, "model"))
    return app.models.edit(kind, api_image(image), code(app.models.editor(kind)), text(face, "face")).image


def edit_xy(app: GanmutApp, image: Any, x: float, y: float, model: str, face: str, client: gr.Request | None = None) -> str:
    """Edit to the code (x, y) of the model's space (linear: unit disc; Gaussian: [-1, 1]^2)."""
    return api_call(app, png(app, client, lambda: edited(app, image, model, face, lambda ed: ed.code(z=(x, y)))), client,
                    (image,))


def edit_emotion(app: GanmutApp, image: Any, emotion: str, intensity: float, model: str, face: str,
                 client: gr.Request | None = None) -> str:
    """Edit to a basic emotion at an intensity in [0, 1]."""
    def code(ed: ganmut.Editor) -> tuple[float, ...]:
        return ed.code(emotion=text(emotion, "emotion"), intensity=intensity)

    return api_call(app, png(app, client, lambda: edited(app, image, model, face, code)), client, (image,))


def edit_preset(app: GanmutApp, image: Any, preset: str, face: str, client: gr.Request | None = None) -> str:
    """Edit to a saved point: ``{"model": "linear", "z": [x, y]}`` as JSON (what the page shows for a
    saved point, and what `python -m ganmut presets` keeps)."""
    def edit() -> Image.Image:
        p = parse_preset(text(preset, "preset"))
        return edited(app, image, p.model, face, lambda ed: ed.code(z=p.z))

    return api_call(app, png(app, client, edit), client, (image,))


def match(app: GanmutApp, image: Any, reference: Any, model: str, face: str, reference_face: str,
          client: gr.Request | None = None) -> str:
    """Edit to the expression of a reference photo: the point its face ``reference_face`` reads as."""
    def edit() -> Image.Image:
        kind = model_name(text(model, "model"))
        which = face_choice(text(reference_face, "reference_face"))
        if which == "all":
            raise ganmut.NoFaceError(f"reference_face must be {TEXT_FORMS['reference_face']}, not all")
        path = payload_path(reference)
        if path is None:
            raise ganmut.ImageError("reference photo: no image given")
        point = app.models.reference_point(kind, path, which)[0]
        return edited(app, image, kind, face, lambda ed: point)

    return api_call(app, png(app, client, edit), client, (image, reference))


def grid(app: GanmutApp, image: Any, model: str, face: str, client: gr.Request | None = None) -> str:
    """The gamut-of-emotions grid of one face."""
    def sheet() -> Image.Image:
        kind = model_name(text(model, "model"))
        return app.models.grid(kind, api_image(image), sheet_face(text(face, "face")))

    return api_call(app, png(app, client, sheet), client, (image,))


def video(app: GanmutApp, clip: Any, target: str, intensity: float, model: str, client: gr.Request | None = None) -> str:
    """Edit the largest face of every frame of a clip to a target (an emotion at an intensity, a path
    from neutral to one, or a tour of every emotion); the path of the MP4, with the clip's sound."""
    def edit() -> str:
        kind = model_name(text(model, "model"))
        src = payload_path(clip)
        if src is None:
            raise VideoError("no video given")
        spec = ui_video.clip_target(text(target, "target"), intensity)
        with app.sessions.api_result(client, ".mp4") as out:  # edit_clip reserves the MP4's room
            inform(ui_video.edit_clip(app, kind, src, out, spec, wait=False).notes)  # written whole or not at all
        return str(out)

    return api_call(app, edit, client, (clip,))


def layout_and_wire(app: GanmutApp, default: str) -> None:
    """The endpoints, on hidden components (their labels name the arguments in the API's description)."""
    with gr.Column(visible=False):
        image = gr.Image(type="filepath", image_mode=None, label="image")
        reference = gr.Image(type="filepath", image_mode=None, label="reference")
        x, y = gr.Number(label="x"), gr.Number(label="y")
        emotion, intensity = gr.Textbox(label="emotion"), gr.Number(label="intensity")
        model, face = gr.Textbox(value=default, label="model"), gr.Textbox(value="0", label="face")
        preset, reference_face = gr.Textbox(label="preset"), gr.Textbox(value="0", label="reference_face")
        clip, target = gr.Video(label="clip"), gr.Textbox(label="target")
        out = gr.Image(type="pil", format="png", label="edited")
        clip_out = gr.File(label="edited clip")
    # raw payloads; API_CONCURRENCY calls pass at once to api_call, which bounds them
    lane = dict(preprocess=False, concurrency_id="api", concurrency_limit=API_CONCURRENCY)
    for fn, inputs in ((edit_xy, [image, x, y, model, face]), (edit_emotion, [image, emotion, intensity, model, face]),
                       (edit_preset, [image, preset, face]), (match, [image, reference, model, face, reference_face]),
                       (grid, [image, model, face])):
        gr.on([], bind(app, fn), inputs, [out], api_name=fn.__name__, **lane)
    gr.on([], bind(app, video), [clip, target, intensity, model], [clip_out], api_name="video", **lane)
