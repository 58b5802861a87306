"""Training: configs, discriminator, real training steps on real FER2013 faces, exact resume, bad input."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from ganmut.spaces import make_space
from training.config import ConfigError, DiscriminatorConfig, load_config, parse_override
from training.discriminator import Discriminator
from training.states import CKPT_NAME, load_training_checkpoint
from training.train import main
from training.trainer import _lr_factor
from tests.helpers import write_tiny_config

ROOT = Path(__file__).resolve().parents[2]



@pytest.fixture(autouse=True)
def one_thread():
    """2 shared cores: one intra-op thread is several times faster than two here, and deterministic."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture
def tiny(tmp_path) -> Path:
    return write_tiny_config(tmp_path / "tiny.toml", optim={"batch_size": 8, "iters": 24, "n_critic": 2, "decay_iters": 12},
                             log={"log_every": 6, "sample_every": 12, "ckpt_every": 12})


def run(config: Path, pack: Path, out: Path, *extra: str):
    return main(["--config", str(config), "--data", str(pack), "--out", str(out), "--no-progress", *extra])


# --------------------------------------------------------------------------- configs
@pytest.mark.parametrize("name", ["ganmut-linear", "ganmut-gaussian", "stargan", "paper-128"])
def test_shipped_configs_load(name):
    cfg = load_config(ROOT / "configs" / f"{name}.toml")
    g = cfg.generator_config()
    if name == "paper-128":
        assert (g.image_size, g.upsample, g.output, cfg.optim.batch_size, cfg.optim.n_critic) == (128, "transposed", "direct", 16, 5)
        assert (cfg.loss.adversarial, cfg.loss.penalty, cfg.loss.lambda_gp, cfg.n_c) == ("wgan", "gp", 10, 9)
    elif name == "stargan":
        assert (g.image_size, g.channels, g.upsample, g.output) == (64, 1, "resize", "direct")
    else:  # the served CPU recipes: FER2013's 48 px, a residual output, guided by a classifier that is not the judge,
        # with the identity term
        assert (g.image_size, g.channels, g.upsample, g.output, cfg.optim.bf16) == (48, 1, "resize", "residual", True)
        assert (cfg.loss.lambda_id, cfg.loss.id_fraction) == (5.0, 0.25)
        assert cfg.optim.ema_decay > 0 and cfg.kind == name.replace("ganmut-", "")
        assert (ROOT / cfg.guide.classifier).is_file() and Path(cfg.guide.classifier).name != "fer-classifier.safetensors"
    if cfg.kind == "gaussian":
        assert cfg.loss.lambda_cls == 1.0 and cfg.n_c == 14  # (the paper's 0.5 taught the edits slower here)
    if name.startswith("ganmut-"):  # their origin is taught to read neutral more firmly
        assert (cfg.loss.neutral_weight, cfg.loss.lambda_neutral_id) == (3.0, 1.0)  # (what that costs in identity)
        assert cfg.loss.lambda_texture == {"linear": 0.0, "gaussian": 10.0}[cfg.kind]  # (the Gaussian's grid)
        assert cfg.loss.div_modes is (cfg.kind != "gaussian") and cfg.loss.id_neutral_anchor is (cfg.kind == "gaussian")


def test_kind_defaults_follow_the_paper():
    lin = load_config(None, {"kind": "linear"})
    gau = load_config(None, {"kind": "gaussian"})
    assert (lin.loss.lambda_cls, lin.n_c, lin.sampling.noise_std) == (1.0, 9, 0.1)
    assert (gau.loss.lambda_cls, gau.n_c) == (0.5, 7)
    assert (lin.loss.lambda_gp, lin.loss.lambda_info, lin.loss.lambda_rho, lin.loss.lambda_div, lin.loss.lambda_rec) == (10, 1, 4, 2, 10)
    assert (lin.optim.lr_g, lin.optim.beta1, lin.optim.beta2, lin.optim.n_critic) == (1e-4, 0.5, 0.999, 5)


def test_config_errors(tmp_path):
    with pytest.raises(ConfigError, match="loss.lamda_rho"):
        load_config(None, {"loss": {"lamda_rho": 2}})
    with pytest.raises(ConfigError, match="batch_size must be int"):
        load_config(None, {"optim": {"batch_size": "8"}})
    with pytest.raises(ConfigError, match="kind must be one of"):
        load_config(None, {"kind": "polar"})
    with pytest.raises(ConfigError, match="upsample"):
        load_config(None, {"generator": {"upsample": "pixelshuffle"}})
    bad = tmp_path / "bad.toml"
    bad.write_text("kind = \n")
    with pytest.raises(ConfigError, match="not a valid TOML"):
        load_config(bad)
    assert parse_override("loss.lambda_rho=2.5") == {"loss": {"lambda_rho": 2.5}}
    assert parse_override("kind=gaussian") == {"kind": "gaussian"}


