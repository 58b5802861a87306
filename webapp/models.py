"""The models an app serves (:class:`Models`): the editors, the banner, the wheels' figures; their
GPU-bound work runs through :mod:`webapp.gpu`."""
from __future__ import annotations

from typing import Any

from PIL import Image

import ganmut
from ganmut import video, wheel
from ganmut.editor import Prepared
from ganmut.weights import MODEL_FILES, find_weights, load_readout
from ganmut.registry import SERVED

from .gpu import (Key, gpu_edit, gpu_frames, gpu_grid, gpu_prepare, gpu_reference_point, gpu_video, loaded_editor,
                  on_zerogpu)

MODEL_LABELS = {m.name: m.label for m in SERVED}


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
        return gpu_video(self.key(kind), src, out, target, None if on_zerogpu() else progress)

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
