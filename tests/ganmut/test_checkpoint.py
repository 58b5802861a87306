"""Served checkpoint format: round trip, size, and refusal of bad files with clear messages."""
import json
import pickle

import pytest
import torch
from safetensors.torch import load_file, save_file

from ganmut.checkpoint import load_checkpoint, save_checkpoint
from ganmut.errors import CheckpointError
from ganmut.generator import Generator, GeneratorConfig
from ganmut.spaces import make_space

TEMPLATE = [[0.3, 0.4], [0.7, 0.4], [0.5, 0.6], [0.35, 0.78], [0.65, 0.78]]


def _save(path, kind="linear", **cfg):
    torch.manual_seed(0)
    space = make_space(kind)
    gen = Generator(GeneratorConfig(code_dim=space.dim, **cfg))
    save_checkpoint(path, gen, space, TEMPLATE, training={"iterations": 3})
    return gen, space


@pytest.mark.parametrize("kind", ["linear", "gaussian", "stargan"])
def test_round_trip(tmp_path, kind):
    path = tmp_path / "m.safetensors"
    gen, space = _save(path, kind, conv_dim=8, n_res=1, image_size=32)
    model = load_checkpoint(path)
    assert model.parametrization == kind and model.template == TEMPLATE
    assert model.meta["training"]["iterations"] == 3
    x, z = torch.rand(2, 1, 32, 32) * 2 - 1, space.anchors()[:2].detach()
    with torch.no_grad():
        assert torch.allclose(model.generator(x, z), gen(x, z.half().float()), atol=2e-2)
    assert torch.equal(model.space.anchors(), space.anchors().detach())  # space kept in fp32
    assert not model.generator.training


def test_default_served_model_is_under_20mb(tmp_path):
    path = tmp_path / "m.safetensors"
    _save(path)  # default 64-px architecture, fp16
    assert path.stat().st_size < 20e6


def test_pickle_is_refused_and_never_executed(tmp_path):
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    for name in ("evil.pt", "evil.safetensors"):
        path = tmp_path / name
        path.write_bytes(pickle.dumps({"state": Evil()}))
        with pytest.raises(CheckpointError, match="pickle"):
            load_checkpoint(path)
    torch.save({"a": torch.zeros(1)}, tmp_path / "zip.safetensors")  # torch's zip-pickle format
    with pytest.raises(CheckpointError, match="pickle"):
        load_checkpoint(tmp_path / "zip.safetensors")
    assert not marker.exists()


def test_truncated_file_is_refused(tmp_path):
    path = tmp_path / "m.safetensors"
    _save(path, conv_dim=8, n_res=1)
    data = path.read_bytes()
    for cut in (4, 100, len(data) // 2, len(data) - 10):
        bad = tmp_path / f"cut{cut}.safetensors"
        bad.write_bytes(data[:cut])
        with pytest.raises(CheckpointError, match="not a valid safetensors"):
            load_checkpoint(bad)


def test_wrong_shape_missing_key_and_foreign_files(tmp_path):
    path = tmp_path / "m.safetensors"
    _save(path, conv_dim=8, n_res=1)
    tensors = load_file(str(path))
    from safetensors import safe_open

    with safe_open(str(path), "pt") as f:
        meta = f.metadata()

    wrong = dict(tensors)
    key = next(k for k in wrong if k.endswith("head.weight"))
    wrong[key] = torch.zeros(3, 3)
    save_file(wrong, str(tmp_path / "shape.safetensors"), metadata=meta)
    with pytest.raises(CheckpointError, match=r"'generator\.head\.weight' has shape \(3, 3\)"):
        load_checkpoint(tmp_path / "shape.safetensors")

    missing = {k: v for k, v in tensors.items() if k != "space.weight"}
    save_file(missing, str(tmp_path / "missing.safetensors"), metadata=meta)
    with pytest.raises(CheckpointError, match="missing tensor 'space.weight'"):
        load_checkpoint(tmp_path / "missing.safetensors")

    save_file(tensors, str(tmp_path / "nometa.safetensors"))
    with pytest.raises(CheckpointError, match="not a GANmut checkpoint"):
        load_checkpoint(tmp_path / "nometa.safetensors")

    m = json.loads(meta["ganmut"])
    m["parametrization"] = "spherical"
    save_file(tensors, str(tmp_path / "kind.safetensors"), metadata={"ganmut": json.dumps(m)})
    with pytest.raises(CheckpointError, match="unknown parametrisation 'spherical'"):
        load_checkpoint(tmp_path / "kind.safetensors")

    nan = dict(tensors)
    nan["space.weight"] = torch.full_like(nan["space.weight"], float("nan"))
    save_file(nan, str(tmp_path / "nan.safetensors"), metadata=meta)
    with pytest.raises(CheckpointError, match="NaN"):
        load_checkpoint(tmp_path / "nan.safetensors")

    (tmp_path / "text.safetensors").write_text("hello world, definitely not a model")
    with pytest.raises(CheckpointError):
        load_checkpoint(tmp_path / "text.safetensors")
    with pytest.raises(CheckpointError, match="not found"):
        load_checkpoint(tmp_path / "absent.safetensors")


def test_failed_save_keeps_the_previous_file(tmp_path):
    path = tmp_path / "m.safetensors"
    _save(path, conv_dim=8, n_res=1)
    before = path.read_bytes()
    gen = Generator(GeneratorConfig(conv_dim=8, n_res=1))
    with pytest.raises(ValueError):
        save_checkpoint(path, gen, make_space("linear"), TEMPLATE[:3])
    assert path.read_bytes() == before and len(list(tmp_path.iterdir())) == 1
