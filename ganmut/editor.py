"""The inference pipeline: detect and align faces once per image (cached), edit, paste back.

``ganmut.load("linear")`` returns an :class:`Editor`; ``Editor.edit`` changes the expression of
one or every face of a photo to a point of the model's learned space, ``edit_many`` does several
codes in one generator batch, ``grid`` draws the gamut of expressions of one face as a wheel or a
sheet. ``Editor.prepare`` returns the detected and aligned photo (:class:`Prepared`), which every
method takes in place of the photo to skip reading and hashing it again (an interactive editor
editing one photo many times); ``Editor.align`` makes one from faces located elsewhere (a video's
tracked face, :mod:`ganmut.video`). ``Editor.match`` edits a photo to the expression the classifier
reads on a reference photo; ``Editor.neutral`` sends it back to neutral.
"""
from __future__ import annotations

import functools
import math
import os
from dataclasses import dataclass, field, replace
from typing import Callable, Sequence, Union

import numpy as np
import torch
from PIL import Image

from . import compose
from .align import PastePlan, face_to_crop_matrix, feather_mask, paste_plan, paste_region, warp_to_crop
from .canvas import SHEET_TILE_PX, sheet_canvas, wheel_canvas
from .checkpoint import Model, load_checkpoint
from .classifier import EmotionClassifier, Reading, predict, probabilities
from .compose import Edit, ResidualEdit, WarpEdit
from .emotions import EMOTIONS
from .errors import CheckpointError, CodeError, ImageError, NoFaceError, number, shorten
from .devices import pick_device
from .face import Face, FaceDetector, face_choice
from .images import ImageSource, Photo, detection_rgb, display_copy, from_photo, match_channels, pixels_key, read_image, to_model_input, to_photo, to_pil
from .cache import MB, ByteLRU, nbytes
from .weights import load_readout, model_path

CACHE_BYTES = 64 * MB
"""What an editor's detection cache holds at most: faces, aligned crops and paste plans, never the
photo itself (least recently used entries go first; an entry larger than this is kept without its
paste plans, or not at all)."""
PLAN_CACHE_PIXELS = 600_000
"""Paste plans of faces covering more photo pixels than this are rebuilt per edit, not cached
(a plan takes 32 bytes per pixel)."""
BATCH = 32
MAX_RINGS = 6
MAX_DIRECTIONS = 24
"""Bounds of a grid: at most 6 rings of 24 codes, 144 edited tiles on a canvas of about 30 tiles across."""

FaceSelector = Union[int, str]


def load(model: str | os.PathLike = "linear", device: str | torch.device | None = None,
         classifier: str | os.PathLike | None = "auto", weights: str | os.PathLike | None = None) -> "Editor":
    """An :class:`Editor` for a bundled model name or alias, or a checkpoint path; device defaults
    to CUDA, then MPS, then CPU. ``weights``: where a model name is looked up (see
    :func:`ganmut.weights.find_weights`: a folder, a file pair or a Hub repo id; default: the bundled weights).
    ``classifier``: the readout's classifier (``"auto"``: the bundled one if present; None: no readout)."""
    dev = pick_device(device)
    clf, status = load_readout(classifier, dev)
    return Editor(load_checkpoint(model_path(model, weights), dev), dev, classifier=clf, readout_status=status)


