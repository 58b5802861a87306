"""Saved points: named points of the space, kept in the visitor's browser (``gr.BrowserState``),
applied to any photo (bringing their model), each shown as the JSON the API's ``/edit_preset`` takes."""
from __future__ import annotations

import os
from typing import Any

import gradio as gr

import ganmut
from ganmut.weights import model_name
from ganmut.presets import Preset, PresetError, add_preset, parse_presets, to_json

from .context import GanmutApp
from .point_edit import MODEL_SWITCH, show, switch_model
from .events import Wiring, warn
from .models import MODEL_LABELS
from .views import preset_line

PRESETS_SECRET = os.environ.get("GANMUT_PRESETS_SECRET", "ganmut-presets")
"""The key Gradio encrypts the presets in the browser with. They hold nothing private, and every read
is checked, so a fixed key is fine; a new one makes browsers forget their presets."""


def layout() -> dict[str, Any]:
    """The "Saved points" panel (under the wheel) and the browser's store."""
    with gr.Accordion("Saved points", open=False, elem_id="presets"):
        with gr.Row():
            name = gr.Textbox(show_label=False, placeholder="name this point", max_length=40, scale=2, min_width=120,
                              elem_id="preset-name")
            save = gr.Button("Save", size="sm", scale=1, min_width=60, elem_id="preset-save")
        with gr.Row():
            pick = gr.Dropdown([], value=None, show_label=False, scale=2, min_width=120, elem_id="preset-pick")
            apply = gr.Button("Apply", size="sm", scale=1, min_width=60, elem_id="preset-apply")
            delete = gr.Button("Delete", size="sm", scale=1, min_width=60, elem_id="preset-delete")
        line = gr.Markdown("", elem_id="preset-json")
        gr.Markdown("<small>Saved in this browser. Apply one to any photo; its JSON goes to the API's "
                    "`/edit_preset`.</small>")
    stored = gr.BrowserState({}, storage_key="ganmut-presets", secret=PRESETS_SECRET)
    return {"presets": stored, "preset_name": name, "preset_save": save, "preset_pick": pick,
            "preset_apply": apply, "preset_delete": delete, "preset_json": line}


def stored_presets(stored: Any) -> dict[str, Preset] | None:
    """The presets a browser keeps (its BrowserState); None, with a toast, for a damaged or tampered
    value (the page's load resets it; until then it counts as no presets)."""
    try:
        return parse_presets(stored or {})
    except PresetError as e:
        warn(PresetError(f"your saved points could not be read and were reset ({e})"))
        return None


def on_load(app: GanmutApp, stored: Any) -> dict[str, Any]:
    """The page opened: the browser's saved points in the picker (a damaged value is reset)."""
    presets = stored_presets(stored)
    return {"preset_pick": gr.Dropdown(choices=list(presets or {}), value=None),
            **({} if presets is not None else {"presets": {}})}


def on_pick(app: GanmutApp, name: str | None, stored: Any) -> dict[str, Any]:
    """A saved point chosen: its JSON shown."""
    return {"preset_json": preset_line(name, stored_presets(stored) or {})}


def on_save(app: GanmutApp, name: str, kind: str, point: list | None, stored: Any) -> dict[str, Any]:
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


def chosen(stored: Any, name: str | None, hint: str) -> dict[str, Preset] | None:
    """The browser's presets when ``name`` is one of them; None, with the toast ``hint``, when it is not."""
    presets = stored_presets(stored) or {}
    if not name or name not in presets:
        gr.Warning(hint)
        return None
    return presets


def on_delete(app: GanmutApp, name: str | None, stored: Any) -> dict[str, Any]:
    """Delete the chosen saved point from the browser."""
    presets = chosen(stored, name, "choose a saved point to delete")
    if presets is None:
        return {}
    del presets[name]
    return {"presets": to_json(presets), "preset_pick": gr.Dropdown(choices=list(presets), value=None),
            "preset_json": ""}


def on_apply(app: GanmutApp, key: str | None, kind: str, face: str, whole: bool, name: str | None,
             stored: Any) -> dict[str, Any]:
    """Go to a saved point: its model (switched to if it is not the current one) and its point, on this photo."""
    presets = chosen(stored, name, "choose a saved point first")
    if presets is None:
        return {}
    preset = presets[name]
    try:
        target = model_name(preset.model)
        if target not in app.models.paths:
            raise ganmut.CheckpointError(f"'{name}' is a point of {MODEL_LABELS[target]}, "
                                         "which this app does not serve")
        code = app.models.editor(target).code(z=preset.z)
    except ganmut.GanmutError as e:
        return {"status": warn(e)}
    if target != kind:
        return switch_model(app, target, key, face, whole, code, controls=True)
    return show(app, app.sessions.held(key), kind, face, whole, code, controls=True)


def wire(w: Wiring) -> None:
    w.on(w.blocks.load, on_load, ("presets",), ("preset_pick", "presets"))
    w.on(w["preset_save"].click, on_save, ("preset_name", "model", "point", "presets"),
         ("presets", "preset_pick", "preset_json", "preset_name", "status"))
    w.on(w["preset_delete"].click, on_delete, ("preset_pick", "presets"), ("presets", "preset_pick", "preset_json"))
    w.on(w["preset_pick"].input, on_pick, ("preset_pick", "presets"), ("preset_json",))
    w.on(w["preset_apply"].click, on_apply, ("photo_key", "model", "face", "whole", "preset_pick", "presets"),
         MODEL_SWITCH, live=True)
