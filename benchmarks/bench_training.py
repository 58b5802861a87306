"""Training throughput of a config: warm-up, then timed iterations of the real training step.

    python -m benchmarks.bench_training --config configs/ganmut-linear.toml [--data PACK] [--modes eager,compile]
    python -m benchmarks.bench_training --config configs/ganmut-linear.toml --threads 1 --concurrent 2

Prints one JSON object: per mode, images/s (real images consumed per second), iterations/s and G
steps/s, with the device, batch and the step counts. Without ``--data`` the images are random
uint8 of the pack's size (48 px, FER2013's): throughput does not depend on their content.
``--concurrent N`` runs N such processes at once (as ``training.session`` trains its models) and
prints each one's figures and their total.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time

import numpy as np
import torch

from training.config import ConfigError, load_config, merge, parse_override
from training.data import DeviceData
from training.pack import Pack, PackError, load_pack
from training.trainer import Trainer


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def measure(cfg, data: DeviceData, device: torch.device, compile: bool, warmup: int, steps: int) -> dict:
    trainer = Trainer(cfg, data, device, compile=compile)
    t0 = time.perf_counter()
    for _ in range(warmup):
        trainer.step()
    _sync(device)
    t1 = time.perf_counter()
    g0 = trainer.g_steps
    for _ in range(steps):
        trainer.step()
    _sync(device)
    dt = time.perf_counter() - t1
    return {
        "images_per_s": round(steps * cfg.optim.batch_size / dt, 1),
        "iterations_per_s": round(steps / dt, 2),
        "g_steps_per_s": round((trainer.g_steps - g0) / dt, 2),
        "warmup_s": round(t1 - t0, 1),
        "timed_s": round(dt, 2),
        "peak_gpu_mem_gb": round(torch.cuda.max_memory_allocated(device) / 1e9, 2) if device.type == "cuda" else None,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.bench_training", description=__doc__.split("\n\n")[0])
    p.add_argument("--config", required=True, help="training config (configs/*.toml)")
    p.add_argument("--data", help="dataset pack; default: random uint8 images at 48 px")
    p.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE", help="config override, repeatable")
    p.add_argument("--batch-size", type=int, help="override optim.batch_size")
    p.add_argument("--modes", default="eager", help="comma-separated: eager, compile (default eager)")
    p.add_argument("--warmup", type=int, default=20, help="untimed iterations first (compilation happens here)")
    p.add_argument("--steps", type=int, default=50, help="timed iterations")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    p.add_argument("--threads", type=int, help="torch CPU threads")
    p.add_argument("--concurrent", type=int, default=1, metavar="N", help="run N processes at once (default 1)")
    args = p.parse_args(argv)
    if args.concurrent > 1:
        rest = list(argv if argv is not None else sys.argv[1:])
        i = rest.index("--concurrent")
        return concurrent(args.concurrent, rest[:i] + rest[i + 2:])
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(("cuda" if torch.cuda.is_available() else "cpu") if args.device == "auto" else args.device)
    try:
        overrides: dict = {"data": "-"}
        for text in args.set:
            merge(overrides, parse_override(text))
        if args.batch_size:
            merge(overrides, {"optim": {"batch_size": args.batch_size}})
        cfg = load_config(args.config, overrides)
        if args.data:
            pack = load_pack(args.data)
        else:
            rng = np.random.default_rng(0)
            pack = Pack(rng.integers(0, 256, (4096, 1, 48, 48), dtype=np.uint8), rng.integers(0, 7, 4096), {})
    except (ConfigError, PackError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = True
    data = DeviceData(pack, device)
    result = {
        "config": args.config,
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or "cpu",
        "cpu_threads": torch.get_num_threads(),
        "nproc": os.cpu_count(),
        "torch": torch.__version__,
        "kind": cfg.kind,
        "image_size": cfg.generator_config().image_size,
        "batch_size": cfg.optim.batch_size,
        "n_critic": cfg.optim.n_critic,
        "loss": f"{cfg.loss.adversarial}+{cfg.loss.penalty}",
        "warmup": args.warmup,
        "steps": args.steps,
    }
    for mode in args.modes.split(","):
        if mode not in ("eager", "compile"):
            print(f"error: unknown mode {mode!r} (eager, compile)", file=sys.stderr)
            return 2
        result[mode] = measure(cfg, data, device, mode == "compile", args.warmup, args.steps)
    print(json.dumps(result, indent=1))
    return 0


def concurrent(n: int, argv: list[str]) -> int:
    """Run ``n`` copies of this benchmark at once; print their results and the summed images/s."""
    env = dict(os.environ, OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "1"))
    procs = [subprocess.Popen([sys.executable, "-m", "benchmarks.bench_training", *argv], stdout=subprocess.PIPE, env=env, text=True)
             for _ in range(n)]
    results = [json.loads(p.communicate()[0]) for p in procs]
    if any(p.returncode for p in procs):
        print("error: a benchmark process failed", file=sys.stderr)
        return 2
    modes = [m for m in ("eager", "compile") if m in results[0]]
    total = {m: round(sum(r[m]["images_per_s"] for r in results), 1) for m in modes}
    print(json.dumps({"processes": n, "total_images_per_s": total, "each": results}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
