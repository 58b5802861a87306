"""Train GANmut (linear), GGANmut (Gaussian) or the StarGAN baseline with one loop.

    python -m training.train --config configs/ganmut-linear.toml --data packs/fer2013-train.npz
    torchrun --nproc-per-node 2 -m training.train --config ...      # data parallel, rank 0 logs/saves

One iteration draws one batch and makes one D step; every ``n_critic``-th iteration also makes a G
step on the same batch and codes (StarGAN's schedule: the paper's 1M iterations are D steps). The
run directory holds ``checkpoint.pt`` (everything needed to continue bit-for-bit), ``config.toml``,
sample grids ``samples/iter-XXXXXXX.png`` (fixed faces x the space's anchors, EMA generator) and
TensorBoard scalars in ``tb/``. Export the served weights with ``python -m training.export``.

Data parallelism (torchrun): every rank builds identical models (same seed, then a broadcast from
rank 0), samples its own batches (its own generator), and after each backward the gradients of D,
or of G together with the learned space, are averaged with one flat all-reduce before the
optimiser step: the semantics of DistributedDataParallel without its reducer hooks, which do not fit
a GAN step (D runs frozen inside G's backward, the penalty needs a double backward, and the space's
parameters receive gradients through codes computed outside any wrapped module).
"""
from __future__ import annotations

import argparse
import copy
import json
import math
import os
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist

from ganmut.classifier import load_classifier
from ganmut.devices import autocast_settings, pick_device
from ganmut.emotions import EMOTIONS, NEUTRAL
from ganmut.errors import GanmutError
from ganmut.generator import Generator
from ganmut.motion import Motion, render
from ganmut.spaces import make_space

from . import losses as L
from .augment import augment
from .discriminator import discriminator
from .states import (
    CKPT_FORMAT,
    CKPT_NAME,
    architecture,
    continuation_path,
    load_continuation,
    load_training_checkpoint,
    save_training_checkpoint,
)
from .clock import STOP, process_start
from .config import ConfigError, TrainConfig, load_config, merge, parse_override, to_toml
from .data import DeviceData
from .pack import PackError, load_pack
from ganmut.images import from_model_output, to_model_input
from .recipes import Codes, cycle_codes, identity_codes, recipe, sample_codes

N_FIXED = 8
PROBE_WARMUP = 10
"""Iterations left out of the throughput probe (cuDNN autotuning and compilation happen there)."""
BUDGET_SAFETY = 0.97
"""Share of the measured remaining capacity a budgeted schedule plans for."""
REPLAN_AT = 0.4
"""Share of the budget after which a budgeted schedule is measured and fitted once more."""


class Diverged(RuntimeError):
    """The losses became NaN or infinite: training stops without overwriting the last checkpoint."""


@dataclass
class RunOptions:
    """How to run (not what to train): these never change the result of a step."""

    device: str = "auto"
    compile: bool = False
    resume: bool = False
    max_minutes: float | None = None
    stop_at: int | None = None
    progress: bool = True
    budget_minutes: float | None = None  # measure the speed, then fit iters and the decay into this budget
    probe_seconds: float = 20.0
    checkpoint_minutes: float | None = None  # also save a checkpoint whenever this much time has passed since the last
    started: float | None = None  # time.monotonic() the budget counts from (default: when training starts)


@dataclass
class World:
    rank: int = 0
    size: int = 1

    @property
    def main(self) -> bool:
        return self.rank == 0


def _lr_factor(it: int, iters: int, decay_iters: int) -> float:
    """1 until the last ``decay_iters`` iterations, then linearly down to 0 (StarGAN)."""
    return 1.0 if decay_iters <= 0 else min(1.0, max(0.0, (iters - it) / decay_iters))


