"""The models an app serves, and the GPU-bound calls that use them.

On ZeroGPU hardware (Hugging Face Spaces) the functions decorated with ``zerogpu.GPU`` run in a
worker that holds a GPU, so they take picklable arguments: the model's :data:`Key` (its checkpoint
and readout classifier), the photo and the code; the worker finds the editor by that key
(:func:`loaded_editor`). Elsewhere the decorator does nothing. A clip's progress callback cannot
cross to that worker, so on ZeroGPU a clip is edited without a progress bar.
"""
from __future__ import annotations

import functools
import threading
from typing import Any

import spaces as zerogpu  # Hugging Face ZeroGPU; ganmut.spaces are the emotion spaces
from PIL import Image

import ganmut
from ganmut import animate, video, wheel
from ganmut.editor import Prepared
from ganmut.weights import MODEL_FILES, find_weights, load_readout
from ganmut.registry import SERVED

MODEL_LABELS = {m.name: m.label for m in SERVED}
Key = tuple[str, str | None]
"""What a GPU-bound call loads an editor by: (checkpoint path, readout classifier or None)."""


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


class Models:
    """The models an app serves: the checkpoints ``weights`` holds (see :func:`ganmut.weights.find_weights`),
    each loaded now (on ZeroGPU the weights must reach CUDA at start-up), with the readout's classifier
    (``classifier``: a file, ``"auto"`` or ``"off"``). A checkpoint that fails to load is left out, and
    the banner says why. The GPU-bound work of a model runs through :meth:`prepare`, :meth:`edit`,
    :meth:`reference_point`, :meth:`frames`, :meth:`grid` and :meth:`video`."""

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
        self._wheels: dict[str, str] = {}

    def key(self, kind: str) -> Key:
        """What the GPU-bound functions load an editor by; CheckpointError with the banner's text when
        the model is not available."""
        if kind not in self.paths:
            raise ganmut.CheckpointError(self.banner().replace("**", "").replace("`", ""))
        return str(self.paths[kind]), self.readout

    def editor(self, kind: str) -> ganmut.Editor:
        """The shared editor of a model (CheckpointError when it is not available)."""
        return loaded_editor(*self.key(kind))

    def prepare(self, kind: str, image: Any) -> Prepared:
        return gpu_prepare(self.key(kind), image)

    def edit(self, kind: str, image: Any, code: tuple[float, ...], face: int | str, read: bool = True) -> ganmut.EditResult:
        """An edit at ``code``; ``read``: with the classifier's readout (:meth:`ganmut.Editor.edit_many`)."""
        return gpu_edit(self.key(kind), image, code, face, read)

    def reference_point(self, kind: str, reference: Any, face: int = 0) -> tuple[tuple[float, ...], dict[str, float]]:
        """The point a reference photo's face reads as, and that reading (:meth:`ganmut.Editor.reference_point`)."""
        return gpu_reference_point(self.key(kind), reference, face)

    def frames(self, kind: str, image: Any, codes: list[tuple[float, ...]], face: int | str) -> list[Image.Image]:
        return gpu_frames(self.key(kind), image, codes, face)

    def grid(self, kind: str, image: Any, face: int, layout: str = "wheel", title: str = "") -> Image.Image:
        return gpu_grid(self.key(kind), image, face, layout, title)

    def video(self, kind: str, src: str, out: str, target: dict[str, Any],
              progress: video.Progress | None = None) -> video.VideoReport:
        """Edit a clip (:func:`ganmut.video.edit_video`; ``target``: its z, emotion, intensity or path)."""
        return gpu_video(self.key(kind), src, out, target, None if zerogpu.config.Config.zero_gpu else progress)

    def readout_status(self, kind: str) -> str:
        """One line: which classifier reads the edits, or why the readout is off."""
        return self.readout_problem or self.editor(kind).readout_status

    def wheel(self, kind: str | None) -> str:
        """Figure JSON of a model's wheel, without marker ('' when the model is not available); the
        marker is the wheel component's ``point`` prop, which the page's script draws."""
        if kind not in self._wheels:
            try:
                self._wheels[kind] = wheel.figure_json(wheel.wheel_figure(self.editor(kind).space)) if kind else ""
            except ganmut.GanmutError:
                return ""
        return self._wheels[kind]

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
