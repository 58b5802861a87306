"""GANmut: edit the facial expression of a photo to any point of a learned 2-D emotion space.

    import ganmut
    editor = ganmut.load("linear")              # or "gaussian", or a .safetensors path
    result = editor.edit("photo.jpg", emotion="happy", intensity=0.8)
    result.image.save("happy.jpg")
"""
from __future__ import annotations

from .editor import EditResult, Editor, load
from .weights import MODEL_FILES
from .emotions import EMOTIONS
from .errors import CheckpointError, CodeError, GanmutError, ImageError, NoFaceError
from .face import Face, FaceDetector
from .images import load_image

__all__ = [
    "EMOTIONS", "MODEL_FILES", "CheckpointError", "CodeError", "EditResult", "Editor", "Face", "FaceDetector",
    "GanmutError", "ImageError", "NoFaceError", "load", "load_image",
]
