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


def autocast_settings(device) -> dict:
    """bf16 autocast on CUDA and on CPUs with native bf16 (AVX512-BF16 or AMX); fp32 elsewhere.
    The keyword arguments of ``torch.autocast``."""
    import torch

    if device.type == "cuda":
        return dict(device_type="cuda", dtype=torch.bfloat16, enabled=True)
    native = device.type == "cpu" and torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported()
    return dict(device_type="cpu", dtype=torch.bfloat16, enabled=bool(native))