def test_lr_decays_linearly_over_the_last_iterations():
    assert [_lr_factor(i, 100, 40) for i in (0, 60, 80, 99, 100)] == [1.0, 1.0, 0.5, pytest.approx(1 / 40), 0.0]
    assert _lr_factor(99, 100, 0) == 1.0


# --------------------------------------------------------------------------- discriminator
def test_discriminator_heads_and_size():
    d = Discriminator(128, 3, 2)
    assert sum(p.numel() for p in d.parameters()) == pytest.approx(44.8e6, rel=0.01)  # the official D
    out = Discriminator(64, 1, 2, DiscriminatorConfig(conv_dim=8))(torch.randn(3, 1, 64, 64))
    assert out.src.shape == (3, 1, 2, 2) and out.cls.shape == (3, 7) and out.coor.shape == (3, 2)
    out = Discriminator(48, 1, 0, DiscriminatorConfig(conv_dim=8, norm="spectral"))(torch.randn(2, 1, 48, 48))
    assert out.src.shape == (2, 1, 3, 3) and out.cls.shape == (2, 7) and out.coor is None


def test_discriminator_scores_do_not_depend_on_the_batch():
    d = Discriminator(32, 1, 2, DiscriminatorConfig(conv_dim=8))
    x = torch.randn(4, 1, 32, 32)
    assert torch.allclose(d(x).cls[:2], d(x[:2]).cls, atol=1e-6)


# --------------------------------------------------------------------------- training
@pytest.mark.slow
@pytest.mark.parametrize("kind", ["linear", "gaussian", "stargan"])
def test_each_kind_trains_on_real_faces(kind, tiny, fer_pack, tmp_path, capsys):
    out = tmp_path / kind
    t = run(tiny, fer_pack, out, "--set", f'kind="{kind}"')
    s = t.summary
    assert s["iterations"] == 24 and s["g_steps"] == 12
    stats = s["last_stats"]
    expected = {"d/adv", "d/cls", "d/gp", "g/adv", "g/cls", "g/rec"} | ({"d/info", "g/info"} if kind != "stargan" else set())
    expected |= {"linear": {"g/rho"}, "gaussian": {"g/div"}, "stargan": set()}[kind]
    assert expected <= set(stats) and all(math.isfinite(v) for v in stats.values())
    assert "done: 24 iterations (12 G steps)" in capsys.readouterr().out
    assert (out / CKPT_NAME).is_file() and (out / "samples" / "iter-0000024.png").is_file()
    assert load_config(out / "config.toml").to_dict() == t.cfg.to_dict()  # the run's config, re-loadable
    torch.manual_seed(0)  # the trainer initialises the space right after seeding with cfg.seed
    initial = make_space(kind)
    for (name, before), after in zip(initial.named_parameters(), t.space.parameters()):
        assert not torch.allclose(before, after.cpu()), f"space parameter {name} did not move"
        assert after.grad is not None and after.grad.abs().sum() > 0
    if kind == "linear":  # weights start at ~1e-4 (paper), so Adam turns the unit directions quickly
        cos = (initial.directions() * t.space.directions().detach()).sum(1)
        assert cos.min() < math.cos(math.radians(10))


def test_served_recipe_logistic_r1_one_critic_step(tiny, fer_pack, tmp_path):
    t = run(tiny, fer_pack, tmp_path / "r1", "--iters", "12", "--set", 'loss.adversarial="logistic"', "--set", "log.tensorboard=true",
            "--set", 'loss.penalty="r1"', "--set", "optim.n_critic=1", "--set", "generator.upsample=\"transposed\"",
            "--set", "loss.lambda_mask=0.1", "--set", 'generator.output="attention"')
    assert list((tmp_path / "r1" / "tb").glob("events.out.tfevents.*"))
    stats = t.summary["last_stats"]
    assert t.summary["g_steps"] == 12 and "d/r1" in stats and "d/gp" not in stats
    assert 0 < stats["g/mask_mean"] < 1 and stats["g/mask"] == pytest.approx(0.1 * 2 * stats["g/mask_mean"], rel=0.2)
    assert all(math.isfinite(v) for v in stats.values())
    ema, live = dict(t.ema_G.named_parameters()), dict(t.G.named_parameters())
    assert any(not torch.equal(ema[k], live[k]) for k in live)  # the EMA lags G


def _tensors(state: dict) -> list[tuple[str, torch.Tensor]]:
    out = []

    def walk(prefix, v):
        if torch.is_tensor(v):
            out.append((prefix, v))
        elif isinstance(v, dict):
            for k, w in v.items():
                walk(f"{prefix}.{k}", w)
        elif isinstance(v, list):
            for i, w in enumerate(v):
                walk(f"{prefix}[{i}]", w)

    walk("", {k: state[k] for k in ("G", "D", "space", "ema_G", "ema_space", "opt_g", "opt_d", "gen_states")})
    return out


