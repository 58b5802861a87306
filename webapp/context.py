"""What the handlers share: :class:`GanmutApp` (it imports none of the page's parts, so they may import it)."""
from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import gradio as gr

from . import server
from .limits import API_PER_CLIENT, Limits
from .models import Models
from .pools import LowPriorityPool, PerClient
from .sessions import Sessions


class GanmutApp:
    """What the handlers share: the models (``models``), the limits (``limits``), the sessions' photos
    and files (``sessions``), the API workers (``api_pool``, which also edit the page's clips) and
    their per-client places (``api_clients``), and the one clip edited at a time (``clips``);
    ``blocks`` are the Gradio Blocks that ``build`` lays out for the app (:func:`webapp.page.build`),
    and :meth:`launch` serves them."""

    def __init__(self, models: Models, build: Callable[[GanmutApp], gr.Blocks], limits: Limits | None = None) -> None:
        self.models = models
        self.limits = limits or Limits()
        self.api_pool = LowPriorityPool(self.limits.api_workers, nice=10, name="ganmut-api")
        self.api_clients = PerClient(API_PER_CLIENT)
        self.clips = threading.Lock()
        self.blocks = build(self)
        self.sessions = Sessions(self.limits, self.blocks)

    def launch(self, **kwargs: Any) -> None:
        """Serve the app (Gradio's launch, with the app's queue, limits, theme and routes)."""
        server.launch(self.blocks, self.sessions.temp, **kwargs)