@dataclass
class EditResult:
    """``image``: the edited photo (same size and mode as the loaded input; pasted on first use);
    ``faces``: the faces edited; ``crops``: (before, after) aligned crops at model resolution, one
    pair per face; ``code``: the code used; ``notes``: how the input was read (reduced, first frame
    of several), one line each; ``readings``: what the emotion classifier reads on each face before
    and after (empty when the editor has no classifier); ``boxes``: the pixel box (x0, y0, x1, y1)
    of the photo each face's edit may change (every pixel outside them is the input's).
    ``window(box)`` is a part of ``image``; ``display_window(box, factor)`` a quick reduced copy of one."""

    faces: list[Face]
    crops: list[tuple[Image.Image, Image.Image]]
    code: tuple[float, ...]
    notes: tuple[str, ...] = ()
    readings: list[Reading] = field(default_factory=list)
    boxes: list[tuple[int, int, int, int]] = field(default_factory=list)
    paste: Callable[[tuple[int, int, int, int] | None], Image.Image] | None = field(default=None, repr=False, compare=False)
    glance: Callable[[tuple[int, int, int, int], int], Image.Image] | None = field(default=None, repr=False, compare=False)

    @functools.cached_property
    def image(self) -> Image.Image:
        return self.paste(None)

    def window(self, box: tuple[int, int, int, int]) -> Image.Image:
        """``image.crop(box)`` for a pixel box inside the photo, pasting only that box (cheap for a
        face on a large photo)."""
        return self.paste(box)

    def display_window(self, box: tuple[int, int, int, int], factor: int) -> Image.Image:
        """Nearly ``display_copy(window(box), factor)`` at a fraction of the cost on a large photo: the
        edit pasted onto the display copy of the box, sampled once per displayed pixel (at the
        centre of the pixels it stands for), without the conversion back to the photo's mode. Where a
        photo is partly transparent, the edit is added after the display flattens it onto white, so
        it shows at full strength there. A quick look while a point moves; :meth:`window` is the
        exact edit."""
        return self.glance(box, factor)


@dataclass
class Match:
    """What :meth:`Editor.match` returns: ``result``, the photo edited to ``point``, the point of
    ``reading``, what the classifier reads on the reference face ({emotion: probability})."""

    result: EditResult
    point: tuple[float, ...]
    reading: dict[str, float]


@dataclass
class Prepared:
    """A photo read, its faces detected and aligned for a model's crop (what :meth:`Editor.prepare`
    returns and the cache keeps); ``image`` is the photo as loaded, ``faces`` its faces, largest first."""

    photo: Photo | None  # None in the cache (the caller holds the photo)
    faces: list[Face]
    matrices: list[np.ndarray]
    plans: list[PastePlan | None]  # None: too large to keep, rebuilt per edit
    inputs: torch.Tensor  # [F, C, S, S] in [-1, 1], on the CPU
    crop: tuple  # (size, channels, template) the crops were aligned for
    notes: tuple[str, ...] = ()
    before: dict[int, torch.Tensor] = field(default_factory=dict)  # id(classifier) -> [F, 7] probabilities of the inputs

    @property
    def image(self) -> Image.Image:
        return self.photo.source

    def nbytes(self) -> int:
        """Bytes held, the photo's too when it holds one (an estimate within a few hundred bytes a
        face; ``before`` is 28 bytes a face). Cache entries hold no photo."""
        plans = [(p.index, p.weight) for p in self.plans if p is not None]
        photo = () if self.photo is None else (self.photo.pixels, self.photo.alpha, self.photo.source)
        return nbytes(self.matrices, plans, self.inputs, photo) + 512 * (1 + len(self.faces))


def _shifted(m: np.ndarray, box: tuple[int, int, int, int], factor: int = 1) -> np.ndarray:
    """The alignment ``m`` (photo -> crop) seen from the pixels of ``box`` reduced by ``factor``."""
    to_box = np.array([[factor, 0, box[0]], [0, factor, box[1]], [0, 0, 1]], dtype=np.float64)
    return np.asarray(m, dtype=np.float64) @ to_box