@pytest.mark.slow
def test_resume_continues_bit_for_bit(tiny, fer_pack, tmp_path):
    extra = ["--set", "loss.penalty_every=2"]  # lazy GP: the resumed run must land on the same steps
    whole = run(tiny, fer_pack, tmp_path / "whole", *extra)
    first = run(tiny, fer_pack, tmp_path / "split", "--stop-at", "13", *extra)
    assert first.iter == 13 and load_training_checkpoint(tmp_path / "split")["iter"] == 13
    resumed = main(["--out", str(tmp_path / "split"), "--resume", "--no-progress"])
    assert resumed.iter == whole.iter == 24 and resumed.g_steps == whole.g_steps
    a, b = _tensors(whole.state_dict()), _tensors(resumed.state_dict())
    assert [k for k, _ in a] == [k for k, _ in b] and len(a) > 100
    different = [k for (k, x), (_, y) in zip(a, b) if not torch.equal(x, y)]
    assert not different, f"resume differs in {different[:5]}"
    # and the run really moved: the uninterrupted result differs from the state at iteration 13
    assert not torch.equal(whole.G.state_dict()["head.weight"], first.G.state_dict()["head.weight"])


def test_max_minutes_ends_cleanly_with_a_checkpoint(tiny, fer_pack, tmp_path):
    t = run(tiny, fer_pack, tmp_path / "timed", "--max-minutes", "0")
    assert t.iter == 10  # the clock is checked every 10 iterations
    assert load_training_checkpoint(tmp_path / "timed" / CKPT_NAME)["iter"] == 10


# --------------------------------------------------------------------------- bad input
def _exit2(argv, capsys) -> str:
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err and "Traceback" not in err
    return err


def test_bad_input_exits_2_with_one_line(tiny, fer_pack, tmp_path, capsys):
    base = ["--config", str(tiny), "--out", str(tmp_path / "x"), "--no-progress"]
    assert "not found" in _exit2(base + ["--data", str(tmp_path / "missing.npz")], capsys)
    corrupt = tmp_path / "corrupt.npz"
    corrupt.write_bytes(b"PK\x03\x04 not really a zip")
    assert "not a valid dataset pack" in _exit2(base + ["--data", str(corrupt)], capsys)
    assert "unknown setting 'optim.batchsize'" in _exit2(base + ["--data", str(fer_pack), "--set", "optim.batchsize=4"], capsys)
    assert "config file not found" in _exit2(["--config", str(tmp_path / "nope.toml"), "--data", str(fer_pack)], capsys)
    assert "no dataset pack" in _exit2(base, capsys)
    run(tiny, fer_pack, tmp_path / "done", "--iters", "2")
    assert "already holds a run" in _exit2(["--config", str(tiny), "--data", str(fer_pack), "--out", str(tmp_path / "done")], capsys)
    assert "not a GANmut training checkpoint" in _exit2(_corrupt_run(tmp_path) + ["--resume", "--no-progress"], capsys)


def _corrupt_run(tmp_path: Path) -> list[str]:
    run_dir = tmp_path / "corrupt-run"
    run_dir.mkdir()
    torch.save({"weights": np.zeros(2).tolist()}, run_dir / CKPT_NAME)
    return ["--out", str(run_dir)]


def test_divergence_stops_without_overwriting_the_checkpoint(tiny, fer_pack, tmp_path, capsys):
    out = tmp_path / "nan"
    run(tiny, fer_pack, out, "--stop-at", "6")
    with pytest.raises(SystemExit) as e:
        run(tiny, fer_pack, out, "--resume", "--set", "optim.lr_d=1e38", "--set", "optim.lr_g=1e38")
    assert e.value.code == 1
    assert "non-finite losses at iteration 12" in capsys.readouterr().err
    assert load_training_checkpoint(out)["iter"] == 6


def test_logging_degrades_without_tensorboard(tmp_path, monkeypatch, capsys):
    import sys

    from training.train import Logger

    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)  # import fails
    logger = Logger(tmp_path, enabled=True)
    logger.scalars({"d/adv": 1.0}, 1)
    logger.close()
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "tensorboard is not installed" in err


def test_generator_returns_its_attention_mask():
    from ganmut.generator import Generator, GeneratorConfig

    torch.manual_seed(0)
    x, z = torch.rand(2, 1, 32, 32) * 2 - 1, torch.randn(2, 2)
    g = Generator(GeneratorConfig(image_size=32, conv_dim=8, n_res=1, output="attention"))
    out, mask = g(x, z, return_aux=True)
    assert torch.equal(out, g(x, z)) and mask.shape == (2, 1, 32, 32) and 0 < mask.min() <= mask.max() < 1
    direct = Generator(GeneratorConfig(image_size=32, conv_dim=8, n_res=1, output="direct"))
    assert direct(x, z, return_aux=True)[1] is None