class Trainer:
    """Models, optimisers, RNG and one training iteration; knows nothing of files or logging."""

    def __init__(self, cfg: TrainConfig, data: DeviceData, device: torch.device, world: World = World(), compile: bool = False) -> None:
        self.cfg, self.data, self.device, self.world = cfg, data, device, world
        torch.manual_seed(cfg.seed)  # identical initialisation on every rank
        gcfg = cfg.generator_config()
        self.space = make_space(cfg.kind).to(device)
        self.G = Generator(gcfg).to(device)
        self.D = discriminator(cfg).to(device)
        self.cuda = device.type == "cuda"
        if world.size > 1:
            for t in [*self.G.parameters(), *self.D.parameters(), *self.space.parameters()]:
                dist.broadcast(t.data, 0)
        self.amp = autocast_settings(device) if cfg.optim.bf16 else dict(device_type=device.type, enabled=False)
        self.channels_last = self.amp["enabled"]  # bf16 convolutions are fastest in channels-last layout
        if self.channels_last:
            self.G.to(memory_format=torch.channels_last)
            self.D.to(memory_format=torch.channels_last)
        self.guide = load_classifier(cfg.guide.classifier, device) if cfg.guide.classifier and cfg.guide.weight > 0 else None
        if self.guide is not None and self.channels_last:
            self.guide.to(memory_format=torch.channels_last)
        self.ema_G = copy.deepcopy(self.G).requires_grad_(False) if cfg.optim.ema_decay > 0 else None
        self.ema_space = copy.deepcopy(self.space).requires_grad_(False) if cfg.optim.ema_decay > 0 else None
        o = cfg.optim
        self.g_params = [*self.G.parameters(), *self.space.parameters()]
        fused = True if self.cuda else None  # one kernel per optimiser step on CUDA
        self.opt_g = torch.optim.Adam(self.g_params, o.lr_g, (o.beta1, o.beta2), fused=fused)
        self.opt_d = torch.optim.Adam(self.D.parameters(), o.lr_d, (o.beta1, o.beta2), fused=fused)
        self.gen = torch.Generator(device).manual_seed(cfg.seed * 1_000_003 + world.rank)
        self.g_fast = torch.compile(self.G) if compile else self.G
        self.d_fast = torch.compile(self.D) if compile else self.D
        self.iter = 0
        self.g_steps = 0
        self.elapsed_s = 0.0  # training-loop wall time over all sessions (per process)
        self.images_seen = 0  # real images consumed over all sessions and processes
        self.history: list[dict] = []  # one entry per training session of a continued model
        self._sums: dict[str, torch.Tensor] = {}
        self._counts: dict[str, int] = {}

    # ------------------------------------------------------------------ one iteration
    def step(self) -> None:
        cfg, o = self.cfg, self.cfg.optim
        factor = _lr_factor(self.iter, o.iters, o.decay_iters)
        for opt, lr in ((self.opt_g, o.lr_g), (self.opt_d, o.lr_d)):
            for group in opt.param_groups:
                group["lr"] = lr * factor
        gcfg = self.G.cfg
        b = o.batch_size
        x_u8, labels, votes = self.data.sample(b, self.gen)
        x = augment(x_u8, gcfg.image_size, gcfg.channels, cfg.augment, self.gen)
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        targets = self.data.random_labels(b, self.gen)
        do_g = (self.iter + 1) % o.n_critic == 0
        lo = cfg.loss
        penalty = lo.penalty if lo.penalty != "none" and self.iter % lo.penalty_every == 0 else None
        alpha = torch.rand(b, 1, 1, 1, generator=self.gen, device=self.device) if penalty == "gp" else None
        # autocast covers the forward passes only: a backward pass run under CPU autocast would run the fp32
        # parts' gradients (the space's small matrices) in bf16 too, and the Gaussian modes' angles would not learn
        with torch.autocast(**self.amp), torch.set_grad_enabled(do_g):  # a G step reuses the fakes' graph
            codes = sample_codes(self.space, b, cfg.n_c, targets, self.gen, cfg.sampling.noise_std, cfg.sampling.tau)
            fake, mask = self.g_fast(x, codes.z, return_aux=True)
        real_coor = self._d_step(x, labels, votes, fake.detach(), codes, penalty, alpha)
        if do_g:
            self._g_step(x, labels, fake, mask, codes, real_coor)
        self.iter += 1
        self.images_seen += b * self.world.size

    def _d_step(self, x, labels, votes, fake, codes: Codes, penalty: str | None, alpha) -> torch.Tensor | None:
        lo, b = self.cfg.loss, x.size(0)
        inputs = [x, fake]
        if penalty == "r1":
            x = inputs[0] = x.detach().requires_grad_(True)
        if penalty == "gp":
            x_hat = (alpha * x + (1 - alpha) * fake).requires_grad_(True)
            inputs.append(x_hat)
        with torch.autocast(**self.amp):
            out = (self.D if penalty else self.d_fast)(torch.cat(inputs))  # double backward runs eager
            src = out.src
            terms = {
                "adv": L.d_adv_loss(src[:b], src[b:2 * b], lo.adversarial),
                "cls": lo.lambda_cls * L.soft_cls_loss(out.cls[:b], votes),  # the label distribution (FER+ votes)
            }
            if out.coor is not None:
                terms["info"] = lo.lambda_info * L.info_loss(out.coor[b:2 * b], codes.z.detach())
        if penalty == "gp":  # (the penalties take gradients: outside autocast, as every backward pass)
            terms["gp"] = lo.lambda_gp * lo.penalty_every * L.gradient_penalty(src[2 * b:], x_hat)
        elif penalty == "r1":
            terms["r1"] = lo.lambda_r1 * lo.penalty_every * L.r1_penalty(src[:b], x)
        loss = sum(terms.values())
        self.opt_d.zero_grad(set_to_none=True)
        loss.backward()
        self._sync_grads(list(self.D.parameters()))
        self.opt_d.step()
        self._record("d", terms, acc_real=(out.cls[:b].argmax(1) == labels).float().mean())
        return out.coor[:b].detach() if out.coor is not None else None

    def _g_step(self, x, labels, fake, mask, codes: Codes, real_coor) -> None:
        lo, n_c = self.cfg.loss, codes.target.numel()
        self.D.requires_grad_(False)
        with torch.autocast(**self.amp):
            out = self.d_fast(fake)
            is_neutral = codes.target == NEUTRAL
            weight = None if lo.neutral_weight == 1 else torch.where(is_neutral, lo.neutral_weight, 1.0)
            terms = {
                "adv": L.g_adv_loss(out.src, lo.adversarial),
                "cls": lo.lambda_cls * L.cls_loss(out.cls[:n_c], codes.target, weight),
            }
            if out.coor is not None:
                terms["info"] = lo.lambda_info * L.info_loss(out.coor, codes.z)
            terms.update(recipe(self.space).g_terms(self.space, out.cls, codes, lo, self.cfg.sampling.tau))
            if self.guide is not None:
                gd = self.cfg.guide
                terms["guide"] = gd.weight * L.guide_loss(self.guide, fake[:n_c], codes.target, gd.blur, gd.shift, self.gen,
                                                          weight)
            own = cycle_codes(self.space, labels, real_coor)  # each real image's own code
            x_rec, mask_rec = self.g_fast(fake, own, return_aux=True)
            terms["rec"] = lo.lambda_rec * L.rec_loss(x, x_rec)
            if lo.lambda_neutral_id > 0:
                terms["nid"] = lo.lambda_neutral_id * L.neutral_identity_loss(x[:n_c], fake[:n_c], is_neutral)
            if lo.lambda_texture > 0:
                terms["tex"] = lo.lambda_texture * L.texture_loss(x, fake)
            if lo.lambda_template > 0:  # at the point the app calls neutral, on half the batch
                half = x[:max(2, x.size(0) // 2)]
                anchor = self.space.code(NEUTRAL).to(half)  # the neutral anchor, detached
                terms["tmpl"] = lo.lambda_template * L.template_loss(half, self.g_fast(half, anchor.expand(len(half), -1)))
            if lo.lambda_id > 0:
                k = max(1, round(lo.id_fraction * x.size(0)))
                at = identity_codes(self.space, labels[:k], own[:k], lo.id_neutral_anchor)
                terms["id"] = lo.lambda_id * L.rec_loss(x[:k], self.g_fast(x[:k], at))
            if isinstance(mask, Motion):
                terms.update(self._motion_terms(x[:n_c], mask, codes.target))
            elif mask is not None and lo.lambda_mask > 0:
                terms["mask"] = lo.lambda_mask * (L.mask_loss(mask) + L.mask_loss(mask_rec))
        loss = sum(terms.values())
        self.opt_g.zero_grad(set_to_none=True)
        loss.backward()
        self.D.requires_grad_(True)
        self._sync_grads(self.g_params)
        self.opt_g.step()
        self.g_steps += 1
        self._update_ema()
        extra = {"acc_fake": (out.cls[:n_c].argmax(1) == codes.target).float().mean()}
        if isinstance(mask, Motion):
            extra |= {"flow_max": mask.flow.detach().abs().amax(), "alpha_mean": mask.alpha.detach().mean()}
        elif mask is not None:
            extra["mask_mean"] = mask.float().mean()
        self._record("g", terms, **extra)

    def _motion_terms(self, x_c: torch.Tensor, motion: Motion, target: torch.Tensor) -> dict[str, torch.Tensor]:
        """The warp output's terms: a smooth, fold-free flow, small gains, a small mouth, and D's classification
        of the S_c fakes warped only (no gain, no mouth), so that geometry carries the expression."""
        lo = self.cfg.loss
        terms = {
            "flow_tv": lo.lambda_flow_tv * L.flow_smoothness_loss(motion.flow),
            "fold": lo.lambda_fold * L.fold_loss(motion.flow),
            "gain": lo.lambda_gain * motion.log_gain.abs().mean(),
            "mouth": lo.lambda_mouth * motion.alpha.mean(),
        }
        if lo.lambda_warp_cls > 0:
            warped = render(x_c, motion[:len(x_c)], gain=False, mouth=False)
            terms["warp_cls"] = lo.lambda_warp_cls * L.cls_loss(self.d_fast(warped).cls, target)
        return terms

    def _sync_grads(self, params: list[torch.nn.Parameter]) -> None:
        """Average gradients over ranks with one flat all-reduce (data parallelism, see module docs)."""
        if self.world.size == 1:
            return
        grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in params]
        flat = torch.cat([g.flatten() for g in grads])  # logical order, whatever the memory format
        dist.all_reduce(flat)
        flat /= self.world.size
        offset = 0
        for p, g in zip(params, grads):
            g.copy_(flat[offset:offset + g.numel()].view(g.shape))  # copy_ keeps g's (channels_last) layout
            p.grad = g
            offset += g.numel()

    def _update_ema(self) -> None:
        if self.ema_G is None:
            return
        beta = min(self.cfg.optim.ema_decay, (1 + self.g_steps) / (10 + self.g_steps))  # short warm-up
        with torch.no_grad():
            for ema, live in ((self.ema_G, self.G), (self.ema_space, self.space)):
                e, p = list(ema.parameters()), list(live.parameters())
                if e:
                    torch._foreach_lerp_(e, p, 1 - beta)

    def _record(self, prefix: str, terms: dict, **extra: torch.Tensor) -> None:
        for k, v in {**terms, **extra}.items():
            key = f"{prefix}/{k}"
            v = v.detach().float()
            self._sums[key] = self._sums[key] + v if key in self._sums else v
            self._counts[key] = self._counts.get(key, 0) + 1

    def pop_stats(self) -> dict[str, float]:
        """Mean of each recorded term since the last call (one device sync)."""
        keys = sorted(self._sums)
        values = torch.stack([self._sums[k] / self._counts[k] for k in keys]).tolist() if keys else []
        self._sums, self._counts = {}, {}
        return dict(zip(keys, values))

    def space_scalars(self) -> dict[str, float]:
        """Anchor coordinates of the learned space (``space/happy_x`` ...) for the logs; none for StarGAN."""
        space = self.served()[1]
        if not list(space.parameters()):
            return {}
        a = space.anchors().detach().cpu().tolist()
        return {f"space/{name}_{axis}": v for name, xy in zip(EMOTIONS, a) for axis, v in zip("xy", xy)}

    # ------------------------------------------------------------------ inference helpers
    def served(self) -> tuple[Generator, torch.nn.Module]:
        """The generator and space that get exported: the EMA copies when EMA is on."""
        return (self.ema_G, self.ema_space) if self.ema_G is not None else (self.G, self.space)

    @torch.no_grad()
    def sample_grid(self) -> np.ndarray:
        """uint8 ``[rows*H, cols*W, C]``: fixed faces (rows) x [input, G(x, anchor) for each emotion]."""
        g, space = self.served()
        x_u8, _ = self.data.fixed(N_FIXED)
        x = to_model_input(x_u8, g.cfg.image_size, g.cfg.channels)
        cols = [x]
        for code in space.anchors().detach():
            cols.append(g(x, code.expand(len(x), -1)).float())
        grid = from_model_output(torch.stack(cols, 1))  # [rows, cols, H, W, C]
        r, c, h, w, ch = grid.shape
        return grid.transpose(0, 2, 1, 3, 4).reshape(r * h, c * w, ch)

    # ------------------------------------------------------------------ state
    def state_dict(self) -> dict:
        """Everything a bit-for-bit continuation needs (RNG states of every rank included)."""
        gen_state = self.gen.get_state()
        if self.world.size > 1:
            states = [None] * self.world.size
            dist.all_gather_object(states, gen_state)
        else:
            states = [gen_state]
        return {
            "format": CKPT_FORMAT,
            "config": self.cfg.to_dict(),
            "iter": self.iter,
            "g_steps": self.g_steps,
            "elapsed_s": self.elapsed_s,
            "images_seen": self.images_seen,
            "history": self.history,
            "world_size": self.world.size,
            "device": torch.cuda.get_device_name(self.device) if self.cuda else "cpu",
            "data": {"path": self.cfg.data, "meta": self.data.meta},
            "G": self.G.state_dict(),
            "D": self.D.state_dict(),
            "space": self.space.state_dict(),
            "ema_G": self.ema_G.state_dict() if self.ema_G is not None else None,
            "ema_space": self.ema_space.state_dict() if self.ema_space is not None else None,
            "opt_g": self.opt_g.state_dict(),
            "opt_d": self.opt_d.state_dict(),
            "gen_states": states,
        }

    def load_state_dict(self, state: dict) -> None:
        """Load a training checkpoint, or a continuation state (:func:`training.states.load_continuation`),
        which has no optimiser moments (they restart from zero) and no RNG state (reseeded from the iteration)."""
        self.G.load_state_dict(state["G"])
        self.D.load_state_dict(state["D"])
        self.space.load_state_dict(state["space"])
        if self.ema_G is not None:
            self.ema_G.load_state_dict(state["ema_G"])
            self.ema_space.load_state_dict(state["ema_space"])
        if state["opt_g"] is not None:
            self.opt_g.load_state_dict(state["opt_g"])
            self.opt_d.load_state_dict(state["opt_d"])
        self.iter, self.g_steps, self.elapsed_s = state["iter"], state["g_steps"], state["elapsed_s"]
        self.images_seen, self.history = state["images_seen"], list(state["history"])
        states = state["gen_states"]
        if states is not None and len(states) == self.world.size:
            self.gen.set_state(states[self.world.rank])
        else:  # a continuation, or another world size: continue, but not bit-for-bit
            self.gen.manual_seed(self.cfg.seed * 1_000_003 + self.world.rank + 7919 * self.iter)
            if states is not None and self.world.main:
                print(f"warning: checkpoint from {len(states)} process(es), now {self.world.size}: data order reseeded", file=sys.stderr)


# ---------------------------------------------------------------------- files
def save_png(path: Path, grid: np.ndarray) -> None:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(grid[..., 0] if grid.shape[-1] == 1 else grid).save(path)


class Logger:
    """TensorBoard scalars when available (one warning line otherwise), rank 0 only."""

    def __init__(self, out: Path, enabled: bool) -> None:
        self.writer = None
        if not enabled:
            return
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            print("warning: tensorboard is not installed; scalars are not logged (pip install tensorboard)", file=sys.stderr)
            return
        self.writer = SummaryWriter(str(out / "tb"))

    def scalars(self, values: dict[str, float], step: int) -> None:
        if self.writer is not None:
            for k, v in values.items():
                self.writer.add_scalar(k, v, step)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


# ---------------------------------------------------------------------- the run
def setup_world(device_arg: str) -> tuple[World, torch.device]:
    """Single process, or one rank of a torchrun job (NCCL on CUDA, gloo on CPU)."""
    try:
        device = pick_device(device_arg)
    except GanmutError as e:
        raise ConfigError(str(e)) from None
    size = int(os.environ.get("WORLD_SIZE", "1"))
    if size == 1:
        return World(), device
    if device.type == "cuda":
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo", device_id=device if device.type == "cuda" else None)
    return World(dist.get_rank(), dist.get_world_size()), device


class Budget:
    """A schedule fitted to a wall-clock budget: train at full learning rate while measuring the speed
    (after ``PROBE_WARMUP`` iterations, for ``probe_seconds``, at most a quarter of the budget), then set
    ``optim.iters`` so that the run ends inside the budget, with the linear decay over its second half.
    At ``REPLAN_AT`` of the budget the speed since the probe is measured and ``optim.iters`` fitted once
    more (runs that start together probe while the others are still starting up); the decay keeps its
    length, so the learning rate does not jump while it is still constant."""

    def __init__(self, trainer: Trainer, cfg: TrainConfig, t0: float, opts: RunOptions) -> None:
        self.trainer, self.cfg, self.start_iter = trainer, cfg, trainer.iter
        self.end_time = (opts.started if opts.started is not None else t0) + opts.budget_minutes * 60
        self.probe_s = min(opts.probe_seconds, max(0.0, self.end_time - t0) / 4)
        self.probe_from: tuple[float, int] | None = None
        self.fixed_at: tuple[float, int] | None = None
        self.replan_time = t0 + REPLAN_AT * (self.end_time - t0)
        self.rate: float | None = None
        self.rate_again: float | None = None
        cfg.optim.iters, cfg.optim.decay_iters = trainer.iter + 10**9, 0  # full learning rate while probing

    def observe(self) -> bool:
        """Call after every iteration; True when the schedule has just been (re)fitted."""
        it = self.trainer.iter
        if self.rate is not None:
            return self._replan(it)
        if it - self.start_iter < PROBE_WARMUP:
            return False
        if self.probe_from is None:
            _sync(self.trainer.device)
            self.probe_from = (time.monotonic(), it)
            return False
        if time.monotonic() - self.probe_from[0] < self.probe_s:
            return False
        _sync(self.trainer.device)
        now = time.monotonic()
        self.rate = (it - self.probe_from[1]) / (now - self.probe_from[0])
        session = it - self.start_iter + int(self.rate * max(0.0, self.end_time - now) * BUDGET_SAFETY)
        self.cfg.optim.iters = self.start_iter + session
        self.cfg.optim.decay_iters = session // 2
        self.fixed_at = (now, it)
        return True

    def _replan(self, it: int) -> bool:
        if self.rate_again is not None or time.monotonic() < self.replan_time:
            return False
        _sync(self.trainer.device)
        now = time.monotonic()
        self.rate_again = (it - self.fixed_at[1]) / max(1e-9, now - self.fixed_at[0])
        self.cfg.optim.iters = it + int(self.rate_again * max(0.0, self.end_time - now) * BUDGET_SAFETY)
        self.cfg.optim.decay_iters = min(self.cfg.optim.decay_iters, self.cfg.optim.iters - self.start_iter)
        return True

    def describe(self) -> str:
        if self.rate is None:
            return "budget: the speed was not measured (the budget ended first)"
        o = self.cfg.optim
        again = f", then {self.rate_again:.2f}" if self.rate_again is not None else ""
        return (f"budget: measured {self.rate:.2f} iterations/s{again}; planned {o.iters - self.start_iter} iterations "
                f"this session (to {o.iters}), learning rate decaying over the last {o.decay_iters}")


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def train(cfg: TrainConfig, opts: RunOptions = RunOptions(), state: dict | None = None) -> Trainer:
    """Run (or continue from ``state``) a training session; returns the trainer with ``summary`` set."""
    world, device = setup_world(opts.device)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = True
    pack = load_pack(cfg.data)
    gcfg = cfg.generator_config()
    data = DeviceData(pack, device, cfg.sampling.class_balance)
    trainer = Trainer(cfg, data, device, world, opts.compile)
    if state is not None:
        trainer.load_state_dict(state)
    out = Path(cfg.out)
    logger = Logger(out, cfg.log.tensorboard and world.main)
    if world.main:
        out.mkdir(parents=True, exist_ok=True)
        (out / "config.toml").write_text(to_toml(cfg.to_dict()))
        (out / "data.json").write_text(json.dumps({"path": cfg.data, "meta": pack.meta}, indent=1))
    start_iter, start_elapsed, t0 = trainer.iter, trainer.elapsed_s, time.monotonic()
    deadline = t0 + opts.max_minutes * 60 if opts.max_minutes is not None else math.inf
    if opts.budget_minutes is not None and world.size > 1:
        raise ConfigError("--budget-minutes fits the schedule of one process; under torchrun set --iters instead")
    budget = Budget(trainer, cfg, t0, opts) if opts.budget_minutes is not None else None
    if budget is not None:
        deadline = min(deadline, budget.end_time)
    end = min(cfg.optim.iters, opts.stop_at if opts.stop_at is not None else cfg.optim.iters)
    bar = None
    if opts.progress and world.main:
        from tqdm import tqdm

        bar = tqdm(total=end, initial=trainer.iter, unit="it", dynamic_ncols=True, desc=f"{cfg.kind} {gcfg.image_size}px")

    def checkpoint() -> None:
        state = trainer.state_dict()  # collective under torchrun: every rank calls it
        if world.main:
            save_training_checkpoint(out / CKPT_NAME, state)

    last_saved, last_stats, saved_at, logged_at = trainer.iter, {}, time.monotonic(), (time.monotonic(), trainer.iter)
    ckpt_s = opts.checkpoint_minutes * 60 if opts.checkpoint_minutes is not None else math.inf
    while trainer.iter < end:
        trainer.step()
        it = trainer.iter
        if bar is not None:
            bar.update(1)
        if budget is not None and budget.observe():
            end = cfg.optim.iters
            if world.main:
                print(budget.describe(), file=sys.stderr)
                if bar is not None:
                    bar.total = end
        if it % cfg.log.log_every == 0 or it == end:
            stats = last_stats = trainer.pop_stats()
            if _any_rank(not all(math.isfinite(v) for v in stats.values()), world):
                bad = {k: v for k, v in stats.items() if not math.isfinite(v)}
                kept = f"the checkpoint of iteration {last_saved} is kept" if (out / CKPT_NAME).exists() else "no checkpoint was written"
                raise Diverged(f"non-finite losses at iteration {it} ({', '.join(f'{k}={v}' for k, v in bad.items()) or 'on another rank'}); {kept}")
            if world.main:
                logger.scalars({**stats, **trainer.space_scalars(), "lr/g": trainer.opt_g.param_groups[0]["lr"]}, it)
                short = {k.split("/")[0][0] + ":" + k.split("/")[1]: f"{v:.3g}" for k, v in stats.items()
                         if k.endswith(("adv", "cls", "acc_fake", "guide", "id", "tex", "flow_max"))}
                if bar is not None:
                    bar.set_postfix(short)
                else:  # a log line instead of the bar (background runs)
                    now = time.monotonic()
                    rate = (it - logged_at[1]) * cfg.optim.batch_size * world.size / max(1e-9, now - logged_at[0])
                    logged_at = (now, it)
                    print(f"iter {it}/{end}: {rate:.1f} images/s, " + ", ".join(f"{k} {v}" for k, v in short.items()),
                          flush=True)
        if world.main and it % cfg.log.sample_every == 0:
            save_png(out / "samples" / f"iter-{it:07d}.png", trainer.sample_grid())
        if it % cfg.log.ckpt_every == 0 or (it % 10 == 0 and _any_rank(time.monotonic() - saved_at >= ckpt_s, world)):
            trainer.elapsed_s = start_elapsed + time.monotonic() - t0
            checkpoint()
            last_saved, saved_at = it, time.monotonic()
        # a budgeted run checks its deadline every iteration; SIGTERM (the session's deadline) also stops
        if (it % 10 == 0 or budget is not None or STOP.requested) and _any_rank(STOP.requested or time.monotonic() > deadline, world):
            break
    session_s = time.monotonic() - t0
    if bar is not None:
        bar.close()
    trainer.elapsed_s = start_elapsed + session_s
    done = trainer.iter - start_iter
    images = done * cfg.optim.batch_size * world.size
    trainer.history.append({
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        "processes": world.size,
        "iterations": done,
        "images": images,
        "wall_s": round(session_s, 1),
        "images_per_s": round(images / session_s, 1) if session_s > 0 else 0.0,
        "schedule": budget.describe() if budget is not None else f"iters {cfg.optim.iters}, decay {cfg.optim.decay_iters}",
    })
    if trainer.iter != last_saved or done:
        checkpoint()
    if world.main:
        save_png(out / "samples" / f"iter-{trainer.iter:07d}.png", trainer.sample_grid())
    logger.close()
    trainer.summary = {
        "iterations": trainer.iter,
        "g_steps": trainer.g_steps,
        "session_iterations": done,
        "session_s": round(session_s, 2),
        "images_per_s": round(images / session_s, 1) if session_s > 0 else 0.0,
        "checkpoint": str(out / CKPT_NAME),
        "last_stats": last_stats,
    }
    return trainer


def _any_rank(local: bool, world: World) -> bool:
    """Whether the condition holds on any rank (so that all ranks leave the loop at the same iteration)."""
    if world.size == 1:
        return local
    flag = torch.tensor([float(local)], device="cuda" if dist.get_backend() == "nccl" else "cpu")
    dist.all_reduce(flag, op=dist.ReduceOp.MAX)
    return bool(flag.item())


# ---------------------------------------------------------------------- CLI
def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m training.train",
        description="Train GANmut (linear), GGANmut (Gaussian) or the StarGAN baseline on a dataset pack. "
        "Under `torchrun --nproc-per-node N` it trains data-parallel (batch_size is per process).",
        epilog="Example: python -m training.train --config configs/ganmut-linear.toml --data packs/fer2013-train.npz --out runs/linear",
    )
    p.add_argument("--config", type=Path, help="TOML config (configs/*.toml); optional with --resume, where it replaces the "
                   "run's saved config (same architecture)")
    p.add_argument("--data", help="dataset pack (.npz from `python -m training.prepare`); overrides the config's data")
    p.add_argument("--out", help="run directory for checkpoint, samples and logs; overrides the config's out")
    p.add_argument("--resume", action="store_true", help="continue the run in the run directory from its checkpoint.pt "
                   "with its saved config (command-line overrides still apply); starts fresh if there is none")
    p.add_argument("--iters", type=int, help="total iterations (D steps) of the run; overrides optim.iters")
    p.add_argument("--batch-size", type=int, help="images per process per iteration; overrides optim.batch_size")
    p.add_argument("--seed", type=int, help="overrides seed")
    p.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                   help="override any config value, e.g. --set loss.lambda_rho=2 --set generator.upsample=transposed; repeatable")
    p.add_argument("--max-minutes", type=float, help="stop cleanly (with a checkpoint) after this many minutes of training")
    p.add_argument("--checkpoint-minutes", type=float, metavar="M",
                   help="also save the checkpoint every M minutes (a run killed outright loses at most that much)")
    p.add_argument("--stop-at", type=int, help="stop cleanly (with a checkpoint) at this iteration, keeping the schedule of --iters")
    p.add_argument("--budget-minutes", type=float, metavar="M",
                   help="fit the schedule into M minutes from the start of this command (start-up included): measure the "
                   "speed for up to 20 s, then set optim.iters and optim.decay_iters (half the session) so the "
                   "learning-rate decay ends in time")
    p.add_argument("--continue-from", type=Path, metavar="SAFETENSORS",
                   help="continue a served model (e.g. weights/ganmut-linear.safetensors) from its EMA generator and the "
                   "continuation state beside it (continuation/<name>); starts fresh, saying why, when the architecture differs")
    p.add_argument("--device", default="auto", help="auto (CUDA if available), cpu, cuda or cuda:N (default auto)")
    p.add_argument("--compile", action="store_true", help="torch.compile G and D (the gradient-penalty pass stays eager)")
    p.add_argument("--no-progress", action="store_true", help="no tqdm progress bar")
    p.add_argument("--export", type=Path, metavar="SAFETENSORS",
                   help="at the end, also export the served checkpoint there and its continuation state beside it "
                   "(as `python -m training.export`)")
    return p


