"""Training-state files: the in-run checkpoint for an exact resume, and the compact continuation state.

- ``checkpoint.pt`` in a run directory holds everything a bit-for-bit resume needs (G, D, their EMA,
  the optimiser moments, every rank's RNG state). It is written with ``torch.save`` and read back
  with ``weights_only=True`` (tensors and plain types only). At full size it is about 200 MB, so it
  stays in the run directory and never goes into git.
- The **continuation file**, ``continuation/<served name>.safetensors`` beside a served checkpoint,
  is what the repository keeps so that the next GPU session continues training instead of starting
  over. It holds the discriminator in fp16 and JSON metadata: the training config, the cumulative
  counters (iterations, G steps, images seen, wall time) and one history entry per session. With
  the served file (the EMA generator and space) it rebuilds a trainer state.

What a continuation does not keep, and why (each would add at least the generator's size again,
and the repository may grow by at most 40 MB per GPU session for both models):

- the live generator and space: training continues from their EMA, which is what is served;
- the Adam moments of G and D: they restart from zero, with Adam's bias correction;
- the sampling RNG state: each session reseeds from the seed and the iteration;
- full precision of D: it is stored in fp16 (relative rounding about 5e-4).

``tests/training/test_continuation.py`` shows that a continued run follows exactly the trajectory of an
uninterrupted run to which the same reductions were applied, and measures how far a run with the
full state drifts from it.
"""
from __future__ import annotations

import os
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path

import torch

from ganmut.checkpoint import read_safetensors, write_safetensors
from ganmut.errors import CheckpointError
from ganmut.files import atomic_path
from ganmut.generator import Generator

from .config import ConfigError, TrainConfig
from .discriminator import discriminator

CKPT_NAME = "checkpoint.pt"
CKPT_FORMAT = "ganmut-train/2"
CONTINUATION_KEY = "ganmut_continuation"
CONTINUATION_FORMAT = 1
CONTINUATION_DIR = "continuation"


# --------------------------------------------------------------------------- in-run checkpoint
def save_training_checkpoint(path: Path, state: dict) -> None:
    """Atomic write: a crash leaves the previous checkpoint intact."""
    with atomic_path(path) as tmp:
        torch.save(state, tmp)