def paste_edits(prep: Prepared, idx: list[int], edits: list[Edit], mask: np.ndarray, size: int,
                box: tuple[int, int, int, int] | None) -> Image.Image:
    """The edits of faces ``idx`` (:mod:`ganmut.compose`) applied to the photo with the feathered ``mask`` of a
    ``size`` crop, or to the part of it inside ``box``. A warp reads pixels around those it changes (and its
    sampling positions are computed in the photo's coordinates), so a box of a warp edit is cut out of the whole
    edit, which is the box's exact part of it. A module function, so that an EditResult, which pastes on first
    use, pickles without its Editor (ZeroGPU sends results between processes)."""
    full = prep.photo
    h, w = full.pixels.shape[:2]
    whole = (0, 0, w, h)
    box = box or whole
    outer = whole if any(isinstance(e, WarpEdit) for e in edits) else box
    dx, dy = box[0] - outer[0], box[1] - outer[1]
    pixels, boxes = full.pixels[outer[1]:outer[3], outer[0]:outer[2]], []
    for edit, i in zip(edits, idx):
        m = _shifted(prep.matrices[i], outer)
        plan = None
        if isinstance(edit, ResidualEdit):
            plan = (prep.plans[i] or paste_plan(full.pixels.shape, prep.matrices[i], size)).window(outer)
        pixels = compose.apply(pixels, edit, m, size, mask, plan)
        x0, y0, x1, y1 = plan.box if plan is not None else paste_region(pixels.shape, m, size)
        boxes.append((max(0, x0 - dx), max(0, y0 - dy), max(0, x1 - dx), max(0, y1 - dy)))
    pixels = pixels[dy:dy + box[3] - box[1], dx:dx + box[2] - box[0]]
    return from_photo(full if box == whole else full.window(box), pixels, boxes)


def paste_display(prep: Prepared, idx: list[int], edits: list[Edit], mask: np.ndarray, size: int,
                  box: tuple[int, int, int, int], factor: int) -> Image.Image:
    """The edits of faces ``idx`` applied to the display copy of the part of the photo inside ``box`` reduced by
    ``factor`` (:func:`~ganmut.images.display_copy`): each face's crop is sampled at the centre of the block of
    photo pixels a displayed pixel stands for. A module function, as :func:`paste_edits`."""
    view = display_copy(prep.image.crop(box), factor)
    pixels = np.asarray(view)
    pixels = pixels[..., None] if pixels.ndim == 2 else pixels
    for edit, i in zip(edits, idx):
        if isinstance(edit, ResidualEdit):  # in the photo's units and channels: to the display's
            r = edit.residual if edit.residual.shape[2] in (1, pixels.shape[2]) else edit.residual.mean(axis=2, keepdims=True)
            edit = ResidualEdit(r * (255.0 / prep.photo.max_value))
        pixels = compose.apply(pixels, edit, _shifted(prep.matrices[i], box, factor), size, mask)
    return Image.fromarray(pixels[..., 0] if pixels.shape[2] == 1 else pixels)


