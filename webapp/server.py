"""Serving the app: Gradio's launch with the app's queue, limits, theme, stylesheet and routes.

Beside Gradio's own routes: plotly.js from the installed ``plotly`` package at
:data:`PLOTLY_URL`, and an ASGI middleware (:class:`UploadGuard`) that refuses an
upload that does not fit under the temporary folder's cap (and renames a dot-named one). While the
server runs, a thread sweeps the temporary folder (:func:`lifespan`). A call to an endpoint the app
does not have is a 404 and one line (:func:`no_endpoint`). Errors that are not the
user's input's fault reach a client as Gradio's generic error (``show_error=False``) and the
server log in full.
"""
from __future__ import annotations

import functools
import importlib.util
import re
import sys
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import gradio as gr
import torch
from gradio.route_utils import FnIndexInferError
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ganmut.errors import shorten

from .disk import DiskBudget
from .limits import MAX_SESSIONS, QUEUE_SIZE, STORAGE_FULL, SWEEP_S, UI_CONCURRENCY

PLOTLY_URL = "/ganmut/plotly.min.js"
"""Where the page loads plotly.js from: a route of the app's own, so that no server path is in the page."""

STYLESHEET = Path(__file__).with_name("static") / "app.css"
PLOTLY_JS = Path(importlib.util.find_spec("plotly").submodule_search_locations[0]) / "package_data" / "plotly.min.js"
MAX_UPLOAD_BYTES = 30 * 1000 * 1000
"""The largest upload, 30 MB (Gradio's "30mb" would be 30 MiB, which the page and the README do not say)."""


def log_user_error(message: str) -> None:
    """One line in the server log for a user's error (the unexpected ones get Gradio's traceback)."""
    print(f"user error: {message}", file=sys.stderr, flush=True)


class DotNames:
    """An upload's ``receive`` channel with every file name that starts with a dot renamed to start
    with ``_`` (the same length): Gradio refuses such a file when its temporary folder lies in the
    working directory. Only the part headers of the multipart body (after each ``--boundary``) change."""

    MAX_HEADERS = 16384
    """Part headers longer than this (no blank line yet) are passed on as they are."""

    def __init__(self, receive: Receive, boundary: bytes) -> None:
        self.receive = receive
        self.start = b"--" + boundary + b"\r\n"
        self.held = b""

    async def __call__(self) -> Message:
        message = await self.receive()
        if message["type"] != "http.request":
            return message
        body, self.held = self.rename(self.held + message.get("body", b""), message.get("more_body", False))
        return {**message, "body": body}

    def rename(self, data: bytes, more: bool) -> tuple[bytes, bytes]:
        """(what can be passed on, renamed; what is held until more of the body comes)."""
        out, i = bytearray(), 0
        while True:
            j = data.find(self.start, i)
            if j < 0:
                cut = max(i, len(data) - len(self.start) + 1) if more else len(data)
                return bytes(out + data[i:cut]), data[cut:]
            end = data.find(b"\r\n\r\n", j)
            if end < 0 and more and len(data) - j <= self.MAX_HEADERS:
                return bytes(out + data[i:j]), data[j:]
            end = len(data) if end < 0 else end
            out += data[i:j] + data[j:end].replace(b'filename=".', b'filename="_')
            i = end


class UploadGuard:
    """ASGI middleware for uploads: one that does not fit under the temporary folder's cap gets HTTP
    503; a file name that starts with a dot is renamed (:class:`DotNames`)."""

    def __init__(self, app: ASGIApp, budget: DiskBudget) -> None:
        self.app = app
        self.budget = budget

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and scope["path"].rstrip("/").endswith("/upload"):
            length = dict(scope["headers"]).get(b"content-length", b"")
            size = int(length) if length.isdigit() else MAX_UPLOAD_BYTES
            if not await anyio.to_thread.run_sync(self.budget.admit, size):
                refusal = JSONResponse({"detail": STORAGE_FULL},
                                       status_code=503, headers={"Retry-After": "60"})
                await refusal(scope, receive, send)
                return
            boundary = re.search(rb'boundary="?([^";]+)', dict(scope["headers"]).get(b"content-type", b""))
            try:
                await self.app(scope, DotNames(receive, boundary[1]) if boundary else receive, send)
            finally:
                self.budget.done(size)
            return
        await self.app(scope, receive, send)


@functools.cache
def plotly_source() -> bytes:
    """plotly.min.js of the installed plotly package, which also keeps itself as
    ``window.GanmutPlotly``: a gr.Plot on the page would replace ``window.Plotly`` with Gradio's own copy."""
    return PLOTLY_JS.read_bytes() + b"\n;window.GanmutPlotly = window.Plotly;\n"


def plotly_js(request: Request) -> Response:
    """The wheel's plotly.js (the route of PLOTLY_URL)."""
    return Response(plotly_source(), media_type="text/javascript", headers={"Cache-Control": "public, max-age=3600"})


def no_endpoint(request: Request, exc: Exception) -> JSONResponse:
    """A call to an API endpoint the app does not have: 404 and one line (Gradio's own answer is a 500
    and a traceback in the log)."""
    message = f"no API endpoint {shorten(request.url.path.rstrip('/').rsplit('/', 1)[-1])}; see the page's \"Use the API\""
    log_user_error(message)
    return JSONResponse({"error": message}, status_code=404)


def lifespan(budget: DiskBudget) -> Any:
    """While the server runs, ``budget`` sweeps its folders in a thread of its own."""
    @asynccontextmanager
    async def sweeping(app: Any) -> AsyncIterator[None]:
        sweeper = threading.Thread(target=budget.run, args=(SWEEP_S,), name="ganmut-temp-sweeper", daemon=True)
        sweeper.start()
        try:
            yield
        finally:
            budget.stop()

    return sweeping


def launch(blocks: gr.Blocks, budget: DiskBudget, **kwargs: Any) -> None:
    """Serve ``blocks``, their temporary folder kept by ``budget`` (``kwargs``: more of Gradio's launch)."""
    if not torch.cuda.is_available():
        torch.set_num_threads(1)  # edits run side by side, one core each; more threads per edit oversubscribe the cores
    blocks.queue(max_size=QUEUE_SIZE, default_concurrency_limit=UI_CONCURRENCY).launch(
        theme=gr.themes.Soft(primary_hue="amber", secondary_hue="slate"), css=STYLESHEET.read_text(),
        state_session_capacity=MAX_SESSIONS, max_file_size=MAX_UPLOAD_BYTES, show_error=False,
        app_kwargs={"routes": [Route(PLOTLY_URL, plotly_js)], "lifespan": lifespan(budget),
                    "middleware": [Middleware(UploadGuard, budget=budget)],
                    "exception_handlers": {FnIndexInferError: no_endpoint}},
        **kwargs,
    )
