"""GANmut demo: edit the expression of a face to any point of a learned 2-D gamut of emotions.

A thin Gradio composition of :class:`ganmut.Editor` (detection, editing, grids) and
:mod:`ganmut.wheel` (the clickable Plotly wheel). Run ``python app.py`` and open
http://localhost:7860 (``GRADIO_SERVER_NAME`` / ``GRADIO_SERVER_PORT`` are honoured).

Weights: ``weights/ganmut-linear.safetensors`` and ``weights/ganmut-gaussian.safetensors``, or
what ``GANMUT_WEIGHTS`` names: a directory holding those two files, a pair of files
``LINEAR.safetensors,GAUSSIAN.safetensors`` (either may be left empty), or a Hugging Face Hub
repo id (downloaded with ``huggingface_hub.snapshot_download``). Without weights the app starts,
says so in a banner, and every edit answers with that message.

API (``gradio_client``): ``/edit_xy``, ``/edit_emotion`` and ``/grid``; see the "Use the API" panel.

Resources are bounded (see "Limits" in the README): the photos of all sessions together by
``GANMUT_SESSION_MEMORY_MB`` and freed when a tab closes; Gradio's temporary folder (uploads,
outputs, animations) by ``GANMUT_TEMP_MB``; the editors' detection caches by bytes. Interactive
events have a queue of their own and the CPU first: API calls run on worker threads of lower
priority. An API client may have ``API_PER_CLIENT`` calls in flight, and gets a one-line
"429 Too Many Requests" error past that.

Messages to a client are one line and name files by their basename only; errors that are not the
user's input's fault reach a client as Gradio's generic error (``show_error=False``) and the server
log in full. plotly.js is served from the installed package at ``/ganmut/plotly.min.js``.
"""
from __future__ import annotations

import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import functools
import hashlib
import importlib.util
import re
import shutil
import sys
import tempfile
import threading
import uuid
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import gradio as gr
import spaces
import torch
from PIL import Image, ImageDraw, ImageFont
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

import ganmut
from ganmut import wheel
from ganmut.editor import MODEL_FILES, WEIGHTS_DIR
from ganmut.emotions import COLORS, EMOTIONS, NEUTRAL
from ganmut.errors import shorten
from ganmut.images import read_image, storable, stored_mode
from ganmut.limits import MB, ByteLRU, DiskBudget, LowPriorityPool, PerClient, TooMany, nbytes, trim_heap
from ganmut.spaces import Space

MODEL_LABELS = {"linear": "GANmut (linear)", "gaussian": "GGANmut (Gaussian)"}
MODEL_NOTES = {
    "linear": "**GANmut** learns one *direction* per basic emotion in the unit disc: the angle of a point "
              "picks the emotion, its distance from the neutral centre the intensity.",
    "gaussian": "**GGANmut** learns one *Gaussian mode* per basic emotion: every point is a mix of emotions "
                "(the label distribution), so points between modes give compound expressions.",
}
PAPER = ("https://openaccess.thecvf.com/content/CVPR2021/html/dApolito_GANmut_Learning_Interpretable_"
         "Conditional_Space_for_Gamut_of_Emotions_CVPR_2021_paper.html")
OFFICIAL_CODE = "https://github.com/stefanodapolito/GANmut"
EXAMPLES = sorted(str(p) for p in (Path(__file__).parent / "assets" / "examples").glob("*.jpg"))
START = {"mode": "emotion", "emotion": "happy", "intensity": 1.0}
"""The first edit of a new photo: full happiness."""
PLOTLY_JS = Path(importlib.util.find_spec("plotly").submodule_search_locations[0]) / "package_data" / "plotly.min.js"
PLOTLY_URL = "/ganmut/plotly.min.js"
"""Where the page loads plotly.js from: a route of its own, so that no server path is in the page."""
MAX_FILE_SIZE = "30mb"
MAX_UPLOAD_BYTES = 30 * 1000 * 1000
ANIMATION_SIDE = 320
ANIMATION_MS = 90


# --------------------------------------------------------------------------- weights
def resolve_weights(spec: str | None) -> tuple[dict[str, Path], str | None]:
    """Checkpoint path per available model name, and a problem to show (None when all is well)."""
    if not spec:
        base, where = WEIGHTS_DIR, f"`{WEIGHTS_DIR.name}/`"
    elif Path(spec).is_dir():
        base, where = Path(spec), f"`{Path(spec).name}/`"
    elif "," in spec or Path(spec).is_file():
        parts = [p.strip() for p in spec.split(",")] + [""]
        found = {k: Path(p) for k, p in zip(MODEL_FILES, parts) if p and Path(p).is_file()}
        missing = [Path(p).name for p in parts if p and not Path(p).is_file()]
        return found, (f"GANMUT_WEIGHTS names missing files: {', '.join(missing)}" if missing or not found else None)
    elif re.fullmatch(r"[\w.-]+/[\w.-]+", spec):
        try:
            from huggingface_hub import snapshot_download

            base, where = Path(snapshot_download(spec, allow_patterns=["*.safetensors", "*.md"])), f"Hub repo `{spec}`"
        except Exception as e:  # offline, unknown repo, no access: the app still starts
            print(f"GANMUT_WEIGHTS: {type(e).__name__}: {e}", file=sys.stderr)
            return {}, f"could not download the weights from the Hub repo `{spec}` ({type(e).__name__}; see the server log)"
    else:
        return {}, f"GANMUT_WEIGHTS=`{Path(spec).name}` is neither a directory, a file pair nor a Hub repo id"
    found = {k: base / f for k, f in MODEL_FILES.items() if (base / f).is_file()}
    if found:
        return found, None
    return {}, f"no trained weights in {where} (expected {' and '.join(MODEL_FILES.values())})"


