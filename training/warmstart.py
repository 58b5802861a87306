"""Start a run of one space from a model trained in another: its generator and discriminator, with the
new space's learned anchors placed where the old space's anchors are.

    python -m training.warmstart runs/session/linear runs/session/gaussian -o runs/gaussian-from-linear
    python -m training.train --config configs/ganmut-gaussian.toml --out runs/gaussian-from-linear --resume

From SOURCE (a run directory or its ``checkpoint.pt``): the generator and discriminator (live, EMA and
their Adam moments), the counters and the history. From TARGET, a run of another space with the same
generator and discriminator architecture: the config, the space (a Gaussian model's covariances), the
space's Adam moments and the RNG state. The new space's anchors (the Gaussian modes' means) are set to
the source's anchors (:meth:`ganmut.spaces.Space.place_anchors`), so at its first step the new model
edits a face at neutral and at each emotion's full intensity as the source does. ``--variance`` starts
the modes round and apart instead of with TARGET's covariances. The history records
the warm start, and the counters go on from the source's: the new model's images and CPU-hours include
those its generator learned from.
"""
from __future__ import annotations

import argparse
import sys
from datetime import datetime, timezone
from pathlib import Path

import torch

from ganmut.generator import Generator
from ganmut.spaces import make_space

from .config import ConfigError, TrainConfig
from .states import CKPT_NAME, architecture, load_training_checkpoint, save_training_checkpoint


def _placed(kind: str, state: dict, anchors: torch.Tensor, variance: float | None) -> dict:
    """The state of a ``kind`` space loaded from ``state``, its anchors moved to ``anchors`` (and its modes'
    covariances set to ``variance`` * I, given one)."""
    space = make_space(kind)
    space.load_state_dict(state)
    try:
        space.place_anchors(anchors, variance)
    except ValueError as e:
        raise ConfigError(str(e)) from None
    return {k: v.detach().clone() for k, v in space.state_dict().items()}


def warm_start(source: dict, target: dict, variance: float | None = None) -> dict:
    """A training state of ``target``'s space and recipe whose generator and discriminator are ``source``'s
    (see the module docs); both are training states (``checkpoint.pt``) with the same architecture. Given
    ``variance``, the Gaussian modes start round, with that variance, instead of with ``target``'s covariances."""
    src_cfg = TrainConfig.from_dict(source["config"], "the source run")
    tgt_cfg = TrainConfig.from_dict(target["config"], "the target run")
    a, b = architecture(src_cfg), architecture(tgt_cfg)
    if a["kind"] == b["kind"]:
        raise ConfigError(f"both runs are {a['kind']} models: continue one with `training.train --resume`")
    for part in ("generator", "discriminator"):
        if a[part] != b[part]:
            raise ConfigError(f"the {part} architectures differ: a warm start needs the same networks")
    src_space = make_space(src_cfg.kind)
    src_space.load_state_dict(source.get("ema_space") or source["space"])  # the EMA space is what is served
    anchors = src_space.anchors().detach()
    state = dict(source)
    state["config"] = target["config"]
    state["space"] = _placed(tgt_cfg.kind, target["space"], anchors, variance)
    state["ema_space"] = _placed(tgt_cfg.kind, target.get("ema_space") or target["space"], anchors, variance)
    state["gen_states"] = target.get("gen_states")
    if source.get("opt_g") is not None and target.get("opt_g") is not None:
        n_g = len(list(Generator(src_cfg.generator_config()).parameters()))  # G's parameters come first in opt_g
        moments = {i: m for i, m in source["opt_g"]["state"].items() if int(i) < n_g}
        moments |= {i: m for i, m in target["opt_g"]["state"].items() if int(i) >= n_g}
        state["opt_g"] = {"state": moments, "param_groups": target["opt_g"]["param_groups"]}
    else:
        state["opt_g"] = None
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    state["history"] = [*source.get("history", []),
                        {"date": when, "warm_start": f"{tgt_cfg.kind} space on the {src_cfg.kind} model's generator "
                         f"and discriminator at {source['iter']} iterations"
                         + (f", the modes' covariances {variance:g} I" if variance is not None else "")}]
    return state


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m training.warmstart",
        description="Start a run of TARGET's space and recipe from SOURCE's generator and discriminator (a model "
        "trained in another space, same architecture), the new space's anchors placed at SOURCE's. Continue the "
        "written run with `python -m training.train --config <TARGET's config> --out OUT --resume`.",
        epilog="Example: python -m training.warmstart runs/session/linear runs/session/gaussian -o runs/gaussian-from-linear",
    )
    p.add_argument("source", type=Path, help="run directory (or checkpoint.pt) whose generator and discriminator start the run")
    p.add_argument("target", type=Path, help="run directory (or checkpoint.pt) of the other space: its config, space and RNG")
    p.add_argument("-o", "--out", type=Path, required=True, help="new run directory (must not hold a run yet)")
    p.add_argument("--variance", type=float, default=None,
                   help="start each Gaussian mode round, with this variance (e.g. 0.05), rather than with TARGET's "
                   "learned covariances: broad modes that overlap the neutral anchor pull its edits off neutral")
    args = p.parse_args(argv)
    try:
        if (args.out / CKPT_NAME).exists():
            raise ConfigError(f"{args.out} already holds a run; choose another --out")
        state = warm_start(load_training_checkpoint(args.source), load_training_checkpoint(args.target), args.variance)
        args.out.mkdir(parents=True, exist_ok=True)
        save_training_checkpoint(args.out / CKPT_NAME, state)
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"wrote {args.out / CKPT_NAME}: a {state['config']['kind']} run at {state['iter']} iterations; "
          f"continue it with `python -m training.train --config <its config> --out {args.out} --resume`")
    return 0


if __name__ == "__main__":
    sys.exit(main())