def load_training_checkpoint(path: Path) -> dict:
    """Read a training checkpoint (``weights_only``: tensors and plain types, no arbitrary objects)."""
    path = Path(path)
    if path.is_dir():
        path = path / CKPT_NAME
    if not path.is_file():
        raise ConfigError(f"training checkpoint not found: {path}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # zip/pickle errors all mean a bad file
        raise ConfigError(f"{path} is not a readable training checkpoint: {e}") from None
    if not isinstance(state, dict) or state.get("format") != CKPT_FORMAT:
        raise ConfigError(f"{path} is not a GANmut training checkpoint ({CKPT_FORMAT})")
    return state


# --------------------------------------------------------------------------- continuation
def continuation_path(served: str | os.PathLike) -> Path:
    """Where the continuation state of a served checkpoint lives: ``continuation/<its name>`` beside it."""
    served = Path(served)
    return served.parent / CONTINUATION_DIR / served.name


def continuation_meta(state: dict) -> dict:
    """The JSON metadata of a continuation file, from a training state."""
    return {
        "format_version": CONTINUATION_FORMAT,
        "config": state["config"],
        "iterations": state["iter"],
        "g_steps": state["g_steps"],
        "images_seen": state["images_seen"],
        "wall_time_s": round(state["elapsed_s"], 1),
        "history": state.get("history", []),
    }


def save_continuation(path: str | os.PathLike, state: dict) -> Path:
    """Write the discriminator (fp16) and the counters of a training state (see the module docs)."""
    tensors = {f"D.{k}": v.half() if v.is_floating_point() else v for k, v in state["D"].items()}
    return write_safetensors(path, tensors, continuation_meta(state), key=CONTINUATION_KEY)


def architecture(cfg: TrainConfig) -> dict:
    """What must match for a continuation: the space, the generator and the discriminator."""
    return {"kind": cfg.kind, "generator": cfg.generator_config().to_dict(), "discriminator": asdict(cfg.discriminator)}


def load_continuation(served: str | os.PathLike, cfg: TrainConfig) -> tuple[dict | None, str]:
    """(trainer state, why) to continue ``served`` under ``cfg``; the state is None, with the reason,
    when there is nothing to continue from or the architecture differs."""
    from ganmut.checkpoint import load_checkpoint

    served = Path(served)
    cont = continuation_path(served)
    if not served.is_file():
        return None, f"no served checkpoint at {served}"
    if not cont.is_file():
        return None, f"no continuation state at {cont}"
    try:
        model = load_checkpoint(served)
        meta, tensors = read_safetensors(cont, key=CONTINUATION_KEY, what="a GANmut continuation state")
        if meta.get("format_version") != CONTINUATION_FORMAT:
            raise CheckpointError(f"{cont.name}: continuation format {meta.get('format_version')} is not supported")
        before = architecture(TrainConfig.from_dict(meta["config"], str(cont)))
    except (CheckpointError, ConfigError, KeyError) as e:
        return None, f"unreadable continuation state: {e}"
    now = architecture(cfg)
    d_state = {k[2:]: v.float() for k, v in tensors.items() if k.startswith("D.")}
    new_head = _new_warp_head(before, now) and _new_warp_head(architecture_of(model), now)
    if not new_head and (before != now or model.generator.cfg.to_dict() != now["generator"]):
        changed = [k for k in now if before.get(k) != now[k]] or ["generator"]
        return None, f"the {', '.join(changed)} architecture changed since {served.name} was trained"
    try:
        discriminator(cfg).load_state_dict(d_state)
    except RuntimeError as e:
        return None, f"{cont.name}: the discriminator tensors do not fit: {str(e).splitlines()[0]}"
    g = {k: v.float() for k, v in model.generator.state_dict().items()}
    history = list(meta.get("history", []))
    if new_head:  # the trained body under a warp head that starts at zero: G starts as the identity
        fresh = Generator(cfg.generator_config())
        body = {k: v for k, v in g.items() if k.startswith("body.")}
        fresh.load_state_dict(body, strict=False)
        g = {k: v.float() for k, v in fresh.state_dict().items()}
        history.append({"date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
                        "new_head": f"the {before['generator']['output']} model's body under a zero warp head "
                                    f"at {meta['iterations']} iterations"})
    space = {k: v.float() for k, v in model.space.state_dict().items()}
    state = {
        "config": cfg.to_dict(),
        "iter": meta["iterations"],
        "g_steps": meta["g_steps"],
        "images_seen": meta["images_seen"],
        "elapsed_s": meta["wall_time_s"],
        "history": history,
        "G": g,
        "ema_G": g,
        "space": space,
        "ema_space": space,
        "D": d_state,
        "opt_g": None,
        "opt_d": None,
        "gen_states": None,
    }
    how = "its body under a new warp head" if new_head else "continuing"
    return state, f"{how} {served.name} from iteration {meta['iterations']}"


def architecture_of(model) -> dict:
    """The generator part of :func:`architecture` of a loaded checkpoint (its space's kind and generator)."""
    return {"generator": model.generator.cfg.to_dict()}


def _new_warp_head(before: dict, now: dict) -> bool:
    """Whether ``now`` is ``before`` with its generator's output replaced by the warp head (same body, same D)."""
    head_keys = ("output", "flow_grid", "gain_grid")
    g0, g1 = before["generator"], now["generator"]
    same_rest = all(before.get(k) == now.get(k) for k in now if k != "generator") if "kind" in before else True
    return (g1.get("output") == "warp" and g0.get("output") != "warp" and same_rest
            and {k: v for k, v in g0.items() if k not in head_keys} == {k: v for k, v in g1.items() if k not in head_keys})