WEIGHTS, WEIGHTS_PROBLEM = resolve_weights(os.environ.get("GANMUT_WEIGHTS"))
_lock = threading.Lock()


def editor(kind: str) -> ganmut.Editor:
    """The shared editor of a model; CheckpointError with the banner's text when it is not available."""
    if kind not in WEIGHTS:
        raise ganmut.CheckpointError(banner().replace("**", "").replace("`", ""))
    with _lock:
        return _load_editor(kind)


@functools.cache
def _load_editor(kind: str) -> ganmut.Editor:
    return ganmut.load(WEIGHTS[kind])


def preload() -> str | None:
    """Load every available model now (on ZeroGPU the weights must reach CUDA at start-up);
    a checkpoint that fails to load is dropped, and the reason returned for the banner."""
    problems = []
    for kind in list(WEIGHTS):
        try:
            editor(kind)
        except ganmut.GanmutError as e:
            problems.append(str(e))
            del WEIGHTS[kind]
    return "; ".join(problems) or None


WEIGHTS_PROBLEM = preload() or WEIGHTS_PROBLEM
MODELS = list(WEIGHTS) or list(MODEL_FILES)


def banner() -> str:
    """What the banner says: nothing when every model loaded."""
    if not WEIGHTS:
        return (
            "**No trained weights are bundled with this app yet**, so it cannot edit faces. "
            f"Reason: {WEIGHTS_PROBLEM}. Put `ganmut-linear.safetensors` / `ganmut-gaussian.safetensors` in "
            "`weights/` (training is described in the README), or point the `GANMUT_WEIGHTS` environment "
            "variable at a directory, a `LINEAR,GAUSSIAN` file pair or a Hugging Face Hub repo id, and restart."
        )
    missing = [MODEL_LABELS[k] for k in MODEL_FILES if k not in WEIGHTS]
    if missing:
        return f"**Only {', '.join(MODEL_LABELS[k] for k in WEIGHTS)} is available**: {WEIGHTS_PROBLEM or 'no weights for ' + ', '.join(missing)}."
    return ""


# --------------------------------------------------------------------------- resources and fairness
def env_count(name: str, default: int) -> int:
    """A positive whole number from the environment variable ``name`` (``default`` when unset)."""
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    if not value.isdigit() or int(value) < 1:
        raise SystemExit(f"{name} must be a whole number of at least 1, got {shorten(value)}")
    return int(value)


API_WORKERS = env_count("GANMUT_API_WORKERS", len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)
"""API calls computed at once (one torch thread each; default: one per core), at CPU priority ``nice`` 10."""
UI_CONCURRENCY = 2
"""Interactive events (all visitors together) that run at once, in Gradio's "ui" group; more wait in order."""
API_CONCURRENCY = 16
"""API calls let through Gradio's "api" group at once, to the per-client check and the API workers' queue."""
API_PER_CLIENT = 2
"""API calls one client (a gradio_client session) may have waiting or running; past that, a 429 error."""
QUEUE_SIZE = 64
"""Events that may wait in Gradio's queue; past that, Gradio answers "Queue is full"."""
MAX_SESSIONS = 1000
"""Sessions whose Gradio state (about 90 kB each, the photo not included) is kept, least recently used first out."""
SESSION_MEMORY = env_count("GANMUT_SESSION_MEMORY_MB", 1024) * MB
"""Bytes of photos all sessions hold together, the least recently used session's photo released
first. A session holds one photo: at most 160 MB (40 megapixels, the most that is edited at full
size, at 4 bytes a pixel, the most PIL takes)."""
TEMP_BYTES = env_count("GANMUT_TEMP_MB", 500) * MB
"""Bytes Gradio's temporary folder (uploads, outputs, animations) may hold; a sweep every
:data:`SWEEP_S` seconds brings it down to half of that, and deletes files older than 30 minutes."""
SWEEP_S = 5.0
TEMP_DIR = Path(gr.utils.get_upload_folder())
SESSIONS_DIR = TEMP_DIR / "ganmut-sessions"
RELEASED = "Your photo was released to make room for other visitors: please upload it again."

if not torch.cuda.is_available():
    torch.set_num_threads(1)  # edits run side by side, one core each; more threads per edit oversubscribe the cores

