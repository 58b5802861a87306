"""GANmut demo: edit the expression of a face to any point of a learned 2-D gamut of emotions.

A thin Gradio composition of :class:`ganmut.Editor` (detection, editing, grids) and
:mod:`ganmut.wheel` (the clickable Plotly wheel). Run ``python app.py`` and open
http://localhost:7860 (``GRADIO_SERVER_NAME`` / ``GRADIO_SERVER_PORT`` are honoured). In Python,
``create_app(weights=..., classifier=...)`` builds the app (importing this module loads nothing);
its ``blocks`` are the Gradio Blocks and ``launch()`` serves them.

Weights: ``weights/ganmut-linear.safetensors`` and ``weights/ganmut-gaussian.safetensors``, or
what ``GANMUT_WEIGHTS`` names, in every form :func:`ganmut.editor.find_weights` takes (the CLI's
``--weights`` and ``ganmut.load(..., weights=)`` take the same): a directory holding those two files,
a pair of files ``LINEAR.safetensors,GAUSSIAN.safetensors`` (either may be left empty), or a Hugging
Face Hub repo id. Without weights the app starts, says so in a banner, and every edit answers with
that message.

Emotion readout: ``weights/fer-classifier.safetensors``, or what ``GANMUT_CLASSIFIER`` names (a
classifier file, or ``off``). Each edit then shows what the classifier reads on the aligned face
before and after; without one the page says in one line that the readout is off.

One state is the source of truth for the edit: the point of the space (``point``). A wheel click
sets it (and the emotion and intensity controls to the nearest emotion and its intensity); the
intensity slider moves it along its ray (GGANmut: along the emotion's path); the marker follows.
The views are display-sized JPEGs of the chosen face (or the whole photo); the full-resolution PNG
is made only when asked for.

API (``gradio_client``): ``/edit_xy``, ``/edit_emotion``, ``/edit_preset`` and ``/grid``; see the "Use the API"
panel. Saved points (presets) are kept in the visitor's browser (``gr.BrowserState``).

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
import json
import shutil
import sys
import tempfile
import threading
import uuid
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import gradio as gr
import spaces
import torch
from PIL import Image, ImageDraw, ImageFont
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

import ganmut
from ganmut import animate, wheel
from ganmut.editor import MODEL_FILES, Prepared, find_weights, load_readout, model_name
from ganmut.emotions import COLORS, EMOTIONS, NEUTRAL
from ganmut.errors import number, shorten
from ganmut.face import face_choice, face_window
from ganmut.images import aligned_box, display_copy, display_factor, display_patch, read_image, storable, stored_mode
from ganmut.limits import MB, ByteLRU, DiskBudget, LowPriorityPool, PerClient, TooMany, trim_heap
from ganmut.presets import Preset, PresetError, add_preset, parse_preset, parse_presets, to_json
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
START = {"emotion": "happy", "intensity": 1.0}
"""The first edit of a new photo: full happiness."""
EMOTION_CHOICES = [e for e in EMOTIONS if e != EMOTIONS[NEUTRAL]]
PLOTLY_JS = Path(importlib.util.find_spec("plotly").submodule_search_locations[0]) / "package_data" / "plotly.min.js"
PLOTLY_URL = "/ganmut/plotly.min.js"
"""Where the page loads plotly.js from: a route of its own, so that no server path is in the page."""
MAX_FILE_SIZE = "30mb"
MAX_UPLOAD_BYTES = 30 * 1000 * 1000
PRESETS_SECRET = os.environ.get("GANMUT_PRESETS_SECRET", "ganmut-presets")
"""The key Gradio encrypts the presets in the browser with. They hold nothing private, and every read
is checked, so a fixed key is fine; a new one makes browsers forget their presets."""
FACE_MARGIN = 0.35
"""The face view: the chosen face with 35 % of its size as margin on every side."""


# --------------------------------------------------------------------------- models
def resolve_readout(spec: str | None) -> tuple[str | None, str | None]:
    """The classifier every editor loads for the readout ('auto': the bundled file if present; a
    path; None: off) and, when the one asked for cannot be loaded, the line that says so."""
    spec = (spec or "auto").strip()
    if spec.lower() == "off":
        return None, "emotion readout off (GANMUT_CLASSIFIER=off)"
    try:
        load_readout(spec)
    except ganmut.GanmutError as e:
        return None, f"emotion readout off: {e}"
    return spec, None


_loading = threading.Lock()


@functools.cache
def _loaded(path: str, readout: str | None) -> ganmut.Editor:
    return ganmut.load(path, classifier=readout)


def loaded_editor(path: str, readout: str | None) -> ganmut.Editor:
    """The editor of a checkpoint with a readout classifier, loaded once per process (apps share it)."""
    with _loading:
        return _loaded(path, readout)


class Models:
    """The models an app serves: the checkpoints ``weights`` holds (see :func:`ganmut.editor.find_weights`),
    each loaded now (on ZeroGPU the weights must reach CUDA at start-up), with the readout's classifier
    (``classifier``: a file, ``"auto"`` or ``"off"``). A checkpoint that fails to load is left out, and
    the banner says why."""

    def __init__(self, weights: str | None = None, classifier: str | None = None) -> None:
        try:
            self.paths, self.problem = find_weights(weights), None
        except ganmut.CheckpointError as e:
            self.paths, self.problem = {}, str(e)
        self.readout, self.readout_problem = resolve_readout(classifier)
        problems = []
        for kind in list(self.paths):
            try:
                self.editor(kind)
            except ganmut.GanmutError as e:
                problems.append(str(e))
                del self.paths[kind]
        self.problem = "; ".join(problems) or self.problem
        self.names = list(self.paths) or list(MODEL_FILES)
        """The models in the model picker: those available, else all (the banner says why none is)."""

    def key(self, kind: str) -> tuple[str, str | None]:
        """What the GPU-bound functions load an editor by; CheckpointError with the banner's text when
        the model is not available."""
        if kind not in self.paths:
            raise ganmut.CheckpointError(self.banner().replace("**", "").replace("`", ""))
        return str(self.paths[kind]), self.readout

    def editor(self, kind: str) -> ganmut.Editor:
        """The shared editor of a model (CheckpointError when it is not available)."""
        return loaded_editor(*self.key(kind))

    def readout_status(self, kind: str) -> str:
        """One line: which classifier reads the edits, or why the readout is off."""
        return self.readout_problem or self.editor(kind).readout_status

    def banner(self) -> str:
        """What the banner says: nothing when every model loaded."""
        if not self.paths:
            return (
                "**No trained weights are bundled with this app yet**, so it cannot edit faces. "
                f"Reason: {self.problem}. Put `ganmut-linear.safetensors` / `ganmut-gaussian.safetensors` in "
                "`weights/` (training is described in the README), or point the `GANMUT_WEIGHTS` environment "
                "variable at a directory, a `LINEAR,GAUSSIAN` file pair or a Hugging Face Hub repo id, and restart."
            )
        missing = [MODEL_LABELS[k] for k in MODEL_FILES if k not in self.paths]
        if missing:
            return (f"**Only {', '.join(MODEL_LABELS[k] for k in self.paths)} is available**: "
                    f"{self.problem or 'no weights for ' + ', '.join(missing)}.")
        return ""



# --------------------------------------------------------------------------- resources and fairness
def env_count(name: str, default: int) -> int:
    """A positive whole number from the environment variable ``name`` (``default`` when unset)."""
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        n = int(value) if value.isascii() and value.isdigit() else 0
    except ValueError:
        n = 0
    if n < 1:
        raise SystemExit(f"{name} must be a whole number of at least 1, got {shorten(value)}")
    return n


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
SWEEP_S = 5.0
RELEASED = "Your photo was released to make room for other visitors: please upload it again."
TOO_MANY = (f"429 Too Many Requests: this client already has {API_PER_CLIENT} API calls queued or running; "
            "wait for one to finish, then call again")


@dataclass(frozen=True)
class Limits:
    """What one app may hold and run (see "Limits" in the README); :meth:`from_env` reads them from
    ``GANMUT_SESSION_MEMORY_MB``, ``GANMUT_TEMP_MB`` and ``GANMUT_API_WORKERS``."""

    session_memory: int = 1024 * MB
    """Bytes of photos all sessions hold together, the least recently used session's photo released
    first. A session holds one photo, read and aligned: at most about 300 MB (40 megapixels, the most
    that is edited at full size, at 3 bytes a pixel of pixels plus 4 of the image)."""
    temp_bytes: int = 500 * MB
    """Bytes Gradio's temporary folder (uploads, outputs, animations) may hold; a sweep every
    :data:`SWEEP_S` seconds brings it down to half of that, and deletes files older than 30 minutes."""
    api_workers: int = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    """API calls computed at once (one torch thread each; default: one per core), at CPU priority ``nice`` 10."""

    @classmethod
    def from_env(cls) -> "Limits":
        """The limits the environment sets (SystemExit, in one line, for a value that is not a whole number >= 1)."""
        return cls(env_count("GANMUT_SESSION_MEMORY_MB", cls.session_memory // MB) * MB,
                   env_count("GANMUT_TEMP_MB", cls.temp_bytes // MB) * MB,
                   env_count("GANMUT_API_WORKERS", cls.api_workers))


def session_key(request: gr.Request | None) -> str:
    """The key of a session's photo and files: a hash of its session hash (the client chooses that)."""
    return hashlib.sha256(str(getattr(request, "session_hash", None) or "local").encode()).hexdigest()[:32]


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


