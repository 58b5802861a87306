"""Continuing a served model across GPU sessions, and the schedule fitted to a time budget.

The continuation state (training/states.py) keeps the discriminator in fp16 and the counters;
the served file supplies the EMA generator and space. A continued run must follow exactly the
trajectory of an uninterrupted run to which the documented reductions are applied in memory: live
G and space replaced by their EMA (G rounded to fp16 as served), D rounded to fp16, optimiser
moments reset, RNG reseeded from the iteration.
"""
from __future__ import annotations

import pytest
import torch

from training import budget as budget_module
from training.states import continuation_path, load_continuation
from training.config import load_config
from training.train import RunOptions, main, train
from tests.helpers import write_tiny_config

FIRST, TOTAL = 8, 16


@pytest.fixture
def tiny(tmp_path):
    return write_tiny_config(tmp_path / "tiny.toml", kind="gaussian",
                             optim={"batch_size": 8, "iters": FIRST, "n_critic": 1, "decay_iters": 0, "ema_decay": 0.9},
                             loss={"adversarial": "logistic", "penalty": "r1"}, log={"log_every": 4, "ckpt_every": 100})


def _reduced(state: dict) -> dict:
    """The documented reductions of a full training state, done in memory."""
    ema_g = {k: v.half().float() for k, v in state["ema_G"].items()}
    return dict(state, G=ema_g, ema_G=ema_g, space=state["ema_space"], D={k: v.half().float() for k, v in state["D"].items()},
                opt_g=None, opt_d=None, gen_states=None)


def _params(trainer) -> dict[str, torch.Tensor]:
    s = trainer.state_dict()
    return {f"{part}.{k}": v for part in ("G", "D", "space", "ema_G", "ema_space") for k, v in s[part].items()}


@pytest.mark.slow
def test_continuing_from_the_committed_state_follows_the_reduced_trajectory(tiny, fer_pack, tmp_path, capsys):
    served = tmp_path / "weights" / "ganmut-gaussian.safetensors"
    first = main(["--config", str(tiny), "--data", str(fer_pack), "--out", str(tmp_path / "a"), "--no-progress", "--export", str(served)])
    assert continuation_path(served).is_file() and first.iter == FIRST
    continued = main(["--config", str(tiny), "--data", str(fer_pack), "--out", str(tmp_path / "b"), "--no-progress",
                      "--continue-from", str(served), "--iters", str(TOTAL)])
    assert f"continuing ganmut-gaussian.safetensors from iteration {FIRST}" in capsys.readouterr().err

    cfg = load_config(tiny, {"data": str(fer_pack), "out": str(tmp_path / "c"), "optim": {"iters": TOTAL}})
    reference = train(cfg, RunOptions(progress=False), _reduced(first.state_dict()))

    a, b = _params(continued), _params(reference)
    assert a.keys() == b.keys()
    different = [k for k in a if not torch.equal(a[k], b[k])]
    assert not different, f"continuation differs in {different[:5]}"
    assert continued.iter == TOTAL and continued.images_seen == TOTAL * 8
    assert [h["iterations"] for h in continued.history] == [FIRST, TOTAL - FIRST]
    # and it moved on from the served state
    assert not torch.equal(a["G.head.weight"], first.state_dict()["ema_G"]["head.weight"].half().float())


def test_a_changed_architecture_starts_fresh_and_says_why(tiny, fer_pack, tmp_path, capsys):
    served = tmp_path / "w" / "m.safetensors"
    main(["--config", str(tiny), "--data", str(fer_pack), "--out", str(tmp_path / "a"), "--no-progress", "--export", str(served)])
    wider = load_config(tiny, {"generator": {"conv_dim": 16}})
    state, why = load_continuation(served, wider)
    assert state is None and "generator architecture changed" in why
    other = load_config(tiny, {"kind": "linear"})
    assert load_continuation(served, other)[0] is None
    assert "no served checkpoint" in load_continuation(tmp_path / "none.safetensors", wider)[1]
    continuation_path(served).write_bytes(b"\x00" * 64)  # a corrupt state is not fatal either
    state, why = load_continuation(served, load_config(tiny))
    assert state is None and "unreadable continuation state" in why


class _Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


class _Stub:
    device = torch.device("cpu")
    iter = 100


def test_budget_probes_then_fits_the_schedule_into_the_budget(monkeypatch):
    clock = _Clock()
    monkeypatch.setattr(budget_module.time, "monotonic", clock)
    cfg = load_config(None, {"optim": {"iters": 5, "decay_iters": 2}})
    trainer = _Stub()
    budget = budget_module.Budget(trainer, cfg, 0.0, end_time=120.0, probe_seconds=20)
    assert cfg.optim.iters > 10**8 and cfg.optim.decay_iters == 0  # full learning rate while probing
    for _ in range(budget_module.PROBE_WARMUP):  # warm-up iterations are not timed; the probe starts after them
        trainer.iter += 1
        clock.t += 1.0
        assert not budget.observe()
    for _ in range(80):  # 80 iterations in 20 s: 4 iterations/s
        trainer.iter += 1
        clock.t += 0.25
        fixed = budget.observe()
    assert fixed and budget.rate == pytest.approx(4.0)
    planned = int(4.0 * (120 - 30) * budget_module.BUDGET_SAFETY)
    assert cfg.optim.iters == 100 + 90 + planned
    assert cfg.optim.decay_iters == (90 + planned) // 2
    assert "measured 4.00 iterations/s" in budget.describe()
    assert not budget.observe()  # fixed, until REPLAN_AT of the budget (48 s)
    for _ in range(36):  # 36 iterations in 18 s: slower now that the other runs have started, 2 iterations/s
        trainer.iter += 1
        clock.t += 0.5
        replanned = budget.observe()
    assert replanned and budget.rate_again == pytest.approx(2.0)
    assert cfg.optim.iters == 226 + int(2.0 * (120 - 48) * budget_module.BUDGET_SAFETY)
    assert cfg.optim.decay_iters == (90 + planned) // 2  # the decay keeps its length
    assert "measured 4.00 iterations/s, then 2.00" in budget.describe()
    assert not budget.observe()  # once


@pytest.mark.slow
def test_budgeted_run_ends_inside_its_budget(tiny, fer_pack, tmp_path, capsys):
    t = main(["--config", str(tiny), "--data", str(fer_pack), "--out", str(tmp_path / "b"), "--no-progress",
              "--budget-minutes", "0.25"])
    assert t.summary["session_s"] < 0.25 * 60 + 5
    assert "budget: measured" in capsys.readouterr().err
    assert t.iter > budget_module.PROBE_WARMUP and t.cfg.optim.decay_iters > 0
