"""Export a training run to the served ``.safetensors`` format and check that it loads back.

    python -m training.export runs/linear -o weights/ganmut-linear.safetensors --eval-report runs/linear/eval.json

The EMA generator and space are exported (``--no-ema``: the live ones), in fp16 by default, with the
alignment template (the pack's, if its faces were aligned, else ``ganmut.align.FER2013_TEMPLATE``),
the training facts (data, iterations, config, device time) and the evaluation figures in metadata.
The written file is then loaded with :func:`ganmut.checkpoint.load_checkpoint` and its outputs
compared with the training generator's on seeded inputs.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

from ganmut.checkpoint import load_checkpoint, save_checkpoint
from ganmut.errors import CheckpointError
from ganmut.generator import Generator
from ganmut.spaces import Space, make_space

from .states import continuation_path, load_training_checkpoint, save_continuation
from .config import ConfigError, TrainConfig

DTYPES = {"fp16": torch.float16, "bf16": torch.bfloat16, "fp32": torch.float32}


def training_model(src: str | Path, ema: bool = True) -> tuple[Generator, Space, dict]:
    """(generator, space, training state) of a run directory or ``checkpoint.pt``, fp32, eval mode, CPU.

    ``ema=True`` picks the EMA copies when the run kept them.
    """
    state = load_training_checkpoint(Path(src))
    cfg = TrainConfig.from_dict(state["config"], str(src))
    use_ema = ema and state["ema_G"] is not None
    gen, space = Generator(cfg.generator_config()), make_space(cfg.kind)
    gen.load_state_dict(state["ema_G" if use_ema else "G"])
    space.load_state_dict(state["ema_space" if use_ema else "space"])
    state["exported_ema"] = use_ema
    return gen.eval().requires_grad_(False), space.eval().requires_grad_(False), state


def training_facts(state: dict) -> dict:
    """What the served metadata records about how the model was trained."""
    cfg, data = state["config"], state.get("data", {})
    meta = data.get("meta", {})
    return {
        "data": {k: v for k, v in {"path": data.get("path"), "source": meta.get("source"), "split": meta.get("split"),
                                   "counts": meta.get("counts"), "aligned": "template" in meta}.items() if v is not None},
        "kind": cfg["kind"],
        "iterations": state["iter"],
        "g_steps": state["g_steps"],
        "images_seen": state["images_seen"],
        "ema": state["exported_ema"],
        "device": state["device"],
        "processes": state["world_size"],
        "wall_time_s": round(state["elapsed_s"], 1),
        "device_time_s": round(state["elapsed_s"] * state["world_size"], 1),
        "history": state["history"],
        "config": cfg,
        "trainer": "training.train",
    }


def template_of(state: dict) -> list[list[float]]:
    """The alignment template the training faces follow."""
    meta = state.get("data", {}).get("meta", {})
    if "template" in meta:
        return meta["template"]
    from ganmut.align import FER2013_TEMPLATE

    return FER2013_TEMPLATE.tolist()


@torch.no_grad()
def max_output_difference(a: Generator, b: Generator, space: Space, n: int = 4, seed: int = 0) -> float:
    """Largest |a(x, z) - b(x, z)| on seeded images and codes spread over the space's anchors."""
    g = torch.Generator().manual_seed(seed)
    cfg = a.cfg
    x = torch.rand(n, cfg.channels, cfg.image_size, cfg.image_size, generator=g) * 2 - 1
    anchors = space.anchors().detach().float()
    z = anchors[torch.randint(len(anchors), (n,), generator=g)] * torch.rand(n, 1, generator=g)
    return float((a(x, z) - b(x, z)).abs().max())


def export(src: str | Path, out: str | Path, ema: bool = True, evaluation: dict | None = None, dtype: str = "fp16",
           continuation: bool = True) -> tuple[Path, float]:
    """Write the served checkpoint (and, with ``continuation``, its continuation state beside it, see
    :mod:`training.states`); return its path and the max output difference after reloading it."""
    gen, space, state = training_model(src, ema)
    path = save_checkpoint(out, gen, space, template_of(state), training_facts(state), evaluation, DTYPES[dtype])
    if continuation:
        save_continuation(continuation_path(path), state)
    model = load_checkpoint(path)
    return path, max_output_difference(gen, model.generator, space)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m training.export",
        description="Export a training run (its EMA generator and learned space) to a served .safetensors checkpoint, "
        "then load it back with ganmut.checkpoint.load_checkpoint and compare outputs.",
    )
    p.add_argument("run", help="run directory of `python -m training.train` or its checkpoint.pt")
    p.add_argument("-o", "--output", required=True, help="served checkpoint to write, e.g. weights/ganmut-linear.safetensors")
    p.add_argument("--no-ema", action="store_true", help="export the live generator instead of its EMA")
    p.add_argument("--eval-report", type=Path, help="JSON object of evaluation figures (training.evaluate) to store in metadata")
    p.add_argument("--dtype", choices=sorted(DTYPES), default="fp16", help="tensor precision in the file (default fp16)")
    p.add_argument("--no-continuation", action="store_true",
                   help="do not write the continuation state (continuation/<name> beside the output) that lets "
                   "`training.train --continue-from` carry on training this model")
    args = p.parse_args(argv)
    try:
        evaluation = None
        if args.eval_report is not None:
            try:
                evaluation = json.loads(args.eval_report.read_text())
            except (OSError, json.JSONDecodeError) as e:
                raise ConfigError(f"cannot read evaluation report {args.eval_report}: {e}") from None
            if not isinstance(evaluation, dict):
                raise ConfigError(f"{args.eval_report} must hold a JSON object")
        path, diff = export(args.run, args.output, not args.no_ema, evaluation, args.dtype, not args.no_continuation)
    except (ConfigError, CheckpointError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB); reloaded with load_checkpoint: max |output difference| {diff:.2e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
