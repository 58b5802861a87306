"""Face detection with facenet-pytorch's MTCNN (its weights ship inside the wheel: works offline).

Size policy: a face is usable when the shorter side of its MTCNN box is at least
``min_face_px`` (default :data:`MIN_FACE_PX` = 32 px) in the photo's own pixels; a 64-px model then
upsamples the face by at most 2x. MTCNN is asked to search down to 0.6x that size, so a face a
little below the minimum gives "face too small" rather than "no face". Detections with a score
below ``min_score`` (0.9) are ignored. Faces cut by the photo's border are kept (alignment pads).
"""
from __future__ import annotations

import math
import threading
from dataclasses import dataclass

import numpy as np

from .devices import pick_device
from .errors import NoFaceError, shorten

MIN_FACE_PX = 32
MIN_SCORE = 0.9
ONET_FRAMING = np.array([[0.345, 0.385], [0.688, 0.393], [0.511, 0.582], [0.367, 0.759], [0.665, 0.765]])
"""Where MTCNN's 5 landmarks lie in the square around a detected face, as fractions of its side (the
mean over the detections of the photos in tests/data/photos): how :meth:`FaceDetector.track` frames
a face for O-Net."""


@dataclass(frozen=True)
class Face:
    """One detected face in photo coordinates (continuous: pixel i covers [i, i + 1)).

    ``box`` is (x0, y0, x1, y1) and may extend beyond the photo; ``landmarks`` is [5, 2] (x, y):
    left eye, right eye, nose tip, mouth left, mouth right; ``score`` is MTCNN's probability.
    """

    box: tuple[float, float, float, float]
    landmarks: np.ndarray
    score: float

    @property
    def size(self) -> float:
        """Shorter side of the box, in pixels."""
        return min(self.box[2] - self.box[0], self.box[3] - self.box[1])

    @property
    def area(self) -> float:
        return (self.box[2] - self.box[0]) * (self.box[3] - self.box[1])

    def scaled(self, sx: float, sy: float) -> "Face":
        """The same face in an image resized by (sx, sy)."""
        x0, y0, x1, y1 = self.box
        return Face((x0 * sx, y0 * sy, x1 * sx, y1 * sy), self.landmarks * np.array([sx, sy]), self.score)


def face_choice(value: int | str | None) -> int | str:
    """Which face to edit: a face number (0 = the largest) or ``"all"``, from a number or its text
    (the CLI, the app and the API give text; None and "" mean 0). NoFaceError for anything else."""
    if value is None or value == "":
        return 0
    if isinstance(value, str) and value.strip().lower() == "all":
        return "all"
    try:
        if isinstance(value, bool) or not isinstance(value, (int, np.integer, str)):
            raise ValueError
        n = int(value)
    except ValueError:
        n = -1
    if n < 0:
        raise NoFaceError(f"face must be a face number (0 = largest) or 'all', got {shorten(value)}")
    return n


def face_window(faces: list[Face], size: tuple[int, int], margin: float = 0.5) -> tuple[int, int, int, int]:
    """A square pixel box (x0, y0, x1, y1) around ``faces`` (their union) with ``margin`` times
    its side on every side, moved (not cut) to lie inside an image of ``size`` (width, height),
    and no larger than the image."""
    if not faces:
        raise ValueError("a face window needs at least one face")
    x0 = min(f.box[0] for f in faces)
    y0 = min(f.box[1] for f in faces)
    x1 = max(f.box[2] for f in faces)
    y1 = max(f.box[3] for f in faces)
    side = (1 + 2 * margin) * max(x1 - x0, y1 - y0)
    w, h = min(size[0], round(side)), min(size[1], round(side))
    left = int(min(max(0, round((x0 + x1 - w) / 2)), size[0] - w))
    top = int(min(max(0, round((y0 + y1 - h) / 2)), size[1] - h))
    return left, top, left + w, top + h


