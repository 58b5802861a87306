"""Serving the app: Gradio's launch with the app's queue, limits, theme, stylesheet and routes.

Beside Gradio's own routes: plotly.js from the installed ``plotly`` package at
:data:`~webapp.ui_picker.PLOTLY_URL`, and an ASGI middleware (:class:`UploadGuard`) that refuses an
upload that does not fit under the temporary folder's cap. While the server runs, a thread sweeps
the temporary folder (:func:`lifespan`). Errors that are not the user's input's fault reach a
client as Gradio's generic error (``show_error=False``) and the server log in full.
"""
from __future__ import annotations

import functools
import importlib.util
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import gradio as gr
import torch
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from .limits import MAX_SESSIONS, QUEUE_SIZE, SWEEP_S, UI_CONCURRENCY, DiskBudget
from .ui_picker import PLOTLY_URL

STYLESHEET = Path(__file__).with_name("static") / "app.css"
PLOTLY_JS = Path(importlib.util.find_spec("plotly").submodule_search_locations[0]) / "package_data" / "plotly.min.js"
MAX_FILE_SIZE = "30mb"
MAX_UPLOAD_BYTES = 30 * 1000 * 1000


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


@functools.cache
def plotly_source() -> bytes:
    """plotly.min.js of the installed plotly package, which also keeps itself as
    ``window.GanmutPlotly``: a gr.Plot on the page would replace ``window.Plotly`` with Gradio's own copy."""
    return PLOTLY_JS.read_bytes() + b"\n;window.GanmutPlotly = window.Plotly;\n"


def plotly_js(request: Request) -> Response:
    """The wheel's plotly.js (the route of PLOTLY_URL)."""
    return Response(plotly_source(), media_type="text/javascript", headers={"Cache-Control": "public, max-age=3600"})


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
        state_session_capacity=MAX_SESSIONS, max_file_size=MAX_FILE_SIZE, show_error=False,
        app_kwargs={"routes": [Route(PLOTLY_URL, plotly_js)], "lifespan": lifespan(budget),
                    "middleware": [Middleware(UploadGuard, budget=budget)]},
        **kwargs,
    )
