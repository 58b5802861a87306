"""Data-parallel training: the training command under torchrun with 2 CPU processes (gloo)."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from tests.helpers import write_tiny_config

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]

# Runs the real CLI (training.train.main) on each rank, then writes what the test compares.
DRIVER = """
import hashlib, sys, torch
from training.train import main

t = main(sys.argv[2:])
h = hashlib.sha256()
for module in (t.G, t.D, t.space, t.ema_G, t.ema_space):
    for v in module.state_dict().values():
        h.update(v.detach().cpu().contiguous().numpy().tobytes())
seen = hashlib.sha256(t.gen.get_state().numpy().tobytes()).hexdigest()
open(f"{sys.argv[1]}/rank{t.world.rank}.txt", "w").write(f"{h.hexdigest()} {seen} {t.iter} {t.world.size}")
"""



def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_processes_stay_in_sync(fer_pack, tmp_path):
    (tmp_path / "driver.py").write_text(DRIVER)
    write_tiny_config(tmp_path / "tiny.toml", optim={"batch_size": 4, "iters": 8, "n_critic": 2, "decay_iters": 4},
                      loss={"penalty_every": 2}, log={"log_every": 4})
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2", "--master-addr", "127.0.0.1",
           "--master-port", str(_free_port()), str(tmp_path / "driver.py"), str(tmp_path),
           "--config", str(tmp_path / "tiny.toml"), "--data", str(fer_pack), "--out", str(out), "--device", "cpu", "--no-progress"]
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    r0, r1 = ((tmp_path / f"rank{r}.txt").read_text().split() for r in (0, 1))
    assert r0[2:] == r1[2:] == ["8", "2"]
    assert r0[0] == r1[0], "parameters differ between ranks"
    assert r0[1] != r1[1], "both ranks drew the same batches"
    assert proc.stdout.count("done: 8 iterations") == 1  # rank 0 reports
    state = torch.load(out / "checkpoint.pt", weights_only=True)
    assert state["world_size"] == 2 and len(state["gen_states"]) == 2
    assert (out / "samples" / "iter-0000008.png").is_file()
