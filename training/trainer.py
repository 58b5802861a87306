"""One training iteration of GANmut, GGANmut or StarGAN: the models, their optimisers and RNG (:class:`Trainer`).

One iteration draws one batch and makes one D step; every ``n_critic``-th iteration also makes a G step on
the same batch and codes. The losses are pure functions (:mod:`training.losses`, :mod:`training.recipes`);
:meth:`Trainer.step` composes them. The trainer knows nothing of files or logging (:mod:`training.train`).
"""
from __future__ import annotations

import copy
import sys
from dataclasses import dataclass

import numpy as np
import torch
import torch.distributed as dist

from ganmut.classifier import load_classifier
from ganmut.devices import autocast_settings
from ganmut.emotions import EMOTIONS, NEUTRAL
from ganmut.generator import Generator
from ganmut.images import from_model_output, to_model_input
from ganmut.motion import Motion, render
from ganmut.spaces import make_space

from . import losses as L
from .augment import augment
from .config import TrainConfig
from .data import DeviceData
from .discriminator import discriminator
from .recipes import Codes, cycle_codes, identity_codes, recipe, sample_codes
from .states import CKPT_FORMAT

N_FIXED = 8
"""Faces in a sample grid."""


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
