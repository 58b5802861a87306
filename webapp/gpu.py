"""The GPU-bound calls of the served models (ZeroGPU).

On ZeroGPU hardware (Hugging Face Spaces) the functions decorated with ``zerogpu.GPU`` run in a
worker that holds a GPU, so they take picklable arguments: the model's :data:`Key` (its checkpoint
and readout classifier), the photo and the code; the worker finds the editor by that key
(:func:`loaded_editor`). Elsewhere the decorator does nothing. A clip's progress callback cannot
cross to that worker (:func:`on_zerogpu`), so there a clip is edited without a progress bar.
"""
from __future__ import annotations

import functools
import threading
from typing import Any

import spaces as zerogpu  # Hugging Face ZeroGPU; ganmut.spaces are the emotion spaces
from PIL import Image

import ganmut
from ganmut import animate, video
from ganmut.editor import Prepared

Key = tuple[str, str | None]
"""What a GPU-bound call loads an editor by: (checkpoint path, readout classifier or None)."""

_loading = threading.Lock()


@functools.cache
def _loaded(path: str, readout: str | None) -> ganmut.Editor:
    return ganmut.load(path, classifier=readout)


def loaded_editor(path: str, readout: str | None) -> ganmut.Editor:
    """The editor of a checkpoint with a readout classifier, loaded once per process (apps share it)."""
    with _loading:
        return _loaded(path, readout)


@zerogpu.GPU(duration=30)
def gpu_prepare(model: Key, image: Any) -> Prepared:
    return loaded_editor(*model).prepare(image)


@zerogpu.GPU(duration=30)
def gpu_edit(model: Key, image: Any, code: tuple[float, ...], face: int | str, read: bool = True) -> ganmut.EditResult:
    return loaded_editor(*model).edit_many(image, [code], face, read=read)[0]


@zerogpu.GPU(duration=30)
def gpu_reference_point(model: Key, reference: Any, face: int) -> tuple[tuple[float, ...], dict[str, float]]:
    return loaded_editor(*model).reference_point(reference, face)


@zerogpu.GPU(duration=60)
def gpu_frames(model: Key, image: Any, codes: list[tuple[float, ...]], face: int | str) -> list[Image.Image]:
    return animate.frames(loaded_editor(*model), image, codes, face)


@zerogpu.GPU(duration=60)
def gpu_grid(model: Key, image: Any, face: int, layout: str = "wheel", title: str = "") -> Image.Image:
    return loaded_editor(*model).grid(image, face=face, layout=layout, title=title)


@zerogpu.GPU(duration=120)
def gpu_video(model: Key, src: str, out: str, target: dict[str, Any],
              progress: video.Progress | None = None) -> video.VideoReport:
    return video.edit_video(loaded_editor(*model), src, out, progress=progress, **target)


def on_zerogpu() -> bool:
    """Whether the GPU-bound calls run in a ZeroGPU worker (which a progress callback cannot reach)."""
    return zerogpu.config.Config.zero_gpu
