"""How handlers answer and how they are wired to the page.

A handler is a module function of the app (its first argument) and of its inputs, and returns its
outputs **by name** (a dict): :class:`Wiring` connects it to an event with its inputs and outputs
named as the page's components, and an output the handler leaves out stays as it is on the page.
Interactive events run in a lane of their own (:data:`~webapp.limits.UI_CONCURRENCY` at once, never
behind API calls). A user's error reaches the user as a toast and the status line (:func:`warn`),
and the server log as one line.
"""
from __future__ import annotations

import functools
import inspect
import sys
import typing
from collections.abc import Callable
from typing import Any

import gradio as gr

from .context import GanmutApp
from .limits import UI_CONCURRENCY
from .server import log_user_error


def warn(e: Exception) -> str:
    """Show a user's error as a toast, log it in one line, and return it for the status line."""
    log_user_error(str(e))
    gr.Warning(str(e))
    return f"⚠️ {e}"


def inform(notes: tuple[str, ...]) -> str:
    """Show notes on how a photo was read as toasts and in the server log; the status line's suffix."""
    for note in notes:
        gr.Info(note)
        print(f"note: {note}", file=sys.stderr, flush=True)
    return "".join(f"  \nℹ️ {note}" for note in notes)


def bind(app: GanmutApp, fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` with ``app`` as its first argument, as Gradio calls it: its signature and resolved
    annotations without ``app``, so that Gradio still passes gr.Request and EventData."""
    hints = typing.get_type_hints(fn)
    params = list(inspect.signature(fn).parameters.values())[1:]

    def bound(*args: Any, **kwargs: Any) -> Any:
        return fn(app, *args, **kwargs)

    bound.__name__, bound.__qualname__, bound.__doc__ = fn.__name__, fn.__qualname__, fn.__doc__
    bound.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    bound.__annotations__ = {p.name: hints[p.name] for p in params if p.name in hints}
    return bound


def named(fn: Callable[..., dict[str, Any]], names: tuple[str, ...]) -> Callable[..., Any]:
    """``fn`` answering in the order of ``names`` (a name it leaves out: gr.skip()), as Gradio takes
    outputs: a tuple, or the value itself for one output. The signature is kept (functools.wraps)."""
    @functools.wraps(fn)
    def wired(*args: Any, **kwargs: Any) -> Any:
        out = fn(*args, **kwargs)
        unknown = set(out) - set(names)
        if unknown:
            raise KeyError(f"{fn.__name__} answered outputs this event does not have: {sorted(unknown)}")
        values = tuple(out.get(n, gr.skip()) for n in names)
        return values[0] if len(values) == 1 else values

    return wired


class Wiring:
    """The page's components by name (``wiring["wheel"]``) and the app, to connect handlers to events."""

    def __init__(self, app: GanmutApp, blocks: gr.Blocks, components: dict[str, Any]) -> None:
        self.app = app
        self.blocks = blocks
        self.components = components

    def __getitem__(self, name: str) -> Any:
        return self.components[name]

    def on(self, trigger: Callable[..., Any], fn: Callable[..., dict[str, Any]], inputs: tuple[str, ...],
           outputs: tuple[str, ...], live: bool = False, **kwargs: Any) -> None:
        """Run ``fn(app, *inputs)`` on ``trigger`` in the interactive lane; its named results go to the
        components of ``outputs``. ``live``: an edit, whose progress shows on the result, and of which
        only the last of a burst runs (``trigger_mode="always_last"``); ``kwargs`` override."""
        lane: dict[str, Any] = dict(concurrency_id="ui", concurrency_limit=UI_CONCURRENCY, api_visibility="private")
        if live:
            lane.update(show_progress="minimal", show_progress_on=[self["result"]], trigger_mode="always_last")
        trigger(named(bind(self.app, fn), outputs), [self[n] for n in inputs], [self[n] for n in outputs],
                **{**lane, **kwargs})
