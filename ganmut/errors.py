"""User-facing errors: each carries one clear line for a CLI, an app or a log."""
from __future__ import annotations


class GanmutError(Exception):
    """Base class of every error that is the user's input's fault, not a bug."""


class ImageError(GanmutError):
    """The file is not a readable image, or is too large."""


class NoFaceError(GanmutError):
    """No face (or no face large enough) was found in the image."""


class CheckpointError(GanmutError):
    """A model file is missing, not a safetensors checkpoint, or does not match the format."""


class CodeError(GanmutError):
    """A conditional code or emotion request lies outside the model's space."""