# --------------------------------------------------------------------------- GPU-bound work
# Module functions of picklable arguments (ZeroGPU runs them in a worker); ``model`` is Models.key(kind).
@spaces.GPU(duration=30)
def gpu_prepare(model: tuple[str, str | None], image: Any) -> Prepared:
    return loaded_editor(*model).prepare(image)


@spaces.GPU(duration=30)
def gpu_edit(model: tuple[str, str | None], image: Any, code: tuple[float, ...], face: int | str) -> ganmut.EditResult:
    return loaded_editor(*model).edit(image, z=code, face=face)


@spaces.GPU(duration=60)
def gpu_frames(model: tuple[str, str | None], image: Any, codes: list[tuple[float, ...]], face: int | str) -> list[Image.Image]:
    return animate.frames(loaded_editor(*model), image, codes, face)


@spaces.GPU(duration=60)
def gpu_grid(model: tuple[str, str | None], image: Any, face: int, layout: str = "wheel", title: str = "") -> Image.Image:
    return loaded_editor(*model).grid(image, face=face, layout=layout, title=title)



# --------------------------------------------------------------------------- helpers
def model_note(kind: str) -> str:
    """What the note under the model picker says of a model."""
    return MODEL_NOTES[kind] + f" [Paper (CVPR 2021)]({PAPER})"


def sheet_face(face: str | int | None) -> int:
    """The face a gamut sheet shows: the one chosen, or the largest for "all"."""
    f = face_choice(face)
    return 0 if f == "all" else f


def payload_path(payload: Any) -> str | None:
    """The server path of an un-preprocessed image payload (FileData dict), or None."""
    if payload is None:
        return None
    path = payload.get("path") if isinstance(payload, dict) else getattr(payload, "path", None)
    return str(path) if path else None


def as_code(z: Any) -> tuple[float, ...]:
    """A code as a tuple of floats (the spaces answer tensors)."""
    return tuple(float(v) for v in (z.tolist() if hasattr(z, "tolist") else z))


def describe(space: Space, code: tuple[float, ...]) -> str:
    """'happy 62% · neutral 38% at (+0.52, +0.31)'."""
    return f"{wheel.mix_text(wheel.mix_at(space, code))} at ({code[0]:+.2f}, {code[1]:+.2f})"


def faces_preview(image: Image.Image, faces: list[ganmut.Face], side: int = 560) -> Image.Image:
    """A small copy of the photo with every face boxed and numbered (1 = largest)."""
    img = display_copy(image, display_factor(image.size, side)).convert("RGB")
    scale = img.width / image.width
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


def views(prep: Prepared, result: ganmut.EditResult, whole: bool) -> tuple[Image.Image, Image.Image]:
    """Display-sized before and after: the edited faces with a margin, or the whole photo (only
    the part the edit changed is pasted and reduced again)."""
    photo = prep.image
    if not whole:
        box = face_window(result.faces, photo.size, FACE_MARGIN)
        k = display_factor((box[2] - box[0], box[3] - box[1]))
        return display_copy(photo.crop(box), k), display_copy(result.window(box), k)
    k = display_factor(photo.size)
    before = display_copy(photo, k)
    after = before
    for box in result.boxes:
        box = aligned_box(box, k, photo.size)
        if box[2] > box[0] and box[3] > box[1]:
            after = display_patch(after, result.window(box), box, k)
    return before, after


def mix_html(space: Space, code: tuple[float, ...]) -> str:
    """The emotion mix of a point as bars in the emotion colours (HTML: no chart to draw per click)."""
    rows = "".join(
        f'<div class="bar-row" data-emotion="{e}"><span class="bar-name">{e}</span>'
        f'<span class="bar"><i style="width:{100 * v:.1f}%;background:{c}"></i></span><span class="bar-val">{v:.0%}</span></div>'
        for e, c, v in zip(EMOTIONS, COLORS, wheel.mix_at(space, code))
    )
    return f'<div class="bars"><div class="bars-title">Emotion mix at ({code[0]:+.2f}, {code[1]:+.2f})</div>{rows}</div>'


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



# --------------------------------------------------------------------------- outputs, presets, API input
# Every handler (a method of GanmutApp) returns its outputs by name (a dict); build() wires each name to its component, and an
# output a handler leaves out is left as it is on the page.
NO_PHOTO = "Upload a photo, take one with the webcam, paste one, or pick an example."
HIDDEN_DOWNLOAD = {"value": None, "visible": False}
EDIT = ("point", "wheel", "emotion", "intensity", "result", "crops", "mix", "readout", "status", "download")
"""The outputs of an edit at a point (``GanmutApp.show``)."""
MODEL_SWITCH = (*EDIT, "model", "model_note", "grid", "anim", "anim_mp4")
"""The outputs of a change of model: the edit, the model's note, and what the last model made, cleared."""
PHOTO = ("image", "faces", "face", *EDIT, "grid", "anim", "anim_mp4")
"""The outputs of a new photo: its key, faces and face picker, the edit, and what the last photo made, cleared."""



def stored_presets(stored: Any) -> dict[str, Preset] | None:
    """The presets a browser keeps (its BrowserState); None, with a toast, for a damaged or tampered
    value (the page's load resets it; until then it counts as no presets)."""
    try:
        return parse_presets(stored or {})
    except PresetError as e:
        gr.Warning(f"your saved points could not be read and were reset ({e})")
        return None