class Editor:
    """Edits facial expressions with one loaded model; detection and alignment are cached per image."""

    def __init__(self, model: Model, device: str | torch.device = "cpu", detector: FaceDetector | None = None,
                 cache_bytes: int = CACHE_BYTES, classifier: EmotionClassifier | None = None,
                 readout_status: str = "emotion readout off (no classifier)") -> None:
        self.model = model
        self.classifier = classifier
        self.readout_status = readout_status
        self.device = torch.device(device)
        self.detector = detector or FaceDetector(self.device if self.device.type == "cuda" else "cpu")
        self.size = model.config.image_size
        self.channels = model.config.channels
        self.template = np.asarray(model.template, dtype=np.float64)
        self._mask = feather_mask(self.size)
        self._crop = (self.size, self.channels, tuple(map(tuple, self.template.tolist())))
        self._cache: ByteLRU[str, Prepared] = ByteLRU(cache_bytes, Prepared.nbytes)

    @property
    def space(self):
        return self.model.space

    # ------------------------------------------------------------------ codes
    def code(self, z: Sequence[float] | None = None, emotion: str | int | None = None, intensity: float = 1.0) -> tuple[float, ...]:
        """The code of exactly one of ``z`` or ``emotion`` (at ``intensity`` in [0, 1]); CodeError otherwise."""
        if (z is None) == (emotion is None):
            raise CodeError("give exactly one of z=(x, y) or emotion=NAME")
        if emotion is not None:
            try:
                return tuple(float(v) for v in self.space.code(emotion, intensity).tolist())
            except ValueError as e:
                raise CodeError(str(e)) from None
        if intensity != 1.0:
            raise CodeError("intensity applies to an emotion only; scale z itself instead")
        return self._check(z)

    def _check(self, z: Sequence[float]) -> tuple[float, ...]:
        try:
            items = list(z)
        except TypeError:
            raise CodeError(f"a code must be {self.space.dim} numbers, got {shorten(z)}") from None
        if len(items) != self.space.dim:
            raise CodeError(f"a {self.space.kind} code has {self.space.dim} numbers, got {len(items)}")
        names = ("x", "y") if self.space.dim == 2 else [f"z[{i}]" for i in range(self.space.dim)]
        try:
            vals = tuple(number(v, n) for v, n in zip(items, names))
        except ValueError as e:
            raise CodeError(str(e)) from None
        if not self.space.contains(torch.tensor(vals, device=self.device)):
            shown = ", ".join(f"{v:g}" for v in vals)
            raise CodeError(f"code ({shown}) lies outside the {self.space.kind} space: {self.space.domain}")
        return vals

    # ------------------------------------------------------------------ detection (cached)
    @property
    def cache_nbytes(self) -> int:
        """Bytes the detection cache holds now (at most ``cache_bytes``)."""
        return self._cache.nbytes

    def prepare(self, image: ImageSource | Prepared) -> Prepared:
        """The photo read, its faces detected and aligned (cached); NoFaceError when it has none.
        Pass the result instead of the photo to edit it again without reading and hashing it."""
        return self._prepare(image)[0]

    def _prepare(self, image: ImageSource | Prepared) -> tuple[Prepared, tuple[str, ...]]:
        """The cached detection and alignment of an image, and the notes of reading it."""
        if isinstance(image, Prepared):
            if image.crop == self._crop:
                return image, image.notes
            image = image.image
        loaded = read_image(image)
        photo = to_photo(loaded.image)
        key = pixels_key(photo.pixels)
        hit = self._cache.get(key)
        if hit is not None:
            return replace(hit, photo=photo, notes=loaded.notes), loaded.notes
        rgb, scale = detection_rgb(photo)
        prep = self._aligned(photo, self.detector.detect(rgb, scale))
        if not self._cache.put(key, prep):  # too large: keep it without the paste plans
            self._cache.put(key, replace(prep, plans=[None] * len(prep.plans)))
        return replace(prep, photo=photo, notes=loaded.notes), loaded.notes

    def _aligned(self, photo: Photo, faces: Sequence[Face]) -> Prepared:
        """The faces of a photo aligned to the model's crop, without the photo (what the cache keeps)."""
        matrices = [face_to_crop_matrix(f.landmarks, self.template, self.size) for f in faces]
        crops = np.stack([match_channels(warp_to_crop(photo.pixels, m, self.size), self.channels) for m in matrices])
        inputs = to_model_input(crops.transpose(0, 3, 1, 2), max_value=photo.max_value)
        plans = [self._cached_plan(photo, m) for m in matrices]
        return Prepared(None, list(faces), matrices, plans, inputs, self._crop)

    def align(self, image: ImageSource, faces: Sequence[Face]) -> Prepared:
        """The photo with faces located elsewhere (a video's tracked face, in the photo's pixels)
        aligned for editing, without detection or the cache; pass it to any method like a
        :meth:`prepare` result."""
        if not faces:
            raise NoFaceError("no face to align")
        loaded = read_image(image)
        photo = to_photo(loaded.image)
        return replace(self._aligned(photo, faces), photo=photo, notes=loaded.notes)

    def _cached_plan(self, photo: Photo, m: np.ndarray) -> PastePlan | None:
        """A paste plan to keep in the cache, or None for a face too large to keep one for."""
        x0, y0, x1, y1 = paste_region(photo.pixels.shape, m, self.size)
        return None if (x1 - x0) * (y1 - y0) > PLAN_CACHE_PIXELS else paste_plan(photo.pixels.shape, m, self.size)

    def detect(self, image: ImageSource | Prepared) -> list[Face]:
        """Every usable face of the image, largest first (NoFaceError when there is none)."""
        return list(self._prepare(image)[0].faces)

    @staticmethod
    def _select(prep: Prepared, face: FaceSelector) -> list[int]:
        face = face_choice(face)
        if face == "all":
            return list(range(len(prep.faces)))
        if face >= len(prep.faces):
            raise NoFaceError(f"face {shorten(face)} requested but {len(prep.faces)} face(s) found (numbered from 0, largest first)")
        return [int(face)]

    # ------------------------------------------------------------------ generation
    def _generate(self, inputs: torch.Tensor, codes: Sequence[tuple[float, ...]]) -> tuple[torch.Tensor, list | None]:
        """G(x, z) for every code and every input: [N codes, F faces, C, S, S], and for a warp generator each
        edit's :class:`~ganmut.compose.WarpEdit` ([N][F]; None for other outputs)."""
        n, f = len(codes), inputs.size(0)
        z = torch.tensor(codes, dtype=torch.float32).repeat_interleave(f, 0)
        out, warps = self._pairs(inputs.repeat(n, 1, 1, 1), z)
        return out.view(n, f, *inputs.shape[1:]), None if warps is None else [warps[k * f:(k + 1) * f] for k in range(n)]

    @torch.inference_mode()
    def _pairs(self, x: torch.Tensor, z: torch.Tensor) -> tuple[torch.Tensor, list[WarpEdit] | None]:
        """G(x_i, z_i) for each input and its code, in batches of :data:`BATCH`, and each one's
        :class:`~ganmut.compose.WarpEdit` for a warp generator (None for other outputs)."""
        x, z = x.to(self.device), z.to(self.device)
        g = self.model.generator
        if g.cfg.output != "warp":
            return torch.cat([g(x[i:i + BATCH], z[i:i + BATCH]) for i in range(0, len(x), BATCH)]), None
        images, warps = [], []
        for i in range(0, len(x), BATCH):
            out, motion = g(x[i:i + BATCH], z[i:i + BATCH], return_aux=True)
            images.append(out)
            warps += compose.warp_edits(motion)
        return torch.cat(images), warps

    def _edits(self, prep: Prepared, inputs: torch.Tensor, edited: torch.Tensor, warps: list[WarpEdit] | None) -> list[Edit]:
        """Each face's edit as :mod:`ganmut.compose` applies it: its warp, or its residual [S, S, C] in the photo's
        units and channels."""
        if warps is not None:
            return list(warps)
        res = (edited - inputs).float().permute(0, 2, 3, 1).cpu().numpy() * (prep.photo.max_value / 2.0)
        res = match_channels(res, 1) if self.channels == 3 and prep.photo.channels == 1 else res
        return [ResidualEdit(r) for r in res]

    # ------------------------------------------------------------------ readout
    @torch.inference_mode()
    def _read(self, x: torch.Tensor) -> torch.Tensor:
        return predict(self.classifier, x.to(self.device).float()).cpu()

    def _readings(self, prep: Prepared, idx: list[int], edited: torch.Tensor) -> list[Reading]:
        if self.classifier is None:
            return []
        if id(self.classifier) not in prep.before:
            prep.before[id(self.classifier)] = self._read(prep.inputs)
        after = self._read(edited)
        before = prep.before[id(self.classifier)]
        return [Reading(probabilities(before[i]), probabilities(a)) for i, a in zip(idx, after)]

    def read(self, image: ImageSource | Prepared, face: int = 0) -> dict[str, float]:
        """What the emotion classifier reads on a face (its aligned crop): {emotion: probability}.
        CheckpointError when the editor has no classifier."""
        if self.classifier is None:
            raise CheckpointError(self.readout_status)
        prep = self._prepare(image)[0]
        i = self._select(prep, face)[0]
        if id(self.classifier) not in prep.before:
            prep.before[id(self.classifier)] = self._read(prep.inputs)
        return probabilities(prep.before[id(self.classifier)][i])

    def edit_many(self, image: ImageSource | Prepared, codes: Sequence[Sequence[float]], face: FaceSelector = 0,
                  read: bool = False) -> list[EditResult]:
        """One :class:`EditResult` per code; detection runs once and the generator once (batched).
        ``read``: also fill each result's classifier ``readings`` (when the editor has a classifier)."""
        checked = [self._check(c) for c in codes]
        prep, notes = self._prepare(image)
        idx = self._select(prep, face)
        if not checked:
            return []
        inputs = prep.inputs[idx].to(self.device)
        out, warps = self._generate(inputs, checked)
        return [self._result(prep, notes, idx, code, inputs, edited, read, None if warps is None else warps[k])
                for k, (code, edited) in enumerate(zip(checked, out))]

    def edit_each(self, images: Sequence[ImageSource | Prepared], codes: Sequence[Sequence[float]],
                  face: FaceSelector = 0) -> list[EditResult]:
        """Image ``i`` edited to code ``i`` (its face ``face``, or ``"all"``), the faces of every image in
        one generator batch: the frames of a video, each at its own point."""
        if len(images) != len(codes):
            raise CodeError(f"edit_each takes one code per image: {len(images)} images, {len(codes)} codes")
        checked = [self._check(c) for c in codes]
        jobs = []
        for image in images:
            prep, notes = self._prepare(image)
            jobs.append((prep, notes, self._select(prep, face)))
        if not jobs:
            return []
        inputs = [prep.inputs[idx].to(self.device) for prep, _, idx in jobs]
        z = torch.tensor([c for c, x in zip(checked, inputs) for _ in range(len(x))], dtype=torch.float32)
        images, warps = self._pairs(torch.cat(inputs), z)
        out = images.split([len(x) for x in inputs])
        starts = np.cumsum([0] + [len(x) for x in inputs])
        return [self._result(prep, notes, idx, code, x, edited, False, None if warps is None else warps[a:b])
                for (prep, notes, idx), code, x, edited, a, b in zip(jobs, checked, inputs, out, starts[:-1], starts[1:])]

    def _result(self, prep: Prepared, notes: tuple[str, ...], idx: list[int], code: tuple[float, ...], inputs: torch.Tensor,
                edited: torch.Tensor, read: bool, motion: list[WarpEdit] | None = None) -> EditResult:
        """The :class:`EditResult` of faces ``idx`` of a prepared photo whose crops ``inputs`` the
        generator made ``edited`` (a warp generator's motion of each face in ``motion``)."""
        boxes = [paste_region(prep.photo.pixels.shape, prep.matrices[i], self.size) for i in idx]
        crops = [(to_pil(b), to_pil(a)) for b, a in zip(inputs, edited)]
        readings = self._readings(prep, idx, edited) if read else []
        args = (prep, idx, self._edits(prep, inputs, edited, motion), self._mask, self.size)
        return EditResult([prep.faces[i] for i in idx], crops, code, notes, readings, boxes,
                          functools.partial(paste_edits, *args), functools.partial(paste_display, *args))

    def edit(self, image: ImageSource | Prepared, z: Sequence[float] | None = None, emotion: str | int | None = None,
             intensity: float = 1.0, face: FaceSelector = 0) -> EditResult:
        """Move face number ``face`` (0 = largest) or ``"all"`` faces to code ``z`` or to ``emotion``
        at ``intensity``; the rest of the photo is left bit-identical. With a classifier, the result's
        ``readings`` say what it reads on each face before and after."""
        return self.edit_many(image, [self.code(z, emotion, intensity)], face, read=True)[0]

    def neutral(self, image: ImageSource | Prepared, face: FaceSelector = 0) -> EditResult:
        """Back to neutral: the face moved to the space's neutral anchor (linear: the origin; Gaussian:
        the neutral mode), identity and the rest of the photo kept; ``edit(image, emotion="neutral")``."""
        return self.edit(image, emotion="neutral", face=face)

    def reference_point(self, reference: ImageSource | Prepared, face: int = 0) -> tuple[tuple[float, ...], dict[str, float]]:
        """The point of the space that a reference photo's face reads as (the space's
        :meth:`~ganmut.spaces.Space.point_of` of what the classifier reads on it), and that reading.
        CheckpointError without a classifier; an unreadable reference or one without a face gets a
        one-line error that says it is the reference."""
        if self.classifier is None:
            raise CheckpointError(f"matching a reference expression needs the emotion classifier ({self.readout_status})")
        try:
            reading = self.read(reference, face)
        except (NoFaceError, ImageError) as e:
            raise type(e)(f"reference photo: {e}") from None
        return self.space.point_of(reading), reading

    def match(self, image: ImageSource | Prepared, reference: ImageSource | Prepared, face: FaceSelector = 0,
              reference_face: int = 0) -> Match:
        """Match a reference expression: ``image``'s face (or ``"all"``) edited to the point that face
        ``reference_face`` of ``reference`` reads as (:meth:`reference_point`)."""
        point, reading = self.reference_point(reference, reference_face)
        return Match(self.edit(image, z=point, face=face), point, reading)

    # ------------------------------------------------------------------ grid
    def grid_codes(self, rings: Sequence[float] = (0.5, 1.0), n_directions: int = 12) -> tuple[list[tuple[float, ...]], list[tuple[int, float]]]:
        """Codes of the gamut grid, ring by ring, and each one's (ring index, angle in radians).

        Linear: ``n_directions`` equally spaced angles on circles of radius ``rings``; Gaussian:
        the same angles on the squares of half-side ``rings`` (the square of 1 is the border of
        [-1, 1]^2); StarGAN: the six non-neutral emotions at intensities ``rings``. At most
        :data:`MAX_RINGS` rings of :data:`MAX_DIRECTIONS` directions.
        """
        rings = list(rings)
        if not 1 <= len(rings) <= MAX_RINGS:
            raise CodeError(f"a grid has 1 to {MAX_RINGS} rings, got {len(rings)}")
        try:
            rings = sorted(number(r, "a ring radius") for r in rings)
            n = int(number(n_directions, "n_directions", (1, MAX_DIRECTIONS)))
        except ValueError as e:
            raise CodeError(str(e)) from None
        if not 0 < rings[0] <= rings[-1] <= 1:
            raise CodeError(f"rings must lie in (0, 1], got {shorten(rings)}")
        return self.space.rings(rings, n)

    def grid(self, image: ImageSource | Prepared, rings: Sequence[float] = (0.5, 1.0), n_directions: int = 12,
             face: int = 0, tile_px: int | None = None, layout: str = "wheel", title: str = "") -> Image.Image:
        """The gamut of expressions of one aligned face: the input crop and one edited crop per grid
        code. ``layout="wheel"``: each crop at its place on a wheel, marked with its dominant emotion;
        ``"sheet"``: a compact sheet under ``title``, directions in rows, each crop captioned with its
        dominant emotion, share and place (readable when shown at phone width)."""
        if face_choice(face) == "all":
            raise NoFaceError("a grid shows one face: pass a face number, not 'all'")
        if layout not in ("wheel", "sheet"):
            raise ValueError(f"layout must be 'wheel' or 'sheet', got {shorten(layout)}")
        codes, places = self.grid_codes(rings, n_directions)
        prep = self._prepare(image)[0]
        i = self._select(prep, face)[0]
        out = self._generate(prep.inputs[i:i + 1], codes)[0][:, 0]
        tiles = [to_pil(prep.inputs[i])] + [to_pil(t) for t in out]
        if layout == "wheel":
            labels = ["input"] + [EMOTIONS[self.space.dominant(torch.tensor(c, device=self.device))[0]] for c in codes]
            return wheel_canvas(tiles, places, labels, tile_px or max(96, self.size))
        radii = sorted(number(r, "a ring radius") for r in rings)
        with torch.no_grad():
            mixes = self.space.distribution(torch.tensor(codes, dtype=torch.float32, device=self.device)).cpu()
        captions = []
        for c, p, (j, t) in zip(codes, mixes, places):
            e = self.space.nearest_emotion(torch.tensor(c, device=self.device))
            captions.append((EMOTIONS[e], EMOTIONS[e], f"{float(p[e]):.0%} · {math.degrees(t):.0f}°, r {radii[j]:g}"))
        n_rings = len(radii)
        order = sorted(range(len(codes)), key=lambda k: (places[k][1], places[k][0]))
        return sheet_canvas(tiles[0], [tiles[k + 1] for k in order], [captions[k] for k in order],
                            columns=n_rings * max(1, 4 // n_rings), title=title, tile_px=tile_px or SHEET_TILE_PX)