def main(argv: list[str] | None = None, started: float | None = None) -> Trainer:
    """The CLI; ``started`` (``time.monotonic()``) is when --budget-minutes counts from: the process start when
    run as a script, else this call."""
    started = time.monotonic() if started is None else started
    args = build_parser().parse_args(argv)
    try:
        overrides: dict = {}
        for text in args.set:
            merge(overrides, parse_override(text))
        for key, section, value in (("data", None, args.data), ("out", None, args.out), ("seed", None, args.seed),
                                    ("iters", "optim", args.iters), ("batch_size", "optim", args.batch_size)):
            if value is not None:
                merge(overrides, {section: {key: value}} if section else {key: value})
        if args.config is None and not args.resume:
            raise ConfigError("--config is required (or --resume with --out)")
        if args.resume and args.continue_from:
            raise ConfigError("--resume and --continue-from exclude each other")
        if args.budget_minutes is not None and (args.budget_minutes <= 0 or args.stop_at is not None):
            raise ConfigError("--budget-minutes must be positive and excludes --stop-at")
        state = None
        if args.resume:
            out = Path(args.out) if args.out else load_config(args.config).out if args.config else None
            if out is None:
                raise ConfigError("--resume needs --out or --config to find the run directory")
            ckpt = Path(out) / CKPT_NAME
            if ckpt.is_file():
                state = load_training_checkpoint(ckpt)
                saved = TrainConfig.from_dict(state["config"], str(ckpt))
                if args.config is None:
                    cfg = TrainConfig.from_dict(merge(state["config"], {**overrides, "out": str(out)}), str(ckpt))
                else:  # the config file's recipe (say, a new loss weight) over the run's architecture
                    cfg = load_config(args.config, merge(overrides, {"out": str(out)}))
                    if architecture(cfg) != architecture(saved):
                        raise ConfigError(f"{args.config} describes another architecture than the run in {out}")
            else:
                print(f"no checkpoint in {out}; starting a new run", file=sys.stderr)
        if state is None:
            cfg = load_config(args.config, overrides)
            if (Path(cfg.out) / CKPT_NAME).exists():
                raise ConfigError(f"{cfg.out} already holds a run; pass --resume to continue it or choose another --out")
            if args.continue_from is not None:
                state, why = load_continuation(args.continue_from, cfg)
                print(why if state is not None else f"starting fresh: {why}", file=sys.stderr)
        if not cfg.data:
            raise ConfigError("no dataset pack: set data in the config or pass --data")
        if args.checkpoint_minutes is not None and args.checkpoint_minutes <= 0:
            raise ConfigError("--checkpoint-minutes must be positive")
        opts = RunOptions(args.device, args.compile, args.resume, args.max_minutes, args.stop_at, not args.no_progress,
                          args.budget_minutes, started=started, checkpoint_minutes=args.checkpoint_minutes)
        trainer = train(cfg, opts, state)
        if dist.is_initialized():
            dist.barrier()  # ranks tear gloo down together: one rank leaving early can abort the other at exit
    except (ConfigError, PackError) as e:
        print(f"error: {e}", file=sys.stderr)
        raise SystemExit(2) from None
    except Diverged as e:
        print(f"error: {e}", file=sys.stderr)
        raise SystemExit(1) from None
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()
    s = trainer.summary
    if trainer.world.main:
        print(f"done: {s['iterations']} iterations ({s['g_steps']} G steps), {s['session_iterations']} this session "
              f"in {s['session_s']:.1f}s = {s['images_per_s']:.0f} images/s; checkpoint {s['checkpoint']}")
        if args.export is not None:
            from .export import export

            path, diff = export(s["checkpoint"], args.export)
            print(f"exported {path} ({path.stat().st_size / 1e6:.1f} MB) and {continuation_path(path)}; "
                  f"reloaded: max |output difference| {diff:.2e}")
    return trainer


if __name__ == "__main__":
    STOP.install()
    main(started=process_start())
