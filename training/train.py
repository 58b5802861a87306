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

from ganmut.devices import pick_device
from ganmut.errors import GanmutError

from .budget import Budget
from .clock import STOP, process_start
from .config import ConfigError, TrainConfig, load_config, merge, parse_override, to_toml
from .data import DeviceData
from .pack import PackError, load_pack
from .states import CKPT_NAME, architecture, continuation_path, load_continuation, load_training_checkpoint, save_training_checkpoint
from .trainer import Trainer, World


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


class Run:
    """One training session of a trainer: its folder, logs, progress, schedule, checkpoints and stopping rules."""

    def __init__(self, cfg: TrainConfig, opts: RunOptions, state: dict | None) -> None:
        self.cfg, self.opts = cfg, opts
        self.world, self.device = setup_world(opts.device)
        if self.device.type == "cuda":
            torch.backends.cudnn.benchmark = True
            torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = True
        pack = load_pack(cfg.data)
        self.trainer = Trainer(cfg, DeviceData(pack, self.device, cfg.sampling.class_balance), self.device, self.world,
                               opts.compile)
        if state is not None:
            self.trainer.load_state_dict(state)
        self.out = Path(cfg.out)
        self.logger = Logger(self.out, cfg.log.tensorboard and self.world.main)
        if self.world.main:
            self.out.mkdir(parents=True, exist_ok=True)
            (self.out / "config.toml").write_text(to_toml(cfg.to_dict()))
            (self.out / "data.json").write_text(json.dumps({"path": cfg.data, "meta": pack.meta}, indent=1))
        self.start_iter, self.start_elapsed, self.t0 = self.trainer.iter, self.trainer.elapsed_s, time.monotonic()
        self.deadline = self.t0 + opts.max_minutes * 60 if opts.max_minutes is not None else math.inf
        self.budget = self._budget()
        self.end = min(cfg.optim.iters, opts.stop_at if opts.stop_at is not None else cfg.optim.iters)
        self.bar = None
        if opts.progress and self.world.main:
            from tqdm import tqdm

            self.bar = tqdm(total=self.end, initial=self.trainer.iter, unit="it", dynamic_ncols=True,
                            desc=f"{cfg.kind} {cfg.generator_config().image_size}px")
        self.last_saved, self.last_stats, self.saved_at = self.trainer.iter, {}, time.monotonic()
        self.logged_at = (time.monotonic(), self.trainer.iter)
        self.ckpt_s = opts.checkpoint_minutes * 60 if opts.checkpoint_minutes is not None else math.inf

    def _budget(self) -> Budget | None:
        opts = self.opts
        if opts.budget_minutes is None:
            return None
        if self.world.size > 1:
            raise ConfigError("--budget-minutes fits the schedule of one process; under torchrun set --iters instead")
        end_time = (opts.started if opts.started is not None else self.t0) + opts.budget_minutes * 60
        self.deadline = min(self.deadline, end_time)
        return Budget(self.trainer, self.cfg, self.t0, end_time, opts.probe_seconds)

    def checkpoint(self, session_s: float | None = None) -> None:
        """Save the exact state, its wall time counting this session up to now (or ``session_s``)."""
        self.trainer.elapsed_s = self.start_elapsed + (time.monotonic() - self.t0 if session_s is None else session_s)
        state = self.trainer.state_dict()  # collective under torchrun: every rank calls it
        if self.world.main:
            save_training_checkpoint(self.out / CKPT_NAME, state)
        self.last_saved, self.saved_at = self.trainer.iter, time.monotonic()

    def after_step(self) -> bool:
        """Logs, samples and checkpoints due after an iteration; True when the session should stop."""
        it, cfg = self.trainer.iter, self.cfg
        if self.bar is not None:
            self.bar.update(1)
        if self.budget is not None and self.budget.observe():
            self.end = cfg.optim.iters
            if self.world.main:
                print(self.budget.describe(), file=sys.stderr)
                if self.bar is not None:
                    self.bar.total = self.end
        if it % cfg.log.log_every == 0 or it == self.end:
            self._log(it)
        if self.world.main and it % cfg.log.sample_every == 0:
            save_png(self.out / "samples" / f"iter-{it:07d}.png", self.trainer.sample_grid())
        if it % cfg.log.ckpt_every == 0 or (it % 10 == 0 and _any_rank(time.monotonic() - self.saved_at >= self.ckpt_s, self.world)):
            self.checkpoint()
        # a budgeted run checks its deadline every iteration; SIGTERM (the session's deadline) also stops
        return bool((it % 10 == 0 or self.budget is not None or STOP.requested)
                    and _any_rank(STOP.requested or time.monotonic() > self.deadline, self.world))

    def _log(self, it: int) -> None:
        stats = self.last_stats = self.trainer.pop_stats()
        if _any_rank(not all(math.isfinite(v) for v in stats.values()), self.world):
            bad = {k: v for k, v in stats.items() if not math.isfinite(v)}
            kept = (f"the checkpoint of iteration {self.last_saved} is kept" if (self.out / CKPT_NAME).exists()
                    else "no checkpoint was written")
            raise Diverged(f"non-finite losses at iteration {it} ({', '.join(f'{k}={v}' for k, v in bad.items()) or 'on another rank'}); {kept}")
        if not self.world.main:
            return
        self.logger.scalars({**stats, **self.trainer.space_scalars(), "lr/g": self.trainer.opt_g.param_groups[0]["lr"]}, it)
        short = {k.split("/")[0][0] + ":" + k.split("/")[1]: f"{v:.3g}" for k, v in stats.items()
                 if k.endswith(("adv", "cls", "acc_fake", "guide", "id", "tex", "flow_max"))}
        if self.bar is not None:
            self.bar.set_postfix(short)
            return
        now = time.monotonic()  # a log line instead of the bar (background runs)
        rate = (it - self.logged_at[1]) * self.cfg.optim.batch_size * self.world.size / max(1e-9, now - self.logged_at[0])
        self.logged_at = (now, it)
        print(f"iter {it}/{self.end}: {rate:.1f} images/s, " + ", ".join(f"{k} {v}" for k, v in short.items()), flush=True)

    def close(self) -> Trainer:
        """The session's history entry, the last checkpoint and sample grid; the trainer with ``summary`` set."""
        trainer, cfg = self.trainer, self.cfg
        session_s = time.monotonic() - self.t0
        if self.bar is not None:
            self.bar.close()
        done = trainer.iter - self.start_iter
        images = done * cfg.optim.batch_size * self.world.size
        rate = round(images / session_s, 1) if session_s > 0 else 0.0
        trainer.history.append({
            "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "device": torch.cuda.get_device_name(self.device) if self.device.type == "cuda" else "cpu",
            "processes": self.world.size, "iterations": done, "images": images, "wall_s": round(session_s, 1),
            "images_per_s": rate,
            "schedule": self.budget.describe() if self.budget is not None else f"iters {cfg.optim.iters}, decay {cfg.optim.decay_iters}",
        })
        trainer.elapsed_s = self.start_elapsed + session_s
        if trainer.iter != self.last_saved or done:
            self.checkpoint(session_s)
        if self.world.main:
            save_png(self.out / "samples" / f"iter-{trainer.iter:07d}.png", trainer.sample_grid())
        self.logger.close()
        trainer.summary = {"iterations": trainer.iter, "g_steps": trainer.g_steps, "session_iterations": done,
                           "session_s": round(session_s, 2), "images_per_s": rate,
                           "checkpoint": str(self.out / CKPT_NAME), "last_stats": self.last_stats}
        return trainer