def preset_line(name: str | None, presets: dict[str, Preset]) -> str:
    """A saved point as the JSON the API's ``/edit_preset`` and the CLI's presets file take."""
    if not name or name not in presets:
        return ""
    return f"`{json.dumps(presets[name].to_dict())}`"



def _api_image(payload: Any) -> Image.Image:
    """The photo of an API call, read as the UI reads it (its notes go to the caller's log and the server's)."""
    path = payload_path(payload)
    if path is None:
        raise gr.Error("no image given")
    loaded = read_image(path)
    inform(loaded.notes)
    return loaded.image



# --------------------------------------------------------------------------- layout
WHEEL_JS = """
const host = element.querySelector('.ganmut-wheel');
const mark = element.querySelector('.ganmut-marker');  // drawn over the plot: moving it redraws nothing
const empty = element.querySelector('.ganmut-wheel-empty');
const PAD = 8;
let P = null;  // plotly.js 4 as served by this app (a gr.Plot would put Gradio's own, older Plotly at window.Plotly)
let shown = null;
let fig = null;
let width = 0;
let point = null;
// The last click wins: one click at a time goes to the server (numbered); a click made while it
// works waits, replacing any click waiting before it, and goes when the server answers (echoing
// the number as props.seq). Gradio's trigger_mode='always_last' would re-send the first click's data.
let sent = 0, answered = 0, waiting = null, timer = null;
const PATIENCE_MS = 15000;  // a click unanswered for this long (a server error) no longer holds the next
function send(p) {
  sent += 1;
  clearTimeout(timer);
  timer = setTimeout(() => { answered = Math.max(answered, sent); flush(); }, PATIENCE_MS);
  trigger('click', {x: p[0], y: p[1], seq: sent});
}
function flush() {
  if (waiting && answered >= sent) { const p = waiting; waiting = null; send(p); }
}
function placeMarker() {
  const L = host._fullLayout;
  mark.style.display = fig && L && point ? '' : 'none';
  if (mark.style.display) return;
  mark.style.left = (L.xaxis._offset + L.xaxis.l2p(point[0])) + 'px';
  mark.style.top = (L.yaxis._offset + L.yaxis.l2p(point[1])) + 'px';
}
function moveMarker(p) {
  point = Array.isArray(p) && p.length === 2 ? p : null;
  host.dataset.point = point ? point[0].toFixed(4) + ',' + point[1].toFixed(4) : '';
  placeMarker();
}
function fit() {
  // axes sized to the page: the domain as large as the labels (layout.meta.margin px beyond it) allow
  width = element.clientWidth;
  const f = width < 420 ? 11 / 13 : 1;  // smaller labels on a phone: a larger disc
  (fig.layout.annotations || []).forEach(a => { a.font.size = Math.round(fig.layout.meta.font * f); });
  const m = {x: fig.layout.meta.margin.x * f, y: fig.layout.meta.margin.y * f};
  const maxH = Math.min(560, 0.62 * window.innerHeight);
  const s = Math.max(40, Math.min((width - 2 * PAD) / 2 - m.x, (maxH - 2 * PAD) / 2 - m.y));
  const height = Math.round(2 * (s + m.y + PAD));
  const xr = (width - 2 * PAD) / (2 * s), yr = (height - 2 * PAD) / (2 * s);
  return {width: width, height: height, 'xaxis.range': [-xr, xr], 'yaxis.range': [-yr, yr],
          annotations: fig.layout.annotations};
}
function onClick(d) {
  // the point under the pointer, from the click's own pixel position (not the last hover's)
  const e = d && d.event;
  if (!e || !host._fullLayout) return;
  const r = host.querySelector('.nsewdrag').getBoundingClientRect();
  const x = host._fullLayout.xaxis.p2d(e.clientX - r.left);
  const y = host._fullLayout.yaxis.p2d(e.clientY - r.top);
  if (answered < sent) waiting = [x, y]; else send([x, y]);
  moveMarker([x, y]);
}
function render() {
  if (!window.GanmutPlotly) { setTimeout(render, 50); return; }
  P = window.GanmutPlotly;
  const spec = props.value || '';
  answered = Math.max(answered, props.seq || 0);
  if (answered >= sent) clearTimeout(timer);
  if (spec === shown) {
    if (waiting) flush();
    else if (spec && fig && answered >= sent) moveMarker(props.point);
    return;
  }
  shown = spec;
  if (!spec) {
    P.purge(host);
    fig = null;
    placeMarker();
    delete host.dataset.bound;
    host.dataset.kind = '';
    host.style.display = 'none';
    empty.style.display = '';
    return;
  }
  host.style.display = '';
  empty.style.display = 'none';
  fig = JSON.parse(spec);
  const size = fit();
  fig.layout.width = size.width;
  fig.layout.height = size.height;
  fig.layout.autosize = false;
  fig.layout.xaxis.range = size['xaxis.range'];
  fig.layout.yaxis.range = size['yaxis.range'];
  fig.config.responsive = false;
  P.react(host, fig.data, fig.layout, fig.config).then(() => {
    if (!host.dataset.bound) { host.on('plotly_click', onClick); host.dataset.bound = '1'; }
    host.dataset.kind = fig.layout.meta.kind;
    host.dataset.revision = String(Number(host.dataset.revision || 0) + 1);
    moveMarker(answered >= sent && !waiting ? props.point : null);
  });
}
new ResizeObserver(() => {
  if (fig && element.clientWidth && element.clientWidth !== width) P.relayout(host, fit()).then(placeMarker);
}).observe(element);
watch(Object.keys(props), render);
render();
"""

CSS = """
.gradio-container {max-width: 1500px !important}
#intro h1 {margin: 0 0 .2em; font-size: 1.7rem}
#intro ol {margin: 0; padding-left: 1.4em}
#intro li {margin: 0}
#banner {background: #fff4e5; border: 1px solid #f0a020; border-radius: 8px; padding: 10px 14px}
#wheel .ganmut-stage {position: relative}
#wheel .ganmut-wheel {width: 100%; cursor: crosshair}
#wheel .ganmut-marker {position: absolute; width: 17px; height: 17px; box-sizing: border-box; border: 3px solid #111;
  border-radius: 50%; background: rgba(255, 255, 255, .9); transform: translate(-50%, -50%); pointer-events: none}
#wheel .ganmut-marker::after {content: ""; position: absolute; left: 50%; top: 50%; width: 3px; height: 3px;
  margin: -1.5px; border-radius: 50%; background: #111}
#wheel .ganmut-wheel-empty {padding: 40px 10px; text-align: center; color: #888}
#status {min-height: 2.5em}
#status p {margin: 0}
.bars {font-size: 13px}
.bars-title {margin-bottom: 4px}
.bar-row {display: grid; grid-template-columns: 5.5em 1fr 6.5em; align-items: center; gap: 6px; line-height: 1.35}
.bar-row.target .bar-name {font-weight: bold}
.bar {position: relative; height: 12px; background: #f1f1f1; border-radius: 3px; overflow: hidden}
.bar i {position: absolute; left: 0; top: 0; display: block; height: 100%}
.bar.two i {height: 50%}
.bar.two .before {background: #9a9a9a}
.bar.two .after {top: 50%}
.bar-val {font-variant-numeric: tabular-nums; color: #333}
.hint {margin: 6px 0 0; color: #7a4b00}
.readout-line {margin: 6px 0 0; color: #555; font-size: 12px}
#grid-title h3 {margin: 0}
footer {display: none !important}
@media (max-width: 640px) {
  .gradio-container {padding-top: 6px !important}
  #intro h1 {font-size: 1.05rem}
  #intro {font-size: 13.5px}
  #result label, #photo label {display: none}
  #photo .image-container {height: 210px !important}
  #stage {flex-direction: row !important; flex-wrap: wrap !important; gap: 8px !important}
  #source {display: contents !important}
  #source > * {order: 4; flex: 1 1 100% !important}
  #source > #photo {order: 1; flex: 0 0 34% !important; min-width: 0 !important}
  #view {order: 2; flex: 1 1 50% !important; min-width: 0 !important}
  #picker {order: 3; flex: 1 1 100% !important; min-width: 0 !important}
}
"""

