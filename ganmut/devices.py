"""The one device resolver of the library, the CLI, the app and the training package."""
from __future__ import annotations

from .errors import GanmutError


def pick_device(device=None):
    """The given torch device (checked to exist), or for None / ``"auto"``: CUDA, then MPS, then CPU.
    A :class:`~ganmut.errors.GanmutError` names a device that is unknown or not available here."""
    import torch

    if device is not None and str(device) != "auto":
        try:
            dev = torch.device(device)
        except (RuntimeError, TypeError):
            raise GanmutError(f"unknown device {str(device)!r}; use e.g. auto, cpu, cuda, cuda:1 or mps") from None
        if dev.type == "cuda" and not torch.cuda.is_available():
            raise GanmutError(f"device {str(device)!r} requested but CUDA is not available here")
        if dev.type == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
            raise GanmutError(f"device {str(device)!r} requested but MPS is not available here")
        return dev
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")