API_POOL = LowPriorityPool(API_WORKERS, nice=10, name="ganmut-api")
API_CLIENTS = PerClient(API_PER_CLIENT)
PHOTOS: ByteLRU[str, Image.Image] = ByteLRU(SESSION_MEMORY)
"""Each session's photo, under its session hash; the session's ``image`` State holds only that key."""


TOO_MANY = (f"429 Too Many Requests: this client already has {API_PER_CLIENT} API calls queued or running; "
            "wait for one to finish, then call again")


def api_call(work: Callable[[], Image.Image], request: gr.Request | None) -> str:
    """An API call: ``work``, and the PNG it makes, on an API worker (low priority), within one of its
    client's API_PER_CLIENT places; the path of the PNG. Past the places, and for a user error, a one-line gr.Error."""
    try:
        with API_CLIENTS.hold(getattr(request, "session_hash", None) or "anonymous"):
            return API_POOL.run(lambda: save_png(work()))
    except TooMany:
        raise gr.Error(TOO_MANY) from None
    except ganmut.GanmutError as e:
        raise gr.Error(str(e)) from None


def save_png(img: Image.Image) -> str:
    """Write an API result in the temporary folder (where Gradio serves it from, and TEMP sweeps it)."""
    TEMP_DIR.mkdir(parents=True, exist_ok=True)
    path = TEMP_DIR / f"ganmut-api-{uuid.uuid4().hex}.png"
    png(img).save(path)
    return str(path)


def session_key(request: gr.Request | None) -> str:
    """The key of a session's photo and files: a hash of its session hash (the client chooses that)."""
    return hashlib.sha256(str(getattr(request, "session_hash", None) or "local").encode()).hexdigest()[:32]


def keep_photo(image: Image.Image, request: gr.Request | None) -> str:
    """Hold a session's new photo (replacing its last one); the key for its ``image`` State.
    ImageError when the photo alone needs more than :data:`SESSION_MEMORY`."""
    key = session_key(request)
    if not PHOTOS.put(key, image):
        raise ganmut.ImageError(f"this photo needs {nbytes(image) / MB:.1f} MB of memory, more than the "
                                f"{PHOTOS.max_bytes / MB:.1f} MB this server holds for photos: use a smaller one")
    return key


def held(key: str | None) -> Image.Image | None:
    """The photo a session holds; None, with a toast, when it was released for room."""
    if key is None:
        return None
    image = PHOTOS.get(key)
    if image is None:
        gr.Warning(RELEASED)
    return image


def kept_files() -> set[str]:
    """Temporary files Gradio must keep (the examples' copies)."""
    return set().union(*(getattr(b, "keep_in_cache", set()) for b in demo.blocks.values()))


def forget_files(paths: set[str]) -> None:
    """Drop deleted files from Gradio's records of the files it made (which would otherwise grow)."""
    for files in demo.temp_file_sets:
        files.difference_update(paths)


def discard(paths: Iterable[Path]) -> None:
    """Delete files and drop them from Gradio's records."""
    gone = set()
    for path in paths:
        path.unlink(missing_ok=True)
        gone.add(str(path))
    forget_files(gone)


