"""The app as one object: what its handlers share (:class:`GanmutApp`), and :func:`create_app`."""
from __future__ import annotations

import os
import threading
from typing import Any

from . import page, server
from .limits import API_PER_CLIENT, Limits, LowPriorityPool, PerClient
from .models import Models
from .sessions import Sessions


class GanmutApp:
    """What the handlers share: the models (``models``), the limits (``limits``), the sessions' photos
    and files (``sessions``), the API workers (``api_pool``, which also edit the page's clips) and
    their per-client places (``api_clients``), and the one clip edited at a time (``clips``);
    ``blocks`` are the Gradio Blocks and :meth:`launch` serves them."""

    def __init__(self, models: Models, limits: Limits | None = None) -> None:
        self.models = models
        self.limits = limits or Limits()
        self.api_pool = LowPriorityPool(self.limits.api_workers, nice=10, name="ganmut-api")
        self.api_clients = PerClient(API_PER_CLIENT)
        self.clips = threading.Lock()
        self.blocks = page.build(self)
        self.sessions = Sessions(self.limits, self.blocks)

    def launch(self, **kwargs: Any) -> None:
        """Serve the app (Gradio's launch, with the app's queue, limits, theme and routes)."""
        server.launch(self.blocks, self.sessions.temp, **kwargs)


def create_app(weights: str | None = None, classifier: str | None = None, limits: Limits | None = None) -> GanmutApp:
    """The app, its models loaded: ``weights`` and ``classifier`` as ``GANMUT_WEIGHTS`` and
    ``GANMUT_CLASSIFIER`` take them (the defaults), ``limits`` from the environment by default."""
    weights = os.environ.get("GANMUT_WEIGHTS") if weights is None else weights
    classifier = os.environ.get("GANMUT_CLASSIFIER") if classifier is None else classifier
    return GanmutApp(Models(weights, classifier), limits or Limits.from_env())
