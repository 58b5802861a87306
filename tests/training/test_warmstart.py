"""A run of one space started from a model trained in another (training/warmstart.py): real tiny
training runs on real FER2013 faces, warm-started and trained on."""
from __future__ import annotations

import pytest
import torch

from ganmut.emotions import N_EMOTIONS, NEUTRAL
from ganmut.geometry import MODE_LIMIT
from ganmut.spaces import make_space
from training.export import training_model
from training.states import load_training_checkpoint
from training.train import main as train_main
from training.warmstart import main, warm_start
from training.config import ConfigError
from tests.helpers import write_tiny_config

ITERS = 6


@pytest.fixture(scope="module")
def runs(fer_pack, tmp_path_factory):
    """A tiny linear run and a tiny Gaussian run with the same networks, ITERS iterations each."""
    tmp = tmp_path_factory.mktemp("warm")
    out = {}
    for kind in ("linear", "gaussian"):
        cfg = write_tiny_config(tmp / f"{kind}.toml", kind=kind, optim={"batch_size": 8, "iters": ITERS, "n_critic": 1},
                                log={"log_every": 100, "ckpt_every": 100})
        train_main(["--config", str(cfg), "--data", str(fer_pack), "--out", str(tmp / kind), "--no-progress"])
        out[kind], out[f"{kind}.toml"] = tmp / kind, cfg
    return out


def test_the_modes_go_where_the_anchors_are():
    space = make_space("gaussian")
    anchors = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, -1.0], [0.5, 0.5], [-0.6, 0.8], [0.2, -0.3], [-1.0, 0.0]])
    space.place_anchors(anchors)
    assert torch.allclose(space.anchors().detach(), anchors.clamp(-MODE_LIMIT, MODE_LIMIT), atol=1e-6)
    with pytest.raises(ValueError, match=r"\[7, 2\]"):
        space.place_anchors(anchors[:6])
    with pytest.raises(ValueError, match="linear space cannot take"):
        make_space("linear").place_anchors(anchors)


@pytest.mark.slow
def test_a_warm_started_gaussian_run_edits_as_the_linear_model_then_trains_on(runs, fer_pack, tmp_path, capsys):
    out = tmp_path / "from-linear"
    assert main([str(runs["linear"]), str(runs["gaussian"]), "-o", str(out)]) == 0
    assert "a gaussian run at 6 iterations" in capsys.readouterr().out

    source, target, state = (load_training_checkpoint(p) for p in (runs["linear"], runs["gaussian"], out))
    assert state["config"] == target["config"] and state["iter"] == source["iter"] == ITERS
    for part in ("G", "ema_G", "D"):
        assert all(torch.equal(state[part][k], source[part][k]) for k in source[part])
    assert state["history"][-1]["warm_start"] == "gaussian space on the linear model's generator and discriminator at 6 iterations"
    # the covariances are the Gaussian run's, the means the linear model's anchors
    assert torch.equal(state["space"]["axes"], target["space"]["axes"])

    gen_l, space_l, _ = training_model(runs["linear"])
    gen_g, space_g, _ = training_model(out)
    assert torch.allclose(space_g.anchors(), space_l.anchors().clamp(-MODE_LIMIT, MODE_LIMIT), atol=1e-6)
    x = torch.rand(4, 1, 48, 48) * 2 - 1
    with torch.no_grad():
        at_neutral = [g(x, s.code(NEUTRAL, 1.0).expand(4, -1)) for g, s in ((gen_l, space_l), (gen_g, space_g))]
        assert torch.equal(*at_neutral)  # the same generator at the same point: the origin
        for c in range(1, N_EMOTIONS):
            a, b = (g(x, s.code(c, 1.0).expand(4, -1)) for g, s in ((gen_l, space_l), (gen_g, space_g)))
            assert (a - b).abs().max() < 0.05  # the same point but where a linear anchor leaves the square's reach

    trained = train_main(["--config", str(runs["gaussian.toml"]), "--data", str(fer_pack), "--out", str(out), "--resume",
                          "--no-progress", "--iters", str(ITERS + 3)])
    assert trained.iter == ITERS + 3 and trained.space.kind == "gaussian"
    assert not torch.equal(trained.state_dict()["G"]["head.weight"], source["G"]["head.weight"])
    assert "warm_start" in trained.history[-2] and trained.history[-1]["iterations"] == 3


def test_a_warm_start_can_start_the_modes_round_and_apart(runs, tmp_path, capsys):
    out = tmp_path / "round"
    assert main([str(runs["linear"]), str(runs["gaussian"]), "-o", str(out), "--variance", "0.1"]) == 0
    state = load_training_checkpoint(out)
    for part in ("space", "ema_space"):
        assert torch.equal(state[part]["axes"], torch.full((N_EMOTIONS, 2), 0.1))
        assert torch.equal(state[part]["angle"], torch.zeros(N_EMOTIONS))
    assert state["history"][-1]["warm_start"].endswith("the modes' covariances 0.1 I")
    _, space, _ = training_model(out)
    mix = space.distribution(space.anchors())
    assert mix.argmax(-1).tolist() == list(range(N_EMOTIONS))  # each mode is its own emotion's, none overlaps
    assert mix[NEUTRAL, NEUTRAL] > 0.95
    for bad in ("0", "-1", "nan"):
        assert main([str(runs["linear"]), str(runs["gaussian"]), "-o", str(tmp_path / bad), "--variance", bad]) == 2
        assert "variance must be a number of at least" in capsys.readouterr().err
        assert not (tmp_path / bad).exists()


def test_what_a_warm_start_refuses(runs, tmp_path, capsys):
    linear, gaussian = load_training_checkpoint(runs["linear"]), load_training_checkpoint(runs["gaussian"])
    with pytest.raises(ConfigError, match="both runs are linear models"):
        warm_start(linear, linear)
    with pytest.raises(ConfigError, match="linear space cannot take"):
        warm_start(gaussian, linear)
    wider = dict(gaussian, config={**gaussian["config"], "generator": {**gaussian["config"]["generator"], "conv_dim": 16}})
    with pytest.raises(ConfigError, match="generator architectures differ"):
        warm_start(linear, wider)
    assert main([str(runs["linear"]), str(runs["gaussian"]), "-o", str(runs["gaussian"])]) == 2
    assert "already holds a run" in capsys.readouterr().err
    assert main([str(runs["linear"]), str(tmp_path / "none"), "-o", str(tmp_path / "x")]) == 2
    assert "training checkpoint not found" in capsys.readouterr().err