def train(cfg: TrainConfig, opts: RunOptions = RunOptions(), state: dict | None = None) -> Trainer:
    """Run (or continue from ``state``) a training session; returns the trainer with ``summary`` set."""
    run = Run(cfg, opts, state)
    while run.trainer.iter < run.end:
        run.trainer.step()
        if run.after_step():
            break
    return run.close()


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


def _overrides(args: argparse.Namespace) -> dict:
    """The config overrides of the command line: every ``--set`` and the shortcuts (``--data``, ``--iters`` ...)."""
    overrides: dict = {}
    for text in args.set:
        merge(overrides, parse_override(text))
    for key, section, value in (("data", None, args.data), ("out", None, args.out), ("seed", None, args.seed),
                                ("iters", "optim", args.iters), ("batch_size", "optim", args.batch_size)):
        if value is not None:
            merge(overrides, {section: {key: value}} if section else {key: value})
    return overrides


def _resumed(args: argparse.Namespace, overrides: dict) -> tuple[TrainConfig | None, dict | None]:
    """``--resume``: the run's config (the config file's recipe over the run's architecture, when given) and its
    exact state; (None, None) when the run folder holds no checkpoint yet."""
    out = Path(args.out) if args.out else load_config(args.config).out if args.config else None
    if out is None:
        raise ConfigError("--resume needs --out or --config to find the run directory")
    ckpt = Path(out) / CKPT_NAME
    if not ckpt.is_file():
        print(f"no checkpoint in {out}; starting a new run", file=sys.stderr)
        return None, None
    state = load_training_checkpoint(ckpt)
    saved = TrainConfig.from_dict(state["config"], str(ckpt))
    if args.config is None:
        return TrainConfig.from_dict(merge(state["config"], {**overrides, "out": str(out)}), str(ckpt)), state
    cfg = load_config(args.config, merge(overrides, {"out": str(out)}))
    if architecture(cfg) != architecture(saved):
        raise ConfigError(f"{args.config} describes another architecture than the run in {out}")
    return cfg, state


def resolve(args: argparse.Namespace) -> tuple[TrainConfig, dict | None]:
    """The config and the state (None: a fresh start) that the command line asks for; ConfigError otherwise."""
    if args.config is None and not args.resume:
        raise ConfigError("--config is required (or --resume with --out)")
    if args.resume and args.continue_from:
        raise ConfigError("--resume and --continue-from exclude each other")
    if args.budget_minutes is not None and (args.budget_minutes <= 0 or args.stop_at is not None):
        raise ConfigError("--budget-minutes must be positive and excludes --stop-at")
    if args.checkpoint_minutes is not None and args.checkpoint_minutes <= 0:
        raise ConfigError("--checkpoint-minutes must be positive")
    overrides = _overrides(args)
    cfg, state = _resumed(args, overrides) if args.resume else (None, None)
    if state is None:
        cfg = load_config(args.config, overrides)
        if (Path(cfg.out) / CKPT_NAME).exists():
            raise ConfigError(f"{cfg.out} already holds a run; pass --resume to continue it or choose another --out")
        if args.continue_from is not None:
            state, why = load_continuation(args.continue_from, cfg)
            print(why if state is not None else f"starting fresh: {why}", file=sys.stderr)
    if not cfg.data:
        raise ConfigError("no dataset pack: set data in the config or pass --data")
    return cfg, state


def main(argv: list[str] | None = None, started: float | None = None) -> Trainer:
    """The CLI; ``started`` (``time.monotonic()``) is when --budget-minutes counts from: the process start when
    run as a script, else this call."""
    started = time.monotonic() if started is None else started
    args = build_parser().parse_args(argv)
    try:
        cfg, state = resolve(args)
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