TEMP = DiskBudget([TEMP_DIR], TEMP_BYTES, TEMP_BYTES // 2, max_age_s=1800, keep=kept_files, forget=forget_files)


def end_session(request: gr.Request) -> None:
    """A tab closed: free its photo and delete its animations now (Gradio keeps a closed session's state an hour)."""
    key = session_key(request)
    PHOTOS.pop(key)
    folder = SESSIONS_DIR / key
    discard(folder.glob("*") if folder.is_dir() else ())
    shutil.rmtree(folder, ignore_errors=True)
    trim_heap()


class UploadGuard:
    """ASGI middleware: an upload that does not fit under the temporary folder's cap gets HTTP 503."""

    def __init__(self, app: ASGIApp, budget: DiskBudget) -> None:
        self.app = app
        self.budget = budget

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and scope["path"].rstrip("/").endswith("/upload"):
            length = dict(scope["headers"]).get(b"content-length", b"")
            size = int(length) if length.isdigit() else MAX_UPLOAD_BYTES
            if not await anyio.to_thread.run_sync(self.budget.admit, size):
                refusal = JSONResponse({"detail": "the server's temporary storage is full: try again in a minute"},
                                       status_code=503, headers={"Retry-After": "60"})
                await refusal(scope, receive, send)
                return
            try:
                await self.app(scope, receive, send)
            finally:
                self.budget.done(size)
            return
        await self.app(scope, receive, send)


@asynccontextmanager
async def lifespan(app: Any) -> AsyncIterator[None]:
    """While the server runs, sweep the temporary folder in a thread of its own."""
    sweeper = threading.Thread(target=TEMP.run, args=(SWEEP_S,), name="ganmut-temp-sweeper", daemon=True)
    sweeper.start()
    try:
        yield
    finally:
        TEMP.stop()


# --------------------------------------------------------------------------- GPU-bound work
@spaces.GPU(duration=30)
def run_edit(image: Image.Image, kind: str, code: tuple[float, ...], face: int | str) -> ganmut.EditResult:
    return editor(kind).edit(image, z=code, face=face)


@spaces.GPU(duration=60)
def run_many(image: Image.Image, kind: str, codes: list[tuple[float, ...]], face: int | str) -> list[ganmut.EditResult]:
    return editor(kind).edit_many(image, codes, face=face)


@spaces.GPU(duration=60)
def run_grid(image: Image.Image, kind: str, face: int) -> Image.Image:
    return editor(kind).grid(image, face=face)


@spaces.GPU(duration=30)
def run_detect(image: Image.Image, kind: str) -> list[ganmut.Face]:
    return editor(kind).detect(image)


# --------------------------------------------------------------------------- helpers
def payload_path(payload: Any) -> str | None:
    """The server path of an un-preprocessed image payload (FileData dict), or None."""
    if payload is None:
        return None
    path = payload.get("path") if isinstance(payload, dict) else getattr(payload, "path", None)
    return str(path) if path else None


def parse_face(face: str | int | None) -> int | str:
    """'all' or a 0-based face number (the UI and API give strings)."""
    if face is None or face == "":
        return 0
    if str(face).strip().lower() == "all":
        return "all"
    try:
        return int(face)
    except (TypeError, ValueError):
        raise ganmut.NoFaceError(f"face must be a face number (0 = largest) or 'all', got {shorten(face)}") from None


def code_for(request: dict, kind: str) -> tuple[float, ...]:
    """The code of an edit request in a model's space: a clicked point (clamped into the space)
    or an emotion at an intensity (the space's own path from neutral to that emotion)."""
    space = editor(kind).space
    if request["mode"] == "xy":
        return space.project(request["z"])
    return editor(kind).code(emotion=request["emotion"], intensity=float(request["intensity"]))


def describe(space: Space, code: tuple[float, ...]) -> str:
    """'happy 62% · neutral 38% at (+0.52, +0.31)'."""
    return f"{wheel.mix_text(wheel.mix_at(space, code))} at ({code[0]:+.2f}, {code[1]:+.2f})"


def faces_preview(image: Image.Image, faces: list[ganmut.Face], side: int = 560) -> Image.Image:
    """A small copy of the photo with every face boxed and numbered (1 = largest)."""
    img = image.convert("RGB")
    scale = min(1.0, side / max(img.size))
    img = img.resize((max(1, round(img.width * scale)), max(1, round(img.height * scale))), Image.Resampling.LANCZOS)
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


def face_window(result: ganmut.EditResult, size: tuple[int, int], margin: float = 0.45) -> tuple[int, int, int, int]:
    """A square-ish box around the edited faces with some margin, inside the photo."""
    x0 = min(f.box[0] for f in result.faces)
    y0 = min(f.box[1] for f in result.faces)
    x1 = max(f.box[2] for f in result.faces)
    y1 = max(f.box[3] for f in result.faces)
    pad = margin * max(x1 - x0, y1 - y0)
    return (max(0, int(x0 - pad)), max(0, int(y0 - pad)), min(size[0], int(x1 + pad)), min(size[1], int(y1 + pad)))


@functools.cache
def wheel_value(kind: str | None) -> str:
    """Figure JSON of a model's wheel, without marker ('' when the model is not available); the
    marker is the component's ``point`` prop, which the page's script draws."""
    try:
        return wheel.figure_json(wheel.wheel_figure(editor(kind).space)) if kind else ""
    except ganmut.GanmutError:
        return ""


def warn(e: Exception) -> str:
    """Show a one-line user error as a toast and return it for the status line."""
    gr.Warning(str(e))
    return f"⚠️ {e}"


def inform(notes: tuple[str, ...]) -> str:
    """Show notes on how a photo was read as toasts and in the server log; the status line's suffix."""
    for note in notes:
        gr.Info(note)
        print(f"note: {note}", file=sys.stderr, flush=True)
    return "".join(f"  \nℹ️ {note}" for note in notes)


def png(img: Image.Image) -> Image.Image:
    """The image in a mode PNG stores (the app's outputs are PNG): CMYK and other colour spaces as RGB."""
    return storable(img, "PNG")


# --------------------------------------------------------------------------- UI handlers
def _edit_outputs(image: Image.Image | None, kind: str, face: str, request: dict) -> tuple:
    """(request, wheel marker, result, crops, mix plot, status) for an edit request."""
    try:
        code = code_for(request, kind)
    except ganmut.GanmutError as e:
        return request, gr.skip(), gr.skip(), gr.skip(), gr.skip(), warn(e)
    space = editor(kind).space
    marker = gr.HTML(point=list(code))
    mix = wheel.mix_figure(space, code)
    if image is None:
        return request, marker, gr.skip(), gr.skip(), mix, f"Upload a photo to edit it to {describe(space, code)}."
    try:
        result = run_edit(image, kind, code, parse_face(face))
    except ganmut.GanmutError as e:
        return request, marker, gr.skip(), gr.skip(), mix, warn(e)
    who = "every face" if face == "all" else f"face {int(face) + 1}"
    return request, marker, (png(image), png(result.image)), crops_gallery(result), mix, f"Edited {who} to **{describe(space, code)}**."


def on_edit(key: str | None, kind: str, face: str, request: dict) -> tuple:
    """Redo the edit request on the session's photo (a wheel click, another face)."""
    return _edit_outputs(held(key), kind, face, request)


def on_image(payload: Any, kind: str, request: dict, session: gr.Request | None = None) -> tuple:
    """A new photo (upload, webcam, paste or example): load it, find the faces, edit at the current
    request; the session's ``image`` State gets the key of the photo (see :func:`keep_photo`)."""
    empty = (None, None, gr.Radio(choices=[("Face 1", "0")], value="0", visible=False), None, [])
    PHOTOS.pop(session_key(session))  # the last photo goes first: one photo in memory per session
    path = payload_path(payload)
    if path is None:
        return (*empty, request, gr.skip(), gr.skip(), "Upload a photo, take one with the webcam, paste one, or pick an example.")
    try:
        loaded = read_image(path)
        image = loaded.image
        faces = run_detect(image, kind)
        key = keep_photo(image, session)
    except ganmut.GanmutError as e:
        return (*empty, request, gr.skip(), gr.skip(), warn(e))
    choices = [(f"Face {n}", str(n - 1)) for n in range(1, len(faces) + 1)] + ([("All faces", "all")] if len(faces) > 1 else [])
    picker = gr.Radio(choices=choices, value="0", visible=len(faces) > 1)
    req, marker, result, crops, mix, status = _edit_outputs(image, kind, "0", request)
    shown = stored_mode(image.mode, "PNG")
    notes = loaded.notes + ((f"a {image.mode} photo is shown and downloaded as {shown}",) if shown != image.mode else ())
    return key, faces_preview(image, faces), picker, result, crops, req, marker, mix, status + inform(notes)


def on_click(kind: str, evt: gr.EventData) -> tuple[dict, Any]:
    """A click on the wheel: the new request, and the marker moved at once (the edit follows)."""
    try:
        z = editor(kind).space.project((float(evt.x), float(evt.y)))
    except (ganmut.GanmutError, ValueError, AttributeError) as e:
        return gr.skip(), warn(e)
    return {"mode": "xy", "z": list(z)}, gr.HTML(point=list(z))


def on_slider(key: str | None, kind: str, face: str, emotion: str, intensity: float) -> tuple:
    """The emotion dropdown or the intensity slider moved: edit along that emotion's radius."""
    return _edit_outputs(held(key), kind, face, {"mode": "emotion", "emotion": emotion, "intensity": float(intensity)})


def on_model(kind: str, key: str | None, face: str, request: dict) -> tuple:
    """Another model: redraw the wheel and redo the current edit in the new space."""
    req, marker, result, crops, mix, status = _edit_outputs(held(key), kind, face, request)
    point = marker.props.get("point") if isinstance(marker, gr.HTML) else None
    note = MODEL_NOTES[kind] + f" [Paper (CVPR 2021)]({PAPER})"
    return req, gr.HTML(value=wheel_value(kind), point=point), result, crops, mix, status, note


def titled(img: Image.Image, title: str) -> Image.Image:
    """The image under a one-line white title band."""
    band = max(28, img.width // 30)
    out = Image.new("RGB", (img.width, img.height + band), "white")
    out.paste(img.convert("RGB"), (0, band))
    ImageDraw.Draw(out).text((10, band // 2), title, fill="#222", anchor="lm", font=ImageFont.load_default(size=band * 3 // 5))
    return out


def on_grid(key: str | None, kind: str, face: str) -> Image.Image | None:
    """The gamut-of-emotions grid of one face of the session's photo."""
    if key is None:
        gr.Warning("Upload a photo first.")
        return None
    image = held(key)
    return None if image is None else grid_of(image, kind, face)


def grid_of(image: Image.Image, kind: str, face: str) -> Image.Image | None:
    """The gamut-of-emotions grid of one face, titled with the model."""
    try:
        f = parse_face(face)
        return titled(run_grid(image, kind, 0 if f == "all" else f), f"{MODEL_LABELS[kind]}: gamut of emotions")
    except ganmut.GanmutError as e:
        warn(e)
        return None


def example_grid(path: str) -> Image.Image | None:
    """The gamut grid of an example photo with the default model (cached lazily, shared by all users)."""
    return grid_of(ganmut.load_image(path), MODELS[0], "0")


def on_animate(key: str | None, kind: str, face: str, emotion: str, path_kind: str,
               session: gr.Request | None = None) -> str | None:
    """A looping GIF of the face: neutral to an emotion and back, or a tour of every emotion; it
    replaces the session's last one, in the session's folder (deleted when the tab closes)."""
    if key is None:
        gr.Warning("Upload a photo first.")
        return None
    image = held(key)
    if image is None:
        return None
    try:
        space = editor(kind).space
        codes = space.ramp(emotion) if path_kind == "ramp" else space.tour()
        results = run_many(image, kind, codes, parse_face(face))
    except ganmut.GanmutError as e:
        warn(e)
        return None
    box = face_window(results[0], image.size)
    frames = []
    for r in results:
        frame = r.image.convert("RGB").crop(box)
        frame.thumbnail((ANIMATION_SIDE, ANIMATION_SIDE), Image.Resampling.LANCZOS)
        frames.append(frame)
    folder = SESSIONS_DIR / session_key(session)
    folder.mkdir(parents=True, exist_ok=True)
    discard(folder.glob("*.gif"))
    out = Path(tempfile.mkstemp(suffix=".gif", prefix=f"ganmut-{path_kind}-", dir=folder)[1])
    frames[0].save(out, save_all=True, append_images=frames[1:], duration=ANIMATION_MS, loop=0, optimize=True)
    return str(out)


# --------------------------------------------------------------------------- API endpoints
def _api_image(payload: Any) -> Image.Image:
    """The photo of an API call, read as the UI reads it (its notes go to the caller's log and the server's)."""
    path = payload_path(payload)
    if path is None:
        raise gr.Error("no image given")
    loaded = read_image(path)
    inform(loaded.notes)
    return loaded.image


def _api_kind(model: str) -> str:
    kind = {"ganmut": "linear", "gganmut": "gaussian"}.get(str(model).lower(), str(model).lower())
    if kind not in MODEL_FILES:
        raise gr.Error(f"unknown model {shorten(model)}: use 'linear' (GANmut) or 'gaussian' (GGANmut)")
    return kind


def api_edit_xy(image: Any, x: float, y: float, model: str, face: str, client: gr.Request | None = None) -> str:
    """Edit to the code (x, y) of the model's space (linear: unit disc; Gaussian: [-1, 1]^2)."""

    def edit() -> Image.Image:
        kind = _api_kind(model)
        return run_edit(_api_image(image), kind, editor(kind).code(z=(x, y)), parse_face(face)).image

    return api_call(edit, client)


def api_edit_emotion(image: Any, emotion: str, intensity: float, model: str, face: str,
                     client: gr.Request | None = None) -> str:
    """Edit to a basic emotion at an intensity in [0, 1]."""

    def edit() -> Image.Image:
        kind = _api_kind(model)
        code = editor(kind).code(emotion=emotion, intensity=intensity)
        return run_edit(_api_image(image), kind, code, parse_face(face)).image

    return api_call(edit, client)


def api_grid(image: Any, model: str, face: str, client: gr.Request | None = None) -> str:
    """The gamut-of-emotions grid of one face."""

    def grid() -> Image.Image:
        kind = _api_kind(model)
        f = parse_face(face)
        return run_grid(_api_image(image), kind, 0 if f == "all" else f)

    return api_call(grid, client)


# --------------------------------------------------------------------------- layout
WHEEL_JS = """
const host = element.querySelector('.ganmut-wheel');
const empty = element.querySelector('.ganmut-wheel-empty');
let shown = null;
let fig = null;
function markerIndex() {
  return (host.data || []).findIndex(t => t.name === host.dataset.marker);
}
function moveMarker(p) {
  const i = fig ? markerIndex() : -1;
  if (i < 0) return;
  const has = Array.isArray(p) && p.length === 2;
  fig.data[i] = Object.assign({}, fig.data[i], {x: has ? [p[0]] : [], y: has ? [p[1]] : []});
  Plotly.Fx.unhover(host);
  Plotly.react(host, fig.data, fig.layout, fig.config);
  host.dataset.point = has ? p[0].toFixed(4) + ',' + p[1].toFixed(4) : '';
}
function onClick(d) {
  // the point under the pointer, from the click's own pixel position (plotly's xvals can be the last
  // hover's grid cell, not the click)
  const e = d && d.event;
  const area = host.querySelector('.nsewdrag');
  if (e && area && host._fullLayout) {
    const r = area.getBoundingClientRect();
    trigger('click', {x: host._fullLayout.xaxis.p2d(e.clientX - r.left), y: host._fullLayout.yaxis.p2d(e.clientY - r.top)});
    return;
  }
  trigger('click', {x: d.xvals ? d.xvals[0] : d.points[0].x, y: d.yvals ? d.yvals[0] : d.points[0].y});
}
function render() {
  if (!window.Plotly) { setTimeout(render, 50); return; }
  const spec = props.value || '';
  if (spec === shown) { if (spec) moveMarker(props.point); return; }
  shown = spec;
  if (!spec) {
    Plotly.purge(host);
    fig = null;
    delete host.dataset.bound;
    host.dataset.kind = '';
    host.style.display = 'none';
    empty.style.display = '';
    return;
  }
  host.style.display = '';
  empty.style.display = 'none';
  fig = JSON.parse(spec);
  host.dataset.marker = fig.layout.meta.marker;
  Plotly.react(host, fig.data, fig.layout, fig.config).then(() => {
    if (!host.dataset.bound) { host.on('plotly_click', onClick); host.dataset.bound = '1'; }
    host.dataset.kind = fig.layout.meta.kind;
    host.dataset.revision = String(Number(host.dataset.revision || 0) + 1);
    moveMarker(props.point);
  });
}
watch(Object.keys(props), render);
render();
"""

CSS = """
.gradio-container {max-width: 1500px !important}
#banner {background: #fff4e5; border: 1px solid #f0a020; border-radius: 8px; padding: 10px 14px}
#wheel .ganmut-wheel {width: 100%; aspect-ratio: 1 / 1; max-height: 640px; cursor: crosshair}
#wheel .ganmut-wheel-empty {padding: 40px 10px; text-align: center; color: #888}
#status {min-height: 2.5em}
footer {display: none !important}
"""

LEGEND = " ".join(f'<span style="color:{c}">■</span> {e}' for e, c in zip(EMOTIONS, COLORS))

API_DOC = """
Three endpoints, callable with [`gradio_client`](https://www.gradio.app/guides/getting-started-with-the-python-client):
`/edit_xy` (a point of the space), `/edit_emotion` (an emotion and an intensity in [0, 1]) and `/grid`
(the gamut grid of one face). `model` is `"linear"` (GANmut) or `"gaussian"` (GGANmut); `face` is
`"0"` (the largest face), `"1"`, ... or `"all"`. Errors (no face, unreadable image, a point outside
the space) come back as a one-line message.

```python
from gradio_client import Client, handle_file

client = Client("http://localhost:7860/")
edited = client.predict(handle_file("face.jpg"), 0.6, 0.4, "linear", "0", api_name="/edit_xy")
happy = client.predict(handle_file("face.jpg"), "happy", 0.8, "gaussian", "all", api_name="/edit_emotion")
grid = client.predict(handle_file("face.jpg"), "linear", "0", api_name="/grid")
print(edited, happy, grid)  # paths of PNG files
```
"""


def build() -> gr.Blocks:
    """The Blocks app (not launched)."""
    default = MODELS[0]
    with gr.Blocks(title="GANmut: gamut of emotions", analytics_enabled=False) as demo:  # TEMP sweeps the cache
        gr.Markdown(
            "# GANmut · edit a face to any point of a learned gamut of emotions\n"
            "1. Bring a face: upload, webcam, paste, or pick an example. "
            "2. **Click anywhere on the wheel** (or choose an emotion and drag its intensity). "
            "3. Compare, download, render the whole gamut or an animation.  \n"
            f"Based on *GANmut: Learning Interpretable Conditional Space for Gamut of Emotions* (CVPR 2021): "
            f"[paper]({PAPER}) · [official code]({OFFICIAL_CODE}). Trained on FER2013 (48×48 grayscale faces)."
        )
        gr.Markdown(banner(), elem_id="banner", visible=bool(banner()))

        grid_img = gr.Image(label="Gamut of emotions (one face)", format="png", interactive=False,
                            buttons=["download", "fullscreen"], render=False, elem_id="grid")
        image = gr.State(None)  # the key of the session's photo in PHOTOS
        request = gr.State(dict(START))

        with gr.Row(equal_height=False):
            with gr.Column(scale=4, min_width=300):
                photo = gr.Image(label="Your photo", type="filepath", sources=["upload", "webcam", "clipboard"],
                                 image_mode=None, height=340, elem_id="photo")
                faces = gr.Image(label="Detected faces (1 = largest)", interactive=False, height=220, elem_id="faces")
                face = gr.Radio(label="Face to edit", choices=[("Face 1", "0")], value="0", visible=False, elem_id="face")
                gr.Examples(EXAMPLES, inputs=[photo], label="Examples (public-domain and Apache-2.0 photos)",
                            fn=example_grid, outputs=[grid_img], cache_examples=bool(WEIGHTS), cache_mode="lazy")
            with gr.Column(scale=5, min_width=360):
                model = gr.Radio([(MODEL_LABELS[k], k) for k in MODELS], value=default, label="Model", elem_id="model")
                model_note = gr.Markdown(MODEL_NOTES[default] + f" [Paper (CVPR 2021)]({PAPER})")
                wheel_html = gr.HTML(
                    value=wheel_value(default if WEIGHTS else None),
                    html_template='<div class="ganmut-wheel"></div>'
                                  '<div class="ganmut-wheel-empty">The emotion wheel appears here once trained weights are available.</div>',
                    js_on_load=WHEEL_JS, head=f'<script src="{PLOTLY_URL}"></script>',
                    elem_id="wheel", point=None,
                )
                gr.Markdown(f"<small>{LEGEND}. Hover to read the mix; click to edit.</small>")
                with gr.Row():
                    emotion = gr.Dropdown([e for e in EMOTIONS if e != EMOTIONS[NEUTRAL]], value=START["emotion"],
                                          label="Emotion", scale=1, elem_id="emotion")
                    intensity = gr.Slider(0, 1, value=START["intensity"], step=0.02, label="Intensity",
                                          scale=2, elem_id="intensity")
                status = gr.Markdown("Upload a photo, take one with the webcam, paste one, or pick an example.", elem_id="status")
            with gr.Column(scale=5, min_width=360):
                result = gr.ImageSlider(label="Before / after (drag the handle)", type="pil", format="png",
                                        buttons=["download", "fullscreen"], elem_id="result", max_height=520)
                crops = gr.Gallery(label="Aligned face crop: before, after", columns=4, height=200, object_fit="contain",
                                   elem_id="crops", format="png")
                mix = gr.Plot(label="Emotion mix of the chosen point", elem_id="mix")

        with gr.Accordion("Gamut of emotions and animation", open=True):
            with gr.Row():
                with gr.Column():
                    grid_btn = gr.Button("Render the gamut grid", elem_id="grid-btn")
                    grid_img.render()
                with gr.Column():
                    anim_btn = gr.Button("Animate (GIF)", elem_id="anim-btn")
                    path_kind = gr.Radio([("neutral → chosen emotion → neutral", "ramp"), ("tour of every emotion", "tour")],
                                         value="ramp", show_label=False)
                    anim = gr.Image(label="Animation", type="filepath", interactive=False, buttons=["download"])
        with gr.Accordion("Use the API", open=False):
            gr.Markdown(API_DOC)

        with gr.Column(visible=False):  # components of the API-only endpoints
            api_image = gr.Image(type="filepath", image_mode=None, label="image")
            api_x = gr.Number(label="x")
            api_y = gr.Number(label="y")
            api_emotion = gr.Textbox(label="emotion")
            api_intensity = gr.Number(label="intensity")
            api_model = gr.Textbox(value=default, label="model")
            api_face = gr.Textbox(value="0", label="face")
            api_out = gr.Image(type="pil", format="png", label="edited")

        edit_outputs = [request, wheel_html, result, crops, mix, status]
        # Interactive events: a lane of their own (never behind API calls); a superseded one is dropped
        # in the browser (always_last: at most the latest waits while one runs), never queued.
        ui = dict(concurrency_id="ui", concurrency_limit=UI_CONCURRENCY, api_visibility="private")
        live = dict(show_progress="minimal", trigger_mode="always_last", **ui)

        photo.change(on_image, [photo, model, request], [image, faces, face, result, crops, request, wheel_html, mix, status],
                     preprocess=False, **live)
        wheel_html.click(on_click, [model], [request, wheel_html], show_progress="hidden", queue=False,
                         api_visibility="private").then(on_edit, [image, model, face, request], edit_outputs, **live)
        for trigger in (intensity.input, intensity.release, emotion.input):
            trigger(on_slider, [image, model, face, emotion, intensity], edit_outputs, **live)
        face.input(on_edit, [image, model, face, request], edit_outputs, **live)
        model.input(on_model, [model, image, face, request], [*edit_outputs, model_note], **live).then(
            lambda: None, None, [grid_img], queue=False, api_visibility="private")
        photo.input(lambda: None, None, [grid_img], queue=False, api_visibility="private")
        grid_btn.click(on_grid, [image, model, face], [grid_img], **ui)
        anim_btn.click(on_animate, [image, model, face, emotion, path_kind], [anim], **ui)
        demo.unload(end_session)

        # raw payloads (errors stay ours); API_CONCURRENCY calls pass at once to api_call, which bounds them
        api = dict(preprocess=False, concurrency_id="api", concurrency_limit=API_CONCURRENCY)
        gr.on([], api_edit_xy, [api_image, api_x, api_y, api_model, api_face], [api_out], api_name="edit_xy", **api)
        gr.on([], api_edit_emotion, [api_image, api_emotion, api_intensity, api_model, api_face], [api_out],
              api_name="edit_emotion", **api)
        gr.on([], api_grid, [api_image, api_model, api_face], [api_out], api_name="grid", **api)
    return demo


def plotly_js(request: Request) -> FileResponse:
    """plotly.min.js from the installed plotly package (the route of :data:`PLOTLY_URL`)."""
    return FileResponse(PLOTLY_JS, media_type="text/javascript")


demo = build()

if __name__ == "__main__":
    demo.queue(max_size=QUEUE_SIZE, default_concurrency_limit=UI_CONCURRENCY).launch(
        theme=gr.themes.Soft(primary_hue="amber", secondary_hue="slate"), css=CSS, state_session_capacity=MAX_SESSIONS,
        max_file_size=MAX_FILE_SIZE, show_error=False,
        app_kwargs={"routes": [Route(PLOTLY_URL, plotly_js)], "lifespan": lifespan,
                    "middleware": [Middleware(UploadGuard, budget=TEMP)]},
    )
