"""Shared fixtures: paths to the real data, and small checkpoints built through the real export path.

The checkpoints here are seeded, untrained and tiny: they exist only so tests can run the whole
pipeline without the served weights. They are never written under weights/.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("GANMUT_SHARED", ROOT.parent / "shared"))
PHOTOS = SHARED / "data" / "photos"
FER2013 = SHARED / "data" / "fer2013"

torch.set_num_threads(min(2, os.cpu_count() or 1))


def make_tiny_checkpoint(path: Path, kind: str = "linear", seed: int = 0, image_size: int = 64) -> Path:
    """Save a seeded, untrained small model with :func:`ganmut.checkpoint.save_checkpoint`."""
    from ganmut.align import FER2013_TEMPLATE
    from ganmut.checkpoint import save_checkpoint
    from ganmut.generator import Generator, GeneratorConfig
    from ganmut.spaces import make_space

    torch.manual_seed(seed)
    space = make_space(kind)
    if kind == "linear":  # spread the directions so the wheel is readable
        with torch.no_grad():
            angles = torch.arange(6) * (2 * torch.pi / 6) + 0.3
            space.weight.copy_(torch.stack([angles.cos(), angles.sin()], -1))
    gen = Generator(GeneratorConfig(image_size=image_size, channels=1, code_dim=space.dim, conv_dim=16, n_res=2))
    return save_checkpoint(path, gen, space, FER2013_TEMPLATE.tolist(), training={"note": "untrained test fixture"})


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not SHARED.is_dir():
        pytest.fail(f"shared data not found at {SHARED}; set GANMUT_SHARED")
    return SHARED


@pytest.fixture(scope="session")
def photos(shared_dir) -> Path:
    return PHOTOS


@pytest.fixture(scope="session")
def fer2013(shared_dir) -> Path:
    return FER2013


@pytest.fixture(scope="session")
def linear_ckpt(tmp_path_factory) -> Path:
    return make_tiny_checkpoint(tmp_path_factory.mktemp("ckpt") / "tiny-linear.safetensors", "linear")


@pytest.fixture(scope="session")
def gaussian_ckpt(tmp_path_factory) -> Path:
    return make_tiny_checkpoint(tmp_path_factory.mktemp("ckpt") / "tiny-gaussian.safetensors", "gaussian")
