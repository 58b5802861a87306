"""Export of a real (tiny) training run to the served format, and its round trip through load_checkpoint."""
from __future__ import annotations

import json

import pytest
import torch

from ganmut.align import FER2013_TEMPLATE
from ganmut.checkpoint import load_checkpoint
from training.export import main as export_main
from training.export import training_model
from training.train import main as train_main
from tests.helpers import write_tiny_config



@pytest.fixture(scope="module")
def runs(fer_pack, tmp_path_factory) -> dict:
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("runs")
    cfg = root / "tiny.toml"
    write_tiny_config(cfg, optim={"batch_size": 8, "iters": 12, "n_critic": 1, "decay_iters": 4, "ema_decay": 0.9},
                      loss={"adversarial": "logistic", "penalty": "r1"})
    out = {}
    for kind in ("linear", "gaussian", "stargan"):
        train_main(["--config", str(cfg), "--data", str(fer_pack), "--out", str(root / kind), "--set", f'kind="{kind}"', "--no-progress",
                    "--export", str(root / f"{kind}.safetensors")])
        out[kind] = root / kind
    return out


@pytest.mark.slow
def test_train_export_flag_writes_a_served_checkpoint(runs):
    for kind, run in runs.items():
        model = load_checkpoint(run.parent / f"{kind}.safetensors")
        assert model.parametrization == kind and model.meta["training"]["iterations"] > 0


@torch.no_grad()
def _outputs(gen, space, seed: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(3, 1, 32, 32, generator=g) * 2 - 1
    z = space.anchors()[[0, 2, 5]] * 0.8
    return gen(x, z), z


@pytest.mark.parametrize("kind", ["linear", "gaussian", "stargan"])
def test_export_round_trips_the_ema_generator(kind, runs, tmp_path, capsys):
    report = tmp_path / "eval.json"
    report.write_text(json.dumps({"target_accuracy": 0.5}))
    dest = tmp_path / f"{kind}.safetensors"
    assert export_main([str(runs[kind]), "-o", str(dest), "--eval-report", str(report)]) == 0
    assert "max |output difference|" in capsys.readouterr().out
    model = load_checkpoint(dest)
    gen, space, state = training_model(runs[kind])
    assert state["exported_ema"] and model.parametrization == kind
    ref, z = _outputs(gen, space)
    got, _ = _outputs(model.generator, model.space)
    assert torch.allclose(model.space.anchors(), space.anchors(), atol=2e-3)  # fp16 space parameters
    assert (ref - got).abs().max() < 2e-2  # fp16 weights, outputs in [-1, 1]
    meta = model.meta
    assert meta["template"] == FER2013_TEMPLATE.tolist()
    assert meta["evaluation"] == {"target_accuracy": 0.5}
    t = meta["training"]
    assert (t["iterations"], t["g_steps"], t["ema"], t["kind"]) == (12, 12, True, kind)
    assert t["data"]["counts"]["disgust"] == 10 and t["config"]["optim"]["batch_size"] == 8
    assert t["wall_time_s"] > 0 and t["device"] == "cpu"


def test_no_ema_exports_the_live_generator(runs, tmp_path):
    dest = tmp_path / "live.safetensors"
    assert export_main([str(runs["linear"] / "checkpoint.pt"), "-o", str(dest), "--no-ema", "--dtype", "fp32"]) == 0
    model = load_checkpoint(dest)
    live, live_space, _ = training_model(runs["linear"], ema=False)
    ema, _, _ = training_model(runs["linear"])
    got, _ = _outputs(model.generator, model.space)
    assert torch.allclose(got, _outputs(live, live_space)[0], atol=1e-6)
    assert not torch.allclose(got, _outputs(ema, live_space)[0], atol=1e-4)
    assert model.meta["training"]["ema"] is False


def test_export_bad_input_exits_2(runs, tmp_path, capsys):
    assert export_main([str(tmp_path / "nothing"), "-o", str(tmp_path / "x.safetensors")]) == 2
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2]")
    assert export_main([str(runs["linear"]), "-o", str(tmp_path / "x.safetensors"), "--eval-report", str(bad)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and all(line.startswith("error: ") for line in err)
    assert not (tmp_path / "x.safetensors").exists()


def test_header_length_ending_in_0x80_is_not_taken_for_a_pickle(runs, tmp_path):
    """Regression: the pickle sniffing of ganmut.checkpoint rejected valid files whose header length's low byte is 0x80."""
    src = tmp_path / "src.safetensors"
    assert export_main([str(runs["stargan"]), "-o", str(src)]) == 0
    raw = src.read_bytes()
    n = int.from_bytes(raw[:8], "little")
    padded = n + (0x80 - n) % 256  # JSON header padded with spaces, as safetensors itself does for alignment
    dest = tmp_path / "x80.safetensors"
    dest.write_bytes(padded.to_bytes(8, "little") + raw[8:8 + n] + b" " * (padded - n) + raw[8 + n:])
    assert dest.read_bytes()[0] == 0x80
    model = load_checkpoint(dest)
    assert model.parametrization == "stargan"