class FaceDetector:
    """MTCNN returning every face, largest first; see the module docstring for the size policy.

    ``device``: where MTCNN runs (default: CUDA if available, else CPU). MPS is mapped to CPU:
    facenet-pytorch's MTCNN is reported to fail on MPS (timesler/facenet-pytorch issues #201,
    #223: unsupported ``aten::nonzero``, segfault at construction).
    """

    def __init__(self, device=None, min_face_px: int = MIN_FACE_PX, min_score: float = MIN_SCORE) -> None:
        import torch
        from facenet_pytorch import MTCNN

        dev = torch.device(device) if device is not None else pick_device()
        self.device = dev if dev.type != "mps" else torch.device("cpu")
        self.min_face_px = int(min_face_px)
        self.min_score = float(min_score)
        self._mtcnn = MTCNN(keep_all=True, device=self.device)
        self._lock = threading.Lock()  # detect() sets MTCNN's search size per call

    def _raw(self, rgb: np.ndarray, search_px: float) -> list[Face]:
        if min(rgb.shape[:2]) < 12:  # below MTCNN's smallest window
            return []
        self._mtcnn.min_face_size = min(max(12.0, search_px), min(rgb.shape[:2]))
        boxes, probs, points = self._mtcnn.detect(rgb, landmarks=True)
        if boxes is None:
            return []
        boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
        probs = np.asarray(probs, dtype=np.float64).reshape(-1)
        points = np.asarray(points, dtype=np.float64).reshape(-1, 5, 2)
        # MTCNN reports pixel-index coordinates; +0.5 converts them to continuous ones.
        return [Face(tuple(b + 0.5), p + 0.5, float(s)) for b, p, s in zip(boxes, points, probs)]

    def track(self, rgb: np.ndarray, face: Face) -> Face | None:
        """The face of a neighbouring frame of a video, found again in ``rgb`` (RGB uint8 [H, W, 3], the
        frame's own pixels) by MTCNN's last stage alone: O-Net on the square that frames ``face``'s
        landmarks as :data:`ONET_FRAMING` (zero padding beyond the frame) gives its box and 5 landmarks.
        None when O-Net's score falls below ``min_score`` (the face is lost). A few ms, where
        :meth:`detect` searches the whole frame; a face tracked from its own landmarks stays framed alike
        from frame to frame, so its landmarks do not jump."""
        import torch
        import torch.nn.functional as F

        h, w = rgb.shape[:2]
        lm = np.asarray(face.landmarks, dtype=np.float64) - 0.5  # to MTCNN's pixel-index coordinates
        t = ONET_FRAMING - ONET_FRAMING.mean(0)
        n = float(((lm - lm.mean(0)) * t).sum() / (t * t).sum())  # the side, as MTCNN counts it (pixels covered)
        if not 12 <= n <= 2 * max(h, w):
            return None
        x0, y0 = lm.mean(0) - n * ONET_FRAMING.mean(0) + 1  # O-Net's crop: pixels floor(x0) - 1 .. floor(x0 + n - 1) - 1
        left, top = math.floor(x0) - 1, math.floor(y0) - 1
        cw, ch = math.floor(x0 + n - 1) - left, math.floor(y0 + n - 1) - top
        xs, ys = slice(max(left, 0), min(left + cw, w)), slice(max(top, 0), min(top + ch, h))
        if xs.start >= xs.stop or ys.start >= ys.stop:
            return None
        crop = np.zeros((ch, cw, 3), np.uint8)
        crop[ys.start - top:ys.stop - top, xs.start - left:xs.stop - left] = rgb[ys, xs]
        x = torch.from_numpy(crop).permute(2, 0, 1)[None].float()
        x = (F.interpolate(x, size=(48, 48), mode="area") - 127.5) * 0.0078125
        with self._lock, torch.inference_mode():
            reg, points, prob = self._mtcnn.onet(x.to(self.device))
        score = float(prob[0, 1])
        if score < self.min_score:
            return None
        reg, points = reg[0].double().cpu().numpy(), points[0].double().cpu().numpy()
        landmarks = np.stack([n * points[:5] + x0 - 1, n * points[5:] + y0 - 1], -1)
        box = np.array([x0, y0, x0 + n - 1, y0 + n - 1]) + reg * n
        return Face(tuple(float(v) + 0.5 for v in box), landmarks + 0.5, score)

    def detect(self, rgb: np.ndarray, scale: tuple[float, float] | np.ndarray = (1.0, 1.0), smallest: float = 0.0) -> list[Face]:
        """Faces in an RGB uint8 [H, W, 3] array, largest first, in photo coordinates.

        ``scale`` is (sx, sy) when ``rgb`` is a resized copy of the photo (a photo point ``p`` is
        at ``p * scale`` in the copy). ``smallest``: search only for faces about this size (photo
        pixels) or larger when above ``min_face_px`` (a video checking on a face of known size: far
        fewer scales to search). Raises :class:`NoFaceError` when no usable face is found.
        """
        if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
            raise ValueError(f"expected an RGB uint8 [H, W, 3] array, got {rgb.dtype} {rgb.shape}")
        sx, sy = float(scale[0]), float(scale[1])
        with self._lock:
            raw = self._raw(rgb, 0.6 * max(self.min_face_px, smallest) * min(sx, sy))
        found = [f.scaled(1 / sx, 1 / sy) for f in raw]
        found = [f for f in found if f.score >= self.min_score]
        if not found:
            raise NoFaceError("no face found in the image")
        faces = sorted((f for f in found if f.size >= self.min_face_px), key=lambda f: -f.area)
        if not faces:
            largest = max(f.size for f in found)
            raise NoFaceError(f"face too small: the largest face found is {largest:.0f} px across; the minimum is {self.min_face_px} px")
        return faces
