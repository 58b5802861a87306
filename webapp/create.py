"""The app built from its settings: :func:`create_app`."""
from __future__ import annotations

import os

from . import page
from .context import GanmutApp
from .limits import Limits
from .models import Models


def create_app(weights: str | None = None, classifier: str | None = None, limits: Limits | None = None) -> GanmutApp:
    """The app, its models loaded: ``weights`` and ``classifier`` as ``GANMUT_WEIGHTS`` and
    ``GANMUT_CLASSIFIER`` take them (the defaults), ``limits`` from the environment by default."""
    weights = os.environ.get("GANMUT_WEIGHTS") if weights is None else weights
    classifier = os.environ.get("GANMUT_CLASSIFIER") if classifier is None else classifier
    return GanmutApp(Models(weights, classifier), page.build, limits or Limits.from_env())
