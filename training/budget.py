"""A training schedule fitted to a wall-clock budget (``python -m training.train --budget-minutes M``)."""
from __future__ import annotations

import time

import torch

from .config import TrainConfig
from .trainer import Trainer

PROBE_WARMUP = 10
"""Iterations left out of the throughput probe (cuDNN autotuning and compilation happen there)."""
BUDGET_SAFETY = 0.97
"""Share of the measured remaining capacity a budgeted schedule plans for."""
REPLAN_AT = 0.4
"""Share of the budget after which a budgeted schedule is measured and fitted once more."""


class Budget:
    """A schedule fitted to a wall-clock budget: train at full learning rate while measuring the speed
    (after ``PROBE_WARMUP`` iterations, for ``probe_seconds``, at most a quarter of the budget), then set
    ``optim.iters`` so that the run ends inside the budget, with the linear decay over its second half.
    At ``REPLAN_AT`` of the budget the speed since the probe is measured and ``optim.iters`` fitted once
    more (runs that start together probe while the others are still starting up); the decay keeps its
    length, so the learning rate does not jump while it is still constant."""

    def __init__(self, trainer: Trainer, cfg: TrainConfig, t0: float, end_time: float, probe_seconds: float) -> None:
        self.trainer, self.cfg, self.start_iter = trainer, cfg, trainer.iter
        self.end_time = end_time
        self.probe_s = min(probe_seconds, max(0.0, self.end_time - t0) / 4)
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
