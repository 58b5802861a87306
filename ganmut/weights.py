"""Where the bundled models and classifier are and how a name, a folder, a file pair or a Hub id resolves to
them (:data:`ganmut.registry.SERVED` lists the models)."""
from __future__ import annotations

import os
import re
from pathlib import Path

import torch

from .classifier import EmotionClassifier, load_classifier
from .errors import CheckpointError, shorten
from .registry import SERVED

WEIGHTS_DIR = Path(__file__).resolve().parents[1] / "weights"
MODEL_FILES: dict[str, str] = {m.name: m.file for m in SERVED}
"""Bundled model names and their files under :data:`WEIGHTS_DIR` (from :data:`ganmut.registry.SERVED`)."""
MODEL_ALIASES = {alias: m.name for m in SERVED for alias in m.aliases}
"""Other names of the bundled models (the paper's)."""
CLASSIFIER_FILE = WEIGHTS_DIR / "fer-classifier.safetensors"
"""The bundled emotion classifier behind the readout (:class:`~ganmut.classifier.Reading`)."""


def model_name(name: str) -> str:
    """The bundled model a name or alias means ('linear', 'GANmut', 'gaussian', 'GGANmut', any case)."""
    key = str(name).strip().lower()
    key = MODEL_ALIASES.get(key, key)
    if key not in MODEL_FILES:
        choices = " or ".join(f"'{m.name}'" + (f" (or {', '.join(repr(a) for a in m.aliases)})" if m.aliases else "")
                              for m in SERVED)
        raise CheckpointError(f"unknown model {shorten(name)}: use {choices}")
    return key


def model_path(model: str | os.PathLike, weights: str | os.PathLike | None = None) -> Path:
    """The checkpoint of a bundled model name or alias ('linear' or 'GANmut', 'gaussian' or 'GGANmut'),
    looked up in ``weights`` (see :func:`find_weights`; None: the bundled :data:`WEIGHTS_DIR`), or a
    checkpoint path (``weights`` is not used then)."""
    if isinstance(model, str) and model.strip().lower() in (*MODEL_FILES, *MODEL_ALIASES):
        name = model_name(model)
        if weights is not None:
            found = find_weights(weights)
            if name not in found:
                raise CheckpointError(f"the weights given hold no {name} model (they hold: {', '.join(found)})")
            return found[name]
        path = WEIGHTS_DIR / MODEL_FILES[name]
        if not path.is_file():
            raise CheckpointError(
                f"no trained weights are bundled yet ({path.name} is not in {WEIGHTS_DIR}); "
                f"pass the path of a .safetensors checkpoint instead, e.g. --model path/to/model.safetensors"
            )
        return path
    path = Path(model)
    if not path.exists() and not path.suffix:
        raise CheckpointError(f"unknown model {shorten(str(model))}: use {', '.join(repr(k) for k in MODEL_FILES)} or the path of a .safetensors checkpoint")
    return path


def load_readout(classifier: str | os.PathLike | None = "auto", device: str | torch.device = "cpu") -> tuple[EmotionClassifier | None, str]:
    """(the readout's classifier or None, one line saying which or why the readout is off).
    ``"auto"``: the bundled file if present; None: off; else a classifier file."""
    if classifier is None:
        return None, "emotion readout off (no classifier asked for)"
    path = CLASSIFIER_FILE if classifier == "auto" else Path(classifier)
    if classifier == "auto" and not path.is_file():
        return None, f"emotion readout off: no classifier at weights/{path.name}"
    clf = load_classifier(path, device).to(memory_format=torch.channels_last)  # about 15 % faster on a CPU
    acc = clf.meta.get("test", {}).get("accuracy")
    pack = Path(str(clf.meta.get("test", {}).get("pack", "its test faces"))).stem
    return clf, f"emotion readout by {path.name}" + (f" ({acc:.1%} on {pack})" if acc else "")


def find_weights(spec: str | os.PathLike | None = None) -> dict[str, Path]:
    """The checkpoint of each bundled model name that ``spec`` holds: None for :data:`WEIGHTS_DIR`;
    a folder holding the files of :data:`MODEL_FILES`; a pair of files ``"LINEAR,GAUSSIAN"`` (either
    may be left empty); or a Hugging Face Hub repo id (downloaded with ``huggingface_hub``).
    CheckpointError, saying why, when it holds none or names a missing file."""
    text = str(spec).strip() if spec is not None else ""
    if not text:
        base, where = WEIGHTS_DIR, f"{WEIGHTS_DIR.name}/"
    elif Path(text).is_dir():
        base, where = Path(text), f"{Path(text).name}/"
    elif "," in text or Path(text).is_file():
        parts = [p.strip() for p in text.split(",")]
        if len(parts) > len(MODEL_FILES):
            raise CheckpointError(f"a file pair is LINEAR,GAUSSIAN: at most {len(MODEL_FILES)} files, got {len(parts)}")
        parts += [""]
        missing = [Path(p).name for p in parts if p and not Path(p).is_file()]
        found = {k: Path(p) for k, p in zip(MODEL_FILES, parts) if p and Path(p).is_file()}
        if missing or not found:
            raise CheckpointError(f"the weights name missing files: {', '.join(missing) or 'none given'}")
        return found
    elif Path(text).parent.is_dir() and Path(text).parent != Path("."):
        raise CheckpointError(f"weights not found: {shorten(Path(text).name)}")  # a path, not a Hub id
    elif re.fullmatch(r"[\w.-]+/[\w.-]+", text):
        try:
            from huggingface_hub import snapshot_download

            base, where = Path(snapshot_download(text, allow_patterns=["*.safetensors", "*.md"])), f"Hub repo {text}"
        except Exception as e:  # offline, unknown repo, no access, no huggingface_hub
            raise CheckpointError(f"could not download the weights from the Hub repo {text} ({type(e).__name__}: {shorten(str(e))})") from None
    else:
        raise CheckpointError(f"weights {shorten(Path(text).name)} are neither a folder, a file pair nor a Hub repo id")
    found = {k: base / f for k, f in MODEL_FILES.items() if (base / f).is_file()}
    if not found:
        raise CheckpointError(f"no trained weights in {where} (expected {' and '.join(MODEL_FILES.values())})")
    return found
