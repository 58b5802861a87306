"""Served checkpoints: one ``.safetensors`` file per model, loaded without unpickling.

Layout: tensors ``generator.*`` (the :class:`~ganmut.generator.Generator` state) and ``space.*``
(the learned space's parameters, always fp32), the generator stored in fp16 by default, plus one metadata entry
``ganmut`` holding JSON::

    {"format_version": 1, "parametrization": "linear" | "gaussian" | "stargan",
     "emotions": [...], "generator": {GeneratorConfig}, "template": [[x, y] * 5],
     "training": {...}, "evaluation": {...}}

``template`` is the face-alignment template: the five MTCNN landmarks (eyes, nose tip, mouth
corners) in the model's input crop, as fractions of its side.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import torch

from .emotions import EMOTIONS
from .errors import CheckpointError, require_file
from .files import atomic_path
from .generator import Generator, GeneratorConfig
from .spaces import Space, make_space

FORMAT_VERSION = 1
META_KEY = "ganmut"
_PICKLE_SUFFIXES = {".pt", ".pth", ".ckpt", ".pkl", ".pickle", ".bin", ".tar"}
_MAX_HEADER = 100 * 1024 * 1024


@dataclass
class Model:
    """A loaded model: generator, learned space and metadata."""

    generator: Generator
    space: Space
    meta: dict = field(default_factory=dict)

    @property
    def config(self) -> GeneratorConfig:
        return self.generator.cfg

    @property
    def template(self) -> list[list[float]]:
        return self.meta["template"]

    @property
    def parametrization(self) -> str:
        return self.meta["parametrization"]


def build_metadata(
    generator: Generator,
    space: Space,
    template,
    training: dict | None = None,
    evaluation: dict | None = None,
) -> dict:
    tpl = [[float(v) for v in p] for p in template]
    if len(tpl) != 5 or any(len(p) != 2 for p in tpl):
        raise ValueError("template must hold 5 (x, y) points")
    return {
        "format_version": FORMAT_VERSION,
        "parametrization": space.kind,
        "emotions": list(EMOTIONS),
        "generator": generator.cfg.to_dict(),
        "template": tpl,
        "training": training or {},
        "evaluation": evaluation or {},
    }


def save_checkpoint(
    path: str | os.PathLike,
    generator: Generator,
    space: Space,
    template,
    training: dict | None = None,
    evaluation: dict | None = None,
    dtype: torch.dtype = torch.float16,
) -> Path:
    """Write a served checkpoint atomically (a crash never leaves a half-written file)."""
    meta = build_metadata(generator, space, template, training, evaluation)
    # generator weights in ``dtype`` (fp16 keeps a served model under 20 MB); the space's few
    # parameters stay fp32 because fp16 would visibly move the learned directions and modes
    tensors = {f"generator.{k}": v.to(dtype if v.is_floating_point() else v.dtype) for k, v in generator.state_dict().items()}
    tensors.update({f"space.{k}": v.float() for k, v in space.state_dict().items()})
    return write_safetensors(path, tensors, meta)


def write_safetensors(path: str | os.PathLike, tensors: dict[str, torch.Tensor], meta: dict, key: str = META_KEY) -> Path:
    """Write tensors plus JSON metadata under ``key`` atomically (a crash never leaves a half-written file)."""
    from safetensors.torch import save_file

    tensors = {k: v.detach().to("cpu").contiguous() for k, v in tensors.items()}
    with atomic_path(path) as tmp:
        save_file(tensors, tmp, metadata={key: json.dumps(meta)})
    return Path(path)


def read_safetensors(
    path: str | os.PathLike, key: str = META_KEY, what: str = "a GANmut checkpoint"
) -> tuple[dict, dict[str, torch.Tensor]]:
    """Validate the container and return (JSON metadata under ``key``, tensors); never unpickles."""
    from safetensors import SafetensorError, safe_open
    from safetensors.torch import load_file

    path = Path(path)
    require_file(path, CheckpointError, "model file")
    try:
        with open(path, "rb") as f:
            head = f.read(9)
    except OSError as e:
        raise CheckpointError(f"cannot read {path.name}: {e.strerror}") from None
    # A safetensors file starts with its header length (u64, little endian) then the JSON header's "{";
    # the length's low byte may be 0x80, so the pickle sniffing below only applies to anything else.
    looks_safetensors = len(head) == 9 and head[8:9] == b"{"
    if path.suffix.lower() in _PICKLE_SUFFIXES or (not looks_safetensors and (head[:1] == b"\x80" or head[:2] == b"PK")):
        raise CheckpointError(
            f"{path.name} looks like a pickle (.pt/.ckpt) file; GANmut loads only .safetensors checkpoints "
            "and never unpickles (convert it with `python -m training.export`)"
        )
    if len(head) < 8 or int.from_bytes(head[:8], "little") > min(_MAX_HEADER, path.stat().st_size - 8):
        raise CheckpointError(f"{path.name} is not a valid safetensors file (truncated or corrupt header)")
    try:
        with safe_open(str(path), framework="pt") as f:
            raw = (f.metadata() or {}).get(key)
        tensors = load_file(str(path))
    except (SafetensorError, OSError, ValueError, RuntimeError) as e:
        raise CheckpointError(f"{path.name} is not a valid safetensors file (truncated or corrupt): {e}") from None
    if raw is None:
        raise CheckpointError(f"{path.name} has no '{key}' metadata: not {what}")
    try:
        meta = json.loads(raw)
    except json.JSONDecodeError:
        raise CheckpointError(f"{path.name}: the '{key}' metadata is not valid JSON") from None
    if not isinstance(meta, dict):
        raise CheckpointError(f"{path.name}: the '{key}' metadata is not a JSON object")
    return meta, tensors


def _check_meta(name: str, meta: dict) -> None:
    for key in ("format_version", "parametrization", "emotions", "generator", "template"):
        if key not in meta:
            raise CheckpointError(f"{name}: metadata lacks the key '{key}'")
    if meta["format_version"] != FORMAT_VERSION:
        raise CheckpointError(f"{name}: checkpoint format version {meta['format_version']} is not supported (expected {FORMAT_VERSION})")
    if list(meta["emotions"]) != list(EMOTIONS):
        raise CheckpointError(f"{name}: emotions {meta['emotions']} differ from {list(EMOTIONS)}")
    tpl = meta["template"]
    if not (isinstance(tpl, list) and len(tpl) == 5 and all(isinstance(p, list) and len(p) == 2 for p in tpl)):
        raise CheckpointError(f"{name}: the alignment template must be 5 (x, y) points")


def _load_state(module: torch.nn.Module, prefix: str, tensors: dict[str, torch.Tensor], name: str) -> None:
    own = module.state_dict()
    given = {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}
    missing = sorted(set(own) - set(given))
    unexpected = sorted(set(given) - set(own))
    if missing:
        raise CheckpointError(f"{name}: missing tensor '{prefix}{missing[0]}'" + (f" and {len(missing) - 1} more" if len(missing) > 1 else ""))
    if unexpected:
        raise CheckpointError(f"{name}: unexpected tensor '{prefix}{unexpected[0]}'" + (f" and {len(unexpected) - 1} more" if len(unexpected) > 1 else ""))
    for k, v in own.items():
        if given[k].shape != v.shape:
            raise CheckpointError(f"{name}: tensor '{prefix}{k}' has shape {tuple(given[k].shape)}, expected {tuple(v.shape)}")
        if not torch.isfinite(given[k].float()).all():
            raise CheckpointError(f"{name}: tensor '{prefix}{k}' holds NaN or infinite values")
    module.load_state_dict({k: v.to(own[k].dtype) for k, v in given.items()})


def load_checkpoint(path: str | os.PathLike, device: str | torch.device = "cpu") -> Model:
    """Load a served checkpoint into fp32 modules in eval mode on ``device``."""
    name = Path(path).name
    meta, tensors = read_safetensors(path)
    _check_meta(name, meta)
    try:
        cfg = GeneratorConfig.from_dict(meta["generator"])
        space = make_space(meta["parametrization"])
    except (TypeError, ValueError) as e:
        raise CheckpointError(f"{name}: {e}") from None
    if cfg.code_dim != space.dim:
        raise CheckpointError(f"{name}: generator code_dim {cfg.code_dim} does not fit a {space.kind} space ({space.dim})")
    generator = Generator(cfg)
    _load_state(generator, "generator.", tensors, name)
    _load_state(space, "space.", tensors, name)
    return Model(generator.to(device).eval().requires_grad_(False), space.to(device).eval().requires_grad_(False), meta)
