"""The GANmut web app: a Gradio page over :class:`ganmut.Editor` and :mod:`ganmut.wheel`.

``create_app(weights=..., classifier=..., limits=...)`` builds it (importing this package loads no
model); its ``blocks`` are the Gradio Blocks and ``launch()`` serves them. The modules, each named
for what it holds (see docs/architecture.md):

- ``create``: :func:`create_app`; ``context``: :class:`GanmutApp`, what the handlers share;
- ``models``: the served models; ``gpu``: the GPU-bound calls (ZeroGPU);
- ``sessions``: the store of the sessions' photos and files;
- ``limits``: what the app may hold and run; ``disk``: the temporary folder kept within bytes and age;
  ``pools``: the API workers' threads and each client's places;
- ``server``: the launch, the routes, the upload guard, the log's line for a user's error;
- ``page``: the layout of the parts and their wiring; ``events``: how handlers answer (by name);
- ``ui_photo``, ``ui_match``, ``ui_result``, ``ui_picker``, ``ui_saved``, ``ui_gamut``: the parts of the page,
  each with its components, handlers and events; ``point_edit``: an edit at a point as the page shows it,
  a preview while dragging, a change of model, which they share;
- ``views``: pure renderers (HTML and images); ``api``: the API endpoints;
- ``static/``: the wheel's script and the stylesheet.
"""
from .context import GanmutApp
from .create import create_app

__all__ = ["GanmutApp", "create_app"]