LEGEND = " ".join(f'<span style="color:{c}">■</span> {e}' for e, c in zip(EMOTIONS, COLORS))

INTRO = """
# GANmut · edit a face to any point of a gamut of emotions

1. **Bring a face**: upload, webcam, paste or pick an example.
2. **Click the wheel**, or pick an emotion and its intensity.
3. **Compare**; save the PNG, a GIF, an MP4 or the point.
"""

ABOUT = (f"Based on *GANmut: Learning Interpretable Conditional Space for Gamut of Emotions* (CVPR 2021): "
         f"[paper]({PAPER}) · [official code]({OFFICIAL_CODE}). Trained on FER2013 (48×48 grayscale faces).")

API_DOC = """
Four endpoints, callable with [`gradio_client`](https://www.gradio.app/guides/getting-started-with-the-python-client):
`/edit_xy` (a point of the space), `/edit_emotion` (an emotion and an intensity in [0, 1]), `/edit_preset`
(a saved point, as the JSON the "Saved points" panel shows) and `/grid` (the gamut grid of one face).
`model` is `"linear"` (GANmut) or `"gaussian"` (GGANmut); `face` is `"0"` (the largest face), `"1"`, ...
or `"all"` (for `/grid`, which shows one face, the largest). Errors (no face, unreadable image, a point outside the space) come back as a one-line message.

```python
from gradio_client import Client, handle_file

client = Client("http://localhost:7860/")
edited = client.predict(handle_file("face.jpg"), 0.6, 0.4, "linear", "0", api_name="/edit_xy")
happy = client.predict(handle_file("face.jpg"), "happy", 0.8, "gaussian", "all", api_name="/edit_emotion")
saved = client.predict(handle_file("face.jpg"), '{"model": "gaussian", "z": [-0.35, 0.5]}', "0", api_name="/edit_preset")
grid = client.predict(handle_file("face.jpg"), "linear", "0", api_name="/grid")
print(edited, happy, saved, grid)  # paths of PNG files
```
"""



def named(fn: Callable[..., dict[str, Any]], names: tuple[str, ...]) -> Callable[..., Any]:
    """``fn`` answering in the order of ``names`` (a name it leaves out: gr.skip()), as Gradio takes
    outputs: a tuple, or the value itself for one output. The signature is kept (functools.wraps), so
    that Gradio still passes gr.Request and EventData."""
    @functools.wraps(fn)
    def wired(*args: Any, **kwargs: Any) -> Any:
        out = fn(*args, **kwargs)
        unknown = set(out) - set(names)
        if unknown:
            raise KeyError(f"{fn.__name__} answered outputs this event does not have: {sorted(unknown)}")
        values = tuple(out.get(n, gr.skip()) for n in names)
        return values[0] if len(values) == 1 else values

    return wired


@functools.cache
def plotly_source() -> bytes:
    """plotly.min.js of the installed plotly package, which also keeps itself as
    ``window.GanmutPlotly``: a gr.Plot on the page would replace ``window.Plotly`` with Gradio's own copy."""
    return PLOTLY_JS.read_bytes() + b"\n;window.GanmutPlotly = window.Plotly;\n"


def plotly_js(request: Request) -> Response:
    """The wheel's plotly.js (the route of :data:`PLOTLY_URL`)."""
    return Response(plotly_source(), media_type="text/javascript", headers={"Cache-Control": "public, max-age=3600"})