@pytest.mark.slow
def test_identity_term_keeps_each_face_at_its_own_code(tiny, fer_pack, tmp_path):
    """``loss.lambda_id`` teaches G(x, c(x)) = x, c(x) the code D reads on the real face x (the cycle's
    code): the same run with the term changes the pack's faces less at their own codes than without it."""
    from ganmut.images import to_model_input
    from training.pack import load_pack

    x = to_model_input(load_pack(fer_pack).images, 32, 1, "cpu")

    def train(lambda_id: float):
        return run(tiny, fer_pack, tmp_path / f"id{lambda_id}", "--set", f"loss.lambda_id={lambda_id}", "--set", "loss.id_fraction=1.0",
                   "--set", "loss.lambda_rec=0",  # (no cycle loss: the term alone pulls G towards x)
                   "--set", 'generator.output="residual"', "--set", "optim.n_critic=1", "--set", "optim.lr_g=1e-3", "--iters", "12")

    plain, with_id = train(0.0), train(10.0)
    assert "g/id" not in plain.summary["last_stats"] and with_id.summary["last_stats"]["g/id"] > 0
    with torch.no_grad():
        own = with_id.D(x).coor  # the same codes for both generators
        change = [float((t.G(x, own).float() - x).abs().mean()) for t in (plain, with_id)]
    assert change[1] < 0.6 * change[0], change  # (same seed and data: only the term differs)
    for bad in ({"lambda_id": -1.0}, {"id_fraction": 0.0}):
        with pytest.raises(ConfigError, match="lambda_id"):
            load_config(None, {"loss": bad})


def test_neutral_weight_scales_the_neutral_targets_of_g_classification(tiny, fer_pack, tmp_path):
    """``loss.neutral_weight`` reaches G's classification loss: on the same first iteration (same seed, so the
    same codes, fakes and D), weight 0 drops the neutral targets' terms and weight 3 triples them."""
    def first_cls(weight: float) -> float:
        t = run(tiny, fer_pack, tmp_path / f"nw{weight}", "--set", f"loss.neutral_weight={weight}", "--set", "optim.n_critic=1",
                "--iters", "1")
        return t.summary["last_stats"]["g/cls"]

    none, plain, triple = first_cls(0.0), first_cls(1.0), first_cls(3.0)
    assert none < plain < triple  # S_c of the tiny run has neutral and non-neutral targets
    assert triple - plain == pytest.approx(2 * (plain - none), rel=1e-3)  # the loss is linear in the weight
    with pytest.raises(ConfigError, match="neutral_weight"):
        load_config(None, {"loss": {"neutral_weight": -1.0}})


@pytest.mark.parametrize("option, key", [("lambda_neutral_id", "nid"), ("lambda_texture", "tex"), ("lambda_template", "tmpl")])
def test_g_term_is_linear_in_its_weight(tiny, fer_pack, tmp_path, option, key):
    """``loss.lambda_neutral_id`` (lambda * E|G(x, c) - x| over S_c's neutral targets), ``loss.lambda_texture``
    (lambda * E|h - box3(h)| of every fake's change h) and ``loss.lambda_template`` (lambda * |E_x h| at the neutral
    anchor) add their term to G's loss: absent at 0, and on the same first iteration (same seed, codes and
    fakes) linear in lambda; a negative weight is refused."""
    def first(weight: float) -> dict:
        t = run(tiny, fer_pack, tmp_path / f"{key}{weight}", "--set", f"loss.{option}={weight}", "--set", "optim.n_critic=1",
                "--iters", "1")
        return t.summary["last_stats"]

    assert f"g/{key}" not in first(0.0)
    one, three = first(1.0)[f"g/{key}"], first(3.0)[f"g/{key}"]
    assert one > 0 and three == pytest.approx(3 * one, rel=1e-3)
    with pytest.raises(ConfigError, match=option):
        load_config(None, {"loss": {option: -1.0}})


def test_identity_at_the_neutral_anchor_trains(tiny, fer_pack, tmp_path):
    """``loss.id_neutral_anchor`` (the codes are tested in test_recipes): a real training step with it keeps
    the identity term, and the option is a boolean."""
    t = run(tiny, fer_pack, tmp_path / "ida", "--set", "loss.id_neutral_anchor=true", "--set", "loss.lambda_id=5", "--iters", "2")
    assert t.cfg.loss.id_neutral_anchor is True and t.summary["last_stats"]["g/id"] > 0
    with pytest.raises(ConfigError, match="id_neutral_anchor"):
        load_config(None, {"loss": {"id_neutral_anchor": "yes"}})