# --------------------------------------------------------------------------- the app
class GanmutApp:
    """The demo: its models, its visitors' photos (bounded by bytes), its temporary folder (bounded by
    bytes and age), its API workers, and the Gradio Blocks wiring them (``blocks``). The handlers are
    its methods and answer their outputs by name."""

    def __init__(self, models: Models, limits: Limits | None = None) -> None:
        self.models = models
        self.limits = limits or Limits()
        self.photos: ByteLRU[str, Prepared] = ByteLRU(self.limits.session_memory, Prepared.nbytes)
        """Each session's photo, read and aligned, under its session key; the session's ``image`` State holds only that key."""
        self.temp_dir = Path(gr.utils.get_upload_folder())
        self.sessions_dir = self.temp_dir / "ganmut-sessions"
        self.temp = DiskBudget([self.temp_dir], self.limits.temp_bytes, self.limits.temp_bytes // 2, max_age_s=1800,
                               keep=self.kept_files, forget=self.forget_files)
        self.api_pool = LowPriorityPool(self.limits.api_workers, nice=10, name="ganmut-api")
        self.api_clients = PerClient(API_PER_CLIENT)
        self._wheels: dict[str, str] = {}
        self.blocks = self.build()

    # ------------------------------------------------------------------ GPU-bound work, by model name
    def run_prepare(self, image: Any, kind: str) -> Prepared:
        return gpu_prepare(self.models.key(kind), image)

    def run_edit(self, image: Any, kind: str, code: tuple[float, ...], face: int | str) -> ganmut.EditResult:
        return gpu_edit(self.models.key(kind), image, code, face)

    def run_frames(self, image: Any, kind: str, codes: list[tuple[float, ...]], face: int | str) -> list[Image.Image]:
        return gpu_frames(self.models.key(kind), image, codes, face)

    def run_grid(self, image: Any, kind: str, face: int, layout: str = "wheel", title: str = "") -> Image.Image:
        return gpu_grid(self.models.key(kind), image, face, layout, title)

    # ------------------------------------------------------------------ sessions, files, API calls

    def api_call(self, work: Callable[[], Image.Image], request: gr.Request | None) -> str:
        """An API call: ``work``, and the PNG it makes, on an API worker (low priority), within one of its
        client's API_PER_CLIENT places; the path of the PNG. Past the places, and for a user error, a one-line gr.Error."""
        try:
            with self.api_clients.hold(getattr(request, "session_hash", None) or "anonymous"):
                return self.api_pool.run(lambda: self.save_png(work()))
        except TooMany:
            raise gr.Error(TOO_MANY) from None
        except ganmut.GanmutError as e:
            raise gr.Error(str(e)) from None

    def save_png(self, img: Image.Image) -> str:
        """Write an API result in the temporary folder (where Gradio serves it from, and the sweep of ``temp`` deletes it)."""
        self.temp_dir.mkdir(parents=True, exist_ok=True)
        path = self.temp_dir / f"ganmut-api-{uuid.uuid4().hex}.png"
        png(img).save(path)
        return str(path)

    def keep_photo(self, prep: Prepared, request: gr.Request | None) -> str:
        """Hold a session's new photo, read and aligned (replacing its last one); the key for its
        ``image`` State. ImageError when the photo alone needs more than ``limits.session_memory``."""
        key = session_key(request)
        if not self.photos.put(key, prep):
            raise ganmut.ImageError(f"this photo needs {prep.nbytes() / MB:.1f} MB of memory, more than the "
                                    f"{self.photos.max_bytes / MB:.1f} MB this server holds for photos: use a smaller one")
        return key

    def held(self, key: str | None) -> Prepared | None:
        """The photo a session holds; None, with a toast, when it was released for room."""
        if key is None:
            return None
        prep = self.photos.get(key)
        if prep is None:
            gr.Warning(RELEASED)
        return prep

    def photo_or_warn(self, key: str | None) -> Prepared | None:
        """The session's photo, for a button that needs one; None, with a toast, when there is none."""
        if key is None:
            gr.Warning("Upload a photo first.")
            return None
        return self.held(key)

    def session_file(self, request: gr.Request | None, prefix: str, suffix: str) -> Path:
        """A new file in the session's folder (deleted when the tab closes), after deleting the
        session's older files with that suffix (one download and one animation at a time)."""
        folder = self.sessions_dir / session_key(request)
        folder.mkdir(parents=True, exist_ok=True)
        self.discard(folder.glob(f"*{suffix}"))
        return Path(tempfile.mkstemp(suffix=suffix, prefix=prefix, dir=folder)[1])

    def kept_files(self) -> set[str]:
        """Temporary files Gradio must keep (the examples' copies)."""
        return set().union(*(getattr(b, "keep_in_cache", set()) for b in self.blocks.blocks.values()))

    def forget_files(self, paths: set[str]) -> None:
        """Drop deleted files from Gradio's records of the files it made (which would otherwise grow)."""
        for files in self.blocks.temp_file_sets:
            files.difference_update(paths)

    def discard(self, paths: Iterable[Path]) -> None:
        """Delete files and drop them from Gradio's records."""
        gone = set()
        for path in paths:
            path.unlink(missing_ok=True)
            gone.add(str(path))
        self.forget_files(gone)

    def end_session(self, request: gr.Request) -> None:
        """A tab closed: free its photo and delete its animations now (Gradio keeps a closed session's state an hour)."""
        key = session_key(request)
        self.photos.pop(key)
        folder = self.sessions_dir / key
        self.discard(folder.glob("*") if folder.is_dir() else ())
        shutil.rmtree(folder, ignore_errors=True)
        trim_heap()

    def readout_html(self, kind: str, code: tuple[float, ...], result: ganmut.EditResult | None, who: str = "face 1") -> str:
        """The classifier's readout of an edit as compact bars, before (grey) and after (the emotion's
        colour), with a hint when the clicked emotion reads low; or the line that says it is off."""
        status = self.models.readout_status(kind)
        if result is None or not result.readings:
            return f'<p class="readout-line">{status}</p>'
        reading = result.readings[0]
        target = EMOTIONS[self.models.editor(kind).space.dominant(code)[0]]
        rows = "".join(
            f'<div class="bar-row{" target" if e == target else ""}" data-emotion="{e}"><span class="bar-name">{e}</span>'
            f'<span class="bar two"><i class="before" style="width:{100 * reading.before[e]:.1f}%"></i>'
            f'<i class="after" style="width:{100 * reading.after[e]:.1f}%;background:{c}"></i></span>'
            f'<span class="bar-val">{reading.before[e]:.0%} → {reading.after[e]:.0%}</span></div>'
            for e, c in zip(EMOTIONS, COLORS)
        )
        hint = reading.hint(target)
        return (f'<div class="bars readout"><div class="bars-title">What the classifier reads on {who}, before (grey) and '
                f'after (colour); you asked for <b>{target}</b></div>{rows}'
                + (f'<p class="hint"><b>Hint:</b> {hint}.</p>' if hint else "")
                + f'<p class="readout-line">{status}</p></div>')

    def wheel_value(self, kind: str | None) -> str:
        """Figure JSON of a model's wheel, without marker ('' when the model is not available); the
        marker is the component's ``point`` prop, which the page's script draws."""
        if kind not in self._wheels:
            try:
                self._wheels[kind] = wheel.figure_json(wheel.wheel_figure(self.models.editor(kind).space)) if kind else ""
            except ganmut.GanmutError:
                return ""
        return self._wheels[kind]

    def show(self, prep: Prepared | None, kind: str, face: str, whole: bool, code: tuple[float, ...], controls: bool = False,
             seq: int | None = None) -> dict[str, Any]:
        """The outputs of an edit at ``code`` (:data:`EDIT`). ``controls``: also set the emotion to the
        nearest one and the intensity to the point's; ``seq``: the number of the wheel click being answered."""
        space = self.models.editor(kind).space
        out: dict[str, Any] = {"point": list(code), "wheel": gr.HTML(point=list(code), **({} if seq is None else {"seq": seq})),
                               "mix": mix_html(space, code), "download": gr.DownloadButton(**HIDDEN_DOWNLOAD)}
        if controls:
            e = space.nearest_emotion(code)
            out["emotion"] = gr.Dropdown(choices=EMOTION_CHOICES, value=EMOTIONS[e])
            out["intensity"] = gr.Slider(value=round(space.intensity_of(code, e), 3))
        if prep is None:
            return {**out, "readout": self.readout_html(kind, code, None), "status": f"Upload a photo to edit it to {describe(space, code)}."}
        try:
            result = self.run_edit(prep, kind, code, face)
        except ganmut.GanmutError as e:
            return {**out, "status": warn(e)}
        f = face_choice(face)
        who = "every face" if f == "all" else f"face {f + 1}"
        return {**out, "result": views(prep, result, whole), "crops": crops_gallery(result),
                "readout": self.readout_html(kind, code, result, "the largest face" if f == "all" else who),
                "status": f"Edited {who} to **{describe(space, code)}**."}

    def start_code(self, kind: str, emotion: str, intensity: float) -> tuple[float, ...]:
        """The point of an emotion at an intensity in a model's space (CodeError for bad values)."""
        return self.models.editor(kind).code(emotion=emotion, intensity=float(intensity))

    def on_image(self, payload: Any, kind: str, whole: bool, point: list | None, emotion: str, intensity: float,
                 session: gr.Request | None = None) -> dict[str, Any]:
        """A new photo (upload, webcam, paste or example): read it, find the faces, edit it at the
        current point; everything made from the previous photo (views, crops, readout, grid,
        animation, download) is replaced or cleared. The session's ``image`` State gets the key of the
        photo (see :meth:`keep_photo`); its last photo is released first."""
        self.photos.pop(session_key(session))
        cleared = {"image": None, "faces": None, "face": gr.Radio(choices=[("Face 1", "0")], value="0", visible=False),
                   "result": None, "crops": [], "readout": self.readout_html(kind, (0.0, 0.0), None) if self.models.paths else "",
                   "download": gr.DownloadButton(**HIDDEN_DOWNLOAD), "grid": None, "anim": None,
                   "anim_mp4": gr.DownloadButton(**HIDDEN_DOWNLOAD)}
        path = payload_path(payload)
        if path is None:
            return {**cleared, "status": NO_PHOTO}
        try:
            code = tuple(point) if point else self.start_code(kind, emotion, intensity)
            prep = self.run_prepare(path, kind)
            key = self.keep_photo(prep, session)
        except ganmut.GanmutError as e:
            return {**cleared, "status": warn(e)}
        image, faces = prep.image, prep.faces
        choices = [(f"Face {n}", str(n - 1)) for n in range(1, len(faces) + 1)] + ([("All faces", "all")] if len(faces) > 1 else [])
        out = self.show(prep, kind, "0", whole, code)
        shown = stored_mode(image.mode, "PNG")
        notes = prep.notes + ((f"a {image.mode} photo is downloaded as {shown}",) if shown != image.mode else ())
        return {**cleared, **out, "image": key, "faces": faces_preview(image, faces),
                "face": gr.Radio(choices=choices, value="0", visible=len(faces) > 1), "status": out["status"] + inform(notes)}

    def on_click(self, key: str | None, kind: str, face: str, whole: bool, evt: gr.EventData) -> dict[str, Any]:
        """A click on the wheel: the exact point clicked (projected into the space), the controls set to it, the edit."""
        seq = 0
        try:
            seq = int(number(getattr(evt, "seq", 0) or 0, "the click's number"))
            xy = (number(getattr(evt, "x", None), "x"), number(getattr(evt, "y", None), "y"))
            code = as_code(self.models.editor(kind).space.project(xy))
        except (ganmut.GanmutError, ValueError) as e:
            return {"wheel": gr.HTML(seq=seq), "status": warn(e)}
        return self.show(self.held(key), kind, face, whole, code, controls=True, seq=seq)

    def on_intensity(self, key: str | None, kind: str, face: str, whole: bool, point: list | None, emotion: str,
                     intensity: float) -> dict[str, Any]:
        """The intensity slider moved: the point moves along its ray (GGANmut: along the emotion's path)."""
        try:
            space = self.models.editor(kind).space
            code = as_code(space.at_intensity(point, emotion, float(intensity)) if point else space.code(emotion, float(intensity)))
        except (ganmut.GanmutError, ValueError) as e:
            return {"status": warn(e)}
        return self.show(self.held(key), kind, face, whole, code)

    def on_emotion(self, key: str | None, kind: str, face: str, whole: bool, emotion: str, intensity: float) -> dict[str, Any]:
        """Another emotion chosen: its point at the current intensity."""
        try:
            code = self.start_code(kind, emotion, intensity)
        except (ganmut.GanmutError, ValueError) as e:
            return {"status": warn(e)}
        return self.show(self.held(key), kind, face, whole, code)

    def on_view(self, key: str | None, kind: str, face: str, whole: bool, point: list | None, emotion: str,
                intensity: float) -> dict[str, Any]:
        """Another face, or the whole photo instead of the face: the same point shown again."""
        try:
            code = tuple(point) if point else self.start_code(kind, emotion, intensity)
        except ganmut.GanmutError as e:
            return {"status": warn(e)}
        return self.show(self.held(key), kind, face, whole, code)

    def switch_model(self, kind: str, key: str | None, face: str, whole: bool, code: tuple[float, ...],
                     controls: bool = False) -> dict[str, Any]:
        """Model ``kind`` at ``code``: its wheel and note, the photo aligned for it (when its crop
        differs), the edit, and what the previous model made (grid, animation, download) cleared."""
        out = {"model": kind, "model_note": model_note(kind), "grid": None, "anim": None,
               "anim_mp4": gr.DownloadButton(**HIDDEN_DOWNLOAD), "download": gr.DownloadButton(**HIDDEN_DOWNLOAD)}
        try:
            prep = self.held(key)
            if prep is not None:
                prep = self.run_prepare(prep, kind)
                self.photos.put(key, prep)
        except ganmut.GanmutError as e:
            return {**out, "wheel": gr.HTML(value=self.wheel_value(kind)), "result": None, "crops": [], "readout": "", "status": warn(e)}
        edit = self.show(prep, kind, face, whole, code, controls=controls)
        return {**out, **edit, "wheel": gr.HTML(value=self.wheel_value(kind), point=list(code))}

    def on_model(self, kind: str, key: str | None, face: str, whole: bool, emotion: str, intensity: float) -> dict[str, Any]:
        """Another model: the same emotion and intensity in its space."""
        try:
            code = self.start_code(kind, emotion, intensity)
        except ganmut.GanmutError as e:
            return {"status": warn(e)}
        return self.switch_model(kind, key, face, whole, code)

    def on_save(self, key: str | None, kind: str, face: str, point: list | None, session: gr.Request | None = None) -> dict[str, Any]:
        """The full-resolution PNG of the current edit, made now, offered for download."""
        hidden = {"download": gr.DownloadButton(**HIDDEN_DOWNLOAD)}
        prep = self.photo_or_warn(key)
        if prep is None or not point:
            return hidden
        try:
            image = png(self.run_edit(prep, kind, tuple(point), face).image)
        except ganmut.GanmutError as e:
            warn(e)
            return hidden
        out = self.session_file(session, "ganmut-edit-", ".png")
        image.save(out)
        return {"download": gr.DownloadButton(value=str(out), visible=True, label=f"⬇ Download the PNG ({image.width}×{image.height})")}

    def on_grid(self, key: str | None, kind: str, face: str) -> dict[str, Any]:
        """The gamut-of-emotions sheet of one face (the first of "all"), titled with the model."""
        prep = self.photo_or_warn(key)
        if prep is None:
            return {"grid": None}
        try:
            return {"grid": self.run_grid(prep, kind, sheet_face(face), "sheet", f"{MODEL_LABELS[kind]}: gamut of emotions")}
        except ganmut.GanmutError as e:
            warn(e)
            return {"grid": None}

    def on_animate(self, key: str | None, kind: str, face: str, emotion: str, path_kind: str,
                   session: gr.Request | None = None) -> dict[str, Any]:
        """The face moving neutral -> emotion -> neutral, or on a tour of every emotion: a looping GIF
        shown, and the same frames as an MP4 to download; they replace the session's last ones, in the
        session's folder (deleted when the tab closes)."""
        none = {"anim": None, "anim_mp4": gr.DownloadButton(**HIDDEN_DOWNLOAD)}
        prep = self.photo_or_warn(key)
        if prep is None:
            return none
        try:
            frames = self.run_frames(prep, kind, animate.path_codes(self.models.editor(kind).space, path_kind, emotion), face)
        except ganmut.GanmutError as e:
            warn(e)
            return none
        try:
            gif = animate.write(frames, self.session_file(session, f"ganmut-{path_kind}-", ".gif"))
        except OSError as e:
            warn(ganmut.GanmutError(f"the animation could not be written ({e.strerror or type(e).__name__})"))
            return none
        try:
            mp4 = animate.write(frames, self.session_file(session, f"ganmut-{path_kind}-", ".mp4"))
        except (ganmut.GanmutError, RuntimeError, OSError) as e:  # no ffmpeg, a full disk: the GIF still shows
            warn(ganmut.GanmutError(f"the MP4 could not be made ({shorten(str(e))}); the GIF is below"))
            return {**none, "anim": str(gif)}
        return {"anim": str(gif), "anim_mp4": gr.DownloadButton(value=str(mp4), visible=True, label="⬇ MP4")}

    def on_presets_load(self, stored: Any) -> dict[str, Any]:
        """The page opened: the browser's saved points in the picker (a damaged value is reset)."""
        presets = stored_presets(stored)
        return {"preset_pick": gr.Dropdown(choices=list(presets or {}), value=None), **({} if presets is not None else {"presets": {}})}

    def on_preset_save(self, name: str, kind: str, point: list | None, stored: Any) -> dict[str, Any]:
        """Save the current point (and its model) under ``name`` in the browser."""
        presets = stored_presets(stored) or {}
        name = (name or "").strip()
        try:
            if not point:
                raise PresetError("choose a point first: click the wheel or pick an emotion")
            presets = add_preset(presets, name, kind, point)
        except PresetError as e:
            return {"status": warn(e)}
        gr.Info(f"saved the point as '{name}'")
        return {"presets": to_json(presets), "preset_pick": gr.Dropdown(choices=list(presets), value=name),
                "preset_json": preset_line(name, presets), "preset_name": ""}

    def on_preset_delete(self, name: str | None, stored: Any) -> dict[str, Any]:
        """Delete the chosen saved point from the browser."""
        presets = stored_presets(stored) or {}
        if not name or name not in presets:
            gr.Warning("choose a saved point to delete")
            return {}
        del presets[name]
        return {"presets": to_json(presets), "preset_pick": gr.Dropdown(choices=list(presets), value=None), "preset_json": ""}

    def on_preset_apply(self, key: str | None, kind: str, face: str, whole: bool, name: str | None, stored: Any) -> dict[str, Any]:
        """Go to a saved point: its model (switched to if it is not the current one) and its point, on this photo."""
        presets = stored_presets(stored) or {}
        if not name or name not in presets:
            gr.Warning("choose a saved point first")
            return {}
        preset = presets[name]
        try:
            target = model_name(preset.model)
            if target not in self.models.paths:
                raise ganmut.CheckpointError(f"'{name}' is a point of {MODEL_LABELS[target]}, which this app does not serve")
            code = self.models.editor(target).code(z=preset.z)
        except ganmut.GanmutError as e:
            return {"status": warn(e)}
        if target != kind:
            return self.switch_model(target, key, face, whole, code, controls=True)
        return self.show(self.held(key), kind, face, whole, code, controls=True)

    def api_edit_xy(self, image: Any, x: float, y: float, model: str, face: str, client: gr.Request | None = None) -> str:
        """Edit to the code (x, y) of the model's space (linear: unit disc; Gaussian: [-1, 1]^2)."""

        def edit() -> Image.Image:
            kind = model_name(model)
            return self.run_edit(_api_image(image), kind, self.models.editor(kind).code(z=(x, y)), face).image

        return self.api_call(edit, client)

    def api_edit_emotion(self, image: Any, emotion: str, intensity: float, model: str, face: str,
                         client: gr.Request | None = None) -> str:
        """Edit to a basic emotion at an intensity in [0, 1]."""

        def edit() -> Image.Image:
            kind = model_name(model)
            code = self.models.editor(kind).code(emotion=emotion, intensity=intensity)
            return self.run_edit(_api_image(image), kind, code, face).image

        return self.api_call(edit, client)

    def api_edit_preset(self, image: Any, preset: str, face: str, client: gr.Request | None = None) -> str:
        """Edit to a saved point: ``{"model": "linear", "z": [x, y]}`` as JSON (what the page shows for a
        saved point, and what `python -m ganmut presets` keeps)."""

        def edit() -> Image.Image:
            p = parse_preset(preset)
            kind = model_name(p.model)
            return self.run_edit(_api_image(image), kind, self.models.editor(kind).code(z=p.z), face).image

        return self.api_call(edit, client)

    def api_grid(self, image: Any, model: str, face: str, client: gr.Request | None = None) -> str:
        """The gamut-of-emotions grid of one face."""

        def grid() -> Image.Image:
            kind = model_name(model)
            return self.run_grid(_api_image(image), kind, sheet_face(face))

        return self.api_call(grid, client)

    def build(self) -> gr.Blocks:
        """The Blocks app (not launched)."""
        default = self.models.names[0]
        with gr.Blocks(title="GANmut: gamut of emotions", analytics_enabled=False) as demo:  # self.temp sweeps the cache
            gr.Markdown(INTRO, elem_id="intro")
            gr.Markdown(self.models.banner(), elem_id="banner", visible=bool(self.models.banner()))

            image = gr.State(None)  # the key of the session's photo in self.photos
            point = gr.State(None)
            presets = gr.BrowserState({}, storage_key="ganmut-presets", secret=PRESETS_SECRET)  # kept in the visitor's browser

            with gr.Row(equal_height=False, elem_id="stage"):
                with gr.Column(scale=3, min_width=220, elem_id="source"):
                    photo = gr.Image(label="Your photo", type="filepath", sources=["upload", "webcam", "clipboard"],
                                     image_mode=None, height=250, elem_id="photo")
                    gr.Examples(EXAMPLES, inputs=[photo], label="Examples (public-domain and Apache-2.0 photos)",
                                examples_per_page=len(EXAMPLES), elem_id="examples")
                    faces = gr.Image(label="Detected faces (1 = largest)", interactive=False, height=180, elem_id="faces",
                                     format="jpeg", buttons=[])
                with gr.Column(scale=5, min_width=200, elem_id="view"):
                    result = gr.ImageSlider(label="Before / after (drag the handle)", type="pil", format="jpeg",
                                            buttons=["fullscreen"], elem_id="result", max_height=520)
                    status = gr.Markdown(NO_PHOTO, elem_id="status")
                    with gr.Row():
                        whole = gr.Checkbox(False, label="Whole photo", elem_id="whole", min_width=120)
                        save_btn = gr.Button("Full-resolution PNG", size="sm", elem_id="save", min_width=120)
                    download = gr.DownloadButton(visible=False, size="sm", elem_id="download")
                    face = gr.Radio(label="Face to edit", choices=[("Face 1", "0")], value="0", visible=False, elem_id="face")
                with gr.Column(scale=5, min_width=280, elem_id="picker"):
                    wheel_html = gr.HTML(
                        value=self.wheel_value(default if self.models.paths else None),
                        html_template='<div class="ganmut-stage"><div class="ganmut-wheel"></div><div class="ganmut-marker"></div></div>'
                                      '<div class="ganmut-wheel-empty">The emotion wheel appears here once trained weights are available.</div>',
                        js_on_load=WHEEL_JS, head=f'<script src="{PLOTLY_URL}"></script>',
                        elem_id="wheel", point=None, seq=0,
                    )
                    with gr.Row():
                        emotion = gr.Dropdown(EMOTION_CHOICES, value=START["emotion"],
                                              label="Emotion", scale=1, min_width=110, elem_id="emotion")
                        intensity = gr.Slider(0, 1, value=START["intensity"], step=0.01, label="Intensity",
                                              scale=2, min_width=160, elem_id="intensity")
                    gr.Markdown(f"<small>{LEGEND}. The centre is neutral. Hover to read the mix; click to edit.</small>")
                    model = gr.Radio([(MODEL_LABELS[k], k) for k in self.models.names], value=default, label="Model", elem_id="model")
                    note = gr.Markdown(model_note(default))
                    with gr.Accordion("Saved points", open=False, elem_id="presets"):
                        with gr.Row():
                            preset_name = gr.Textbox(show_label=False, placeholder="name this point", max_length=40,
                                                     scale=2, min_width=120, elem_id="preset-name")
                            preset_save = gr.Button("Save", size="sm", scale=1, min_width=60, elem_id="preset-save")
                        with gr.Row():
                            preset_pick = gr.Dropdown([], value=None, show_label=False, scale=2, min_width=120,
                                                      elem_id="preset-pick")
                            preset_apply = gr.Button("Apply", size="sm", scale=1, min_width=60, elem_id="preset-apply")
                            preset_delete = gr.Button("Delete", size="sm", scale=1, min_width=60, elem_id="preset-delete")
                        preset_json = gr.Markdown("", elem_id="preset-json")
                        gr.Markdown("<small>Saved in this browser. Apply one to any photo; its JSON goes to the API's "
                                    "`/edit_preset`.</small>")

            with gr.Row(equal_height=False):
                mix = gr.HTML("", elem_id="mix", padding=True)
                readout = gr.HTML(self.readout_html(default, (0.0, 0.0), None) if self.models.paths else "", elem_id="readout", padding=True)
                with gr.Column():
                    crops = gr.Gallery(label="Aligned face crop: before, after", columns=4, height=170, object_fit="contain",
                                       elem_id="crops", format="png")

            with gr.Accordion("Gamut of emotions and animation", open=True):
                with gr.Row():
                    with gr.Column():
                        gr.Markdown("### Gamut of emotions of the face", elem_id="grid-title")
                        grid_btn = gr.Button("Render the gamut sheet", elem_id="grid-btn")
                        grid_img = gr.Image(show_label=False, format="png", interactive=False,
                                            buttons=["download", "fullscreen"], elem_id="grid")
                    with gr.Column():
                        gr.Markdown("### Animation", elem_id="anim-title")
                        anim_btn = gr.Button("Animate (GIF and MP4)", elem_id="anim-btn")
                        path_kind = gr.Radio([("neutral → chosen emotion → neutral", "ramp"), ("tour of every emotion", "tour")],
                                             value="ramp", show_label=False)
                        anim = gr.Image(show_label=False, type="filepath", interactive=False, buttons=["download"],
                                        elem_id="anim")
                        anim_mp4 = gr.DownloadButton(visible=False, size="sm", elem_id="anim-mp4")
            gr.Markdown(ABOUT)
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
                api_preset = gr.Textbox(label="preset")
                api_out = gr.Image(type="pil", format="png", label="edited")

            outputs = {"image": image, "faces": faces, "face": face, "point": point, "wheel": wheel_html, "emotion": emotion,
                       "intensity": intensity, "result": result, "crops": crops, "mix": mix, "readout": readout,
                       "status": status, "download": download, "model": model, "model_note": note, "grid": grid_img,
                       "anim": anim, "anim_mp4": anim_mp4, "presets": presets, "preset_pick": preset_pick,
                       "preset_json": preset_json, "preset_name": preset_name}
            # Interactive events: a lane of their own (never behind API calls). The last of a burst of slider
            # moves always runs (always_last); wheel clicks are sent one at a time by the page, the last one
            # kept (see WHEEL_JS). Progress shows on the result, not the wheel.
            ui = dict(concurrency_id="ui", concurrency_limit=UI_CONCURRENCY, api_visibility="private")
            live = dict(show_progress="minimal", show_progress_on=[result], trigger_mode="always_last", **ui)

            def on(trigger: Callable, fn: Callable, inputs: list, names: tuple[str, ...], **kwargs: Any) -> None:
                """Run ``fn`` on ``trigger``; its named results go to the components of ``names``."""
                trigger(named(fn, names), inputs, [outputs[n] for n in names], **kwargs)

            on(photo.change, self.on_image, [photo, model, whole, point, emotion, intensity], PHOTO, preprocess=False, **live)
            on(wheel_html.click, self.on_click, [image, model, face, whole], EDIT, **dict(live, trigger_mode="multiple"))
            for trigger in (intensity.input, intensity.release):
                on(trigger, self.on_intensity, [image, model, face, whole, point, emotion, intensity], EDIT, **live)
            on(emotion.input, self.on_emotion, [image, model, face, whole, emotion, intensity], EDIT, **live)
            for trigger in (face.input, whole.input):
                on(trigger, self.on_view, [image, model, face, whole, point, emotion, intensity], EDIT, **live)
            on(model.input, self.on_model, [model, image, face, whole, emotion, intensity], MODEL_SWITCH, **live)
            on(save_btn.click, self.on_save, [image, model, face, point], ("download",), **ui)
            on(grid_btn.click, self.on_grid, [image, model, face], ("grid",), **ui)
            on(anim_btn.click, self.on_animate, [image, model, face, emotion, path_kind], ("anim", "anim_mp4"), **ui)
            on(demo.load, self.on_presets_load, [presets], ("preset_pick", "presets"), **ui)
            on(preset_save.click, self.on_preset_save, [preset_name, model, point, presets],
               ("presets", "preset_pick", "preset_json", "preset_name", "status"), **ui)
            on(preset_delete.click, self.on_preset_delete, [preset_pick, presets], ("presets", "preset_pick", "preset_json"), **ui)
            on(preset_pick.input, lambda name, stored: {"preset_json": preset_line(name, stored_presets(stored) or {})},
               [preset_pick, presets], ("preset_json",), **ui)
            on(preset_apply.click, self.on_preset_apply, [image, model, face, whole, preset_pick, presets], MODEL_SWITCH, **live)
            demo.unload(self.end_session)

            # raw payloads (errors stay ours); API_CONCURRENCY calls pass at once to api_call, which bounds them
            api = dict(preprocess=False, concurrency_id="api", concurrency_limit=API_CONCURRENCY)
            gr.on([], self.api_edit_xy, [api_image, api_x, api_y, api_model, api_face], [api_out], api_name="edit_xy", **api)
            gr.on([], self.api_edit_emotion, [api_image, api_emotion, api_intensity, api_model, api_face], [api_out],
                  api_name="edit_emotion", **api)
            gr.on([], self.api_edit_preset, [api_image, api_preset, api_face], [api_out], api_name="edit_preset", **api)
            gr.on([], self.api_grid, [api_image, api_model, api_face], [api_out], api_name="grid", **api)
        return demo

    @asynccontextmanager
    async def lifespan(self, app: Any) -> AsyncIterator[None]:
        """While the server runs, sweep the temporary folder in a thread of its own."""
        sweeper = threading.Thread(target=self.temp.run, args=(SWEEP_S,), name="ganmut-temp-sweeper", daemon=True)
        sweeper.start()
        try:
            yield
        finally:
            self.temp.stop()

    def launch(self, **kwargs: Any) -> None:
        """Serve the app (Gradio's launch, with the app's queue, limits, theme and routes)."""
        if not torch.cuda.is_available():
            torch.set_num_threads(1)  # edits run side by side, one core each; more threads per edit oversubscribe the cores
        self.blocks.queue(max_size=QUEUE_SIZE, default_concurrency_limit=UI_CONCURRENCY).launch(
            theme=gr.themes.Soft(primary_hue="amber", secondary_hue="slate"), css=CSS, state_session_capacity=MAX_SESSIONS,
            max_file_size=MAX_FILE_SIZE, show_error=False,
            app_kwargs={"routes": [Route(PLOTLY_URL, plotly_js)], "lifespan": self.lifespan,
                        "middleware": [Middleware(UploadGuard, budget=self.temp)]},
            **kwargs,
        )


def create_app(weights: str | None = None, classifier: str | None = None, limits: Limits | None = None) -> GanmutApp:
    """The app, its models loaded: ``weights`` and ``classifier`` as ``GANMUT_WEIGHTS`` and
    ``GANMUT_CLASSIFIER`` take them (the defaults), ``limits`` from the environment by default."""
    weights = os.environ.get("GANMUT_WEIGHTS") if weights is None else weights
    classifier = os.environ.get("GANMUT_CLASSIFIER") if classifier is None else classifier
    return GanmutApp(Models(weights, classifier), limits or Limits.from_env())


if __name__ == "__main__":
    demo = create_app()
    demo.launch()
